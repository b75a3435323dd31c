import Foundation
import Keyring
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

/// A code AWS already accepted is never sent again: flags fail, programs are re-run after the
/// next 30-second step, people are asked again.
@Suite struct MFACodeSourceTests {
    let serial = "arn:aws:iam::111122223333:mfa/doug"
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
        "latchkey-used-\(UUID().uuidString)")

    func source(
        prompt: ScriptedPrompt? = nil, runner: any ProcessRunner = ScriptedProcessRunner(output: ""),
        clock: ManualClock
    )
        throws -> (MFACodeSource, Notices)
    {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let notices = Notices()
        var source = MFACodeSource(prompt: prompt, processRunner: runner, environment: [:])
        source.usedCodes = UsedCodeLog(directory: folder.path)
        source.now = clock.now
        source.sleep = { seconds in clock.advance(by: seconds) }
        source.notice = { notices.append($0) }
        return (source, notices)
    }

    @Test func aReusedFlagIsRefusedAtOnce() async throws {
        let clock = ManualClock()
        let (source, _) = try source(clock: clock)
        source.accepted(serial: serial, code: "123456")
        await #expect(throws: LatchkeyError.self) {
            try await source.code(profile: "doug", serial: serial, mfaProcess: nil, flag: "123456")
        }
        #expect(
            try await source.code(profile: "doug", serial: serial, mfaProcess: nil, flag: "654321")
                == "654321")
        // Two minutes on, AWS has forgotten the code too.
        clock.advance(by: 120)
        #expect(
            try await source.code(profile: "doug", serial: serial, mfaProcess: nil, flag: "123456")
                == "123456")
    }

    @Test func aPersonIsAskedAgain() async throws {
        let prompt = ScriptedPrompt(["123456", "222333"])
        let (source, notices) = try source(prompt: prompt, clock: ManualClock())
        source.accepted(serial: serial, code: "123456")
        #expect(
            try await source.code(profile: "doug", serial: serial, mfaProcess: nil, flag: nil) == "222333")
        #expect(prompt.count == 2)
        #expect(notices.all.contains { $0.contains("already used; wait for the next one") })
    }

    @Test func aProgramIsRunAgainAfterTheNextStep() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_795_000_010))  // 20 s into a 30 s step
        let runner = SequenceRunner(outputs: ["123456\n", "777888\n"])
        let (source, notices) = try source(runner: runner, clock: clock)
        source.accepted(serial: serial, code: "123456")
        #expect(
            try await source.code(profile: "doug", serial: serial, mfaProcess: "gen", flag: nil) == "777888")
        #expect(clock.date.timeIntervalSince1970 == 1_795_000_021)  // waited for the next step, plus a second
        #expect(notices.all.contains { $0.contains("waiting 11 s for the next one") })
    }

    @Test func otherDevicesAreNotAffected() async throws {
        let (source, _) = try source(clock: ManualClock())
        source.accepted(serial: serial, code: "123456")
        #expect(
            try await source.code(
                profile: "x", serial: "arn:aws:iam::1:mfa/other", mfaProcess: nil, flag: "123456") == "123456"
        )
    }
}

final class Notices: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func append(_ message: String) { lock.withLock { messages.append(message) } }
    var all: [String] { lock.withLock { messages } }
}

final class SequenceRunner: ProcessRunner, @unchecked Sendable {
    private let lock = NSLock()
    private var outputs: [String]
    init(outputs: [String]) { self.outputs = outputs }
    func output(of arguments: [String], environment: [String: String], timeout: Duration) async throws
        -> String
    {
        lock.withLock { outputs.removeFirst() }
    }
}

/// The `mfa_process` runner hands programs the caller's environment minus latchkey's own secrets,
/// whatever environment the caller passes in, and never holds the runtime's threads.
@Suite struct ChildEnvironmentTests {
    static let given = [
        "LATCHKEY_FILE_PASSPHRASE": "sentinel-1", "AWS_VAULT_FILE_PASSPHRASE": "sentinel-2", "KEEP": "yes",
    ]

    @Test func processRunnerDropsThePassphrases() async throws {
        let output = try await SystemProcessRunner().output(
            of: ["/usr/bin/env"], environment: Self.given, timeout: .seconds(30))
        #expect(output.contains("KEEP=yes"))
        #expect(!output.contains("sentinel"))
    }

