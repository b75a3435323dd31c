#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// The POSIX file handling of a vault folder: permission checks, atomic replace, the writer lock.
struct VaultFolder: Sendable {
    static let tempPrefix = PrivateFile.temporaryPrefix
    let path: String
    let lockTimeout: Duration

    /// The largest file read back; item files are far smaller, this only stops a runaway read.
    static let maximumFileSize = 16 << 20

    func file(_ name: String) -> String { path + "/" + name }

    /// Checks the folder is ours and private; returns false when it does not exist and `create` is false.
    func prepare(create: Bool) throws -> Bool {
        var info = stat()
        if stat(path, &info) != 0 {
            let code = errno
            guard code == ENOENT, create else {
                if code == ENOENT { return false }
                throw KeyringError.io(operation: "inspect", path: path, errno: code)
            }
            try makeDirectories()
            return true
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw KeyringError.io(operation: "use the folder", path: path, errno: ENOTDIR)
        }
        guard info.st_uid == geteuid() else {
            throw KeyringError.wrongOwner(path: path, owner: UInt32(info.st_uid))
        }
        let mode = UInt32(info.st_mode) & 0o7777
        guard mode & 0o077 == 0 else { throw KeyringError.insecurePermissions(path: path, mode: mode) }
        return true
    }

    /// `mkdir -p` where every folder created is 0700.
    private func makeDirectories() throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o700) != 0, errno != EEXIST {
                throw KeyringError.io(operation: "create the folder", path: current, errno: errno)
            }
        }
        // mkdir's mode passes through the umask; make the vault folder exactly 0700.
        if chmod(path, 0o700) != 0 {
            throw KeyringError.io(operation: "set permissions on", path: path, errno: errno)
        }
    }

    /// The file's bytes, or nil when it does not exist.
    func contents(of name: String) throws -> Data? {
        let filePath = file(name)
        let fd = open(filePath, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw KeyringError.io(operation: "open", path: filePath, errno: errno)
        }
        defer { close(fd) }
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw KeyringError.io(operation: "read", path: filePath, errno: errno)
            }
            if count == 0 { return data }
            data.append(contentsOf: chunk.prefix(count))
            guard data.count <= Self.maximumFileSize else {
                throw KeyringError.io(operation: "read (file too large)", path: filePath, errno: EFBIG)
            }
        }
    }

    /// Names of the entries in the folder (without `.` and `..`).
    func entries() throws -> [String] {
        guard let dir = opendir(path) else {
            throw KeyringError.io(operation: "list", path: path, errno: errno)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Replaces `name` atomically with a private (0600) file. Call with the writer lock held.
    func writeAtomically(_ data: Data, to name: String) throws {
        do throws(FileOperationError) {
            try PrivateFile.write(data, to: file(name))
        } catch {
            throw KeyringError.io(operation: error.operation, path: error.path, errno: error.errno)
        }
    }

    /// Deletes `name`; false when it did not exist. Call with the writer lock held.
    func delete(_ name: String) throws -> Bool {
        let target = file(name)
        if unlink(target) != 0 {
            if errno == ENOENT { return false }
            throw KeyringError.io(operation: "delete", path: target, errno: errno)
        }
        try syncFolder()
        return true
    }

    /// Removes temp files a killed writer left; safe because live writers hold the lock we hold.
    func removeStaleTempFiles() throws {
        for name in try entries() where name.hasPrefix(Self.tempPrefix) {
            unlink(file(name))
        }
    }

    /// Takes an exclusive `flock` on `.lock`, waiting at most `lockTimeout`; call `release()` when done.
    func acquireWriterLock() async throws -> WriterLock {
        let lockPath = file(".lock")
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KeyringError.io(operation: "open the lock", path: lockPath, errno: errno) }
        let clock = ContinuousClock()
        let deadline = clock.now + lockTimeout
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR, clock.now < deadline else {
                close(fd)
                if code == EWOULDBLOCK || code == EINTR {
                    throw KeyringError.lockTimeout(path: lockPath, seconds: lockTimeout.seconds)
                }
                throw KeyringError.io(operation: "lock", path: lockPath, errno: code)
            }
            do {
                try await Task.sleep(for: .milliseconds(5))
            } catch {
                close(fd)
                throw error
            }
        }
        return WriterLock(fd: fd)
    }

    private func syncFolder() throws {
        do throws(FileOperationError) {
            try PrivateFile.syncFolder(path)
        } catch {
            throw KeyringError.io(operation: error.operation, path: error.path, errno: error.errno)
        }
    }
}

func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
}

/// A held writer lock; closing the descriptor releases the `flock`.
struct WriterLock: Sendable {
    let fd: Int32

    func release() {
        close(fd)
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
