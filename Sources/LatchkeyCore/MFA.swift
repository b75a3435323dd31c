import Foundation

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
/// `mfa_process`, then a prompt.
public struct MFACodeSource: Sendable {
    public var prompt: (any MFAPrompt)?
    public var processRunner: any ProcessRunner
    public var environment: [String: String]

    public init(prompt: (any MFAPrompt)?, processRunner: any ProcessRunner, environment: [String: String]) {
        self.prompt = prompt
        self.processRunner = processRunner
        self.environment = environment
    }

    public func code(profile: String, serial: String, mfaProcess: String?, flag: String?) async throws
        -> String
    {
        if let flag {
            return try validated(flag, source: "--mfa-token")
        }
        if let command = mfaProcess {
            let arguments = try splitCommandLine(command)
            let output: String
            do {
                output = try await processRunner.output(
                    of: arguments, environment: environment, timeout: .seconds(120))
            } catch {
                throw LatchkeyError.mfaProcessFailed(command: command, reason: "\(error)")
            }
            return try validated(output, source: "mfa_process")
        }
        guard let prompt else {
            throw LatchkeyError.mfaCodeUnavailable(
                profile: profile, serial: serial, reason: "no terminal is attached to ask for it")
        }
        return try validated(try await prompt.mfaCode(serial: serial, profile: profile), source: "the prompt")
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

/// The real `ProcessRunner`: `Foundation.Process` with stdout captured, stderr passed through
/// (so `ykman`'s "touch your key" reaches the person).
public struct SystemProcessRunner: ProcessRunner {
    public init() {}

    public func output(of arguments: [String], environment: [String: String], timeout: Duration) async throws
        -> String
    {
        let path = try resolveExecutable(arguments[0], environment: environment)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = Array(arguments.dropFirst())
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let killer = Task {
            try await Task.sleep(for: timeout)
            process.terminate()
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        killer.cancel()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            if process.terminationReason == .uncaughtSignal {
                throw ProcessFailure(reason: "it was stopped after \(timeout) or killed")
            }
            throw ProcessFailure(reason: "it exited with status \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
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
