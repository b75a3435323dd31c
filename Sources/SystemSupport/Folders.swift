#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The user's folders, from the environment given (never read from the process here).
public struct UserFolders: Sendable, Equatable {
    public var home: String
    /// `$XDG_DATA_HOME`, else `~/.local/share`.
    public var dataHome: String
    /// `$XDG_STATE_HOME`, else `~/.local/state`.
    public var stateHome: String

    public init(environment: [String: String]) {
        home = Self.absolute(environment["HOME"]) ?? Self.passwordDatabaseHome() ?? "/"
        dataHome = Self.absolute(environment["XDG_DATA_HOME"]) ?? home + "/.local/share"
        stateHome = Self.absolute(environment["XDG_STATE_HOME"]) ?? home + "/.local/state"
    }

    /// XDG folders count only when absolute (the specification says to ignore relative ones).
    static func absolute(_ value: String?) -> String? {
        guard let value, value.hasPrefix("/") else { return nil }
        return value
    }

    /// The home folder the system has on record for this uid, for a process started without HOME.
    static func passwordDatabaseHome() -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        let status = getpwuid_r(getuid(), &entry, &buffer, buffer.count, &result)
        guard status == 0, let found = result?.pointee.pw_dir else { return nil }
        let home = String(cString: found)
        return home.hasPrefix("/") ? home : nil
    }
}

/// Why a folder is not private enough to hold locks, temp files or a key.
public enum PrivateFolderError: Error, Sendable, Equatable, CustomStringConvertible {
    case unusable(FileOperationError)
    case notAFolder(path: String)
    case wrongOwner(path: String, owner: UInt32)
    case openToOthers(path: String, mode: UInt32)

    public var path: String {
        switch self {
        case .unusable(let error): error.path
        case .notAFolder(let path), .wrongOwner(let path, _), .openToOthers(let path, _): path
        }
    }

    public var description: String {
        switch self {
        case .unusable(let cause): "\(cause)"
        case .notAFolder(let path): "\(path) is not a folder (a link or a file is in its place)"
        case .wrongOwner(let path, let owner): "\(path) belongs to uid \(owner), not to you (uid \(getuid()))"
        case .openToOthers(let path, let mode):
            "\(path) has mode \(String(mode, radix: 8)), open to other users (it must be 0700)"
        }
    }
}

public enum PrivateFolder {
    /// Creates `path` 0700 if missing (its missing parents too, also 0700), then checks it is a real
    /// folder (not a link), owned by this uid, with mode exactly 0700.
    public static func prepare(_ path: String) throws(PrivateFolderError) {
        if try make(path) == ENOENT {
            try prepareParents(of: path)
            if try make(path) == ENOENT {
                throw .unusable(FileOperationError(operation: "create the folder", path: path, errno: ENOENT))
            }
        }
        try check(path)
    }

    /// mkdir 0700; returns ENOENT when a parent is missing, 0 when made or already there.
    private static func make(_ path: String) throws(PrivateFolderError) -> Int32 {
        if mkdir(path, 0o700) == 0 {
            // mkdir's mode passes through the umask: make a folder we created exactly 0700.
            guard chmod(path, 0o700) == 0 else {
                throw .unusable(
                    FileOperationError(operation: "set the permissions of", path: path, errno: errno))
            }
            return 0
        }
        switch errno {
        case EEXIST: return 0
        case ENOENT: return ENOENT
        default: throw .unusable(FileOperationError(operation: "create the folder", path: path, errno: errno))
        }
    }

    /// Checks an existing folder: a folder (not a link), ours, mode 0700.
    public static func check(_ path: String) throws(PrivateFolderError) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw .unusable(FileOperationError(operation: "inspect", path: path, errno: errno))
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw .notAFolder(path: path) }
        guard info.st_uid == getuid() else { throw .wrongOwner(path: path, owner: UInt32(info.st_uid)) }
        let mode = UInt32(info.st_mode) & 0o7777
        guard mode == 0o700 else { throw .openToOthers(path: path, mode: mode) }
    }

    private static func prepareParents(of path: String) throws(PrivateFolderError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/").dropLast() {
            current += "/" + component
            if try make(current) == ENOENT {
                throw .unusable(
                    FileOperationError(operation: "create the folder", path: current, errno: ENOENT))
            }
        }
    }
}

/// The private folder for locks, the spent-code log and other small per-user runtime state.
public struct RuntimeFolder: Sendable, Equatable {
    /// nil when no private folder could be had: locks and the spent-code log are then off.
    public var path: String?
    /// Set when the usual folder was refused: one sentence for stderr, naming it and why.
    public var warning: String?

    /// `$XDG_RUNTIME_DIR/latchkey` (memory-backed on most systems) when that is set, absolute and
    /// writable, else `$TMPDIR/latchkey-UID` (or `/tmp/…`). If that is not a private folder of ours
    /// (another user made it first, or it is a link, or open to others), the user's own
    /// `$XDG_STATE_HOME/latchkey` (`~/.local/state/latchkey`) instead, with a warning.
    public static func locate(environment: [String: String]) -> RuntimeFolder {
        let usual = usualPath(environment: environment)
        do throws(PrivateFolderError) {
            try PrivateFolder.prepare(usual)
            return RuntimeFolder(path: usual, warning: nil)
        } catch {
            let refused = error
            let fallback = UserFolders(environment: environment).stateHome + "/latchkey"
            do throws(PrivateFolderError) {
                try PrivateFolder.prepare(fallback)
                return RuntimeFolder(
                    path: fallback,
                    warning: "\(refused); using \(fallback) for locks and spent MFA codes instead. "
                        + "Remove \(usual) if you did not expect it.")
            } catch {
                // `warning` is the final text the user sees (printed as it is), not a stored cause.
                return RuntimeFolder(
                    path: nil,
                    warning: "\(refused), and \(error); session locks and the spent MFA code log are off. "
                        + "Remove \(usual) or fix \(fallback) (a folder of yours, mode 0700).")
            }
        }
    }

    static func usualPath(environment: [String: String]) -> String {
        if let runtime = UserFolders.absolute(environment["XDG_RUNTIME_DIR"]), access(runtime, W_OK) == 0 {
            return runtime + "/latchkey"
        }
        return (UserFolders.absolute(environment["TMPDIR"]) ?? "/tmp") + "/latchkey-\(getuid())"
    }
}

/// Whether `path` is a folder (a link to one counts, as `FileManager.fileExists(atPath:isDirectory:)`).
public func isFolder(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
}

/// Every entry below `root` as a path relative to it (`a`, `a/b.gpg`), folders before what they hold,
/// names in byte order; links are listed but not followed, as `FileManager.enumerator(atPath:)` does.
/// Nil when `root` cannot be opened as a folder. Folders below that cannot be read are skipped.
public func folderEntries(under root: String) -> [String]? {
    guard let top = directoryNames(root) else { return nil }
    var found: [String] = []
    func walk(_ names: [String], relative: String) {
        for name in names {
            let path = relative.isEmpty ? name : relative + "/" + name
            found.append(path)
            var info = stat()
            if lstat(root + "/" + path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR,
                let inner = directoryNames(root + "/" + path)
            {
                walk(inner, relative: path)
            }
        }
    }
    walk(top, relative: "")
    return found
}

/// The names in a folder (without `.` and `..`), in byte order; nil when it cannot be opened.
public func directoryNames(_ path: String) -> [String]? {
    guard let directory = opendir(path) else { return nil }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
}
