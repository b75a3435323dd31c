import CLatchkeyServerSys
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs a command as a child while this process keeps serving: signals other processes send
/// are passed on, and `wait()` gives the child's exit status (128 + signal when it was killed).
public struct SupervisedCommand: Sendable {
    public let pid: Int32

    /// Signals a supervisor or a user's `kill` may send that the command should see.
    static let forwarded = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGUSR1, SIGUSR2, SIGCONT]

    public static func spawn(path: String, arguments: [String], environment: [String: String]) throws
        -> SupervisedCommand
    {
        fflush(nil)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        // The command inherits the user's core-file limit, not the one latchkey keeps for itself.
        latchkey_restore_core_limit()
        let pid = latchkey_spawn(path, argv, envp)
        latchkey_lower_core_limit_again()
        guard pid > 0 else {
            throw ServerError(description: "could not run \(path): \(String(cString: strerror(-pid))).")
        }
        _ = forwarded.withUnsafeBufferPointer {
            latchkey_forward_signals(pid, $0.baseAddress, Int32($0.count))
        }
        return SupervisedCommand(pid: pid)
    }

    /// Blocks the calling thread until the child ends; call it from a thread of its own.
    public func wait() -> Int32 {
        latchkey_wait_child(pid)
    }
}
