import Foundation

/// Runs blocking work (a `poll`, `waitpid` or `curl_easy_perform` loop) on a thread of its own
/// and waits for it without holding one of the concurrency runtime's threads. That pool is only as
/// wide as the CPU count: two blocked callers on a two-core machine would stop every other task,
/// including the one that would let the blocked work finish.
public func onOwnThread<Value: Sendable>(
    named name: String, _ work: @escaping @Sendable () throws -> Value
) async throws -> Value {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.name = name
        thread.start()
    }
}
