import AWSClient
import AWSSigV4
import Foundation
import LatchkeyTestSupport
import Testing

func fastRetry(_ sleeper: SleepRecorder, attempts: Int = 3) -> RetryPolicy {
    RetryPolicy(
        maxAttempts: attempts, baseDelay: .milliseconds(100), maxBackoff: .seconds(1),
        sleep: { sleeper.sleep($0) }, random: { 1.0 })
}

let webIdentityXML = """
    <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
      <AssumeRoleWithWebIdentityResult>
        <SubjectFromWebIdentityToken>system:serviceaccount:default:app</SubjectFromWebIdentityToken>
        <Audience>sts.amazonaws.com</Audience>
        <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/app/s1</Arn>
          <AssumedRoleId>AROAEXAMPLE:s1</AssumedRoleId></AssumedRoleUser>
        <Credentials><SessionToken>WT</SessionToken><SecretAccessKey>WS</SecretAccessKey>
          <Expiration>2023-11-14T23:13:20Z</Expiration><AccessKeyId>ASIAWEB</AccessKeyId></Credentials>
        <SourceIdentity>doug</SourceIdentity>
        <Provider>arn:aws:iam::123456789012:oidc-provider/oidc.example.com</Provider>
      </AssumeRoleWithWebIdentityResult>
      <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>
    </AssumeRoleWithWebIdentityResponse>
    """

@Suite("STS AssumeRoleWithWebIdentity")
struct WebIdentityTests {
    func sts(
        _ transport: ScriptedTransport, sleeper: SleepRecorder = SleepRecorder(),
        credentials: AWSCredentials? = nil
    )
        throws -> STSClient
    {
        try STSClient(
            credentials: credentials, region: "eu-west-1", transport: transport, retry: fastRetry(sleeper),
            now: { fixedNow })
    }

    @Test(arguments: [nil, userKeys])
    func requestIsAnUnsignedFormPostAndTheResultIsRead(credentials: AWSCredentials?) async throws {
        let transport = ScriptedTransport([.xml(webIdentityXML)])
        let result = try await sts(transport, credentials: credentials).assumeRoleWithWebIdentity(
            roleArn: "arn:aws:iam::123456789012:role/app", roleSessionName: "s1",
            webIdentityToken: "eyJ.a+b/c=",
            durationSeconds: 900, policy: "{}", policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"])
        #expect(
            result.credentials
                == AWSCredentials(
                    accessKeyId: "ASIAWEB", secretAccessKey: "WS", sessionToken: "WT",
                    expiration: Date(timeIntervalSince1970: 1_700_003_600)))
        #expect(result.arn == "arn:aws:sts::123456789012:assumed-role/app/s1")
        #expect(result.assumedRoleId == "AROAEXAMPLE:s1")
        #expect(result.subjectFromWebIdentityToken == "system:serviceaccount:default:app")
        #expect(result.audience == "sts.amazonaws.com")
        #expect(result.provider == "arn:aws:iam::123456789012:oidc-provider/oidc.example.com")
        #expect(result.sourceIdentity == "doug")
        #expect(result.accountId == "123456789012")
        let request = try #require(await transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url.absoluteString == "https://sts.eu-west-1.amazonaws.com")
        #expect(request.headers == ["Content-Type": "application/x-www-form-urlencoded; charset=utf-8"])
        #expect(
            await transport.bodies == [
                "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fapp"
                    + "&RoleSessionName=s1&WebIdentityToken=eyJ.a%2Bb%2Fc%3D&DurationSeconds=900&Policy=%7B%7D"
                    + "&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess"
            ])
    }

    @Test(arguments: ["InvalidIdentityToken", "ExpiredTokenException", "IDPRejectedClaim", "AccessDenied"])
    func tokenErrorsAreFinal(code: String) async throws {
        let transport = ScriptedTransport([
            .xml(errorXML(code, message: "bad token"), status: 400), .xml(webIdentityXML),
        ])
        let sleeper = SleepRecorder()
        await #expect {
            _ = try await sts(transport, sleeper: sleeper).assumeRoleWithWebIdentity(
                roleArn: "arn:aws:iam::1:role/r", roleSessionName: "s", webIdentityToken: "secret-jwt")
        } throws: { error in
            guard let service = (error as? AWSClientError)?.serviceError else { return false }
            return service.code == code && service.operation == "AssumeRoleWithWebIdentity"
                && !String(describing: error).contains("secret-jwt")
        }
        #expect(await transport.requests.count == 1)
        #expect(sleeper.delays.isEmpty)
    }

    @Test func idpCommunicationErrorIsRetried() async throws {
        let transport = ScriptedTransport([
            .xml(errorXML("IDPCommunicationError", message: "provider timed out"), status: 400),
            .xml(webIdentityXML),
        ])
        let sleeper = SleepRecorder()
        let result = try await sts(transport, sleeper: sleeper).assumeRoleWithWebIdentity(
            roleArn: "arn:aws:iam::1:role/r", roleSessionName: "s", webIdentityToken: "t")
        #expect(result.credentials.accessKeyId == "ASIAWEB")
        #expect(await transport.requests.count == 2)
        #expect(sleeper.delays == [.milliseconds(100)])
    }
}
