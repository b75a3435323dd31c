#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Keyring
import Testing

@Suite struct ChildProcessTests {
    /// While a helper is still being fed its stdin (more than a pipe holds, so the write end stays
    /// open), a program started by another thread inherits none of the helper's pipe ends. With
    /// inheritable pipes it held the stdin write end too, and gpg under pass waited for an EOF
    /// that never came (a hang seen when the keyring tests ran in parallel).
    @Test func pipesOfARunningHelperAreNotInheritedByOtherPrograms() async throws {
        let environment = ProcessInfo.processInfo.environment
        /// The pipes a program started with libc's system() (as the Secret Service fixture starts its
        /// daemons) holds beyond its own stdin, stdout and stderr.
        let listingFile = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fds-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: listingFile) }
        func inheritedPipes() throws -> [String] {
            #expect(system("ls -l /proc/self/fd >'\(listingFile.path)' </dev/null 2>/dev/null") == 0)
            return try String(contentsOf: listingFile, encoding: .utf8).split(separator: "\n").compactMap {
                line in
                let parts = line.components(separatedBy: " -> ")
                guard parts.count == 2, let fd = parts[0].split(separator: " ").last.flatMap({ Int($0) }),
                    fd > 2, parts[1].hasPrefix("pipe:")
                else { return nil }
                return "\(fd) -> \(parts[1])"
            }
        }
        // Pipes the test runner itself leaves inheritable are not this test's business.
        let before = Set(try inheritedPipes())
        let feeding = Task.detached {
            try ChildProcess.run(
                "/bin/sh", ["-c", "sleep 1; cat >/dev/null"], environment: environment,
                stdin: Data(repeating: 0x61, count: 1 << 20), timeout: .seconds(30))
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(Set(try inheritedPipes()).subtracting(before) == [])
        let fed = try await feeding.value
        #expect(fed.status == 0)
    }
}
