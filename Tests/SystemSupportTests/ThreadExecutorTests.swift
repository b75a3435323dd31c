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
