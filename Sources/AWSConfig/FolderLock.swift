#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Serializes read-modify-write edits of a file across processes with an exclusive `flock` on
/// the file's folder: the folder outlives the atomic rename that replaces the file, and no lock
/// file is left beside the user's dotfiles. The lock dies with its holder, so a crash never
/// blocks later edits.
enum FolderLock {
    /// Runs `body` while holding the lock on the folder of `path`, waiting at most `timeout`; its
    /// argument says whether the lock is held. With `creating` false and no folder yet, `body`
    /// runs unlocked: there is nothing to edit.
    static func withLock<Result>(
        of path: String, timeout: Duration, creating: Bool, _ body: (_ locked: Bool) throws -> Result
    ) throws -> Result {
        let parent = FileIO.parentFolder(of: path)
        let folder = parent.isEmpty ? "." : parent
        if creating {
            try FileIO.makeDirectories(folder)
        } else if !FileIO.exists(folder) {
            return try body(false)
        }
        let descriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            throw ConfigError(
                path: folder,
                message:
                    "the folder cannot be opened to lock it (\(FileIO.describe(code))); check its permissions."
            )
        }
        defer { close(descriptor) }  // closing releases the lock
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            // File systems without flock (some network mounts): edit as before, unserialized.
            if code == ENOLCK || code == EOPNOTSUPP || code == EBADF { return try body(false) }
            guard code == EWOULDBLOCK || code == EINTR else {
                throw ConfigError(
                    path: folder,
                    message: "the folder cannot be locked (\(FileIO.describe(code))); check the file system.")
            }
            guard clock.now < deadline else {
                throw ConfigError(
                    path: path,
                    message: "another process (probably latchkey) has been editing this file for over "
                        + "\(timeout.components.seconds) s; let it finish or stop it, then try again.")
            }
            usleep(10_000)
        }
        return try body(true)
    }
}
