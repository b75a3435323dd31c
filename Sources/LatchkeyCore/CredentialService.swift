import AWSClient
import AWSConfig
import AWSSigV4
import Foundation
import Keyring

/// Where the credentials handed out came from.
public enum CredentialOrigin: Sendable, Equatable {
    case longLivedKey
    case cachedSession
    case newSession
}

public struct ResolvedCredentials: Sendable {
    public var credentials: AWSCredentials
    public var plan: CredentialPlan
    public var origin: CredentialOrigin
}

/// Everything the core needs from the outside world, passed in as values.
public struct CoreContext: Sendable {
    public var environment: [String: String]
    public var settings: LatchkeySettings
    public var store: CredentialStore
    public var transport: any HTTPTransport
    public var mfa: MFACodeSource
    public var now: @Sendable () -> Date
    public var debug: @Sendable (String) -> Void
    /// Shows an IAM Identity Center sign-in; nil where no one can be shown one.
    public var ssoPresenter: (any SSOLoginPresenter)?
    /// Where the per-session locks live (see `SessionLocks`); nil turns coordination off.
    public var lockDirectory: String?
    /// Tells the person something while latchkey waits (on the terminal, never stdout).
    public var notice: @Sendable (String) -> Void = { _ in }
    /// Set when no one may be asked (`--no-prompt`, `LATCHKEY_NO_PROMPT=1`, no terminal).
    public var promptsOff: PromptsOff?

    public init(
        environment: [String: String], settings: LatchkeySettings, store: CredentialStore,
        transport: any HTTPTransport, mfa: MFACodeSource, now: @escaping @Sendable () -> Date = Date.init,
        debug: @escaping @Sendable (String) -> Void = { _ in }, ssoPresenter: (any SSOLoginPresenter)? = nil
    ) {
        self.ssoPresenter = ssoPresenter
        self.environment = environment
        self.settings = settings
        self.store = store
        self.transport = transport
        self.mfa = mfa
        self.now = now
        self.debug = debug
    }
}

/// Runs a `CredentialPlan`: from the end of the chain back, the first cached session with long
/// enough left is used; the steps after it are run (an MFA code asked for at most once per
/// device) and each result is cached.
public struct CredentialService: Sendable {
    public let context: CoreContext

    public init(context: CoreContext) {
        self.context = context
    }

    public func credentials(for plan: CredentialPlan, mfaToken: String? = nil) async throws
        -> ResolvedCredentials
    {
        let store = context.store
        let now = context.now()
        var credentials: AWSCredentials
        var origin = CredentialOrigin.cachedSession
        var next = 0
        if let (index, cached) = try await newestCachedStep(plan, now: now) {
            (credentials, next) = (cached, index + 1)
        } else {
            (credentials, origin) = try await sourceCredentials(plan, now: now)
        }
        guard next < plan.steps.count else {
            return ResolvedCredentials(credentials: credentials, plan: plan, origin: origin)
        }
        try await store.removeSessions(expiredBefore: now)
        var flag = mfaToken
        for index in next..<plan.steps.count {
            let step = plan.steps[index]
            // Session policies narrow the last call only; the resolver put them only where AWS takes them.
            let scope = index == plan.steps.count - 1 ? plan.scope : nil
            // One process at a time makes a given session; the others wait, then find it cached.
            let lock = try await lockSession(step.cacheKey, profile: step.profile)
            defer { lock?.release() }
            if lock != nil, let cached = try await fresh(step.cacheKey, now: context.now()) {
                credentials = cached
                continue
            }
            var code: String?
            if let serial = step.mfaSerial {
                code = try await context.mfa.code(
                    profile: step.profile, serial: serial, mfaProcess: step.mfaProcess, flag: flag)
                flag = nil
            }
            let sts = try stsClient(
                credentials: credentials, plan: plan, profile: step.profile, operation: step.operation)
            context.debug(
                "calling \(step.operation) for '\(step.profile)' at \(sts.endpoint) with key \(mask(credentials.accessKeyId))"
            )
            do {
                switch step.kind {
                case .getSessionToken:
                    credentials = try await sts.getSessionToken(
                        durationSeconds: step.durationSeconds, serialNumber: step.mfaSerial, tokenCode: code)
                case .assumeRole(let role):
                    credentials = try await sts.assumeRole(
                        AssumeRoleRequest(
                            roleArn: role.roleArn, roleSessionName: role.roleSessionName,
                            durationSeconds: step.durationSeconds, externalId: role.externalId,
                            serialNumber: step.mfaSerial, tokenCode: code,
                            sourceIdentity: role.sourceIdentity,
                            tags: role.sessionTags.sorted { $0.key < $1.key }.map {
                                .init(key: $0.key, value: $0.value)
                            },
                            transitiveTagKeys: role.transitiveTagKeys, policy: scope?.policy,
                            policyArns: scope?.policyArns ?? [])
                    ).credentials
                }
            } catch {
                throw explain(error, step: step, keyProfile: plan.source.keyProfile, sentCode: code != nil)
            }
            if let code, let serial = step.mfaSerial { context.mfa.accepted(serial: serial, code: code) }
            try await store.storeSession(
                credentials, key: step.cacheKey, profile: step.profile, type: step.operation,
                mfaSerial: step.mfaSerial ?? step.mfaCoveredBy)
        }
        return ResolvedCredentials(credentials: credentials, plan: plan, origin: .newSession)
    }