    /// The runner reads its pipe to the end: a program another thread starts meanwhile must not
    /// inherit the write end, or the reader waits for that program too.
    @Test func processRunnerPipeIsNotInheritedByOtherPrograms() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // The child names the pipe on its stdout, then waits until the test has looked at it.
        let script =
            "readlink /proc/self/fd/3 3>&1 > \(folder)/named.tmp && mv \(folder)/named.tmp \(folder)/named;"
            + " while [ ! -e \(folder)/go ]; do sleep 0.05; done; echo done"
        async let output = SystemProcessRunner().output(
            of: ["/bin/sh", "-c", script], environment: ProcessInfo.processInfo.environment,
            timeout: .seconds(60))
        defer { _ = FileManager.default.createFile(atPath: "\(folder)/go", contents: nil) }
        while !FileManager.default.fileExists(atPath: "\(folder)/named") {
            try await Task.sleep(for: .milliseconds(20))
        }
        let pipe = try String(contentsOfFile: "\(folder)/named", encoding: .utf8).trimmingCharacters(
            in: .newlines)
        let ours = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").filter {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) == pipe
        }
        let closeOnExec = try ours.map { fd in
            let info = try String(contentsOfFile: "/proc/self/fdinfo/\(fd)", encoding: .utf8)
            let flags = info.split(separator: "\n").first { $0.hasPrefix("flags:") }?.split(separator: "\t")
                .last
            return flags.flatMap { Int($0, radix: 8) }.map { $0 & Int(O_CLOEXEC) != 0 } ?? false
        }
        _ = FileManager.default.createFile(atPath: "\(folder)/go", contents: nil)
        #expect(try await output == "done\n")
        #expect(pipe.hasPrefix("pipe:") && !ours.isEmpty)
        #expect(closeOnExec.allSatisfy { $0 })
    }

    /// More programs waiting at once than the concurrency runtime has threads: each waits for a file
    /// this test's task creates only after all of them have started. A runner that blocked a pool
    /// thread while reading would leave that task no thread to run on, and every program would
    /// hit its timeout.
    @Test func waitingProgramsDoNotHoldTheRuntimesThreads() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let count = ProcessInfo.processInfo.activeProcessorCount * 2 + 2
        let script = "touch \(folder)/started.$$; while [ ! -e \(folder)/go ]; do sleep 0.02; done; echo ok"
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<count {
                group.addTask {
                    try await SystemProcessRunner().output(
                        of: ["/bin/sh", "-c", script], environment: ["PATH": "/usr/bin:/bin"],
                        timeout: .seconds(20))
                }
            }
            while try FileManager.default.contentsOfDirectory(atPath: folder).count < count {
                try await Task.sleep(for: .milliseconds(20))
            }
            _ = FileManager.default.createFile(atPath: "\(folder)/go", contents: nil)
            var outputs: [String] = []
            for try await output in group { outputs.append(output) }
            #expect(outputs == Array(repeating: "ok\n", count: count))
        }
    }

}

/// `mfa_process` runs through `/bin/sh -c`, as aws-vault runs it, and the runner leaves no child
/// behind whichever way it stops reading: the program's pid must be gone (killed and reaped, not
/// a zombie) when `output` returns.
@Suite struct MFAProcessTests {
    @Test func mfaProcessIsAShellCommandLine() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "123\n".write(to: folder.appendingPathComponent("seed"), atomically: true, encoding: .utf8)
        let source = MFACodeSource(
            prompt: nil, processRunner: SystemProcessRunner(),
            environment: ["PATH": "/usr/bin:/bin", "HOME": folder.path])
        let code = try await source.code(
            profile: "doug", serial: "arn:aws:iam::1:mfa/doug",
            mfaProcess: "cat ~/seed | xargs printf '%s456'", flag: nil)
        #expect(code == "123456")
    }

    @Test(arguments: [
        ("overflow", "exec yes 0123456789", 30),
        ("timeout", "sleep 30", 1),
        ("closes its output and stays", "exec >&-; sleep 30", 1),
    ])
    func theChildIsKilledAndReaped(_ name: String, _ body: String, _ seconds: Int) async throws {
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
        defer { try? FileManager.default.removeItem(atPath: pidFile) }
        let started = ContinuousClock.now
        await #expect(throws: (any Error).self, "\(name)") {
            _ = try await SystemProcessRunner().output(
                of: ["/bin/sh", "-c", "echo $$ > \(pidFile); \(body)"],
                environment: ["PATH": "/usr/bin:/bin"], timeout: .seconds(seconds))
        }
        // The child would run 30 s (or forever): under 29 s means it was not waited for, however busy
        // the machine (other suites may hold the runtime's threads for a while).
        #expect(ContinuousClock.now - started < .seconds(29), "\(name): it waited for the child")
        let text = try String(contentsOfFile: pidFile, encoding: .utf8)
        let pid = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        // ESRCH: neither running nor a zombie waiting to be reaped.
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "\(name): pid \(pid) is still there")
    }
}
