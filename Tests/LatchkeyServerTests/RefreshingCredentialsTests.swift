import AWSSigV4
import Foundation
import LatchkeyCore
import Testing

final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var time: Date
    init(_ time: Date) { self.time = time }
    var now: Date {
        lock.lock()
        defer { lock.unlock() }
        return time
    }
    func advance(_ seconds: TimeInterval) {
        lock.lock()
        time += seconds
        lock.unlock()
    }
}

/// Hands out numbered sessions that expire an hour after the clock's now, or fails on demand.
final class ScriptedFetch: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var failing = false
    let clock: ManualClock
    init(clock: ManualClock) { self.clock = clock }

    var calls: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }

    private func take() -> (Int, Bool) {
        lock.lock()
        defer { lock.unlock() }
        count += 1
        return (count, failing)
    }

    func next() async throws -> AWSCredentials {
        let (number, fail) = take()
        // Give other callers time to pile up on the one refresh in flight.
        try await Task.sleep(for: .milliseconds(20))
        if fail { throw RefreshError.unavailable }
        return AWSCredentials(
            accessKeyId: "ASIA\(number)", secretAccessKey: "s", sessionToken: "t",
            expiration: clock.now.addingTimeInterval(3600))
    }
}

struct RefreshingCredentialsTests {
    let clock = ManualClock(Date(timeIntervalSince1970: 1_700_000_000))

    func make(
        _ fetch: ScriptedFetch, backoff: RefreshingCredentials.Backoff = .init(initial: 10, maximum: 40)
    )
        -> RefreshingCredentials
    {
        let clock = self.clock
        return RefreshingCredentials(
            refreshBefore: 300, backoff: backoff, now: { clock.now }, fetch: { try await fetch.next() })
    }

    @Test func manyCallersShareOneRefresh() async throws {
        let fetch = ScriptedFetch(clock: clock)
        let refresher = make(fetch)
        let keys = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<50 { group.addTask { try await refresher.current().accessKeyId } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(keys == ["ASIA1"])
        #expect(fetch.calls == 1)
    }

    @Test func renewsOnlyInsideTheRefreshWindow() async throws {
        let fetch = ScriptedFetch(clock: clock)
        let refresher = make(fetch)
        #expect(try await refresher.current().accessKeyId == "ASIA1")
        clock.advance(3299)  // 301 s left: still held
        #expect(try await refresher.current().accessKeyId == "ASIA1")
        #expect(await refresher.secondsUntilRefresh() == 1)
        clock.advance(2)  // 299 s left: renewed
        #expect(try await refresher.current().accessKeyId == "ASIA2")
        #expect(fetch.calls == 2)
    }

    @Test func failuresBackOffAndKeepServingValidCredentials() async throws {
        let fetch = ScriptedFetch(clock: clock)
        let refresher = make(fetch)
        _ = try await refresher.current()
        fetch.failing = true
        clock.advance(3400)  // due, 200 s left
        // The refresh fails; the old session is still valid, so it is served.
        #expect(try await refresher.current().accessKeyId == "ASIA1")
        #expect(fetch.calls == 2)
        // Within the 10 s backoff nobody triggers another attempt, however often they ask.
        for _ in 0..<100 { _ = try await refresher.current() }
        #expect(fetch.calls == 2)
        #expect(await refresher.secondsUntilRefresh() == 10)
        clock.advance(10)
        _ = try await refresher.current()
        #expect(fetch.calls == 3)
        #expect(await refresher.secondsUntilRefresh() == 20)  // doubled
        // Past expiry: the error, at once, still without new attempts.
        clock.advance(200)
        await #expect(throws: RefreshError.self) { try await refresher.current() }
        let callsAfterExpiry = fetch.calls
        for _ in 0..<100 { await #expect(throws: RefreshError.self) { try await refresher.current() } }
        #expect(fetch.calls == callsAfterExpiry)
        // Recovery resets the backoff.
        fetch.failing = false
        clock.advance(40)
        #expect(try await refresher.current().accessKeyId.hasPrefix("ASIA"))
        #expect(await refresher.secondsUntilRefresh() == 3300)
    }

    @Test func aFailedRefreshHandsOnItsError() async throws {
        struct Down: Error {}
        let seen = CallLog()
        let refresher = RefreshingCredentials(
            refreshBefore: 300, now: { Date(timeIntervalSince1970: 0) },
            onUpdate: { update in
                if case .failed(let error) = update { seen.record(error is Down ? "Down" : "\(error)") }
            },
            fetch: { throw Down() })
        await #expect(throws: Down.self) { _ = try await refresher.current() }
        #expect(seen.entries == ["Down"])
    }

    @Test func backoffDoublesUpToItsMaximum() {
        let backoff = RefreshingCredentials.Backoff(initial: 10, maximum: 300)
        #expect((0...7).map { backoff.delay(afterFailures: $0) } == [0, 10, 20, 40, 80, 160, 300, 300])
    }

    @Test func aRefreshThatBringsNothingNewerIsNotRetriedAtOnce() async throws {
        let clock = self.clock
        let calls = ScriptedFetch(clock: clock)
        let stale = AWSCredentials(
            accessKeyId: "ASIASTALE", secretAccessKey: "s", sessionToken: "t",
            expiration: clock.now.addingTimeInterval(100))
        let refresher = RefreshingCredentials(
            refreshBefore: 300, now: { clock.now },
            fetch: {
                _ = try? await calls.next()
                return stale
            })
        for _ in 0..<20 { #expect(try await refresher.current().accessKeyId == "ASIASTALE") }
        #expect(calls.calls == 1)
        #expect(await refresher.secondsUntilRefresh() == 10)
    }

    @Test func backgroundLoopRenewsAheadOfExpiryWithoutTheWallClock() async throws {
        let fetch = ScriptedFetch(clock: clock)
        let refresher = make(fetch)
        _ = try await refresher.current()
        let clock = self.clock
        let slept = CallLog()
        let loop = Task {
            await refresher.runRefreshLoop { seconds in
                slept.record("\(Int(seconds))")
                clock.advance(seconds)  // "sleeping" just moves the manual clock
                if slept.entries.count >= 3 { throw CancellationError() }
            }
        }
        await loop.value
        #expect(slept.entries == ["3300", "3300", "3300"])
        #expect(fetch.calls == 3)
        #expect(try await refresher.current().accessKeyId == "ASIA3")
    }
}
