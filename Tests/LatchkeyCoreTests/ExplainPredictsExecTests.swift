import AWSClient
import AWSConfig
import AWSSigV4
import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

/// `explain` and `exec` share one decision: over a generated set of profiles (chains of roles,
/// MFA on the source, on a role or both, durations above the chaining limit, `--no-session`,
/// `include_profile`, `[default]` inheritance) and over the life of their cached sessions, the
/// calls `explain` predicts are exactly the calls running the plan makes, and it asks for a code
/// exactly where `explain` said it would.
@Suite struct ExplainPredictsExecTests {
    static let sourceDevice = "arn:aws:iam::111122223333:mfa/base"
    static let roleDevice = "arn:aws:iam::111122223333:mfa/other"

    struct Variant: Sendable, CustomStringConvertible {
        var sourceMFA: Bool
        /// nil: no MFA on the first role; else the device it names.
        var roleMFA: String?
        var hops: Int
        var longRole: Bool
        var noSession: Bool
        var viaInclude: Bool
        /// The last of two hops names a device of its own (a second code).
        var lastHopMFA = false

        var description: String {
            "source MFA \(sourceMFA), role MFA \(roleMFA ?? "none"), last hop MFA \(lastHopMFA), \(hops) hop(s), "
                + "long role \(longRole), "
                + "no-session \(noSession), include_profile \(viaInclude)"
        }

        /// The profile asked for.
        var profile: String { viaInclude ? "included" : (hops == 0 ? "base" : "hop\(hops)") }

        var config: String {
            var text = """
                [default]
                region = eu-west-1
                duration_seconds = 7200

                [profile base]
                \(sourceMFA ? "mfa_serial = \(ExplainPredictsExecTests.sourceDevice)" : "")

                """
            for hop in stride(from: 1, through: hops, by: 1) {
                text += """
                    [profile hop\(hop)]
                    source_profile = \(hop == 1 ? "base" : "hop\(hop - 1)")
                    role_arn = arn:aws:iam::\(hop == 1 ? "111122223333" : "444455556666"):role/hop\(hop)
                    \(hop == 1 ? roleMFA.map { "mfa_serial = \($0)" } ?? "" : "")
                    \(hop == 2 && lastHopMFA ? "mfa_serial = \(ExplainPredictsExecTests.roleDevice)" : "")
                    \(hop == hops ? "duration_seconds = \(longRole ? 43200 : 3600)" : "")

                    """
            }
            if viaInclude {
                text += "[profile included]\ninclude_profile = \(hops == 0 ? "base" : "hop\(hops)")\n"
            }
            return text
        }

        func plan() throws -> CredentialPlan {
            try ProfileResolver(
                config: try AWSSharedConfig.parse(configText: config, credentialsText: nil), environment: [:],
                configFile: "config"
            ).plan(for: CredentialRequest(profile: profile, noSession: noSession))
        }
    }

    static let variants: [Variant] = {
        var all: [Variant] = []
        for hops in 0...2 {
            for sourceMFA in [false, true] {
                for roleMFA in hops == 0 ? [nil] : [nil, sourceDevice, roleDevice] {
                    for longRole in hops == 0 ? [false] : [false, true] {
                        for noSession in [false, true] {
                            all.append(
                                Variant(
                                    sourceMFA: sourceMFA, roleMFA: roleMFA, hops: hops, longRole: longRole,
                                    noSession: noSession, viaInclude: false))
                        }
                    }
                }
            }
        }
        all.append(
            Variant(
                sourceMFA: true, roleMFA: nil, hops: 1, longRole: false, noSession: false, viaInclude: true))
        all.append(
            Variant(
                sourceMFA: false, roleMFA: roleDevice, hops: 2, longRole: true, noSession: false,
                viaInclude: true))
        for noSession in [false, true] {
            all.append(
                Variant(
                    sourceMFA: true, roleMFA: nil, hops: 2, longRole: false, noSession: noSession,
                    viaInclude: false, lastHopMFA: true))
        }
        return all
    }()

    @Test(arguments: variants)
    func explainPredictsTheCallsAndPrompts(_ variant: Variant) async throws {
        let clock = ManualClock()
        let keyring = InMemoryKeyring()
        let store = CredentialStore(keyring: keyring)
        try await store.storeLongLivedKey(
            AWSCredentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "secret"), profile: "base",
            now: clock.date)
        let sts = RespondingSTS(clock: clock)
        let prompt = ScriptedPrompt(Array(repeating: "123456", count: 64))
        let settings = try LatchkeySettings(environment: ["HOME": "/nonexistent"])
        let context = CoreContext(
            environment: [:], settings: settings, store: store, transport: sts,
            mfa: MFACodeSource(
                prompt: prompt, processRunner: ScriptedProcessRunner(output: ""), environment: [:]),
            now: clock.now)
        let plan: CredentialPlan
        do {
            plan = try variant.plan()
        } catch LatchkeyError.chainedDurationTooLong {
            // A second hop is always chained: asking it for 12 hours is refused before anything runs,
            // for `explain` and `exec` alike.
            #expect(variant.hops == 2 && variant.longRole)
            return
        }

