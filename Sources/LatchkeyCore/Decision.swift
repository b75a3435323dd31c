import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What running a plan does at each link of its chain, decided once from what is cached:
/// `exec`, `export` and the servers run it (`CredentialService`), `explain` prints it
/// (`Explanation`). Links are numbered from 0 (the source) to `plan.steps.count` (the last step).
public struct CredentialDecision: Sendable {
    public enum Action: String, Sendable, Encodable {
        /// Read a key (stored, written, in the environment) or a stored sign-in session.
        case read
        /// Use the cached session of this link.
        case reuse
        /// Make this link's credentials: an STS call, a service, a program.
        case call
        /// Not needed: a later link's cached session is used.
        case skip
    }

    /// A cached session with enough time left. `credentials` is nil where only the keyring's
    /// metadata was read (`explain` decrypts nothing).
    public struct Cached: Sendable {
        public var expiration: Date
        public var credentials: AWSCredentials?

        public init(expiration: Date, credentials: AWSCredentials?) {
            self.expiration = expiration
            self.credentials = credentials
        }
    }

    public let plan: CredentialPlan
    /// The newest link whose cached session is used, and that session; nil when nothing is cached.
    public let reused: (link: Int, session: Cached)?

    /// Looks the links' cache keys up from the last link back and stops at the first usable one:
    /// the newest session wins, and nothing before it is read.
    public init(plan: CredentialPlan, usable: (String) async throws -> Cached?) async rethrows {
        self.plan = plan
        for link in stride(from: plan.steps.count, through: 0, by: -1) {
            guard let key = plan.cacheKey(ofLink: link) else { continue }
            if let session = try await usable(key) {
                reused = (link, session)
                return
            }
        }
        reused = nil
    }

    /// The decision as `explain` sees it: from the keyring's metadata, with the minimum time left.
    public init(
        plan: CredentialPlan, inventory: CredentialStore.Inventory, minimumTTL: Int, now: Date
    ) async {
        let expirations = Dictionary(
            inventory.sessions.map { ($0.key, $0.expiration) }, uniquingKeysWith: { first, _ in first })
        await self.init(plan: plan) { key in
            guard let expiration = expirations[key] ?? nil,
                expiration.timeIntervalSince(now) >= Double(minimumTTL)
            else { return nil }
            return Cached(expiration: expiration, credentials: nil)
        }
    }

    public func action(atLink link: Int) -> Action {
        if let reused {
            if link < reused.link { return .skip }
            if link == reused.link { return .reuse }
            return .call
        }
        return link == 0 && plan.source.isLocal ? .read : .call
    }

    /// The operations running the decision calls, in order (`read` links are not calls).
    public var calls: [String] {
        (0...plan.steps.count).filter { action(atLink: $0) == .call }.map {
            $0 == 0 ? plan.source.operation : plan.steps[$0 - 1].operation
        }
    }
}

extension CredentialPlan {
    /// The cache key of link `link` (0 the source, then the steps); nil for a link never cached.
    func cacheKey(ofLink link: Int) -> String? {
        link == 0 ? source.cacheKey : steps[link - 1].cacheKey
    }
}
