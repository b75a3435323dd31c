import AWSClient
import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

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

/// Runs a `CredentialPlan`: decides from the cache which links to reuse and which to make (the
/// same `CredentialDecision` `explain` prints), then runs the providers of the links to make.
public struct CredentialService: Sendable {
    public let context: CoreContext

    public init(context: CoreContext) {
        self.context = context
    }

    public func credentials(for plan: CredentialPlan, mfaToken: String? = nil) async throws
        -> ResolvedCredentials
    {
        let decision = try await CredentialDecision(plan: plan) { key in
            try await context.freshSession(key).flatMap { credentials in
                credentials.expiration.map { .init(expiration: $0, credentials: credentials) }
            }
        }
        if decision.reused?.link ?? 0 < plan.steps.count {
            try await context.store.removeSessions(expiredBefore: context.now())
        }
        let made = try await ProviderGraph.provider(for: decision)
            .credentials(ProviderRun(context: context, mfaToken: mfaToken))
        return ResolvedCredentials(credentials: made.credentials, plan: plan, origin: made.origin)
    }

    /// The credentials the chain starts from (for GetFederationToken, which takes only those).
    func sourceCredentials(_ plan: CredentialPlan) async throws -> AWSCredentials {
        try await ProviderGraph.source(of: plan).credentials(ProviderRun(context: context)).credentials
    }

    /// A usable IAM Identity Center token (see `SSOSignIn`).
    public func ssoToken(_ sso: CredentialSource.SSOSource, forceLogin: Bool) async throws -> SSOToken {
        try await SSOSignIn(context: context).token(sso, forceLogin: forceLogin)
    }
}