    /// The last step of the chain whose cached session can be used, searching from the end.
    func newestCachedStep(_ plan: CredentialPlan, now: Date) async throws -> (Int, AWSCredentials)? {
        for index in plan.steps.indices.reversed() {
            if let cached = try await fresh(plan.steps[index].cacheKey, now: now) { return (index, cached) }
        }
        return nil
    }

    /// A cached session with at least the minimum time left.
    func fresh(_ key: String, now: Date) async throws -> AWSCredentials? {
        guard let cached = try await context.store.session(key: key), let expiration = cached.expiration
        else {
            return nil
        }
        let left = Int(expiration.timeIntervalSince(now))
        guard left >= context.settings.minimumTTL else {
            context.debug("cached session \(key) has \(formatDuration(left)) left: getting a new one")
            return nil
        }
        context.debug("reusing cached session \(key), \(formatDuration(left)) left")
        return cached
    }

    /// The credentials a chain starts from.
    func sourceCredentials(_ plan: CredentialPlan, now: Date) async throws -> (
        credentials: AWSCredentials, origin: CredentialOrigin
    ) {
        switch plan.source {
        case .storedKey(let profile):
            guard let key = try await context.store.longLivedKey(profile: profile) else {
                throw LatchkeyError.noStoredCredentials(
                    profile: profile, backend: context.store.keyring.backendName)
            }
            return (key, .longLivedKey)
        case .staticKeys(_, let credentials):
            return (credentials, .longLivedKey)
        case .environment:
            guard let id = nonEmpty(context.environment["AWS_ACCESS_KEY_ID"]),
                let secret = nonEmpty(context.environment["AWS_SECRET_ACCESS_KEY"])
            else {
                throw LatchkeyError.sourceUnavailable(
                    profile: plan.profile, source: "credential_source = Environment",
                    reason: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set.")
            }
            return (
                AWSCredentials(
                    accessKeyId: id, secretAccessKey: secret,
                    sessionToken: nonEmpty(context.environment["AWS_SESSION_TOKEN"])), .longLivedKey
            )
        case .loginSession(let login):
            return try await loginSessionCredentials(login)
        default:
            return try await externalSourceCredentials(plan, now: now)
        }
    }

    func stsClient(credentials: AWSCredentials?, plan: CredentialPlan, profile: String, operation: String)
        throws
        -> STSClient
    {
        let endpoint = try plan.sts.endpoint.map { text -> URL in
            guard let url = URL(string: text), url.scheme != nil, url.host != nil else {
                throw LatchkeyError.awsCallFailed(
                    operation: operation, profile: profile,
                    detail:
                        "the configured STS endpoint '\(text)' is not a URL; fix endpoint_url or AWS_ENDPOINT_URL."
                )
            }
            return url
        }
        return try STSClient(
            credentials: credentials, region: plan.region ?? "us-east-1", endpoint: endpoint,
            transport: context.transport, now: context.now, useFIPS: plan.sts.useFIPS,
            useDualStack: plan.sts.useDualStack, useGlobalEndpoint: plan.sts.useGlobalEndpoint)
    }

    /// Turns an AWS failure into a sentence that says what to do about it.
    func explain(_ error: any Error, step: PlanStep, keyProfile: String?, sentCode: Bool) -> any Error {
        guard case AWSClientError.service(let service) = error else {
            return LatchkeyError.awsCallFailed(
                operation: step.operation, profile: step.profile, detail: "\(error)")
        }
        if sentCode, let serial = step.mfaSerial, service.code == "AccessDenied",
            service.message.localizedCaseInsensitiveContains("MultiFactorAuthentication")
                || service.message.localizedCaseInsensitiveContains("MFA")
        {
            return LatchkeyError.mfaRejected(profile: step.profile, serial: serial)
        }
        let owner = keyProfile ?? step.profile
        let advice: String
        switch service.code {
        case "InvalidClientTokenId":
            advice =
                " The key for '\(owner)' is not known to AWS (deleted or rotated?): "
                + "store the current one with `latchkey add \(owner)`."
        case "SignatureDoesNotMatch":
            advice =
                " The stored secret does not match its key id: store the pair again with `latchkey add \(owner)`."
        case "ExpiredToken", "ExpiredTokenException":
            advice = " A cached session expired early; run `latchkey clear \(step.profile)` and try again."
        case "AccessDenied" where step.mfaSerial == nil && step.mfaCoveredBy == nil:
            advice =
                " If your account requires MFA, add `mfa_serial = arn:aws:iam::ACCOUNT:mfa/NAME` to the profile."
        default:
            advice = service.isThrottling ? " AWS kept throttling the call; wait a minute and try again." : ""
        }
        return LatchkeyError.awsCallFailed(
            operation: step.operation, profile: step.profile, detail: "\(service)\(advice)")
    }
}
