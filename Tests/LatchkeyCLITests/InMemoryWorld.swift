import ArgumentParser
import AWSSigV4
import Foundation
import Keyring
import LatchkeyCore
import LatchkeyTestSupport

@testable import LatchkeyCLI

/// Text written by the command under test, kept in order.
final class Sink: @unchecked Sendable {
    private let lock = NSLock()
    private var parts: [String] = []

    func append(_ text: String) { lock.withLock { parts.append(text) } }
    var text: String { lock.withLock { parts.joined() } }
}

/// Someone at a terminal who gives the scripted answers in order (and is absent when `available`
/// is false); what latchkey says or asks is kept.
final class ScriptedTerminal: TerminalIO, @unchecked Sendable {
    struct NoAnswer: Error, CustomStringConvertible {
        var prompt: String
        var description: String { "the script has no answer for '\(prompt)'" }
    }

    let isAvailable: Bool
    private let lock = NSLock()
    private var answers: [String]
    let said = Sink()

    init(available: Bool, answers: [String] = []) {
        isAvailable = available
        self.answers = answers
    }

    func say(_ text: String) { said.append(text) }

    func readLine(prompt: String, hidden: Bool) throws -> String {
        said.append(prompt)
        return try lock.withLock {
            guard !answers.isEmpty else { throw NoAnswer(prompt: prompt) }
            return answers.removeFirst()
        }
    }
}

/// What one command line did: its exit status, stdout, stderr and what it said on the terminal.
struct Outcome: CustomStringConvertible {
    var status: Int32
    var out: String
    var err: String
    var said: String

    var description: String { "exit \(status)\n--- stdout\n\(out)--- stderr\n\(err)--- terminal\n\(said)" }
}

/// An in-memory world for commands: keyrings in memory (by backend name), a scripted transport,
/// a fixed clock, a scripted terminal, captured stdout/stderr, and the config file in a fresh
/// temporary folder. No process is started and nothing goes over the network.
final class InMemoryWorld: @unchecked Sendable {
    /// 2026-05-28T20:26:40Z.
    static let now = Date(timeIntervalSince1970: 1_780_000_000)

    let folder: String
    let keyrings: [String: InMemoryKeyring]
    let transport: ScriptedTransport
    var environment: [String: String]
    var terminal: ScriptedTerminal
    /// Gives the command's stdin a line per call (nil: its end).
    var standardInput: @Sendable () -> String? = { nil }

    init(
        config: String = "", environment extra: [String: String] = [:],
        transport: [ScriptedTransport.Step] = [],
        backends: [String] = ["memory"], terminal: ScriptedTerminal = ScriptedTerminal(available: false)
    ) throws {
        folder =
            FileManager.default.temporaryDirectory.appendingPathComponent(
                "latchkey-cli-\(UUID().uuidString)"
            ).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(config.utf8).write(to: URL(fileURLWithPath: folder + "/config"))
        keyrings = Dictionary(
            uniqueKeysWithValues: backends.map {
                ($0, InMemoryKeyring(backendName: $0, now: { InMemoryWorld.now }))
            })
        self.transport = ScriptedTransport(transport)
        environment = [
            "HOME": folder, "AWS_CONFIG_FILE": folder + "/config",
            "AWS_SHARED_CREDENTIALS_FILE": folder + "/credentials", "PATH": "/usr/bin:/bin", "USER": "tester",
        ].merging(extra) { $1 }
        self.terminal = terminal
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    var configFile: String { folder + "/config" }
    var config: String { (try? String(contentsOfFile: configFile, encoding: .utf8)) ?? "" }
    var keyring: InMemoryKeyring { keyrings["memory"] ?? keyrings.values.first ?? InMemoryKeyring() }
    var store: CredentialStore { CredentialStore(keyring: keyring) }

    static let accessKeyId = "AKIAIOSFODNN7EXAMPLE"
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

    /// Stores the example key pair for `profile`, added `daysAgo` days before `now`.
    func storeKey(profile: String, daysAgo: Double = 10) async throws {
        try await store.storeLongLivedKey(
            AWSCredentials(accessKeyId: Self.accessKeyId, secretAccessKey: Self.secret), profile: profile,
            now: Self.now.addingTimeInterval(-daysAgo * 86400))
    }

    /// Caches a session of `profile` with `secondsLeft` left.
    func storeSession(profile: String, secondsLeft: Double, key: String? = nil) async throws {
        try await store.storeSession(
            AWSCredentials(
                accessKeyId: "ASIASESSIONEXAMPLE01", secretAccessKey: "sessionsecret",
                sessionToken: "sessiontoken", expiration: Self.now.addingTimeInterval(secondsLeft)),
            key: key ?? "session:\(profile):test", profile: profile, type: "GetSessionToken", mfaSerial: nil)
    }

    /// Parses and runs one command line as `runLatchkey` does (ArgumentParser's errors keep its
    /// message and exit code; any other failure is one `latchkey: ...` line and exit 1), in this world.
    func run(_ argv: [String]) async -> Outcome {
        let out = Sink()
        let err = Sink()
        let keyrings = keyrings
        let world = World(
            environment: environment, transport: transport, now: { InMemoryWorld.now },
            keyrings: { request in
                guard let keyring = keyrings[request.name] else { throw NoSuchBackend(name: request.name) }
                return keyring
            },
            defaultBackend: { _, _ in "memory" }, terminal: terminal, standardOutput: out.append,
            standardError: err.append, standardInputLine: { [standardInput] in standardInput() },
            runtimeFolder: { nil })
        let status: Int32 = await Runtime.$world.withValue(world) {
            do {
                var command = try LatchkeyCommand.parseAsRoot(try withOptionsBeforeProfile(argv))
                if var asyncCommand = command as? any AsyncParsableCommand {
                    try await asyncCommand.run()
                } else {
                    try command.run()
                }
                return 0
            } catch  where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
                err.append(LatchkeyCommand.fullMessage(for: error) + "\n")
                return LatchkeyCommand.exitCode(for: error).rawValue
            } catch {
                err.append(failureLine(error))
                return 1
            }
        }
        return Outcome(status: status, out: out.text, err: err.text, said: terminal.said.text)
    }

    struct NoSuchBackend: Error, CustomStringConvertible {
        var name: String
        var description: String { "no backend \(name) in this test" }
    }
}
