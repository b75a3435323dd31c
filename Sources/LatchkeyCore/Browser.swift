#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// The one way latchkey opens the user's browser (`login`, IAM Identity Center and console
/// sign-in): the desktop's opener (`xdg-open`, `open` on macOS) with the target as its only
/// argument. Callers never pass a secret URL here: argv is visible to every user, so a secret
/// travels in a private page the target points at.
public enum Browser {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case noOpener(String)
        case failed(opener: String, reason: ProgramFailure)

        public var description: String {
            switch self {
            case .noOpener(let opener): "\(opener) was not found to open a browser"
            case .failed(let opener, let reason): "\(opener) failed: \(reason)"
            }
        }
    }

    /// Why a program latchkey started to open a browser failed.
    public enum ProgramFailure: Error, Equatable, CustomStringConvertible, Sendable {
        /// It could not be run (not found, not started, timed out).
        case couldNotRun(Subprocess.Failure)
        /// It ran and exited with this status.
        case exitStatus(Int32)

        public var description: String {
            switch self {
            case .couldNotRun(let failure): "\(failure)"
            case .exitStatus(let status): "exit status \(status)"
            }
        }
    }

    #if os(macOS)
        public static let opener = "/usr/bin/open"
    #else
        public static let opener = "xdg-open"
    #endif

    /// Whether there is an opener to call.
    public static func isAvailable(environment: [String: String]) -> Bool {
        findExecutable(opener, environment: environment) != nil
    }

    /// Hands `target` (a URL or a file) to the opener and waits for the opener, not the browser.
    public static func open(_ target: String, environment: [String: String]) async throws(Failure) {
        guard let path = findExecutable(opener, environment: environment) else { throw .noOpener(opener) }
        let result: Subprocess.Output
        do {
            result = try await onOwnThread(named: "latchkey-browser") { () throws(Subprocess.Failure) in
                try Subprocess.run(path, [target], environment: environment, timeout: .seconds(30))
            }
        } catch {
            throw .failed(opener: opener, reason: .couldNotRun(error))
        }
        guard result.status == 0 else {
            throw .failed(opener: opener, reason: .exitStatus(result.status))
        }
    }
}
