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

/// An exclusive `flock` on a file: held until `release()` or until the process dies, so a crashed
/// holder never blocks anyone.
public struct FileLock: Sendable {
    public let path: String
    private let fd: Int32

    /// Waits for the lock at most `timeout`; `onWait` is called once if it is not free at first.
    /// With `folder`, `path` is an existing folder locked itself (nothing is created in it).
    public static func acquire(
        path: String, timeout: Duration, folder: Bool = false, onWait: @Sendable () -> Void = {}
    ) async throws -> FileLock {
        let fd =
            folder
            ? open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
            : open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
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
