import AWSClient
import AWSConfig
import AWSSigV4
import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

/// A configured endpoint is checked once, the same way for every service: a value that is not a
/// URL is an error naming the settings to fix, never replaced by AWS's own endpoint.
@Suite struct EndpointURLTests {
    static let key = AWSCredentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "secret")

    func resolver(_ config: String, environment: [String: String] = [:]) throws -> ProfileResolver {
        ProfileResolver(
            config: try AWSSharedConfig.parse(configText: config, credentialsText: nil),
            environment: environment,
            configFile: "config")
    }

    @Test func onlyAbsoluteURLsPass() throws {
        #expect(try configuredEndpoint(nil, setting: "x") == nil)
        #expect(try configuredEndpoint("http://127.0.0.1:5000", setting: "x")?.port == 5000)
        for bad in ["not a url", "127.0.0.1:5000", "/just/a/path", ""] {
            #expect(throws: BadEndpointURL(value: bad, setting: "x")) {
                try configuredEndpoint(bad, setting: "x")
            }
        }
    }

    @Test func stsCallsRefuseABadEndpoint() async throws {
        let keyring = InMemoryKeyring()
        let store = CredentialStore(keyring: keyring)
        try await store.storeLongLivedKey(Self.key, profile: "dev", now: Date())
        let plan = try resolver("[profile dev]\nendpoint_url = sts.local:4566\n").plan(
            for: CredentialRequest(profile: "dev"))
        let transport = ScriptedTransport()
        let context = CoreContext(
            environment: [:], settings: try LatchkeySettings(environment: ["HOME": "/nonexistent"]),
            store: store,
            transport: transport,
            mfa: MFACodeSource(
                prompt: nil, processRunner: ScriptedProcessRunner(output: ""), environment: [:]))
        await #expect(
            throws: BadEndpointURL(
                value: "sts.local:4566", setting: "endpoint_url, AWS_ENDPOINT_URL_STS or AWS_ENDPOINT_URL")
        ) {
            _ = try await CredentialService(context: context).credentials(for: plan)
        }
        #expect(await transport.requests.isEmpty, "nothing is sent to AWS's own endpoint instead")
    }

    @Test func iamTakesTheCheckedEndpointAndTheSDKsRegionOrder() throws {
        let config = "[profile dev]\nregion = eu-west-1\n"
        let bad = try resolver(config, environment: ["AWS_ENDPOINT_URL_IAM": "iam endpoint"])
        #expect(throws: BadEndpointURL.self) {
            _ = try bad.iamClient(
                credentials: Self.key, profile: "dev", region: nil, transport: ScriptedTransport())
        }
        let local = try resolver(
            config, environment: ["AWS_ENDPOINT_URL_IAM": "http://127.0.0.1:9/", "AWS_REGION": "ap-south-1"])
        let iam = try local.iamClient(
            credentials: Self.key, profile: "dev", region: nil, transport: ScriptedTransport())
        #expect(iam.endpoint.absoluteString == "http://127.0.0.1:9/")
        // The environment's region wins over the profile's, as in the SDKs and in every plan.
        #expect(iam.signingRegion == "ap-south-1")
        #expect(try local.region(asked: "us-west-2", profile: "dev") == "us-west-2")
        #expect(try resolver(config).region(asked: nil, profile: "dev") == "eu-west-1")
    }

    @Test func ssoPortalRefusesABadEndpoint() async throws {
        let config = """
            [profile sso]
            sso_start_url = https://example.awsapps.com/start
            sso_region = us-east-1
            sso_account_id = 111122223333
            sso_role_name = Dev
            """
        let plan = try resolver(config, environment: ["AWS_ENDPOINT_URL_SSO": "portal"]).plan(
            for: CredentialRequest(profile: "sso"))
        let context = CoreContext(
            environment: [:], settings: try LatchkeySettings(environment: ["HOME": "/nonexistent"]),
            store: CredentialStore(keyring: InMemoryKeyring()), transport: ScriptedTransport(),
            mfa: MFACodeSource(
                prompt: nil, processRunner: ScriptedProcessRunner(output: ""), environment: [:]))
        await #expect {
            _ = try await CredentialService(context: context).credentials(for: plan)
        } throws: { error in
            "\(error)".contains("'portal' is not a URL") && "\(error)".contains("AWS_ENDPOINT_URL_SSO")
        }
    }
}
