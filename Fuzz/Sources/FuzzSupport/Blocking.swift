import Dispatch

/// Runs async work to completion from libFuzzer's synchronous callback (never inside a task).
/// Returns only once the task has let go of `body` and what it captured (the input), so nothing
/// of this input is freed on another thread later, which LeakSanitizer could report as a leak.
public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let box = ResultBox<T>()
    let released = DispatchSemaphore(value: 0)
    Task { [work = Work(body, released: released)] in
        guard let body = work.body else { return }
        box.value = await body()
    }
    released.wait()
    guard let value = box.value else { fatalError("runBlocking: the task ended without a value") }
    return value
}

private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

/// The body, owned by the task; freed (with what it captured) before the waiter is woken.
private final class Work<T>: @unchecked Sendable {
    var body: (@Sendable () async -> T)?
    let released: DispatchSemaphore

    init(_ body: @escaping @Sendable () async -> T, released: DispatchSemaphore) {
        self.body = body
        self.released = released
    }

    deinit {
        body = nil
        released.signal()
    }
}
