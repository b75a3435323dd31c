import AWSClient
import AWSSigV4
import Foundation
import LatchkeyTestSupport
import Testing

/// Records backoff delays instead of sleeping.
final class SleepRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [Duration] = []
    var delays: [Duration] { lock.withLock { recorded } }
    func sleep(_ duration: Duration) { lock.withLock { recorded.append(duration) } }
}

let userKeys = AWSCredentials(accessKeyId: "AKIDUSER", secretAccessKey: "user-secret-key-do-not-print")
let fixedNow = Date(timeIntervalSince1970: 1_700_000_000)  // 2023-11-14T22:13:20Z

func makeSTS(
    _ transport: ScriptedTransport, region: String = "eu-west-1", endpoint: URL? = nil, attempts: Int = 3,
    random: Double = 1.0, sleeper: SleepRecorder = SleepRecorder()
) throws -> STSClient {
    let retry = RetryPolicy(
        maxAttempts: attempts, baseDelay: .milliseconds(100), maxBackoff: .seconds(1),
        sleep: { sleeper.sleep($0) }, random: { random })
    return try STSClient(
        credentials: userKeys, region: region, endpoint: endpoint, transport: transport, retry: retry,
        timeout: .seconds(7), now: { fixedNow })
}

func sessionTokenXML(expiration: String = "2023-11-15T10:13:20Z") -> String {
    """
    <GetSessionTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
      <GetSessionTokenResult><Credentials>
        <SessionToken>TOKEN</SessionToken><SecretAccessKey>SECRET</SecretAccessKey>
        <Expiration>\(expiration)</Expiration><AccessKeyId>ASIAEXAMPLE</AccessKeyId>
      </Credentials></GetSessionTokenResult>
      <ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>
    </GetSessionTokenResponse>
    """
}

func errorXML(_ code: String, message: String = "Rate exceeded") -> String {
    "<ErrorResponse><Error><Type>Sender</Type><Code>\(code)</Code><Message>\(message)</Message></Error>"
        + "<RequestId>req-err</RequestId></ErrorResponse>"
}

@Suite("STSClient requests and responses")
struct STSClientTests {
    @Test func getSessionTokenSendsASignedFormPost() async throws {
        let transport = ScriptedTransport([.xml(sessionTokenXML())])
        let sts = try makeSTS(transport)
        let credentials = try await sts.getSessionToken(
            durationSeconds: 3600, serialNumber: "arn:aws:iam::123456789012:mfa/doug", tokenCode: "123456")
        #expect(credentials.accessKeyId == "ASIAEXAMPLE")
        #expect(credentials.secretAccessKey == "SECRET")
        #expect(credentials.sessionToken == "TOKEN")
        #expect(credentials.expiration == Date(timeIntervalSince1970: 1_700_043_200))

        let request = try #require(await transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url.absoluteString == "https://sts.eu-west-1.amazonaws.com")
        #expect(
            String(decoding: request.body, as: UTF8.self)
                == "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=3600"
                + "&SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Fdoug&TokenCode=123456")
        #expect(request.headers["Content-Type"] == "application/x-www-form-urlencoded; charset=utf-8")
        #expect(request.headers["X-Amz-Date"] == "20231114T221320Z")
        #expect(await transport.timeouts == [.seconds(7)])

