import Foundation
import Testing

@testable import SystemSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A fresh folder under the system temp folder, removed by `remove()`.
struct Scratch {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "/system-support-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    func names() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: path).sorted() }
}

func mode(_ path: String) -> mode_t? {
    var info = stat()
    return lstat(path, &info) == 0 ? info.st_mode & 0o7777 : nil
}

func isLink(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
}

private let umaskLock = NSLock()

/// Runs `body` with the process umask set to `mask`. The umask is process-wide: one test at a time
/// changes it, and puts the old value back at once.
func withUmask<T>(_ mask: mode_t, _ body: () throws -> T) rethrows -> T {
    umaskLock.lock()
    defer { umaskLock.unlock() }
    let old = umask(mask)
    defer { umask(old) }
    return try body()
}

@Suite(.serialized)
struct PrivateFileTests {
    @Test(arguments: [0o000, 0o022, 0o077, 0o777] as [mode_t])
    func theTempFileIs0600BeforeItsFirstByteAndTheResultToo(mask: mode_t) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let destination = scratch.path + "/secret"
        var modeAtCreation: mode_t?
        try withUmask(mask) {
            try PrivateFile.write(
                Data("seed".utf8), to: destination, replacing: true,
                temporaryName: PrivateFile.randomTemporaryName,
                beforeFirstByte: { modeAtCreation = mode($0) })
        }
        #expect(modeAtCreation == 0o600)
        #expect(mode(destination) == 0o600)
        #expect(FileManager.default.contents(atPath: destination) == Data("seed".utf8))
        #expect(try scratch.names() == ["secret"])
    }

    @Test func replacesAnExistingFileAndALinkInsteadOfFollowingIt() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let victim = scratch.path + "/victim"
        try Data("keep".utf8).write(to: URL(fileURLWithPath: victim))
        let destination = scratch.path + "/secret"
        #expect(symlink(victim, destination) == 0)
        try withUmask(0) { try PrivateFile.write(Data("new".utf8), to: destination) }
        #expect(!isLink(destination))
        #expect(mode(destination) == 0o600)
        #expect(FileManager.default.contents(atPath: destination) == Data("new".utf8))
        #expect(FileManager.default.contents(atPath: victim) == Data("keep".utf8))
        try PrivateFile.write(Data("newer".utf8), to: destination)
        #expect(FileManager.default.contents(atPath: destination) == Data("newer".utf8))
        #expect(try scratch.names() == ["secret", "victim"])
    }

    @Test func aLinkPlantedAtTheTempPathIsNeitherFollowedNorUsed() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let victim = scratch.path + "/victim"
        try Data("keep".utf8).write(to: URL(fileURLWithPath: victim))
        #expect(symlink(victim, scratch.path + "/.tmp-planted") == 0)
        var names = [".tmp-planted", ".tmp-fresh"].makeIterator()
        try withUmask(0) {
            try PrivateFile.write(
                Data("seed".utf8), to: scratch.path + "/secret", replacing: true,
                temporaryName: { names.next() ?? "unexpected" })
        }
        #expect(FileManager.default.contents(atPath: victim) == Data("keep".utf8))
        #expect(FileManager.default.contents(atPath: scratch.path + "/secret") == Data("seed".utf8))
        #expect(isLink(scratch.path + "/.tmp-planted"))
        #expect(try scratch.names() == [".tmp-planted", "secret", "victim"])
    }

    @Test func aFailedReplaceLeavesTheDestinationAndNoTempFile() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        // A non-empty folder in the destination's place: rename fails after the temp file is full.
        let destination = scratch.path + "/secret"
        try FileManager.default.createDirectory(
            atPath: destination + "/inside", withIntermediateDirectories: true)
        #expect(throws: FileOperationError.self) { try PrivateFile.write(Data("seed".utf8), to: destination) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: destination) == ["inside"])
        #expect(try scratch.names() == ["secret"])
    }

    @Test func createRefusesAnExistingFileAndLeavesIt() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let destination = scratch.path + "/key"
        try PrivateFile.create(Data("first".utf8), at: destination)
        let error = #expect(throws: FileOperationError.self) {
            try PrivateFile.create(Data("second".utf8), at: destination)
        }
        #expect(error?.errno == EEXIST)
        #expect(FileManager.default.contents(atPath: destination) == Data("first".utf8))
        #expect(mode(destination) == 0o600)
        #expect(try scratch.names() == ["key"])
    }

    @Test func aMissingFolderIsAClearError() throws {
        let error = #expect(throws: FileOperationError.self) {
            try PrivateFile.write(Data("x".utf8), to: "/nonexistent-\(UUID().uuidString)/file")
        }
        #expect(error?.description.hasPrefix("could not create a file in /nonexistent-") == true)
    }

    @Test func readDoesNotFollowALink() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try PrivateFile.write(Data("seed".utf8), to: scratch.path + "/real")
        #expect(symlink(scratch.path + "/real", scratch.path + "/link") == 0)
        #expect(try PrivateFile.read(scratch.path + "/real") == Data("seed".utf8))
        #expect(try PrivateFile.read(scratch.path + "/missing") == nil)
        #expect(throws: FileOperationError.self) { try PrivateFile.read(scratch.path + "/link") }
    }
}
