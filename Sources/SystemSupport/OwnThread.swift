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

/// Jobs waiting for the one thread that runs them, first in first out.
private final class JobQueue: @unchecked Sendable {
    private let condition = Condition()
    private var jobs: [UnownedJob] = []

    func append(_ job: UnownedJob) {
        condition.lock.lock()
        jobs.append(job)
        condition.signal()
        condition.lock.unlock()
    }

    /// The next job, waiting for one if there is none.
    func next() -> UnownedJob {
        condition.lock.lock()
        defer { condition.lock.unlock() }
        while jobs.isEmpty { condition.wait() }
        return jobs.removeFirst()
    }
}

/// A serial executor with a thread of its own, for actors whose methods block (a keyring backend
/// that runs `pass` and gpg, or makes synchronous D-Bus calls): their jobs run here, one at a time,
/// and never hold one of the concurrency runtime's threads. An actor opts in with
/// `nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }`.
public final class ThreadExecutor: SerialExecutor, @unchecked Sendable {
    private let queue = JobQueue()
    private let threadLock = Lock()
    private var thread: pthread_t?

    /// Whether the caller runs on this executor's thread.
    public var isCurrent: Bool {
        threadLock.withLock { thread.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    /// Starts the thread; it lives as long as the process (executors are made once, as statics).
    public init(name: String) {
        startThread(named: name) { [unowned self] in self.run() }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        queue.append(UnownedJob(job))
    }

    private func run() {
        threadLock.withLock { thread = pthread_self() }
        while true {
            queue.next().runSynchronously(on: asUnownedSerialExecutor())
        }
    }
}

/// A task executor that runs every job of the tasks preferring it on the thread that calls
/// `run()`, including the jobs of default actors those tasks call (SE-0417). `latchkey export` and
/// `exec` run on the main thread this way, so a warm credential is read and printed without the
/// concurrency runtime starting its pool of threads (three `clone3` and their start-up, issue 16).
/// Blocking work still goes to its own thread (`onOwnThread`, `ThreadExecutor`); a task that does
/// not prefer this executor (`Task.detached`, an actor's unstructured `Task`) runs on the pool as
/// before, and its result comes back here.
public final class CallingThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let queue = JobQueue()

    public init() {}

    public func enqueue(_ job: consuming ExecutorJob) {
        queue.append(UnownedJob(job))
    }

    /// Runs jobs on the calling thread as they come, until one of them ends the process.
    public func run() -> Never {
        while true { runNextJob() }
    }

    /// Runs the next job on the calling thread, waiting for one if there is none.
    public func runNextJob() {
        queue.next().runSynchronously(on: asUnownedTaskExecutor())
    }
}
