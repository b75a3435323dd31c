import AWSClient
import AWSSigV4
import Foundation
import LatchkeyTestSupport
import Testing

/// The network side of the cross-SDK credential-provider cases, replayed against the clients.
///
/// Profile resolution (which client a profile calls, with which names) is the core's job and is
/// not exercised here: each test feeds the client the inputs the case's files or recorded requests
/// name. Cases left to the core's whole-profile tests: `imds_disabled` (only the variable check runs
/// here), `web_identity_source_profile_no_env`, `profile_overrides_web_identity`, `sso_no_token_file`
/// (only the cache lookup runs here), `profile-provider/sso_token`, `invalid_sso_credentials_config`.
@Suite("Recorded credential-provider traffic")
struct ReplayConformanceTests {
    static func loadCase(_ path: String) throws -> CredentialProviderCase {
        try CredentialProviderCase(
            directory: ConformanceData.directory.appendingPathComponent("credential-provider-tests/\(path)"))
    }

    static func check(
        _ credentials: AWSCredentials, accountId: String?, against testCase: CredentialProviderCase,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard case .credentials(let key, let secret, let token, let account, let expiry) = testCase.expected
        else {
            Issue.record("\(testCase.name) does not expect credentials", sourceLocation: sourceLocation)
            return
        }
        #expect(credentials.accessKeyId == key, sourceLocation: sourceLocation)
        #expect(credentials.secretAccessKey == secret, sourceLocation: sourceLocation)
        #expect(credentials.sessionToken == token, sourceLocation: sourceLocation)
        #expect(credentials.expiration == expiry, sourceLocation: sourceLocation)
        if let account { #expect(accountId == account, sourceLocation: sourceLocation) }
    }

    /// `arn:aws:sts::ACCOUNT:assumed-role/...` -> ACCOUNT.
    static func account(of arn: String) -> String? {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count > 4 ? String(parts[4]) : nil
    }

    static func expectsError(_ testCase: CredentialProviderCase) -> Bool {
        if case .error = testCase.expected { return true }
        return false
    }

    /// The STS form parameters the recording sent for `action` (role ARN, session name, token...).
    static func recordedForm(_ replay: ReplayTransport, action: String) async throws -> [String: String] {
        let exchange = try #require(
            await replay.exchanges.first {
                String(decoding: $0.requestBody, as: UTF8.self).hasPrefix("Action=\(action)&")
            })
        var form: [String: String] = [:]
        for pair in String(decoding: exchange.requestBody, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            form[parts[0]] = AWSPercentEncoding.decode(parts.count > 1 ? parts[1] : "")
        }
        return form
    }

    static func sts(_ replay: ReplayTransport, _ credentials: AWSCredentials?, region: String) throws
        -> STSClient
    {
        try STSClient(
            credentials: credentials, region: region, transport: replay, retry: fastRetry(SleepRecorder()),
            now: { fixedNow })
    }

    static func imds(_ replay: ReplayTransport, _ testCase: CredentialProviderCase) throws -> IMDSClient {
        IMDSClient(
            endpoint: try IMDSClient.resolveEndpoint(environment: testCase.environment), transport: replay,
            retry: fastRetry(SleepRecorder(), attempts: 4))
    }

    // MARK: IMDS

    @Test(arguments: [
        "imds_default_chain_success", "imds_config_with_no_creds", "imds_default_chain_retries",
        "imds_no_iam_role", "imds_default_chain_error", "imds_token_fail",
    ])
    func imds(name: String) async throws {
        let testCase = try Self.loadCase("default-credential-provider-chain/\(name)")
        #expect(!IMDSClient.isDisabled(environment: testCase.environment))
        let replay = try testCase.replay()
        let client = try Self.imds(replay, testCase)
        if Self.expectsError(testCase) {
            let expected: IMDSError =
                name == "imds_token_fail" ? .tokenForbidden(endpoint: "169.254.169.254") : .noInstanceRole
            await #expect(throws: expected) { _ = try await client.credentials() }
        } else {
            let result = try await client.credentials()
            Self.check(result.credentials, accountId: result.accountId, against: testCase)
        }
        try await replay.verify()
    }

    @Test func imdsDisabled() throws {
        let testCase = try Self.loadCase("default-credential-provider-chain/imds_disabled")
        #expect(IMDSClient.isDisabled(environment: testCase.environment))
        #expect(Self.expectsError(testCase))
    }

