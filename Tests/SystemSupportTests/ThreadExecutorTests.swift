import Foundation
import SystemSupport
import Testing

/// An actor on a `ThreadExecutor` runs its methods on that thread, one at a time, so blocking in
/// them never holds one of the concurrency runtime's threads.
@Suite struct ThreadExecutorTests {
    static let executor = ThreadExecutor(name: "latchkey-test-executor")

    actor Blocking {
        nonisolated var unownedExecutor: UnownedSerialExecutor {
            ThreadExecutorTests.executor.asUnownedSerialExecutor()
        }
        private var running = 0
        private(set) var mostAtOnce = 0

        func block(milliseconds: UInt32) -> Bool {
            running += 1
            mostAtOnce = max(mostAtOnce, running)
            usleep(milliseconds * 1000)
            running -= 1
            return ThreadExecutorTests.executor.isCurrent
        }
    }

    @Test func methodsRunOnTheExecutorsThreadOneAtATime() async {
        let actor = Blocking()
        let onExecutor = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 { group.addTask { await actor.block(milliseconds: 20) } }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(onExecutor == Array(repeating: true, count: 8))
        #expect(!Self.executor.isCurrent, "the test itself runs elsewhere")
        #expect(await actor.mostAtOnce == 1)
    }
}

/// A task preferring a `CallingThreadExecutor` runs on the thread that drains it: its own jobs, a
/// default actor it calls, and its resumption after work the runtime's pool did (issue 16: `latchkey
/// export` reads a warm credential on the main thread without starting the pool).
@Suite struct CallingThreadExecutorTests {
    actor Counter {
        private(set) var count = 0
        func bump() -> pthread_t {
            count += 1
            return pthread_self()
        }
    }

    /// Where each step of the task ran, and whether it finished.
    final class Steps: @unchecked Sendable {
        private let lock = Lock()
        private var threads: [String: pthread_t] = [:]
        private var finished = false
        func record(_ step: String, _ thread: pthread_t = pthread_self()) {
            lock.withLock { threads[step] = thread }
        }
        func finish() { lock.withLock { finished = true } }
        var isFinished: Bool { lock.withLock { finished } }
        var all: [String: pthread_t] { lock.withLock { threads } }
    }

    @Test func theTaskItsActorsAndItsResumptionsRunOnTheDrainingThread() async {
        let executor = CallingThreadExecutor()
        let steps = Steps()
        let runner: pthread_t = await withCheckedContinuation { continuation in
            startThread(named: "latchkey-test-drain") {
                Task(executorPreference: executor) {
                    steps.record("start")
                    steps.record("actor", await Counter().bump())
                    steps.record("pool", await Task.detached { pthread_self() }.value)
                    steps.record("after the pool")
                    steps.finish()
                }
                while !steps.isFinished { executor.runNextJob() }
                continuation.resume(returning: pthread_self())
            }
        }
        let threads = steps.all
        for step in ["start", "actor", "after the pool"] {
            #expect(threads[step].map { pthread_equal($0, runner) != 0 } == true, "\(step)")
        }
        #expect(
            threads["pool"].map { pthread_equal($0, runner) == 0 } == true, "a detached task runs on the pool"
        )
    }
}
