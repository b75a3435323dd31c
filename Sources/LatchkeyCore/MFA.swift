import CLatchkeySys
import Foundation
import Keyring
import SystemSupport

/// Asks a person for an MFA code. The CLI provides a terminal implementation; tests script it.
public protocol MFAPrompt: Sendable {
    /// Returns what the person typed; throws when no one can be asked (no terminal).
    func mfaCode(serial: String, profile: String) async throws -> String
}

/// Runs a program without a shell and returns its standard output.
public protocol ProcessRunner: Sendable {
    func output(of arguments: [String], environment: [String: String], timeout: Duration) async throws
        -> String
}

/// Where an MFA code comes from, in the order the issue names: `--mfa-token`, the profile's
/// `mfa_process`, then a prompt. A code already accepted in this window is never sent again:
/// latchkey waits for the next one (a program) or asks again (a person), and says so.
public struct MFACodeSource: Sendable {
    public var prompt: (any MFAPrompt)?
    public var processRunner: any ProcessRunner
    public var environment: [String: String]
    public var usedCodes: UsedCodeLog?
    public var now: @Sendable () -> Date = Date.init
    public var sleep: @Sendable (Double) async throws -> Void = { try await Task.sleep(for: .seconds($0)) }
    public var notice: @Sendable (String) -> Void = { _ in }
    /// Set when no one may be asked: a missing code then fails at once, saying what works.
    public var promptsOff: PromptsOff?

    public init(prompt: (any MFAPrompt)?, processRunner: any ProcessRunner, environment: [String: String]) {
        self.prompt = prompt
        self.processRunner = processRunner
        self.environment = environment
    }

    public func code(profile: String, serial: String, mfaProcess: String?, flag: String?) async throws
        -> String
    {
        for _ in 0..<4 {
            let (code, source) = try await obtain(
                profile: profile, serial: serial, mfaProcess: mfaProcess, flag: flag)
            guard let usedCodes, usedCodes.wasUsed(serial: serial, code: code, at: now()) else { return code }
            switch source {
            case "--mfa-token":
                throw LatchkeyError.mfaCodeReused(serial: serial)
            case "the prompt":
                notice("that code for \(serial) was already used; wait for the next one and enter it.")
            default:
                let wait = UsedCodeLog.secondsToNextStep(from: now()) + 1
                notice(
                    "the current code for \(serial) was already used; waiting \(Int(wait)) s for the next one…"
                )
                try await sleep(wait)
            }
        }
        throw LatchkeyError.mfaCodeReused(serial: serial)
    }

    /// Records a code AWS accepted.
    public func accepted(serial: String, code: String) {
        usedCodes?.record(serial: serial, code: code, at: now())
    }

    func obtain(profile: String, serial: String, mfaProcess: String?, flag: String?) async throws -> (
        String, String
    ) {
        if let flag {
            return (try validated(flag, source: "--mfa-token"), "--mfa-token")
        }
        if let command = mfaProcess {
            // aws-vault runs mfa_process through the shell, so pipes such as
            // `cat ~/seed | xargs oathtool --totp -b` work as they do there.
            let arguments = ["/bin/sh", "-c", command]
            let output: String
            do {
                output = try await processRunner.output(
                    of: arguments, environment: environment, timeout: .seconds(120))
            } catch {
                throw LatchkeyError.mfaProcessFailed(command: command, reason: "\(error)")
            }
            return (try validated(output, source: "mfa_process"), "mfa_process")
        }
        guard let prompt else {
            if let promptsOff {
                throw PromptRefused(.mfaCode(profile: profile, serial: serial), why: promptsOff)
            }
            throw LatchkeyError.mfaCodeUnavailable(
                profile: profile, serial: serial, reason: "no terminal is attached to ask for it")
        }
        return (
            try validated(try await prompt.mfaCode(serial: serial, profile: profile), source: "the prompt"),
            "the prompt"
        )
    }

    func validated(_ raw: String, source: String) throws -> String {
        let code = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard code.utf8.count == 6, code.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            throw LatchkeyError.malformedMFACode(source: source)
        }
        return code
    }
}

/// Splits a command line the way a POSIX shell splits words (single and double quotes,
/// backslash escapes) without running a shell: no expansion, no pipes, no globbing.
public func splitCommandLine(_ text: String) throws -> [String] {
    var words: [String] = []
    var current = ""
    var inWord = false
    var quote: Character?
    var escaping = false
    for character in text {
        if escaping {
            current.append(character)
            escaping = false
            continue
        }
        switch (quote, character) {
        case (nil, "\\"), ("\"", "\\"):
            escaping = true
            inWord = true
        case (nil, "'"), (nil, "\""):
            quote = character
            inWord = true
        case ("'", "'"), ("\"", "\""):
            quote = nil
        case (nil, _) where character.isWhitespace:
            if inWord { words.append(current) }
            current = ""
            inWord = false
        default:
            current.append(character)
            inWord = true
        }
    }
    guard quote == nil, !escaping else { throw CommandLineError.unbalanced(text) }
    if inWord { words.append(current) }
    guard !words.isEmpty else { throw CommandLineError.empty }
    return words
}

