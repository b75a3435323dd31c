import AWSClient
import AWSConfig
import AWSSigV4
import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

/// The cross-SDK credential-provider cases that resolve a named profile, run through latchkey's
/// resolver and `CredentialService` against the recorded HTTP traffic (`ReplayTransport`); where
/// credentials come out, the calls made are the calls `explain` predicted for the same plan.
/// Run as `--no-session`, the SDKs' behaviour. STS request bodies are not compared byte for byte: the recording SDK named its role sessions
/// with timestamps. Account ids are not compared: latchkey does not hand them out.
@Suite struct ProfileProviderConformanceTests {
    static let root = "credential-provider-tests"

    /// Cases of the SDK *default chain* that involve no profile resolution (environment variables,
    /// the container and instance fallbacks of an SDK with no profile): latchkey always resolves a
    /// named profile; their network clients are covered by AWSClientTests' replays.
    static let skipped: [String: String] = [
        "environment_variables": "default chain: environment variables without a profile",
        "environment_variables_blank": "default chain: environment variables without a profile",
        "prefer_environment": "default chain: environment variables win over profiles in SDKs only",
        "ecs_credentials": "default chain: container fallback without a profile",
        "ecs_credentials_invalid_profile": "default chain: container fallback without a profile",
        "eks_pod_identity_credentials": "default chain: container fallback without a profile",
        "eks_pod_identity_no_token_file": "default chain: container fallback without a profile",
        "imds_config_with_no_creds": "default chain: instance metadata fallback without a profile",
        "imds_default_chain_error": "default chain: instance metadata fallback without a profile",
        "imds_default_chain_retries": "default chain: instance metadata fallback without a profile",
        "imds_default_chain_success": "default chain: instance metadata fallback without a profile",
        "imds_disabled": "default chain: instance metadata fallback without a profile",
        "imds_no_iam_role": "default chain: instance metadata fallback without a profile",
        "imds_token_fail": "default chain: instance metadata fallback without a profile",
        "e2e_fips_and_dual_stack_sso": "needs the FIPS dual-stack portal host; covered in AWSClientTests",
    ]

    static let cases: [String] = {
        var names: [String] = []
        for folder in ["profile-provider", "default-credential-provider-chain"] {
            let path = ConformanceData.url("\(root)/\(folder)").path
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            where skipped[name] == nil {
                names.append("\(folder)/\(name)")
            }
        }
        return names.sorted()
    }()

    @Test func suiteIsComplete() {
        #expect(Self.cases.count + Self.skipped.count == 18 + 29, "read \(ConformanceData.directory.path)")
    }

    @Test(arguments: cases)
    func resolves(_ name: String) async throws {
        let testCase = try CredentialProviderCase(directory: ConformanceData.url("\(Self.root)/\(name)"))
        // The case's file system, laid out under a temporary root; absolute paths are moved there.
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "latchkey-conf-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        if FileManager.default.fileExists(atPath: testCase.fileSystemRoot.path) {
            try FileManager.default.copyItem(at: testCase.fileSystemRoot, to: root)
        } else {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        }
        var environment = testCase.environment
        for file in ["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE"] {
            environment[file] = environment[file].map { root.path + $0 }
        }
        environment["HOME"] = root.path + "/home"
        for file in [".aws/config", ".aws/credentials"] {
            let url = root.appendingPathComponent("home/\(file)")
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { continue }
            try text.replacingOccurrences(of: "= /", with: "= \(root.path)/").write(
                to: url, atomically: true, encoding: .utf8)
        }
        let transport = try testCase.replay(matchBodies: false)
        let predicted = Predicted()
        let outcome = await Result {
            let locations = ConfigLocations.resolve(environment: environment)
            let resolver = ProfileResolver(
                config: try AWSSharedConfig.load(locations), environment: environment,
                configFile: locations.configFile)
            // --no-session: what the SDKs do (no GetSessionToken in front of keys or roles).
            let request = CredentialRequest(profile: locations.profileName, noSession: true)
            let plan = try resolver.plan(for: request, storedProfiles: [])
            let context = CoreContext(
                environment: environment, settings: try LatchkeySettings(environment: environment),
                store: CredentialStore(keyring: InMemoryKeyring()), transport: transport,
                mfa: MFACodeSource(prompt: nil, processRunner: ShellRunner(), environment: environment),
                now: { Date(timeIntervalSince1970: 1_577_836_800) })
            let explanation = await Explanation.of(
                plan: plan, inventory: CredentialStore.Inventory(), settings: context.settings,
                now: context.now(),
                mfaToken: nil, promptAvailable: false, backendName: "memory")
            predicted.calls = explanation.steps.filter { $0.action == "call" }.map(\.operation)
            return try await CredentialService(context: context).credentials(for: plan).credentials
        }
        switch (testCase.expected, outcome) {
        case (.credentials(let id, let secret, let token, _, let expiry), .success(let credentials)):
            #expect(credentials.accessKeyId == id && credentials.secretAccessKey == secret)
            #expect(credentials.sessionToken == token)
            if let expiry { #expect(credentials.expiration == expiry) }
            try await transport.verify()
            // A program makes no HTTP call; retries and the steps of one service collapse into one call.
            let made = await transport.requests.map(Self.operation(of:))
            #expect(
                Self.collapsed(made) == Self.collapsed(predicted.calls.filter { $0 != "CredentialProcess" }),
                "explain predicted \(predicted.calls)")
        case (.error, .failure):
            break
        case (.error(let message), .success):
            Issue.record("expected a failure (\(message)), got credentials")
        case (_, .failure(let error)):
            Issue.record("expected credentials, got: \(error)")
        case (.token, _):
            Issue.record("a token case in a credentials folder")
        }
    }
}

extension ProfileProviderConformanceTests {
    /// Which link of a chain an HTTP request belongs to, named as `explain` names it.
    static func operation(of request: HTTPRequest) -> String {
        let body = String(decoding: request.body, as: UTF8.self)
        if let action = body.split(separator: "&").first(where: { $0.hasPrefix("Action=") }) {
            return String(action.dropFirst("Action=".count))
        }
        let host = request.url.host ?? ""
        if host == "169.254.169.254" || host == "fd00:ec2::254" { return "Ec2InstanceMetadata" }
        if request.url.path.hasPrefix("/federation/") { return "GetRoleCredentials" }
        return "EcsContainer"
    }

    static func collapsed(_ calls: [String]) -> [String] {
        calls.reduce(into: []) { result, call in if result.last != call { result.append(call) } }
    }

    /// What `explain` predicted inside the run's closure.
    final class Predicted: @unchecked Sendable {
        var calls: [String] = []
    }
}

/// The suite's `credential_process` lines are shell pipelines (`echo ... | base64 --decode`);
/// latchkey itself never uses a shell, so this test runner hands them to one.
struct ShellRunner: ProcessRunner {
    func output(of arguments: [String], environment: [String: String], timeout: Duration) async throws
        -> String
    {
        try await SystemProcessRunner().output(
            of: ["/bin/sh", "-c", arguments.joined(separator: " ")], environment: environment,
            timeout: timeout)
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