        // The Authorization header is exactly what an independent signer computes for this request.
        let expected = SigV4Signer(credentials: userKeys, region: "eu-west-1", service: "sts").sign(
            method: "POST", path: "/",
            headers: [
                ("Host", "sts.eu-west-1.amazonaws.com"),
                ("Content-Type", request.headers["Content-Type"] ?? ""),
            ],
            payload: .bytes(request.body), date: fixedNow)
        #expect(request.headers["Authorization"] == expected.authorization)
        #expect(expected.authorization.contains("Credential=AKIDUSER/20231114/eu-west-1/sts/aws4_request"))
    }

    @Test func sessionCredentialsSendTheirToken() async throws {
        let transport = ScriptedTransport([
            .xml(
                "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:sts::1:assumed-role/R/s</Arn>"
                    + "<UserId>AROA:s</UserId><Account>111122223333</Account></GetCallerIdentityResult>"
                    + "</GetCallerIdentityResponse>")
        ])
        let session = AWSCredentials(
            accessKeyId: "ASIA1", secretAccessKey: "s", sessionToken: "session-token")
        let sts = try STSClient(
            credentials: session, region: "us-east-1", transport: transport, now: { fixedNow })
        let identity = try await sts.getCallerIdentity()
        #expect(
            identity
                == CallerIdentity(
                    account: "111122223333", arn: "arn:aws:sts::1:assumed-role/R/s", userId: "AROA:s"))
        let request = try #require(await transport.requests.first)
        #expect(request.headers["X-Amz-Security-Token"] == "session-token")
        #expect(request.headers["Authorization"]?.contains("x-amz-security-token") == true)
        #expect(
            String(decoding: request.body, as: UTF8.self) == "Action=GetCallerIdentity&Version=2011-06-15")
    }

    @Test func explicitEndpointSignsWithTheClientRegionAndPort() async throws {
        let transport = ScriptedTransport([.xml(sessionTokenXML())])
        let endpoint = try #require(URL(string: "http://127.0.0.1:4566"))
        let sts = try makeSTS(transport, region: "ap-southeast-2", endpoint: endpoint)
        #expect(sts.endpoint == endpoint)
        #expect(sts.signingRegion == "ap-southeast-2")
        _ = try await sts.getSessionToken(durationSeconds: nil, serialNumber: nil, tokenCode: nil)
        let request = try #require(await transport.requests.first)
        let expected = SigV4Signer(credentials: userKeys, region: "ap-southeast-2", service: "sts").sign(
            method: "POST", path: "/",
            headers: [
                ("Host", "127.0.0.1:4566"),
                ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
            ],
            payload: .bytes(request.body), date: fixedNow)
        #expect(request.headers["Authorization"] == expected.authorization)
    }

    @Test func assumeRoleEncodesEveryParameterAndReadsTheResult() async throws {
        let transport = ScriptedTransport([
            .xml(
                """
                <AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
                  <SourceIdentity>doug</SourceIdentity>
                  <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/Admin/s1</Arn>
                    <AssumedRoleId>AROA3XFRBF535PLBIFPI4:s1</AssumedRoleId></AssumedRoleUser>
                  <Credentials><AccessKeyId>ASIAROLE</AccessKeyId><SecretAccessKey>RS</SecretAccessKey>
                    <SessionToken>RT</SessionToken><Expiration>2023-11-14T23:13:20.123456Z</Expiration></Credentials>
                  <PackedPolicySize>6</PackedPolicySize>
                </AssumeRoleResult></AssumeRoleResponse>
                """)
        ])
        let sts = try makeSTS(transport)
        let result = try await sts.assumeRole(
            AssumeRoleRequest(
                roleArn: "arn:aws:iam::123456789012:role/Admin", roleSessionName: "s1", durationSeconds: 900,
                externalId: "ext id", serialNumber: "arn:aws:iam::1:mfa/d", tokenCode: "654321",
                sourceIdentity: "doug", tags: [.init(key: "team", value: "a&b")], transitiveTagKeys: ["team"],
                policy: "{\"Version\":\"2012-10-17\"}", policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
            ))
        #expect(result.credentials.accessKeyId == "ASIAROLE")
        #expect(
            result.credentials.expiration.map { abs($0.timeIntervalSince1970 - 1_700_003_600.123456) < 1e-5 }
                == true)
        #expect(result.arn == "arn:aws:sts::123456789012:assumed-role/Admin/s1")
        #expect(result.assumedRoleId == "AROA3XFRBF535PLBIFPI4:s1")
        #expect(result.packedPolicySize == 6)
        #expect(result.sourceIdentity == "doug")
        let body = try #require(await transport.bodies.first)
        #expect(
            body
                == "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2FAdmin"
                + "&RoleSessionName=s1&DurationSeconds=900&ExternalId=ext%20id"
                + "&Policy=%7B%22Version%22%3A%222012-10-17%22%7D"
                + "&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess"
                + "&SerialNumber=arn%3Aaws%3Aiam%3A%3A1%3Amfa%2Fd&TokenCode=654321&SourceIdentity=doug"
                + "&Tags.member.1.Key=team&Tags.member.1.Value=a%26b&TransitiveTagKeys.member.1=team")
    }

    @Test func getFederationTokenReadsWholeSecondExpiration() async throws {
        let transport = ScriptedTransport([
            .xml(
                "<GetFederationTokenResponse><GetFederationTokenResult><Credentials><AccessKeyId>ASIAF</AccessKeyId>"
                    + "<SecretAccessKey>FS</SecretAccessKey><SessionToken>FT</SessionToken>"
                    + "<Expiration>2023-11-15T10:13:20Z</Expiration></Credentials><FederatedUser>"
                    + "<FederatedUserId>1:doug</FederatedUserId><Arn>arn:aws:sts::1:federated-user/doug</Arn>"
                    + "</FederatedUser></GetFederationTokenResult></GetFederationTokenResponse>")
        ])
        let credentials = try await makeSTS(transport).getFederationToken(
            name: "doug", durationSeconds: 43200, policy: "{}",
            policyArns: ["arn:aws:iam::aws:policy/A", "arn:b"])
        #expect(
            credentials
                == AWSCredentials(
                    accessKeyId: "ASIAF", secretAccessKey: "FS", sessionToken: "FT",
                    expiration: Date(timeIntervalSince1970: 1_700_043_200)))
        #expect(
            await transport.bodies == [
                "Action=GetFederationToken&Version=2011-06-15&Name=doug&DurationSeconds=43200&Policy=%7B%7D"
                    + "&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FA&PolicyArns.member.2.arn=arn%3Ab"
            ])
    }

    @Test func missingFieldsAreInvalidResponses() async throws {
        let transport = ScriptedTransport([
            .xml(
                "<GetSessionTokenResponse><GetSessionTokenResult><Credentials><AccessKeyId>A</AccessKeyId>"
                    + "</Credentials></GetSessionTokenResult></GetSessionTokenResponse>"),
            .xml("<Other/>"),
        ])
        let sts = try makeSTS(transport)
        for _ in 0..<2 {
            await #expect {
                _ = try await sts.getSessionToken(durationSeconds: nil, serialNumber: nil, tokenCode: nil)
            } throws: { error in
                guard case .invalidResponse(_, "GetSessionToken", 200, _) = error as? AWSClientError else {
                    return false
                }
                return true
            }
        }
    }

    @Test func iamGetUserUsesTheGlobalEndpointSignedForUSEast1() async throws {
        let transport = ScriptedTransport([
            .xml(
                "<GetUserResponse><GetUserResult><User><Path>/</Path><UserName>doug</UserName>"
                    + "<UserId>AIDAEXAMPLE</UserId><Arn>arn:aws:iam::123456789012:user/doug</Arn>"
                    + "<CreateDate>2020-01-02T03:04:05Z</CreateDate></User></GetUserResult></GetUserResponse>"
            )
        ])
        let iam = IAMClient(
            credentials: userKeys, region: "eu-west-1", transport: transport, now: { fixedNow })
        #expect(iam.endpoint.absoluteString == "https://iam.amazonaws.com")
        #expect(iam.signingRegion == "us-east-1")
        let user = try await iam.getUser(userName: "doug")
        #expect(user.userName == "doug")
        #expect(user.userId == "AIDAEXAMPLE")
        #expect(user.arn == "arn:aws:iam::123456789012:user/doug")
        #expect(user.createDate == Date(timeIntervalSince1970: 1_577_934_245))
        let request = try #require(await transport.requests.first)
        #expect(
            String(decoding: request.body, as: UTF8.self) == "Action=GetUser&Version=2010-05-08&UserName=doug"
        )
        #expect(request.headers["Authorization"]?.contains("/us-east-1/iam/aws4_request") == true)
    }
}

