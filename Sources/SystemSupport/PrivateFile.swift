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

/// A file operation that failed: what was being done, to which path, and the system's reason.
public struct FileOperationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var errno: Int32

    public init(operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var description: String {
        "could not \(operation) \(path): \(String(cString: strerror(errno)))"
    }
}

/// The one way latchkey writes a file that may hold a secret: a temp file in the destination's
/// folder, created 0600 (whatever the umask) and exclusively, without following a link, filled,
/// synced, then renamed over the destination and the folder synced. On any failure the temp file
/// is removed and the destination is left as it was.
public enum PrivateFile {
    /// Temp files start with this, so a folder's owner can tell them from real entries and sweep
    /// the ones a killed writer left.
    public static let temporaryPrefix = ".tmp-"

    /// Replaces `path` with `data` atomically (see the type's description).
    public static func write(_ data: Data, to path: String) throws(FileOperationError) {
        try write(data, to: path, replacing: true, temporaryName: randomTemporaryName)
    }

    /// Like `write`, but fails with `EEXIST` when `path` already exists (two writers racing to
    /// create the same file: exactly one wins, the other reads what the winner wrote).
    public static func create(_ data: Data, at path: String) throws(FileOperationError) {
        try write(data, to: path, replacing: false, temporaryName: randomTemporaryName)
    }

    static func randomTemporaryName() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return temporaryPrefix + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// `temporaryName` is asked again when a name is taken (by a stale temp file or a planted link);
    /// `beforeFirstByte` lets a test look at the temp file before anything is written to it.
    static func write(
        _ data: Data, to path: String, replacing: Bool, temporaryName: () -> String,
        beforeFirstByte: (String) -> Void = { _ in }
    ) throws(FileOperationError) {
        let folder = parentFolder(of: path)
        var temporary = ""
        var fd: Int32 = -1
        for _ in 0..<8 {
            temporary = folder + "/" + temporaryName()
            fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else {
            throw FileOperationError(operation: "create a file in", path: folder, errno: errno)
        }
        var placed = false
        defer { if !placed { unlink(temporary) } }
        do {
            defer { close(fd) }
            // The mode given to open passes through the umask, which can only remove bits; this
            // only matters if the umask took the owner's own read or write away.
            guard fchmod(fd, 0o600) == 0 else {
                throw FileOperationError(operation: "set the permissions of", path: temporary, errno: errno)
            }
            beforeFirstByte(temporary)
            try writeAll(fd, data, path: temporary)
            guard fsync(fd) == 0 else {
                throw FileOperationError(operation: "sync", path: temporary, errno: errno)
            }
        }
        if replacing {
            guard rename(temporary, path) == 0 else {
                throw FileOperationError(operation: "replace", path: path, errno: errno)
            }
        } else {
            // link() never replaces: EEXIST when the destination is there already.
            guard link(temporary, path) == 0 else {
                throw FileOperationError(operation: "create", path: path, errno: errno)
            }
            unlink(temporary)
        }
        placed = true
        try syncFolder(folder)
    }

    /// The file's bytes (not following a link), or nil when it does not exist.
    public static func read(_ path: String, limit: Int = 1 << 20) throws(FileOperationError) -> Data? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw FileOperationError(operation: "open", path: path, errno: errno)
        }
        defer { close(fd) }
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileOperationError(operation: "read", path: path, errno: errno)
            }
            if count == 0 { return data }
            data.append(contentsOf: chunk.prefix(count))
            guard data.count <= limit else {
                throw FileOperationError(operation: "read", path: path, errno: EFBIG)
            }
        }
    }

    /// Makes a rename or unlink in `folder` survive a crash.
    public static func syncFolder(_ folder: String) throws(FileOperationError) {
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw FileOperationError(operation: "open the folder", path: folder, errno: errno)
        }
        defer { close(fd) }
        guard fsync(fd) == 0 else {
            throw FileOperationError(operation: "sync the folder", path: folder, errno: errno)
        }
    }

    static func parentFolder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func writeAll(_ fd: Int32, _ data: Data, path: String) throws(FileOperationError) {
        let failure = data.withUnsafeBytes { writeEveryByte($0, to: fd) }
        if let failure { throw FileOperationError(operation: "write", path: path, errno: failure) }
    }
}

// The system call by another name: inside `PrivateFile`, `read` is its own method.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}