    @Test func imdsAssumeRole() async throws {
        let testCase = try Self.loadCase("default-credential-provider-chain/imds_assume_role")
        let replay = try testCase.replay()
        let base = try await Self.imds(replay, testCase).credentials()
        let form = try await Self.recordedForm(replay, action: "AssumeRole")
        let role = try await Self.sts(replay, base.credentials, region: "us-east-1").assumeRole(
            AssumeRoleRequest(roleArn: form["RoleArn"] ?? "", roleSessionName: form["RoleSessionName"] ?? ""))
        Self.check(role.credentials, accountId: Self.account(of: role.arn), against: testCase)
        #expect(await replay.requests.last?.headers["X-Amz-Security-Token"] == "tokenbase")
        try await replay.verify()
    }

    // MARK: ECS and EKS Pod Identity

    @Test(arguments: [
        "ecs_credentials", "ecs_credentials_invalid_profile", "eks_pod_identity_credentials",
        "eks_pod_identity_no_token_file",
    ])
    func container(name: String) async throws {
        let testCase = try Self.loadCase("default-credential-provider-chain/\(name)")
        let replay = try testCase.replay()
        let configuration = try #require(
            try ContainerCredentialsClient.configuration(environment: testCase.environment))
        let root = testCase.fileSystemRoot
        let client = ContainerCredentialsClient(
            configuration: configuration, transport: replay,
            readFile: { path in try Data(contentsOf: root.appendingPathComponent(path)) })
        if Self.expectsError(testCase) {
            await #expect(throws: ContainerCredentialsError.self) { _ = try await client.credentials() }
            #expect(await replay.requests.isEmpty)
        } else {
            let result = try await client.credentials()
            Self.check(result.credentials, accountId: result.accountId, against: testCase)
            let request = try #require(await replay.requests.first)
            #expect(request.headers["Authorization"] == (name.hasPrefix("eks") ? "sometoken" : nil))
        }
        try await replay.verify()
    }

    @Test func ecsAssumeRole() async throws {
        let testCase = try Self.loadCase("default-credential-provider-chain/ecs_assume_role")
        let replay = try testCase.replay()
        let configuration = try #require(
            try ContainerCredentialsClient.configuration(environment: testCase.environment))
        let base = try await ContainerCredentialsClient(configuration: configuration, transport: replay)
            .credentials()
        #expect(base.roleArn == "arn:aws:iam::123456789:role/ecs-task-role")
        let form = try await Self.recordedForm(replay, action: "AssumeRole")
        let role = try await Self.sts(replay, base.credentials, region: "us-east-1").assumeRole(
            AssumeRoleRequest(roleArn: form["RoleArn"] ?? "", roleSessionName: form["RoleSessionName"] ?? ""))
        Self.check(role.credentials, accountId: "130633740322", against: testCase)
        #expect(role.arn.hasPrefix("arn:aws:sts::130633740322:"))
        try await replay.verify()
    }

    // MARK: IAM Identity Center

    struct SSOCase: Sendable, CustomStringConvertible {
        var path: String
        var key: SSOTokenCache.Key
        var ssoRegion: String
        var accountId: String
        var roleName: String
        var description: String { path }
    }

    /// Names from each case's `fs/home/.aws/config` (`sso_*` keys or the `[sso-session]` section).
    static let ssoCases = [
        SSOCase(
            path: "default-credential-provider-chain/sso_assume_role",
            key: .startURL("https://ssotest.awsapps.com/start"), ssoRegion: "us-east-2",
            accountId: "123456789",
            roleName: "MySsoRole"),
        SSOCase(
            path: "default-credential-provider-chain/e2e_fips_and_dual_stack_sso",
            key: .startURL("https://ssotest.awsapps.com/start"), ssoRegion: "us-east-2",
            accountId: "123456789",
            roleName: "MySsoRole"),
        SSOCase(
            path: "default-credential-provider-chain/sso_server_error",
            key: .startURL("https://ssotest.awsapps.com/start"), ssoRegion: "us-east-2",
            accountId: "123456789",
            roleName: "MySsoRole"),
        SSOCase(
            path: "profile-provider/sso_credentials", key: .session("dev"), ssoRegion: "us-east-1",
            accountId: "012345678901", roleName: "SampleRole"),
        SSOCase(
            path: "profile-provider/sso_override_global_env_url", key: .session("dev"),
            ssoRegion: "us-east-1",
            accountId: "012345678901", roleName: "SampleRole"),
    ]

    @Test(arguments: ssoCases)
    func sso(test: SSOCase) async throws {
        let testCase = try Self.loadCase(test.path)
        let replay = try testCase.replay()
        let token = try #require(
            try SSOTokenCache(home: testCase.fileSystemRoot.appendingPathComponent("home")).read(test.key))
        #expect(!token.isExpired(at: fixedNow))
        let environment = testCase.environment
        // sso_server_error has one recorded 503: the SDK's retries are checked with ScriptedTransport instead.
        let portal = try SSOPortalClient(
            region: test.ssoRegion, endpoint: environment["AWS_ENDPOINT_URL"].flatMap { URL(string: $0) },
            useFIPS: environment["AWS_USE_FIPS_ENDPOINT"] == "true",
            useDualStack: environment["AWS_USE_DUALSTACK_ENDPOINT"] == "true", transport: replay,
            retry: Self.expectsError(testCase) ? .none : .standard)
        if Self.expectsError(testCase) {
            await #expect {
                _ = try await portal.getRoleCredentials(
                    accountId: test.accountId, roleName: test.roleName, accessToken: token.accessToken)
            } throws: { error in
                (error as? AWSClientError).map { "\($0)" }?.contains("HTTP 503") == true
            }
        } else {
            let credentials = try await portal.getRoleCredentials(
                accountId: test.accountId, roleName: test.roleName, accessToken: token.accessToken)
            Self.check(credentials, accountId: test.accountId, against: testCase)
            let request = try #require(await replay.requests.first)
            #expect(request.headers["x-amz-sso_bearer_token"] == token.accessToken)
        }
        try await replay.verify()
    }

    // MARK: Web identity and STS retries

    @Test(arguments: [
        "web_identity_token_env", "web_identity_token_profile", "web_identity_token_source_profile",
        "web_identity_token_invalid_jwt",
    ])
    func webIdentity(name: String) async throws {
        let testCase = try Self.loadCase("default-credential-provider-chain/\(name)")
        let replay = try testCase.replay()
        let form = try await Self.recordedForm(replay, action: "AssumeRoleWithWebIdentity")
        let region = testCase.environment["AWS_REGION"] ?? "us-east-1"
        let sts = try Self.sts(replay, nil, region: region)
        let call = {
            try await sts.assumeRoleWithWebIdentity(
                roleArn: form["RoleArn"] ?? "", roleSessionName: form["RoleSessionName"] ?? "",
                webIdentityToken: form["WebIdentityToken"] ?? "")
        }
        if Self.expectsError(testCase) {
            await #expect {
                _ = try await call()
            } throws: { error in
                (error as? AWSClientError)?.serviceError?.code == "InvalidIdentityToken"
            }
        } else {
            let result = try await call()
            var credentials = result.credentials
            var accountId = result.accountId
            if name == "web_identity_token_source_profile" {
                let roleForm = try await Self.recordedForm(replay, action: "AssumeRole")
                let role = try await Self.sts(replay, credentials, region: region).assumeRole(
                    AssumeRoleRequest(
                        roleArn: roleForm["RoleArn"] ?? "", roleSessionName: roleForm["RoleSessionName"] ?? ""
                    ))
                credentials = role.credentials
                accountId = Self.account(of: role.arn)
            }
            Self.check(credentials, accountId: accountId, against: testCase)
        }
        // Unsigned, and byte-for-byte the body the recording SDK sent.
        let first = try #require(await replay.requests.first)
        #expect(first.headers["Authorization"] == nil)
        #expect(await replay.exchanges.first?.requestBody == first.body)
        try await replay.verify()
    }

    @Test func retryOnError() async throws {
        let testCase = try Self.loadCase("profile-provider/retry_on_error")
        let replay = try testCase.replay()
        let form = try await Self.recordedForm(replay, action: "AssumeRole")
        // The [base] keys of fs/home/.aws/credentials.
        let keys = AWSCredentials(accessKeyId: "AKIAFAKE", secretAccessKey: "FAKE")
        let role = try await Self.sts(replay, keys, region: "us-east-1").assumeRole(
            AssumeRoleRequest(roleArn: form["RoleArn"] ?? "", roleSessionName: form["RoleSessionName"] ?? ""))
        Self.check(role.credentials, accountId: "123456789012", against: testCase)
        #expect(await replay.requests.count == 2)
        try await replay.verify()
    }

    @Test func replayRefusesUnrecordedRequests() async throws {
        let testCase = try Self.loadCase("default-credential-provider-chain/imds_token_fail")
        let replay = try testCase.replay()
        let stranger = HTTPRequest(
            method: "GET", url: try #require(URL(string: "http://169.254.169.254/other")))
        await #expect(throws: ReplayTransport.Unexpected.self) {
            _ = try await replay.send(stranger, timeout: .seconds(1))
        }
        await #expect(throws: ReplayTransport.Unexpected.self) { try await replay.verify(allowUnused: true) }
        let fresh = try testCase.replay()
        await #expect(throws: ReplayTransport.Unused.self) { try await fresh.verify() }
    }
}
