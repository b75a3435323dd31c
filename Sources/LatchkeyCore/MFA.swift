#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
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
                throw LatchkeyError.mfaProcessFailed(command: command, cause: error)
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
        let code = raw.trimmingWhitespace()
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
        let result = try await onOwnThread(named: "latchkey-process") { () throws(ProcessFailure) in
            do throws(Subprocess.Failure) {
                return try Subprocess.run(
                    path, Array(arguments.dropFirst()), environment: environment, timeout: timeout)
            } catch {
                throw ProcessFailure(reason: error.description)
            }
        }
        guard result.status == 0 else {
            throw ProcessFailure(
                reason: result.status > 128
                    ? "it was killed by signal \(result.status - 128)"
                    : "it exited with status \(result.status)")
        }
        return result.stdoutText
    }
}

struct ProcessFailure: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// Finds a program the way `execvp` would, in the PATH of the given environment.
public func resolveExecutable(_ name: String, environment: [String: String]) throws -> String {
    guard let path = findExecutable(name, environment: environment) else {
        throw LatchkeyError.commandNotFound(name)
    }
    return path
}
