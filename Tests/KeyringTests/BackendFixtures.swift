import Foundation
import Keyring

#if canImport(Glibc)
    import Glibc
#endif

/// Real keyring daemons for the backend tests, started once per test process and stopped at exit:
/// a private D-Bus session bus with gnome-keyring (never the developer's own keyring) and a
/// throwaway gpg key for pass.
enum BackendFixtures {
    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    /// The folder every fixture keeps its state in (short: gpg-agent's socket path is limited).
    static let root: String = {
        let path = "/tmp/lk-\(getpid())"
        try? FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return path
    }()

    nonisolated(unsafe) private static var pidsToKill: [pid_t] = []
    nonisolated(unsafe) private static var gnupgHomes: [String] = []

    private static let cleanupInstalled: Bool = {
        atexit {
            for pid in BackendFixtures.pidsToKill { kill(pid, SIGTERM) }
            for home in BackendFixtures.gnupgHomes {
                _ = try? run("/usr/bin/env", ["gpgconf", "--homedir", home, "--kill", "gpg-agent"])
            }
            try? FileManager.default.removeItem(atPath: BackendFixtures.root)
        }
        return true
    }()

    /// The session bus address of a private bus with an unlocked gnome-keyring (password `pw`).
    static let secretService: Result<String, Unavailable> = {
        _ = cleanupInstalled
        do {
            let home = root + "/ss"
            try FileManager.default.createDirectory(
                atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            // The daemons fork; libc's system() waits for the shell alone (Foundation's Process did not
            // reap it here), and the shell sends the daemons' output to a file, never to a pipe of ours.
            let printed = home + "/bus"
            let startBus =
                "dbus-daemon --session --fork --print-address=1 --print-pid=1 >'\(printed)' 2>/dev/null"
            guard system(startBus) == 0,
                let lines = try? String(contentsOfFile: printed, encoding: .utf8).split(separator: "\n").map(
                    String.init),
                lines.count >= 2, lines[0].hasPrefix("unix:"), let pid = pid_t(lines[1])
            else { return .failure(Unavailable(description: "dbus-daemon did not start")) }
            pidsToKill.append(pid)
            let address = lines[0]
            let startKeyring =
                "printf pw | env DBUS_SESSION_BUS_ADDRESS='\(address)' HOME='\(home)' XDG_RUNTIME_DIR='\(home)' "
                + "XDG_DATA_HOME='\(home)/data' gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1"
            guard system(startKeyring) == 0 else {
                return .failure(Unavailable(description: "gnome-keyring-daemon did not start"))
            }
            // libsecret in this process talks to the private bus only.
            setenv("DBUS_SESSION_BUS_ADDRESS", address, 1)
            return .success(address)
        } catch {
            return .failure(Unavailable(description: "gnome-keyring could not start: \(error)"))
        }
    }()

    /// A GNUPGHOME with a passphrase-less throwaway key, and that key's fingerprint.
    static let gpg: Result<(home: String, fingerprint: String), Unavailable> = {
        _ = cleanupInstalled
        do {
            let home = root + "/gnupg"
            try FileManager.default.createDirectory(
                atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            gnupgHomes.append(home)
            let environment = gpgEnvironment(home)
            _ = try run(
                "/usr/bin/env",
                [
                    "gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
                    "latchkey test <test@example.invalid>", "default", "default", "never",
                ], environment: environment)
            let listing = try run(
                "/usr/bin/env", ["gpg", "--list-keys", "--with-colons"], environment: environment)
            guard
                let line = listing.split(separator: "\n").first(where: { $0.hasPrefix("fpr:") }),
                let fingerprint = line.split(separator: ":", omittingEmptySubsequences: false).dropFirst(9)
                    .first
            else { return .failure(Unavailable(description: "gpg made no key: \(listing)")) }
            return .success((home, String(fingerprint)))
        } catch {
            return .failure(Unavailable(description: "gpg could not make a key: \(error)"))
        }
    }()

    static func gpgEnvironment(_ home: String) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["GNUPGHOME"] = home
        environment["HOME"] = root
        return environment
    }

    /// A new pass store in its own folder, initialised for the throwaway key.
    static func passStore() throws -> (directory: String, environment: [String: String]) {
        let (home, fingerprint) = try gpg.get()
        let directory = root + "/pass-\(UUID().uuidString.prefix(8))"
        var environment = gpgEnvironment(home)
        environment["PASSWORD_STORE_DIR"] = directory
        _ = try run("/usr/bin/env", ["pass", "init", fingerprint], environment: environment)
        return (directory, environment)
    }

    struct CommandFailed: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs a command and returns its stdout; throws with its stderr when it fails.
    @discardableResult
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, stdin: String = ""
    ) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailed(
                description: "\(arguments.joined(separator: " ")): \(String(decoding: err, as: UTF8.self))")
        }
        return String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