        // First run, a run with everything cached, then later: the roles' 1-hour sessions gone but
        // an 8-hour GetSessionToken session left, and finally everything expired.
        var sawReuse = false
        let advances: [TimeInterval] = [0, 60, 3600, 9 * 3600]
        for (round, advance) in advances.enumerated() {
            clock.advance(by: advance)
            let explanation = await Explanation.of(
                plan: plan, inventory: try await store.inventory(), settings: settings, now: clock.date,
                mfaToken: nil, promptAvailable: true, backendName: "memory")
            let predicted = explanation.steps.filter { $0.action == "call" }.map(\.operation)
            let predictedPrompts = explanation.steps.filter { $0.codeFrom == "a prompt on the terminal" }
                .count
            sawReuse = sawReuse || explanation.steps.contains { $0.action == "reuse" }
            let callsBefore = await sts.operations.count
            let promptsBefore = prompt.count

            let resolved = try await CredentialService(context: context).credentials(for: plan)

            let made = await Array(sts.operations.dropFirst(callsBefore))
            #expect(made == predicted, "round \(round): explain predicted \(predicted), running made \(made)")
            #expect(
                prompt.count - promptsBefore == predictedPrompts,
                "round \(round): explain predicted \(predictedPrompts) prompt(s)")
            #expect(resolved.credentials.accessKeyId.hasPrefix(plan.steps.isEmpty ? "AKIA" : "ASIA"))
        }
        #expect(sawReuse == !plan.steps.isEmpty, "a chain with steps has cached sessions to reuse")
    }

    @Test func theGeneratedSetCoversWhatTheIssueNames() throws {
        let plans = Self.variants.compactMap { try? $0.plan() }
        #expect(plans.contains { $0.steps.contains(where: \.chained) })
        #expect(plans.contains { $0.steps.contains { $0.mfaCoveredBy != nil } })
        #expect(plans.contains { $0.steps.filter { $0.mfaSerial != nil }.count == 2 })
        #expect(plans.contains { $0.steps.first?.operation == "AssumeRole" })
        #expect(plans.contains { $0.steps.first?.operation == "GetSessionToken" })
    }
}

/// STS as far as these chains need it: GetSessionToken and AssumeRole answered with new
/// credentials that last the asked duration, the role-chaining cap enforced as AWS does, and the
/// operations recorded in order.
actor RespondingSTS: HTTPTransport {
    let clock: ManualClock
    private(set) var operations: [String] = []
    private var issued = 0

    init(clock: ManualClock) {
        self.clock = clock
    }

    func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse {
        var parameters: [String: String] = [:]
        for pair in String(decoding: request.body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            parameters[parts[0]] = parts.count > 1 ? parts[1].removingPercentEncoding : ""
        }
        let action = parameters["Action"] ?? "?"
        operations.append(action)
        let duration = Int(parameters["DurationSeconds"] ?? "") ?? 3600
        let signer = request.headers.first { $0.key.lowercased() == "authorization" }?.value ?? ""
        if action == "AssumeRole", signer.contains("Credential=ASIA"), duration > 3600 {
            return Self.xml(
                "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>The requested "
                    + "DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
                    + "</Message></Error><RequestId>1</RequestId></ErrorResponse>", status: 400)
        }
        issued += 1
        let credentials = """
            <Credentials><AccessKeyId>ASIA\(String(format: "%016d", issued))</AccessKeyId>
            <SecretAccessKey>s\(issued)</SecretAccessKey><SessionToken>t\(issued)</SessionToken>
            <Expiration>\(iso8601(clock.date + TimeInterval(duration)))</Expiration></Credentials>
            """
        switch action {
        case "GetSessionToken":
            return Self.xml(
                "<GetSessionTokenResponse><GetSessionTokenResult>\(credentials)</GetSessionTokenResult>"
                    + "</GetSessionTokenResponse>")
        case "AssumeRole":
            return Self.xml(
                "<AssumeRoleResponse><AssumeRoleResult>\(credentials)<AssumedRoleUser><AssumedRoleId>AROA:s"
                    + "</AssumedRoleId><Arn>arn:aws:sts::111122223333:assumed-role/R/s</Arn></AssumedRoleUser>"
                    + "</AssumeRoleResult></AssumeRoleResponse>")
        default:
            return Self.xml(
                "<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>", status: 400)
        }
    }

    static func xml(_ body: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/xml"], body: Data(body.utf8))
    }
}
