// Writing to standard output and standard error without FileHandle (FoundationEssentials has none).

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes every byte to `fd`, going on after a partial or interrupted write; the errno of the
/// first other failure, or nil. The one write loop of latchkey's files and standard streams.
func writeEveryByte(_ bytes: UnsafeRawBufferPointer, to fd: Int32) -> Int32? {
    guard let base = bytes.baseAddress else { return nil }
    var offset = 0
    while offset < bytes.count {
        let written = write(fd, base + offset, bytes.count - offset)
        if written > 0 {
            offset += written
        } else if written < 0, errno == EINTR {
            continue
        } else {
            return written < 0 ? errno : EIO
        }
    }
    return nil
}

/// Writes all of `text` to file descriptor `fd`, unbuffered; gives up quietly on a failure (a
/// closed pipe), as `FileHandle.write` on a standard stream was used here.
public func writeAll(_ text: String, to fd: Int32) {
    _ = Array(text.utf8).withUnsafeBytes { writeEveryByte($0, to: fd) }
}

/// `text` on standard error, at once.
public func writeToStandardError(_ text: String) { writeAll(text, to: 2) }

/// `text` on standard output, at once.
public func writeToStandardOutput(_ text: String) { writeAll(text, to: 1) }
