import AWSSigV4
import Dispatch
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import LatchkeyCore

/// The credentials a server hands out, kept ready as finished responses so the hot path is a
/// lock and a copy. Behind it a `RefreshingCredentials` renews them in the background; a
/// request only waits on it when nothing valid is held (at start, or after a failed refresh).
public final class CredentialFeed: Sendable {
    struct Rendered: Sendable {
        var expiration: Date?
        var ecs: HTTPResponse
        var imds: HTTPResponse
    }

    public let refresher: RefreshingCredentials
    let roleArn: String?
    let now: @Sendable () -> Date
    private let rendered: ReadMostly<Rendered?>
    /// How long a request may wait for a refresh before it is answered 503.
    let waitLimit: TimeInterval
    let log: @Sendable (String) -> Void

    /// - Parameter log: told why each failed refresh failed (latchkey's stderr); clients are only
    ///   told that it failed, since the reason may name the MFA device or the account.
    public init(
        roleArn: String? = nil, initial: AWSCredentials? = nil, refreshBefore: TimeInterval,
        backoff: RefreshingCredentials.Backoff = .init(), now: @escaping @Sendable () -> Date = Date.init,
        waitLimit: TimeInterval = 60, log: @escaping @Sendable (String) -> Void = { _ in },
        fetch: @escaping RefreshingCredentials.Fetch
    ) {
        let rendered = ReadMostly<Rendered?>(
            initial.map { Self.render($0, roleArn: roleArn, updated: now()) })
        self.rendered = rendered
        self.roleArn = roleArn
        self.now = now
        self.waitLimit = waitLimit
        self.log = log
        refresher = RefreshingCredentials(
            refreshBefore: refreshBefore, backoff: backoff, now: now, initial: initial,
            onUpdate: { update in
                switch update {
                case .refreshed(let credentials):
                    let fresh = Self.render(credentials, roleArn: roleArn, updated: now())
                    rendered.write { $0 = fresh }
                case .failed(let error):
                    // The final rendering of the refresh's error: a line of the server's log.
                    log("could not refresh the credentials\(roleArn.map { " for \($0)" } ?? ""): \(error)")
                }
            }, fetch: fetch)
    }

    /// Fetches the first credentials (so an MFA prompt happens before anything is served).
    public func prime() async throws -> AWSCredentials {
        try await refresher.current()
    }

    /// Starts the background refresh loop; cancel the task to stop it.
    public func startRefreshing() -> Task<Void, Never> {
        let refresher = self.refresher
        return Task.detached {
            await refresher.runRefreshLoop(sleep: { try await Task.sleep(for: .seconds($0)) })
        }
    }

    enum Flavour { case ecs, imds }

    func response(_ flavour: Flavour) -> HTTPResponse {
        let time = now()
        if let ready = rendered.current, ready.expiration.map({ $0 > time }) ?? true {
            return flavour == .ecs ? ready.ecs : ready.imds
        }
        // Nothing valid held: wait for the refresher, which answers at once while backing off.
        let refresher = self.refresher
        switch waitFor(limit: waitLimit, { try await refresher.current() }) {
        case .success(let credentials):
            let fresh = Self.render(credentials, roleArn: roleArn, updated: time)
            return flavour == .ecs ? fresh.ecs : fresh.imds
        case .failure:
            return Self.unavailable(
                flavour, reason: "the renewal failed; latchkey's own output (stderr) says why.")
        case nil:
            return Self.unavailable(
                flavour, reason: "the credentials are still being refreshed; try again shortly.")
        }
    }

    /// What a client is told: whether to wait or look at latchkey's output, never the cause itself.
    static func unavailable(_ flavour: Flavour, reason: String) -> HTTPResponse {
        let message = "latchkey could not refresh the credentials: \(reason)"
        switch flavour {
        case .ecs:
            let body = "{\"code\":\"CredentialsUnavailable\",\"message\":\(jsonString(message))}"
            return HTTPResponse(status: 503, contentType: "application/json", body: Array(body.utf8))
        case .imds:
            return .text(503, message)
        }
    }

