import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Credentials that renew themselves ahead of expiry, for the long-lived credential servers.
///
/// One refresh runs at a time however many callers ask; they all await it. A failed refresh
/// (no MFA code, AWS refused, network down) is remembered: until its backoff has passed every
/// caller gets the still-valid old credentials or, once those have expired, the same clear error
/// at once, so a missing MFA code never turns into a busy loop of prompts or STS calls.
public actor RefreshingCredentials {
    public typealias Fetch = @Sendable () async throws -> AWSCredentials

    /// How long after failures to wait before trying again: doubling from `initial` up to `maximum`.
    public struct Backoff: Sendable, Equatable {
        public var initial: TimeInterval
        public var maximum: TimeInterval

        public init(initial: TimeInterval = 10, maximum: TimeInterval = 300) {
            self.initial = initial
            self.maximum = maximum
        }

        public func delay(afterFailures count: Int) -> TimeInterval {
            guard count > 0 else { return 0 }
            return min(maximum, initial * Double(1 << min(count - 1, 30)))
        }
    }

    /// What callers see change: new credentials, or a refresh that failed (with its error).
    public enum Update: Sendable {
        case refreshed(AWSCredentials)
        case failed(any Error)
    }

    private let fetch: Fetch
    private let refreshBefore: TimeInterval
    private let backoff: Backoff
    private let now: @Sendable () -> Date
    private let onUpdate: @Sendable (Update) -> Void

    private var credentials: AWSCredentials?
    private var inFlight: Task<AWSCredentials, any Error>?
    private var failures = 0
    private var lastError: (any Error)?
    private var retryAfter: Date?
    public private(set) var fetchCount = 0

    /// - Parameters:
    ///   - refreshBefore: renew when less than this is left before `expiration`.
    ///   - onUpdate: called (on the actor) after every refresh, e.g. to re-render a cached response.
    public init(
        refreshBefore: TimeInterval, backoff: Backoff = Backoff(),
        now: @escaping @Sendable () -> Date = Date.init,
        initial: AWSCredentials? = nil, onUpdate: @escaping @Sendable (Update) -> Void = { _ in },
        fetch: @escaping Fetch
    ) {
        self.refreshBefore = refreshBefore
        self.backoff = backoff
        self.now = now
        self.credentials = initial
        self.onUpdate = onUpdate
        self.fetch = fetch
    }

    /// Fresh credentials: the held ones unless they are due, else the (one) refresh's result;
    /// while a failure's backoff runs, the held ones if still valid, else the failure.
    public func current() async throws -> AWSCredentials {
        let time = now()
        if let credentials, !isDue(credentials, at: time) { return credentials }
        if let retryAfter, time < retryAfter {
            if let credentials, !isExpired(credentials, at: time) { return credentials }
            throw lastError ?? RefreshError.unavailable
        }
        do {
            return try await refresh()
        } catch {
            if let credentials, !isExpired(credentials, at: now()) { return credentials }
            throw error
        }
    }

    /// Starts a refresh, or joins the one in flight.
    public func refresh() async throws -> AWSCredentials {
        if let inFlight { return try await inFlight.value }
        fetchCount += 1
        let task = Task { try await fetch() }
        inFlight = task
        defer { inFlight = nil }
        do {
            let fresh = try await task.value
            if isDue(fresh, at: now()) {
                // A refresh that brings nothing newer must not be retried at once (no spinning).
                record(failure: RefreshError.notRenewed)
            } else {
                failures = 0
                lastError = nil
                retryAfter = nil
            }
            credentials = fresh
            onUpdate(.refreshed(fresh))
            return fresh
        } catch {
            record(failure: error)
            throw error
        }
    }

    /// When the background loop should next refresh, from `now`: 0 when due.
    public func secondsUntilRefresh() -> TimeInterval {
        let time = now()
        if let retryAfter, time < retryAfter { return retryAfter.timeIntervalSince(time) }
        guard let credentials else { return 0 }
        guard let expiration = credentials.expiration else { return .infinity }
        return max(0, expiration.timeIntervalSince(time) - refreshBefore)
    }

    /// Refreshes ahead of expiry until cancelled; `sleep` is injected so tests need no wall clock.
    public func runRefreshLoop(sleep: @escaping @Sendable (TimeInterval) async throws -> Void) async {
        while !Task.isCancelled {
            let wait = secondsUntilRefresh()
            if wait > 0 {
                // Wake at least hourly so a changed clock (suspend, NTP) is noticed.
                do { try await sleep(min(wait, 3600)) } catch { return }
                continue
            }
            _ = try? await refresh()
        }
    }

    private func record(failure error: any Error) {
        failures += 1
        lastError = error
        retryAfter = now().addingTimeInterval(backoff.delay(afterFailures: failures))
        onUpdate(.failed(error))
    }

    private func isDue(_ credentials: AWSCredentials, at time: Date) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        return expiration.timeIntervalSince(time) < refreshBefore
    }

    private func isExpired(_ credentials: AWSCredentials, at time: Date) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        return expiration <= time
    }
}

public enum RefreshError: Error, CustomStringConvertible, Sendable {
    case unavailable
    case notRenewed

    public var description: String {
        switch self {
        case .unavailable:
            return "no credentials are available yet; the credential server will try again shortly."
        case .notRenewed:
            return "the refreshed session expires as soon as the old one; check LATCHKEY_MIN_TTL "
                + "and the session duration (--duration)."
        }
    }
}
