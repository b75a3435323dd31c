// Writing to standard output and standard error without FileHandle (FoundationEssentials has none).

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes all of `text` to file descriptor `fd`, unbuffered, going on after a partial write or an
/// interrupted one; gives up quietly on any other error (a closed pipe), as `FileHandle.write`
/// on a standard stream was used here.
public func writeAll(_ text: String, to fd: Int32) {
    let bytes = Array(text.utf8)
    bytes.withUnsafeBytes { buffer in
        guard let base = buffer.baseAddress else { return }
        var offset = 0
        while offset < buffer.count {
            let written = write(fd, base + offset, buffer.count - offset)
            if written > 0 {
                offset += written
            } else if written < 0, errno == EINTR {
                continue
            } else {
                return
            }
        }
    }
}

/// `text` on standard error, at once.
public func writeToStandardError(_ text: String) { writeAll(text, to: 2) }

/// `text` on standard output, at once.
public func writeToStandardOutput(_ text: String) { writeAll(text, to: 1) }
