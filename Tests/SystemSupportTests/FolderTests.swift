import Foundation
import Testing

@testable import SystemSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

struct UserFoldersTests {
    @Test(arguments: [
        (["HOME": "/home/u"], "/home/u", "/home/u/.local/share", "/home/u/.local/state"),
        (
            ["HOME": "/home/u", "XDG_DATA_HOME": "/d", "XDG_STATE_HOME": "/s"], "/home/u", "/d", "/s"
        ),
        // Relative XDG values are ignored, as the XDG specification asks.
        (
            ["HOME": "/home/u", "XDG_DATA_HOME": "d", "XDG_STATE_HOME": ""], "/home/u",
            "/home/u/.local/share", "/home/u/.local/state"
        ),
    ])
    func foldersComeFromTheEnvironmentGiven(
        environment: [String: String], home: String, data: String, state: String
    ) {
        let folders = UserFolders(environment: environment)
        #expect(folders.home == home)
        #expect(folders.dataHome == data)
        #expect(folders.stateHome == state)
    }

    @Test(arguments: [[:], ["HOME": ""], ["HOME": "relative"]])
    func withoutAUsableHomeTheSystemRecordIsUsed(environment: [String: String]) {
        let home = UserFolders(environment: environment).home
        #expect(home == UserFolders.passwordDatabaseHome() ?? "/")
        #expect(home.hasPrefix("/"))
    }
}

@Suite(.serialized)
struct PrivateFolderTests {
    @Test(arguments: [0o000, 0o022, 0o777] as [mode_t])
    func createsMissingFoldersAndParents0700WhateverTheUmask(mask: mode_t) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = scratch.path + "/state/latchkey"
        try withUmask(mask) { try PrivateFolder.prepare(path) }
        #expect(mode(path) == 0o700)
        #expect(mode(scratch.path + "/state") == 0o700)
        try PrivateFolder.prepare(path)  // and again: it exists
    }

    @Test func refusesALinkAFileAndAFolderOpenToOthers() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let real = scratch.path + "/real"
        try PrivateFolder.prepare(real)
        #expect(symlink(real, scratch.path + "/link") == 0)
        #expect(throws: PrivateFolderError.notAFolder(path: scratch.path + "/link")) {
            try PrivateFolder.prepare(scratch.path + "/link")
        }
        _ = FileManager.default.createFile(atPath: scratch.path + "/file", contents: Data())
        #expect(throws: PrivateFolderError.notAFolder(path: scratch.path + "/file")) {
            try PrivateFolder.prepare(scratch.path + "/file")
        }
        #expect(chmod(real, 0o755) == 0)
        #expect(throws: PrivateFolderError.openToOthers(path: real, mode: 0o755)) {
            try PrivateFolder.prepare(real)
        }
    }

    @Test(.enabled(if: getuid() == 0, "needs root to give a folder away"))
    func refusesAFolderOfAnotherUser() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = scratch.path + "/theirs"
        try PrivateFolder.prepare(path)
        #expect(chown(path, 65534, 65534) == 0)
        #expect(throws: PrivateFolderError.wrongOwner(path: path, owner: 65534)) {
            try PrivateFolder.prepare(path)
        }
    }
}

@Suite(.serialized)
struct RuntimeFolderTests {
    @Test func theUsualFolderUnderTMPDIROrXDGRuntimeDir() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let tmp = RuntimeFolder.locate(environment: ["TMPDIR": scratch.path, "HOME": scratch.path])
        #expect(tmp == RuntimeFolder(path: scratch.path + "/latchkey-\(getuid())", warning: nil))
        try PrivateFolder.prepare(scratch.path + "/run")
        let runtime = RuntimeFolder.locate(environment: [
            "XDG_RUNTIME_DIR": scratch.path + "/run", "TMPDIR": scratch.path,
        ])
        #expect(runtime == RuntimeFolder(path: scratch.path + "/run/latchkey", warning: nil))
        #expect(mode(scratch.path + "/run/latchkey") == 0o700)
    }

    @Test(.enabled(if: getuid() == 0, "needs root to plant another user's folder"))
    func anotherUsersFolderIsRefusedLoudlyAndTheStateFolderUsed() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let planted = scratch.path + "/latchkey-\(getuid())"
        #expect(mkdir(planted, 0o700) == 0)
        #expect(chown(planted, 65534, 65534) == 0)
        let found = RuntimeFolder.locate(environment: [
            "TMPDIR": scratch.path, "HOME": scratch.path + "/home",
        ])
        #expect(found.path == scratch.path + "/home/.local/state/latchkey")
        #expect(mode(scratch.path + "/home/.local/state/latchkey") == 0o700)
        let warning = try #require(found.warning)
        #expect(warning.contains("\(planted) belongs to uid 65534"))
        #expect(warning.contains("using \(scratch.path)/home/.local/state/latchkey"))
    }

    @Test func aLinkInTheUsualPlaceIsRefusedAndWhenNothingWorksSaysSo() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let planted = scratch.path + "/latchkey-\(getuid())"
        #expect(symlink(scratch.path, planted) == 0)
        // The state folder's parent is a file: no fallback either.
        _ = FileManager.default.createFile(atPath: scratch.path + "/state", contents: Data())
        let found = RuntimeFolder.locate(environment: [
            "TMPDIR": scratch.path, "XDG_STATE_HOME": scratch.path + "/state",
        ])
        #expect(found.path == nil)
        let warning = try #require(found.warning)
        #expect(warning.contains("\(planted) is not a folder"))
        #expect(warning.contains("session locks and the spent MFA code log are off"))
    }
}
