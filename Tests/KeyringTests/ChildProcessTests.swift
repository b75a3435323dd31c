#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Keyring
import Testing

@Suite struct ChildProcessTests {
    /// While a helper is still being fed its stdin (more than a pipe holds, so the write end stays
    /// open), a program started with libc's system() by another thread (as the Secret Service
    /// fixture starts its daemons) holds none of the helper's pipes. With inheritable pipes it
    /// held the stdin write end too, and gpg under pass waited for an EOF that never came (a hang
    /// seen when the keyring tests ran in parallel). Other tests' pipes are not looked at: the
    /// helper names its own three.
    @Test func pipesOfARunningHelperAreNotInheritedByOtherPrograms() async throws {
        let environment = ProcessInfo.processInfo.environment
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let helperPipes = folder.appendingPathComponent("helper")
        let script = """
            a=$(readlink /proc/$$/fd/0); b=$(readlink /proc/$$/fd/1); c=$(readlink /proc/$$/fd/2)
            printf '%s\\n%s\\n%s\\n' "$a" "$b" "$c" > '\(helperPipes.path).tmp'
            mv '\(helperPipes.path).tmp' '\(helperPipes.path)'
            sleep 1; cat >/dev/null
            """
        let feeding = Task.detached {
            try ChildProcess.run(
                "/bin/sh", ["-c", script], environment: environment,
                stdin: Data(repeating: 0x61, count: 1 << 20), timeout: .seconds(30))
        }
        var named: [String] = []
        for _ in 0..<100 where named.isEmpty {
            try await Task.sleep(for: .milliseconds(50))
            named =
                (try? String(contentsOf: helperPipes, encoding: .utf8))?.split(separator: "\n").map(
                    String.init)
                ?? []
        }
        #expect(named.count == 3 && named.allSatisfy { $0.hasPrefix("pipe:") })
        let listing = folder.appendingPathComponent("listing")
        #expect(system("ls -l /proc/self/fd >'\(listing.path)' </dev/null 2>/dev/null") == 0)
        let held = try String(contentsOf: listing, encoding: .utf8).split(separator: "\n").compactMap {
            $0.components(separatedBy: " -> ").last
        }
        #expect(Set(held).isDisjoint(with: named), "a program started meanwhile holds \(held)")
        let fed = try await feeding.value
        #expect(fed.status == 0)
    }
}
