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