public enum CommandLineError: Error, CustomStringConvertible {
    case unbalanced(String)
    case empty

    public var description: String {
        switch self {
        case .unbalanced(let text): return "`\(text)` has an unclosed quote or a trailing backslash"
        case .empty: return "the command is empty"
        }
    }
}

/// The real `ProcessRunner`: `posix_spawn` in a process group of its own, stdout read through a
/// pipe, stderr passed through (so `ykman`'s "touch your key" reaches the person). On timeout the
/// whole group is killed, so a grandchild holding the pipe cannot keep latchkey waiting.
public struct SystemProcessRunner: ProcessRunner {
    public init() {}

    public func output(of arguments: [String], environment: [String: String], timeout: Duration) async throws
        -> String
    {
        let path = try resolveExecutable(arguments[0], environment: environment)
        let environment = childEnvironment(environment)
        return try await onOwnThread(named: "latchkey-process") {
            try Self.run(path: path, arguments: arguments, environment: environment, timeout: timeout)
        }
    }

    /// Spawns, reads and reaps; blocks the calling thread throughout.
    private static func run(
        path: String, arguments: [String], environment: [String: String], timeout: Duration
    )
        throws -> String
    {
        var pipeEnds: [Int32] = [0, 0]
        let piped = latchkey_pipe_cloexec(&pipeEnds)
        guard piped == 0 else {
            throw ProcessFailure(reason: "no pipe: \(String(cString: strerror(-piped)))")
        }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])
        defer { close(readEnd) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_addclose(&actions, readEnd)
        posix_spawn_file_actions_addclose(&actions, writeEnd)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        close(writeEnd)
        guard spawned == 0 else {
            throw ProcessFailure(reason: "it could not start: \(String(cString: strerror(spawned)))")
        }

        let deadline = ContinuousClock.now + timeout
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var failure: String?
        reading: while true {
            let left = deadline - ContinuousClock.now
            if left <= .zero {
                failure = "it did not finish within \(timeout) and was stopped"
                break
            }
            var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let millis = Int32(min(left.components.seconds * 1000 + 1, 1000))
            if poll(&poller, 1, millis) < 0 {
                if errno == EINTR { continue }
                failure = "its output could not be read: \(String(cString: strerror(errno)))"
                break
            }
            guard poller.revents != 0 else { continue }
            let count = read(readEnd, &buffer, buffer.count)
            switch count {
            case 0: break reading
            case ..<0 where errno == EINTR: continue
            case ..<0:
                failure = "its output could not be read: \(String(cString: strerror(errno)))"
                break reading
            default:
                output.append(contentsOf: buffer[0..<count])
                if output.count > 1 << 20 {
                    failure = "it printed more than 1 MiB and was stopped"
                    break reading
                }
            }
        }
        // Every way out kills what is left of the group and reaps the child: one that closed its
        // output but keeps running is stopped at the deadline too.
        if failure != nil { kill(-pid, SIGKILL) }
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, failure == nil ? WNOHANG : 0)
            if reaped == pid { break }
            if reaped < 0, errno != EINTR { break }
            if failure == nil, reaped == 0, ContinuousClock.now >= deadline {
                failure = "it did not finish within \(timeout) and was stopped"
                kill(-pid, SIGKILL)
            } else if reaped == 0 {
                usleep(10_000)
            }
        }
        if let failure { throw ProcessFailure(reason: failure) }
        let exited = status & 0x7f == 0
        guard exited, (status >> 8) & 0xff == 0 else {
            throw ProcessFailure(
                reason: exited
                    ? "it exited with status \((status >> 8) & 0xff)"
                    : "it was killed by signal \(status & 0x7f)")
        }
        return String(decoding: output, as: UTF8.self)
    }
}

struct ProcessFailure: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// Finds a program the way `execvp` would, in the PATH of the given environment.
public func resolveExecutable(_ name: String, environment: [String: String]) throws -> String {
    if name.contains("/") {
        guard access(name, X_OK) == 0 else { throw LatchkeyError.commandNotFound(name) }
        return name
    }
    let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for directory in path.split(separator: ":", omittingEmptySubsequences: false) {
        let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + name
        var info = stat()
        if stat(candidate, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 {
            return candidate
        }
    }
    throw LatchkeyError.commandNotFound(name)
}
