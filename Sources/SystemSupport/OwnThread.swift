import CLatchkeySys

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A mutual-exclusion lock (a pthread mutex: Foundation's `NSLock` is not in FoundationEssentials,
/// and the Synchronization module's `Mutex` needs macOS 15).
public final class Lock: @unchecked Sendable {
    fileprivate let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }

    public func withLock<Value, Failure: Error>(_ body: () throws(Failure) -> Value) throws(Failure) -> Value
    {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A lock with a condition to wait on (`NSCondition`'s part latchkey uses).
final class Condition: @unchecked Sendable {
    let lock = Lock()
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    init() {
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
    }

    /// Waits for `signal`; the lock must be held, and is held again on return.
    func wait() { pthread_cond_wait(condition, lock.mutex) }
    func signal() { pthread_cond_signal(condition) }
}

/// Starts `body` on a new detached thread named `name` (the kernel keeps 15 bytes of it). Stops the
/// process if no thread can be made (out of memory or threads), as Foundation's `Thread.start` does.
public func startThread(named name: String, _ body: @escaping @Sendable () -> Void) {
    final class Start {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) { (self.name, self.body) = (name, body) }
    }
    let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    #if canImport(Glibc)
        var thread = pthread_t()
    #else
        var thread: pthread_t?
    #endif
    let code = pthread_create(
        &thread, &attributes,
        { argument in
            guard let argument else { return nil }
            let start = Unmanaged<Start>.fromOpaque(argument).takeRetainedValue()
            latchkey_name_this_thread(start.name)
            start.body()
            return nil
        }, start)
    guard code == 0 else {
        Unmanaged<Start>.fromOpaque(start).release()
        fatalError("could not start a thread (\(String(cString: strerror(code))))")
    }
}

/// Runs blocking work (a `poll`, `waitpid` or `curl_easy_perform` loop) on a thread of its own
/// and waits for it without holding one of the concurrency runtime's threads. That pool is only as
/// wide as the CPU count: two blocked callers on a two-core machine would stop every other task,
/// including the one that would let the blocked work finish.
/// Throws what `work` throws, typed as it is.
public func onOwnThread<Value: Sendable, Failure: Error>(
    named name: String, _ work: @escaping @Sendable () throws(Failure) -> Value
) async throws(Failure) -> Value {
    let result = await withCheckedContinuation {
        (continuation: CheckedContinuation<Result<Value, Failure>, Never>) in
        startThread(named: name) {
            continuation.resume(returning: Result { () throws(Failure) in try work() })
        }
    }
    return try result.get()
}

/// A serial executor with a thread of its own, for actors whose methods block (a keyring backend
/// that runs `pass` and gpg, or makes synchronous D-Bus calls): their jobs run here, one at a time,
/// and never hold one of the concurrency runtime's threads. An actor opts in with
/// `nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }`.
public final class ThreadExecutor: SerialExecutor, @unchecked Sendable {
    private let condition = Condition()
    private var jobs: [UnownedJob] = []
    private var thread: pthread_t?

    /// Whether the caller runs on this executor's thread.
    public var isCurrent: Bool {
        condition.lock.withLock { thread.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    /// Starts the thread; it lives as long as the process (executors are made once, as statics).
    public init(name: String) {
        startThread(named: name) { [unowned self] in self.run() }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock.lock()
        jobs.append(job)
        condition.signal()
        condition.lock.unlock()
    }

    private func run() {
        condition.lock.withLock { thread = pthread_self() }
        while true {
            condition.lock.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.lock.unlock()
            job.runSynchronously(on: asUnownedSerialExecutor())
        }
    }
}
