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
        case failed(opener: String, reason: String)

        public var description: String {
            switch self {
            case .noOpener(let opener): "\(opener) was not found to open a browser"
            case .failed(let opener, let reason): "\(opener) failed: \(reason)"
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
            throw .failed(opener: opener, reason: "\(error)")
        }
        guard result.status == 0 else {
            throw .failed(opener: opener, reason: "exit status \(result.status)")
        }
    }
}