@Suite("STS response-parsing conformance")
struct STSResponseParsingConformanceTests {
    @Test func successFixture() async throws {
        let xml = try ConformanceData.data("sts/response-parsing/responses/sts-get-session-token.xml")
        let json = try ConformanceData.data("sts/response-parsing/responses/sts-get-session-token.json")
        let expected = try #require(
            (try JSONSerialization.jsonObject(with: json) as? [String: Any])?["Credentials"]
                as? [String: String])
        let transport = ScriptedTransport([.respond(HTTPResponse(status: 200, body: xml))])
        let credentials = try await makeSTS(transport).getSessionToken(
            durationSeconds: nil, serialNumber: nil, tokenCode: nil)
        #expect(credentials.accessKeyId == expected["AccessKeyId"])
        #expect(credentials.secretAccessKey == expected["SecretAccessKey"])
        #expect(credentials.sessionToken == expected["SessionToken"])  // embedded newlines kept verbatim
        #expect(
            credentials.expiration.map { abs($0.timeIntervalSince1970 - 1_310_414_129.611) < 1e-5 } == true)
    }

    @Test func errorFixture() async throws {
        let xml = try ConformanceData.data("sts/response-parsing/errors/sts-get-session-token.xml")
        let json = try ConformanceData.data("sts/response-parsing/errors/sts-get-session-token.json")
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: [String: String]])
        let transport = ScriptedTransport([.respond(HTTPResponse(status: 403, body: xml))])
        await #expect {
            _ = try await makeSTS(transport).getSessionToken(
                durationSeconds: 3600, serialNumber: "arn:aws:iam::1:mfa/d", tokenCode: "123456")
        } throws: { error in
            guard let service = (error as? AWSClientError)?.serviceError else { return false }
            return service.code == object["Error"]?["Code"] && service.message == object["Error"]?["Message"]
                && service.type == object["Error"]?["Type"]
                && service.requestId == object["ResponseMetadata"]?["RequestId"] && service.httpStatus == 403
                && service.operation == "GetSessionToken"
        }
        #expect(await transport.requests.count == 1)  // AccessDenied is final
    }
}
