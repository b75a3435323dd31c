#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Small POSIX file helpers: exact errors for reads, atomic replacement for writes.
enum FileIO {
    /// The file's bytes, checked to be UTF-8 text, or nil when it does not exist.
    static func readUTF8IfPresent(at path: String) throws -> [UInt8]? {
        guard let bytes = try readBytesIfPresent(at: path) else { return nil }
        guard isUTF8(bytes) else {
            throw ConfigError(
                path: path, message: "the file is not UTF-8 text; save it as UTF-8 and try again.")
        }
        return bytes
    }

    /// Whether `bytes` are valid UTF-8: ASCII (nearly every config file) is checked 32 bytes at a
    /// time, anything else by the standard library, without building a string of a large file.
    static func isUTF8(_ bytes: [UInt8]) -> Bool {
        let allASCII = bytes.withUnsafeBytes { raw -> Bool in
            var high: UInt64 = 0
            var index = 0
            while index + 32 <= raw.count {
                high |=
                    raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                    | raw.loadUnaligned(fromByteOffset: index + 8, as: UInt64.self)
                    | raw.loadUnaligned(fromByteOffset: index + 16, as: UInt64.self)
                    | raw.loadUnaligned(fromByteOffset: index + 24, as: UInt64.self)
                index += 32
            }
            while index < raw.count {
                high |= UInt64(raw[index])
                index += 1
            }
            return high & 0x8080_8080_8080_8080 == 0
        }
        return allASCII || String(validating: bytes, as: UTF8.self) != nil
    }