    static func render(_ credentials: AWSCredentials, roleArn: String?, updated: Date) -> Rendered {
        let expiration = credentials.expiration
        // Long-lived keys have no expiry; SDKs require the field, so promise an hour and re-read then.
        let expirationText = iso8601(expiration ?? updated.addingTimeInterval(3600))
        var ecs: [(String, String)] = []
        if let roleArn { ecs.append(("RoleArn", roleArn)) }
        ecs += [
            ("AccessKeyId", credentials.accessKeyId),
            ("SecretAccessKey", credentials.secretAccessKey),
            ("Token", credentials.sessionToken ?? ""),
            ("Expiration", expirationText),
        ]
        let imds: [(String, String)] = [
            ("Code", "Success"),
            ("LastUpdated", iso8601(updated)),
            ("Type", "AWS-HMAC"),
            ("AccessKeyId", credentials.accessKeyId),
            ("SecretAccessKey", credentials.secretAccessKey),
            ("Token", credentials.sessionToken ?? ""),
            ("Expiration", expirationText),
        ]
        return Rendered(
            expiration: expiration,
            ecs: HTTPResponse(status: 200, contentType: "application/json", body: Array(jsonObject(ecs).utf8))
                .prebuilt(),
            imds: HTTPResponse(status: 200, contentType: "text/plain", body: Array(jsonObject(imds).utf8))
                .prebuilt())
    }
}

/// Per-role feeds for the ECS server's `/role-arn/ARN`, each assuming its role from the
/// profile's session; bounded so a client cannot make the server hold unlimited sessions.
public final class RoleFeeds: Sendable {
    public typealias Assume =
        @Sendable (_ roleArn: String, _ base: AWSCredentials) async throws -> AWSCredentials

    let base: CredentialFeed
    let assume: Assume
    let refreshBefore: TimeInterval
    let limit: Int
    private let feeds = Locked<[String: CredentialFeed]>([:])

    public init(base: CredentialFeed, refreshBefore: TimeInterval, limit: Int = 32, assume: @escaping Assume)
    {
        self.base = base
        self.assume = assume
        self.refreshBefore = refreshBefore
        self.limit = limit
    }

    /// The role's feed, created on first use; nil when `limit` roles are already held.
    func feed(for roleArn: String) -> CredentialFeed? {
        feeds.withLock { feeds in
            if let existing = feeds[roleArn] { return existing }
            guard feeds.count < limit else { return nil }
            let base = self.base.refresher
            let assume = self.assume
            let feed = CredentialFeed(
                roleArn: roleArn, refreshBefore: refreshBefore, now: self.base.now,
                waitLimit: self.base.waitLimit, log: self.base.log
            ) {
                try await assume(roleArn, try await base.current())
            }
            feeds[roleArn] = feed
            return feed
        }
    }
}

/// Runs async work from an event-loop thread (never a Swift concurrency thread) and waits for
/// it; nil when it took longer than `limit`.
func waitFor<T: Sendable>(limit: TimeInterval, _ operation: @escaping @Sendable () async throws -> T)
    -> Result<
        T, any Error
    >?
{
    let done = DispatchSemaphore(value: 0)
    let outcome = Locked<Result<T, any Error>?>(nil)
    Task.detached {
        do {
            let value = try await operation()
            outcome.withLock { $0 = .success(value) }
        } catch {
            outcome.withLock { $0 = .failure(error) }
        }
        done.signal()
    }
    guard done.wait(timeout: .now() + limit) == .success else { return nil }
    return outcome.current
}

func jsonObject(_ pairs: [(String, String)]) -> String {
    "{" + pairs.map { "\(jsonString($0.0)):\(jsonString($0.1))" }.joined(separator: ",") + "}"
}
