import Foundation
import Testing

@testable import AWSConfig

/// AWSConfig imports no Foundation; its own small replacements must answer as Foundation does.
@Suite struct FoundationFreeTests {
    /// Path, its folder, its last part: what `NSString.deletingLastPathComponent` and
    /// `lastPathComponent` answer (swift-corelibs-foundation traps on a bare name such as `a` or `a/`, so
    /// the answers are written out rather than asked for).
    static let paths: [(path: String, parent: String, last: String)] = [
        ("", "", ""), ("/", "/", "/"), ("a", "", "a"), ("a/", "", "a"), ("/a", "/", "a"), ("/a/", "/", "a"),
        ("a/b", "a", "b"), ("a/b/", "a", "b"), ("a//b", "a", "b"), ("/a/b/c", "/a/b", "c"),
        ("/a/b//", "/a", "b"), ("./x", ".", "x"), ("../x/y", "../x", "y"), ("/ä/ü", "/ä", "ü"),
        ("~/.aws/config", "~/.aws", "config"), ("/home/u/.aws/config", "/home/u/.aws", "config"),
    ]

    /// Files are read whole into one buffer, whatever `fstat` says of their size.
    @Test func readsWholeFilesAsFoundationDoes() throws {
        let folder = try TemporaryFolder()
        let large = (0..<50_000).map { "line \($0) = \($0 * 7)\n" }.joined()  // about 800 KB
        try folder.write(large, to: "large")
        try folder.write("", to: "empty")
        #expect(try FileIO.readBytesIfPresent(at: folder.url("large")) == Array(large.utf8))
        #expect(try FileIO.readBytesIfPresent(at: folder.url("empty")) == [])
        #expect(try FileIO.readBytesIfPresent(at: folder.url("missing")) == nil)
        // /proc files report size 0 and are longer: the buffer grows.
        let status = try #require(try FileIO.readBytesIfPresent(at: "/proc/self/status"))
        #expect(String(decoding: status, as: UTF8.self).contains("\nPid:"))
        let maps = try #require(try FileIO.readBytesIfPresent(at: "/proc/self/maps"))
        #expect(maps.count > 64 * 1024 || maps.last == UInt8(ascii: "\n"))
    }

    @Test(
        arguments: [
            ([], true), (Array("plain ASCII, longer than eight bytes".utf8), true),
            (Array("é 😀 ü".utf8), true),
            ([0x61, 0xC3, 0x28], false), ([0xFF], false),
            (Array(repeating: 0x61, count: 17) + [0xED, 0xA0, 0x80], false),
        ] as [([UInt8], Bool)])
    func utf8CheckAgreesWithTheStandardLibrary(bytes: [UInt8], valid: Bool) {
        #expect(FileIO.isUTF8(bytes) == valid)
        #expect((String(validating: bytes, as: UTF8.self) != nil) == valid)
    }

    @Test func aFileThatIsNotUTF8IsRefusedWithItsPath() throws {
        let folder = try TemporaryFolder()
        try Data([0x5B, 0x64, 0xFF, 0x5D]).write(to: URL(fileURLWithPath: folder.url("latin1")))
        #expect(throws: ConfigError.self) { try FileIO.readUTF8IfPresent(at: folder.url("latin1")) }
        do {
            _ = try FileIO.readUTF8IfPresent(at: folder.url("latin1"))
        } catch {
            #expect("\(error)".contains("not UTF-8"))
            #expect("\(error)".contains(folder.url("latin1")))
        }
    }

    @Test func pathPartsAreNSStrings() {
        for (path, parent, last) in Self.paths {
            #expect(FileIO.parentFolder(of: path) == parent, "\(path)")
            #expect(FileIO.lastComponent(of: path) == last, "\(path)")
        }
        // Where Foundation answers without trapping, the table is its answer.
        for (path, parent, last) in Self.paths where path.dropLast().contains("/") {
            #expect((path as NSString).deletingLastPathComponent == parent, "\(path)")
            #expect((path as NSString).lastPathComponent == last, "\(path)")
        }
    }

    @Test func existsAndEntryNamesAgreeWithFileManager() throws {
        let folder = try TemporaryFolder()
        for name in ["a", ".hidden", "with space", "ü"] { try folder.write("x", to: name) }
        try folder.write("x", to: "sub/inner")
        #expect(
            FileIO.entryNames(in: folder.path).sorted()
                == (try FileManager.default.contentsOfDirectory(atPath: folder.path)).sorted())
        #expect(FileIO.entryNames(in: folder.url("missing")).isEmpty)
        #expect(FileIO.exists(folder.url("a")) && FileIO.exists(folder.url("sub")))
        #expect(!FileIO.exists(folder.url("missing")) && !FileIO.exists(folder.url("a/b")))
    }

    @Test func theAccountsHomeWhenNoVariableIsSet() {
        #expect(ConfigLocations.homeDirectory([:]) == NSHomeDirectory())
        #expect(ConfigLocations.homeDirectory(["HOME": "/h"]) == "/h")
    }
}
