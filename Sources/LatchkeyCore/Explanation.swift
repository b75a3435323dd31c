import AWSClient
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `latchkey explain`: a plan with what the keyring already holds for it, computed without any
/// network call, prompt or decryption (the keyring's metadata says what is cached until when).
public struct Explanation: Sendable, Encodable {
    public struct Step: Sendable, Encodable {
        public var number: Int
        public var operation: String
        public var profile: String
        public var detail: String
        public var durationSeconds: Int?
        public var chained: Bool
        public var mfaSerial: String?
        public var mfaCoveredBy: String?
        public var codeFrom: String?
        public var cacheKey: String?
        public var cachedUntil: String?
        /// What running the plan would do here: `reuse`, `call`, `skip` (a later step is reused), `read`.
        public var action: String
    }

    public var profile: String
    public var region: String?
    public var stsEndpoint: String
    public var steps: [Step]
    public var notes: [String]
    /// The session policies the last call sends; absent for an unscoped session.
    public var scope: SessionScope?
    /// True when running the plan now would need no MFA code and no STS call.
    public var readyWithoutPrompt: Bool

    /// `explain`: the decision made from the keyring's metadata (nothing decrypted), rendered.
    public static func of(
        plan: CredentialPlan, inventory: CredentialStore.Inventory, settings: LatchkeySettings, now: Date,
        mfaToken: String?, promptAvailable: Bool, backendName: String
    ) async -> Explanation {
        let decision = await CredentialDecision(
            plan: plan, inventory: inventory, minimumTTL: settings.minimumTTL, now: now)
        return Explanation(
            decision: decision, inventory: inventory, settings: settings, now: now, mfaToken: mfaToken,
            promptAvailable: promptAvailable, backendName: backendName)
    }

    /// Renders `decision` (see `CredentialDecision`): the same decision `exec` runs.
    public init(
        decision: CredentialDecision, inventory: CredentialStore.Inventory, settings: LatchkeySettings,
        now: Date, mfaToken: String?, promptAvailable: Bool, backendName: String
    ) {
        let plan = decision.plan
        profile = plan.profile
        region = plan.region
        notes = plan.notes
        scope = plan.scope
        stsEndpoint = plan.sts.endpoint ?? Self.defaultEndpoint(plan)

        let expirations = Dictionary(
            inventory.sessions.map { ($0.key, $0.expiration) }, uniquingKeysWith: { first, _ in first })
        func cachedUntil(_ key: String?) -> String? {
            guard let key, let expiration = expirations[key] ?? nil,
                expiration.timeIntervalSince(now) >= Double(settings.minimumTTL)
            else { return nil }
            return iso8601(expiration)
        }

        var steps: [Step] = [
            Step(
                number: 1, operation: plan.source.operation, profile: plan.source.keyProfile ?? plan.profile,
                detail: Self.describe(plan.source, inventory: inventory, backendName: backendName, now: now),
                durationSeconds: nil, chained: false, mfaSerial: nil, mfaCoveredBy: nil, codeFrom: nil,
                cacheKey: plan.source.cacheKey, cachedUntil: cachedUntil(plan.source.cacheKey),
                action: decision.action(atLink: 0).rawValue)
        ]
        var flagLeft = mfaToken != nil
        var prompts = false
        for (index, step) in plan.steps.enumerated() {
            let action = decision.action(atLink: index + 1)
            var codeFrom: String?
            if action == .call, step.mfaSerial != nil {
                if flagLeft {
                    codeFrom = "--mfa-token"
                    flagLeft = false
                } else if let process = step.mfaProcess {
                    codeFrom = "mfa_process `\(process)`"
                } else {
                    codeFrom =
                        promptAvailable ? "a prompt on the terminal" : "nowhere: no terminal, no mfa_process"
                    prompts = true
                }
            }
            steps.append(
                Step(
                    number: index + 2, operation: step.operation, profile: step.profile,
                    detail: Self.describe(step),
                    durationSeconds: step.durationSeconds, chained: step.chained, mfaSerial: step.mfaSerial,
                    mfaCoveredBy: step.mfaCoveredBy, codeFrom: codeFrom, cacheKey: step.cacheKey,
                    cachedUntil: cachedUntil(step.cacheKey), action: action.rawValue))
        }
        self.steps = steps
        readyWithoutPrompt = !prompts && decision.calls.isEmpty
    }

    static func defaultEndpoint(_ plan: CredentialPlan) -> String {
        let resolved = try? STSEndpoint.resolve(
            region: plan.region ?? "us-east-1", useFIPS: plan.sts.useFIPS,
            useDualStack: plan.sts.useDualStack,
            useGlobalEndpoint: plan.sts.useGlobalEndpoint)
        return resolved?.url.absoluteString ?? "(no endpoint for region \(plan.region ?? "?"))"
    }

    static func describe(
        _ source: CredentialSource, inventory: CredentialStore.Inventory, backendName: String, now: Date
    ) -> String {
        switch source {
        case .storedKey(let profile):
            guard let key = inventory.credentials.first(where: { $0.profile == profile }) else {
                return
                    "the long-lived key of '\(profile)' in the \(backendName) keyring, which is NOT stored yet "
                    + "(`latchkey add \(profile)`)"
            }
            var text = "the long-lived key of '\(profile)' in the \(backendName) keyring"
            if let id = key.accessKeyId { text += " (\(id.prefix(4))…\(id.suffix(4))" }
            if let added = key.added {
                text += ", added \(formatDuration(Int(now.timeIntervalSince(added)))) ago"
            }
            return text + (key.accessKeyId != nil ? ")" : "")
        case .staticKeys(let profile, let credentials):
            return
                "keys written in the shared files under '\(profile)' (\(credentials.accessKeyId.prefix(4))…"
                + "\(credentials.accessKeyId.suffix(4))); `latchkey add \(profile)` would keep them encrypted instead"
        case .environment: return "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment"
        case .instanceMetadata: return "the EC2 instance metadata service (IMDSv2)"
        case .ecsContainer: return "the ECS/EKS container credentials endpoint"
        case .webIdentity(let web):
            return "AssumeRoleWithWebIdentity of \(web.roleArn) with the token in \(web.tokenFile)"
        case .sso(let sso):
            let target =
                sso.roleName.map { "role \($0) in account \(sso.accountId ?? "?")" } ?? "a token only"
            return "IAM Identity Center at \(sso.startURL) (\(sso.region))"
                + (sso.sessionName.map { ", sso-session \($0)" } ?? "") + ": \(target)"
        case .credentialProcess(_, let command, _): return "the output of `\(command)`"
        case .loginSession(let login):
            return login.explanation(inventory: inventory, backendName: backendName)
        }
    }

    static func describe(_ step: PlanStep) -> String {
        switch step.kind {
        case .getSessionToken:
            return "a session for the key of '\(step.profile)'"
        case .assumeRole(let role):
            var text = "\(role.roleArn) as session '\(role.roleSessionName)'"
            if let externalId = role.externalId { text += ", external id \(externalId)" }
            if !role.sessionTags.isEmpty {
                text +=
                    ", tags "
                    + role.sessionTags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                    .joined(separator: ",")
            }
            if let identity = role.sourceIdentity { text += ", source identity \(identity)" }
            return text
        }
    }
}
