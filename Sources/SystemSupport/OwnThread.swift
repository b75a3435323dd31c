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

/// A serial executor with a thread of its own, for actors whose methods block (a keyring backend
/// that runs `pass` and gpg, or makes synchronous D-Bus calls): their jobs run here, one at a time,
/// and never hold one of the concurrency runtime's threads. An actor opts in with
/// `nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }`.
public final class ThreadExecutor: SerialExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var thread: pthread_t?

    /// Whether the caller runs on this executor's thread.
    public var isCurrent: Bool {
        condition.lock()
        defer { condition.unlock() }
        return thread.map { pthread_equal($0, pthread_self()) != 0 } ?? false
    }

    /// Starts the thread; it lives as long as the process (executors are made once, as statics).
    public init(name: String) {
        let thread = Thread { [unowned self] in self.run() }
        thread.name = name
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func run() {
        condition.lock()
        thread = pthread_self()
        condition.unlock()
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedSerialExecutor())
        }
    }
}
