import Foundation
import LatchkeyCore

/// A clock tests move by hand; `now` is what the core is given.
public final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    public init(_ start: Date = Date(timeIntervalSince1970: 1_795_000_000)) {
        current = start
    }

    public var date: Date { lock.withLock { current } }

    public func advance(by seconds: TimeInterval) {
        lock.withLock { current += seconds }
    }

    public var now: @Sendable () -> Date { { [self] in date } }
}

/// An MFA prompt that answers from a list and counts how often it was asked.
public final class ScriptedPrompt: MFAPrompt, @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [String]
    public private(set) var asked: [String] = []

    public init(_ answers: [String]) {
        self.answers = answers
    }

    public var count: Int { lock.withLock { asked.count } }

    public func mfaCode(serial: String, profile: String) async throws -> String {
        try lock.withLock {
            asked.append(serial)
            guard !answers.isEmpty else { throw NoAnswer() }
            return answers.removeFirst()
        }
    }

    public struct NoAnswer: Error {}
}

/// A `ProcessRunner` that returns fixed output and records the argument lists it was given.
public final class ScriptedProcessRunner: ProcessRunner, @unchecked Sendable {
    private let lock = NSLock()
    private let result: Result<String, any Error>
    public private(set) var runs: [[String]] = []

    public init(output: String) { result = .success(output) }
    public init(failure: any Error) { result = .failure(failure) }

    public func output(of arguments: [String], environment: [String: String], timeout: Duration) async throws
        -> String
    {
        lock.withLock { runs.append(arguments) }
        return try result.get()
    }
}
