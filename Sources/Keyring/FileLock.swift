import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive `flock` on a file: held until `release()` or until the process dies, so a crashed
/// holder never blocks anyone.
public struct FileLock: Sendable {
    public let path: String
    private let fd: Int32

    /// Waits for the lock at most `timeout`; `onWait` is called once if it is not free at first.
    public static func acquire(
        path: String, timeout: Duration, onWait: @Sendable () -> Void = {}
    ) async throws -> FileLock {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw KeyringError.io(operation: "open the lock", path: path, errno: errno) }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var told = false
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR else {
                close(fd)
                throw KeyringError.io(operation: "lock", path: path, errno: code)
            }
            guard clock.now < deadline else {
                close(fd)
                throw KeyringError.lockTimeout(path: path, seconds: timeout.seconds)
            }
            if !told {
                told = true
                onWait()
            }
            do {
                try await Task.sleep(for: .milliseconds(10))
            } catch {
                close(fd)
                throw error
            }
        }
        return FileLock(path: path, fd: fd)
    }

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    public func release() {
        close(fd)
    }
}

/// A private folder for locks and other small per-user runtime state: `$XDG_RUNTIME_DIR/latchkey`
/// (memory-backed on most systems), else `/tmp/latchkey-UID`. Created 0700; refused when it is
/// not ours or others can enter it (another user could otherwise plant files there).
public func privateRuntimeDirectory(environment: [String: String]) throws -> String {
    let base: String
    if let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/"), access(runtime, W_OK) == 0 {
        base = runtime + "/latchkey"
    } else {
        base =
            (environment["TMPDIR"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "/tmp")
            + "/latchkey-\(getuid())"
    }
    if mkdir(base, 0o700) != 0, errno != EEXIST {
        throw KeyringError.io(operation: "create the runtime folder", path: base, errno: errno)
    }
    var info = stat()
    guard lstat(base, &info) == 0 else {
        throw KeyringError.io(operation: "inspect", path: base, errno: errno)
    }
    guard (info.st_mode & S_IFMT) == S_IFDIR, info.st_uid == getuid() else {
        throw KeyringError.wrongOwner(path: base, owner: UInt32(info.st_uid))
    }
    guard info.st_mode & 0o077 == 0 else {
        throw KeyringError.insecurePermissions(path: base, mode: UInt32(info.st_mode & 0o777))
    }
    return base
}
