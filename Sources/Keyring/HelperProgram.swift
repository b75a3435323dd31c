#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// Runs a helper program (pass, gpg) through the one spawner, with secrets on stdin only; a
/// helper that cannot run is a backend error naming the helper.
func runHelper(
    _ executable: String, _ arguments: [String], environment: [String: String], stdin: Data = Data()
) throws(BackendError) -> Subprocess.Output {
    do {
        return try Subprocess.run(executable, arguments, environment: environment, stdin: stdin)
    } catch {
        let name = lastPathComponent(executable)
        throw .system(backend: name, operation: "run \(name)", message: error.description)
    }
}
