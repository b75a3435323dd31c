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

    public init(
        environment: [String: String], settings: LatchkeySettings, store: CredentialStore,
        transport: any HTTPTransport, mfa: MFACodeSource, now: @escaping @Sendable () -> Date = Date.init,
        debug: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.environment = environment
        self.settings = settings
        self.store = store
        self.transport = transport
        self.mfa = mfa
        self.now = now
        self.debug = debug
    }
}

/// Runs a `CredentialPlan`: the cached session when it has long enough left, otherwise the
/// stored key, an MFA code and an STS call, whose result is cached.
public struct CredentialService: Sendable {
    public let context: CoreContext

    public init(context: CoreContext) {
        self.context = context
    }

    public func credentials(for plan: CredentialPlan, mfaToken: String? = nil) async throws
        -> ResolvedCredentials
    {
        let store = context.store
        guard let cacheKey = plan.sessionCacheKey else {
            return ResolvedCredentials(
                credentials: try await requireKey(plan), plan: plan, origin: .longLivedKey)
        }
        let now = context.now()
        if let cached = try await store.session(key: cacheKey), let expiration = cached.expiration {
            let left = Int(expiration.timeIntervalSince(now))
            if left >= context.settings.minimumTTL {
                context.debug("reusing cached session \(cacheKey), \(formatDuration(left)) left")
                return ResolvedCredentials(credentials: cached, plan: plan, origin: .cachedSession)
            }
            context.debug("cached session \(cacheKey) has \(formatDuration(left)) left: getting a new one")
        }
        try await store.removeSessions(expiredBefore: now)

        let key = try await requireKey(plan)
        let sts = try stsClient(credentials: key, plan: plan)
        var code: String?
        if let serial = plan.mfaSerial {
            code = try await context.mfa.code(for: plan, serial: serial, flag: mfaToken)
        }
        context.debug("calling \(plan.operationName) at \(sts.endpoint) with key \(mask(key.accessKeyId))")
        let session: AWSCredentials
        do {
            switch plan.step {
            case .longLivedKey:
                preconditionFailure("a plan without a session has no cache key")
            case .getSessionToken(let duration):
                session = try await sts.getSessionToken(
                    durationSeconds: duration, serialNumber: plan.mfaSerial, tokenCode: code)
            case .assumeRole(let role):
                session = try await sts.assumeRole(
                    AssumeRoleRequest(
                        roleArn: role.roleArn, roleSessionName: role.roleSessionName,
                        durationSeconds: role.durationSeconds, externalId: role.externalId,
                        serialNumber: plan.mfaSerial, tokenCode: code)
                ).credentials
            }
        } catch {
            throw explain(error, plan: plan, sentCode: code != nil)
        }
        try await store.storeSession(
            session, key: cacheKey, profile: plan.profile, type: plan.operationName, mfaSerial: plan.mfaSerial
        )
        return ResolvedCredentials(credentials: session, plan: plan, origin: .newSession)
    }

    func requireKey(_ plan: CredentialPlan) async throws -> AWSCredentials {
        guard let key = try await context.store.longLivedKey(profile: plan.keyProfile) else {
            throw LatchkeyError.noStoredCredentials(
                profile: plan.keyProfile, backend: context.store.keyring.backendName)
        }
        return key
    }

    func stsClient(credentials: AWSCredentials, plan: CredentialPlan) throws -> STSClient {
        let endpoint = try plan.stsEndpoint.map { text -> URL in
            guard let url = URL(string: text), url.scheme != nil, url.host != nil else {
                throw LatchkeyError.awsCallFailed(
                    operation: plan.operationName, profile: plan.profile,
                    detail:
                        "the configured STS endpoint '\(text)' is not a URL; fix endpoint_url or AWS_ENDPOINT_URL."
                )
            }
            return url
        }
        return try STSClient(
            credentials: credentials, region: plan.region ?? "us-east-1", endpoint: endpoint,
            transport: context.transport, now: context.now)
    }

    /// Turns an AWS failure into a sentence that says what to do about it.
    func explain(_ error: any Error, plan: CredentialPlan, sentCode: Bool) -> any Error {
        guard case AWSClientError.service(let service) = error else {
            return LatchkeyError.awsCallFailed(
                operation: plan.operationName, profile: plan.profile, detail: "\(error)")
        }
        if sentCode, let serial = plan.mfaSerial, service.code == "AccessDenied",
            service.message.localizedCaseInsensitiveContains("MultiFactorAuthentication")
                || service.message.localizedCaseInsensitiveContains("MFA")
        {
            return LatchkeyError.mfaRejected(profile: plan.profile, serial: serial)
        }
        let advice: String
        switch service.code {
        case "InvalidClientTokenId":
            advice =
                " The stored key for '\(plan.keyProfile)' is not known to AWS (deleted or rotated?): "
                + "store the current one with `latchkey add \(plan.keyProfile)`."
        case "SignatureDoesNotMatch":
            advice =
                " The stored secret does not match its key id: store the pair again with "
                + "`latchkey add \(plan.keyProfile)`."
        case "AccessDenied" where plan.mfaSerial == nil:
            advice =
                " If your account requires MFA, add `mfa_serial = arn:aws:iam::ACCOUNT:mfa/NAME` to the profile."
        default:
            advice = service.isThrottling ? " AWS kept throttling the call; wait a minute and try again." : ""
        }
        return LatchkeyError.awsCallFailed(
            operation: plan.operationName, profile: plan.profile, detail: "\(service)\(advice)")
    }
}