    /// The file's bytes, or nil when it does not exist: read straight into one buffer of the size
    /// `fstat` gives (grown if the file grows meanwhile), so a large file is copied once.
    static func readBytesIfPresent(at path: String) throws -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return nil }
            throw ConfigError(
                path: path, message: "the file cannot be opened (\(describe(code))); check its permissions.")
        }
        defer { close(descriptor) }
        var info = stat()
        var capacity = fstat(descriptor, &info) == 0 && info.st_size > 0 ? Int(info.st_size) + 1 : 64 * 1024
        var result: [UInt8] = []
        while true {
            var failure: Int32?
            let kept = result
            result = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, filled in
                filled = buffer.initialize(fromContentsOf: kept)
                while filled < capacity {
                    let count = read(descriptor, buffer.baseAddress.map { $0 + filled }, capacity - filled)
                    if count > 0 {
                        filled += count
                    } else if count == 0 {
                        return
                    } else if errno != EINTR {
                        failure = errno
                        return
                    }
                }
            }
            if let failure {
                throw ConfigError(
                    path: path,
                    message:
                        "the file cannot be read (\(describe(failure))); check that it is a regular file.")
            }
            if result.count < capacity { return result }  // the end came before the buffer was full
            capacity *= 2
        }
    }

    /// Permission bits, owner and group of an existing file, or nil when it does not exist.
    static func attributes(of path: String) throws -> (mode: mode_t, owner: uid_t, group: gid_t)? {
        var info = stat()
        if stat(path, &info) != 0 {
            let code = errno
            if code == ENOENT { return nil }
            throw ConfigError(
                path: path,
                message: "the file cannot be examined (\(describe(code))); check the folder's permissions.")
        }
        return (info.st_mode & 0o7777, info.st_uid, info.st_gid)
    }

    /// Creates the folder and any missing parents with mode 0700.
    static func makeDirectories(_ path: String) throws {
        guard !path.isEmpty, !exists(path) else { return }
        let parent = FileIO.parentFolder(of: path)
        if parent != path { try makeDirectories(parent) }
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            let code = errno
            throw ConfigError(
                path: path,
                message:
                    "the folder cannot be created (\(describe(code))); create it yourself or check permissions."
            )
        }
    }

    /// Writes `bytes` to a temporary file beside `path`, flushes it, then renames it over `path`.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t, owner: (uid_t, gid_t)? = nil)
        throws
    {
        let folder = FileIO.parentFolder(of: path)
        let name = FileIO.lastComponent(of: path)
        var template = Array(((folder.isEmpty ? "." : folder) + "/." + name + ".latchkey-XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.map { mkstemp($0) } ?? -1
        }
        guard descriptor >= 0 else {
            let code = errno
            throw ConfigError(
                path: path,
                message:
                    "a temporary file cannot be created beside it (\(describe(code))); check the folder's permissions."
            )
        }
        let temporary = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var succeeded = false
        defer {
            if !succeeded { unlink(temporary) }
        }
        do {
            defer { close(descriptor) }
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                if written < 0 {
                    let code = errno
                    if code == EINTR { continue }
                    throw ConfigError(
                        path: path,
                        message:
                            "the new content cannot be written (\(describe(code))); check free disk space.")
                }
                offset += written
            }
            if let (user, group) = owner { _ = fchown(descriptor, user, group) }
            guard fchmod(descriptor, mode) == 0, fsync(descriptor) == 0 else {
                let code = errno
                throw ConfigError(
                    path: path,
                    message: "the new content cannot be saved (\(describe(code))); check free disk space.")
            }
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            throw ConfigError(
                path: path,
                message: "the file cannot be replaced (\(describe(code))); check the folder's permissions.")
        }
        succeeded = true
        // Make the rename itself durable.
        let folderDescriptor = open(folder.isEmpty ? "." : folder, O_RDONLY | O_CLOEXEC)
        if folderDescriptor >= 0 {
            _ = fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }

    /// Deletes the temporary files `writeAtomically` left beside `path` (and its backup) when a
    /// writer was killed before its rename. Call only while holding the folder's edit lock, which
    /// every writer holds, so none of them is still being written.
    static func removeStaleTemporaries(of path: String) {
        let parent = FileIO.parentFolder(of: path)
        let folder = parent.isEmpty ? "." : parent
        let name = FileIO.lastComponent(of: path)
        let prefixes = ["." + name + ".latchkey-", "." + name + ".latchkey-backup.latchkey-"]
        let entries = entryNames(in: folder)
        for entry in entries {
            // mkstemp's six random characters follow the prefix.
            if prefixes.contains(where: { entry.hasPrefix($0) && entry.count == $0.count + 6 }) {
                unlink(folder + "/" + entry)
            }
        }
    }

    /// The path with symbolic links resolved, so a linked dotfile is edited rather than replaced.
    static func resolvingSymlinks(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// Whether something exists at `path` (a link counts by its target), as `stat` sees it.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// The names in a folder, without `.` and `..`; empty when it cannot be read.
    static func entryNames(in folder: String) -> [String] {
        guard let directory = opendir(folder) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 0
        while let entry = readdir(directory) {
            // The record is only as long as its name: read up to the NUL in place, never copy
            // `d_name` whole (that reads past a short record).
            let name = String(
                cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The folder part of a path, as `NSString.deletingLastPathComponent` gives it: trailing
    /// slashes are ignored, `""` for a bare name, `/` for an entry of the root.
    static func parentFolder(of path: String) -> String {
        let trimmed = withoutTrailingSlashes(path)
        guard trimmed != "/", let slash = trimmed.lastIndex(of: "/") else { return trimmed == "/" ? "/" : "" }
        let parent = withoutTrailingSlashes(String(trimmed[..<slash]))
        return parent.isEmpty ? "/" : parent
    }

    /// The last part of a path, as `NSString.lastPathComponent` gives it: trailing slashes are
    /// ignored, `/` stays `/`.
    static func lastComponent(of path: String) -> String {
        let trimmed = withoutTrailingSlashes(path)
        guard trimmed != "/", let slash = trimmed.lastIndex(of: "/") else { return trimmed }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    private static func withoutTrailingSlashes(_ path: String) -> String {
        var result = Substring(path)
        while result.count > 1, result.last == "/" { result = result.dropLast() }
        return String(result)
    }
}
