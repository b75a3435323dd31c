import ArgumentParser
import CLatchkeyServerSys
import CLatchkeyVersion
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Dispatch
import SystemSupport
import LatchkeyCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public struct LatchkeyCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "latchkey",
        abstract: "Keeps AWS access keys in an encrypted keyring and makes MFA sessions painless.",
        version: "\(latchkeyVersion) (\(latchkeyCommit))",  // FastPath.swift prints it without ArgumentParser
        subcommands: [
            AddCommand.self, RemoveCommand.self, ListCommand.self, ClearCommand.self, ExecCommand.self,
            ExportCommand.self, ExplainCommand.self, SSOCommand.self, ShellInitCommand.self,
            DoctorCommand.self, BackendsCommand.self, MigrateCommand.self, ImportCommand.self,
            MFACommand.self, PolicyCommand.self, ServeCommand.self, LoginCommand.self, RotateCommand.self,
            SigninCommand.self, SignoutCommand.self,
        ])

    public init() {}
}

/// Set at build time by scripts/version (see README, "Versions"); "0.0.0-dev" in a plain build.
public let latchkeyVersion = String(cString: latchkey_build_version())
/// The commit built from (`git describe`), or "unknown commit".
public let latchkeyCommit = String(cString: latchkey_build_commit())

/// The entry point `main.swift` calls. `latchkey --version` answers here, on the main thread,
/// before the concurrency runtime starts a thread (issue 16). The hot commands (`export`, `exec`:
/// FastPath.swift) run `runLatchkey` as a task whose jobs all run on the main thread
/// (`CallingThreadExecutor`), so a cached credential never starts the runtime's thread pool;
/// everything else runs it as an async main would: a task on the pool, with the main thread
/// parked in `dispatchMain()`.
public func latchkeyMain() -> Never {
    let fast =
        getenv("LATCHKEY_FULL_PARSER") == nil ? FastCommand(Array(CommandLine.arguments.dropFirst())) : nil
    if fast == .version {
        _ = latchkey_disable_core_dumps()
        writeToStandardOutput(versionLine)
        exit(0)
    }
    if fast != nil {
        let mainThread = CallingThreadExecutor()
        Task(executorPreference: mainThread) { await runLatchkey() }
        mainThread.run()
    }
    Task { await runLatchkey() }
    dispatchMain()
}

/// Every command: parse errors keep ArgumentParser's usage output; every failure while running
/// prints as one `latchkey: ...` line and exits 1.
public func runLatchkey() async -> Never {
    // First of all: a core file or a same-user debugger would see the keys and the vault key.
    _ = latchkey_disable_core_dumps()
    let arguments = Array(CommandLine.arguments.dropFirst())
    // The hot commands skip ArgumentParser altogether (FastPath.swift); errors end the same way.
    if getenv("LATCHKEY_FULL_PARSER") == nil, let fast = FastCommand(arguments) {
        do {
            try await fast.run()
            exit(0)
        } catch  where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
            LatchkeyCommand.exit(withError: error)
        } catch {
            fail(error)
        }
    }
    var command: any ParsableCommand
    do {
        command = try LatchkeyCommand.parseAsRoot(withOptionsBeforeProfile(arguments))
    } catch {
        LatchkeyCommand.exit(withError: error)
    }
    do {
        if var asyncCommand = command as? any AsyncParsableCommand {
            try await asyncCommand.run()
        } else {
            try command.run()
        }
        exit(0)
    } catch  where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
        // Help, usage and exit-code requests keep ArgumentParser's own output.
        LatchkeyCommand.exit(withError: error)
    } catch {
        fail(error)
    }
}

func fail(_ error: any Error) -> Never {
    writeToStandardError(failureLine(error))
    if let refused = error as? PromptRefused {
        recordPromptFailure(refused)
    }
    exit(1)
}

/// What a failed command prints on stderr before it exits 1.
func failureLine(_ error: any Error) -> String {
    "latchkey: \(error)\n"
}

/// Keeps a refusal to ask where `latchkey doctor` shows it (credential_process callers hide stderr).
func recordPromptFailure(_ refused: PromptRefused) {
    guard let directory = privateRuntimeFolder else { return }
    try? PromptFailureRecord(refused, time: Date()).save(in: directory)
}

/// A failure of the command line itself (not of AWS, the keyring or the config), said plainly.
struct CLIError: Error, CustomStringConvertible {
    /// The error this one reports, when it wraps one: kept as it is, rendered only by `description`.
    var cause: (any Error)?
    private var before: String
    private var after: String

    init(_ description: String) {
        before = description
        after = ""
    }

    /// Reads `before`, then the cause, then `after` (the advice).
    init(_ before: String, cause: any Error, _ after: String) {
        self.cause = cause
        self.before = before
        self.after = after
    }

    var description: String { cause.map { before + "\($0)" + after } ?? before }
}
