import Foundation
import Testing

@testable import AWSConfig

@Suite struct ConfigFileEditorTests {
    struct Edit: Sendable, CustomTestStringConvertible {
        var name: String
        var before: String
        var profile: String
        var key: String
        var value: String
        var after: String
        var testDescription: String { name }
    }

    static let edits: [Edit] = [
        Edit(
            name: "replace keeps key spelling, spacing and trailing comment",
            before: "[profile dev]\nRegion=us-east-1   # home\nmfa_serial = x\n",
            profile: "dev", key: "region", value: "eu-west-1",
            after: "[profile dev]\nRegion=eu-west-1   # home\nmfa_serial = x\n"),
        Edit(
            name: "insert after the last property, before the next section's comment",
            before:
                "# top\n[profile dev]\n; dev account\nregion = x\n\n# work account\n[profile work]\nregion = y\n",
            profile: "dev", key: "mfa_serial", value: "arn:aws:iam::1:mfa/d",
            after:
                "# top\n[profile dev]\n; dev account\nregion = x\nmfa_serial = arn:aws:iam::1:mfa/d\n\n"
                + "# work account\n[profile work]\nregion = y\n"),
        Edit(
            name: "CRLF line endings stay CRLF",
            before: "[profile dev]\r\nregion = x\r\n\r\n[profile b]\r\n",
            profile: "dev", key: "output", value: "json",
            after: "[profile dev]\r\nregion = x\r\noutput = json\r\n\r\n[profile b]\r\n"),
        Edit(
            name: "insertion goes after a sub-property block",
            before:
                "[profile dev]\ns3 =\n  max_concurrent_requests = 20\n\n  addressing_style = path\n# end\n",
            profile: "dev", key: "region", value: "x",
            after:
                "[profile dev]\ns3 =\n  max_concurrent_requests = 20\n\n  addressing_style = path\n"
                + "region = x\n# end\n"),
        Edit(
            name: "replacing a continued value drops its continuation lines only",
            before: "[profile dev]\nnote = a\n  b\n# keep me\n  c\nregion = x\n  more\n",
            profile: "dev", key: "note", value: "z",
            after: "[profile dev]\nnote = z\n# keep me\nregion = x\n  more\n"),
        Edit(
            name: "empty value gets the spacing used before '='",
            before: "[profile dev]\nmfa_serial =\nregion = x\n",
            profile: "dev", key: "mfa_serial", value: "arn",
            after: "[profile dev]\nmfa_serial = arn\nregion = x\n"),
        Edit(
            name: "duplicate sections: the last one is edited",
            before: "[profile dev]\nregion = a\n[profile other]\n[profile dev]\noutput = json\n",
            profile: "dev", key: "region", value: "b",
            after: "[profile dev]\nregion = a\n[profile other]\n[profile dev]\noutput = json\nregion = b\n"),
        Edit(
            name: "[default] is edited when there is no [profile default]",
            before: "[default]\nregion = a\n[profile x]\n",
            profile: "default", key: "region", value: "b",
            after: "[default]\nregion = b\n[profile x]\n"),
        Edit(
            name: "[profile default] wins over [default]",
            before: "[profile default]\n[default]\nregion = a\n",
            profile: "default", key: "region", value: "b",
            after: "[profile default]\nregion = b\n[default]\nregion = a\n"),
        Edit(
            name: "a missing section is appended after a blank line, newline added to the last line",
            before: "[profile a]\nregion = a",
            profile: "new", key: "region", value: "b",
            after: "[profile a]\nregion = a\n\n[profile new]\nregion = b\n"),
        Edit(
            name: "headers with comments and odd spacing are recognised",
            before: "[  profile\tdev ] # main\n  \nregion = a ;x\n",
            profile: "dev", key: "region", value: "b",
            after: "[  profile\tdev ] # main\n  \nregion = b ;x\n"),
        Edit(
            name: "byte-order mark is kept",
            before: "\u{FEFF}[profile dev]\nregion = a\n",
            profile: "dev", key: "region", value: "b",
            after: "\u{FEFF}[profile dev]\nregion = b\n"),
        Edit(
            name: "a section with no properties gets the key right after its header",
            before: "[profile dev]\n\n# later\n[profile b]\n",
            profile: "dev", key: "region", value: "b",
            after: "[profile dev]\nregion = b\n\n# later\n[profile b]\n"),
        Edit(
            name: "values containing '=' and ';' without a space are written as is",
            before: "[profile dev]\n",
            profile: "dev", key: "credential_process", value: "tool --a=b;c",
            after: "[profile dev]\ncredential_process = tool --a=b;c\n"),
    ]

    @Test(arguments: edits)
    func setPropertyEditsOnlyWhatWasAsked(_ edit: Edit) throws {
        let folder = try TemporaryFolder()
        try folder.write(edit.before, to: "config")
        let beforeParsed = try AWSSharedConfig.parse(configText: edit.before, credentialsText: nil)

        try ConfigFileEditor.setProperty(
            edit.key, to: edit.value, profile: edit.profile, inConfigAt: folder.url("config"))

        let written = try folder.read("config")
        #expect(written == edit.after)
        // Re-parsing shows exactly one change: the key in that profile.
        var expected = beforeParsed.profiles.mapValues(\.properties)
        expected[edit.profile, default: [:]][edit.key] = edit.value
        let afterParsed = try AWSSharedConfig.parse(configText: written, credentialsText: nil)
        #expect(afterParsed.profiles.mapValues(\.properties) == expected)
        #expect(try folder.read("config.latchkey-backup") == edit.before)
    }

    @Test func newFileAndFolderAreCreatedPrivate() throws {
        let folder = try TemporaryFolder()
        let path = folder.url("home/.aws/config")
        try ConfigFileEditor.setProperty("region", to: "eu-west-1", profile: "dev", inConfigAt: path)
        #expect(try folder.read("home/.aws/config") == "[profile dev]\nregion = eu-west-1\n")
        #expect(try folder.mode("home/.aws/config") == 0o600)
        #expect(try folder.mode("home/.aws") == 0o700)
        #expect(!folder.exists("home/.aws/config.latchkey-backup"))
    }

    @Test func ensureProfileAddsOnlyWhenMissing() throws {
        let folder = try TemporaryFolder()
        let path = folder.url("config")
        #expect(try ConfigFileEditor.ensureProfile("default", inConfigAt: path))
        #expect(try folder.read("config") == "[default]\n")
        #expect(try ConfigFileEditor.ensureProfile("dev", inConfigAt: path))
        #expect(try folder.read("config") == "[default]\n\n[profile dev]\n")
        #expect(try folder.read("config.latchkey-backup") == "[default]\n")

        #expect(try ConfigFileEditor.ensureProfile("dev", inConfigAt: path) == false)
        #expect(try ConfigFileEditor.ensureProfile("default", inConfigAt: path) == false)
        #expect(try folder.read("config") == "[default]\n\n[profile dev]\n")
        #expect(
            try AWSSharedConfig.parse(configText: folder.read("config"), credentialsText: nil).profileNames
                == [
                    "default", "dev",
                ])
    }

    @Test func ensureProfileIgnoresLookalikeSections() throws {
        let folder = try TemporaryFolder()
        // None of these is the profile `dev` in a config file.
        let text = "[dev]\n[profiledev]\n[sso-session dev]\n[services dev]\n"
        try folder.write(text, to: "config")
        #expect(try ConfigFileEditor.ensureProfile("dev", inConfigAt: folder.url("config")))
        #expect(try folder.read("config") == text + "\n[profile dev]\n")
    }

    @Test func permissionsAndOwnerOfAnExistingFileAreKept() throws {
        let folder = try TemporaryFolder()
        try folder.write("[profile dev]\n", to: "config")
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: folder.url("config"))
        try ConfigFileEditor.setProperty("region", to: "x", profile: "dev", inConfigAt: folder.url("config"))
        #expect(try folder.mode("config") == 0o640)
        // The backup never grants more than the owner could read before.
        #expect(try folder.mode("config.latchkey-backup") == 0o600)
    }

    @Test func aSymlinkedConfigStaysALink() throws {
        let folder = try TemporaryFolder()
        try folder.write("[profile dev]\n", to: "dotfiles/aws-config")
        try FileManager.default.createSymbolicLink(
            atPath: folder.url("config"), withDestinationPath: folder.url("dotfiles/aws-config"))
        try ConfigFileEditor.setProperty("region", to: "x", profile: "dev", inConfigAt: folder.url("config"))
        let destination = try FileManager.default.destinationOfSymbolicLink(atPath: folder.url("config"))
        #expect(destination == folder.url("dotfiles/aws-config"))
        #expect(try folder.read("dotfiles/aws-config") == "[profile dev]\nregion = x\n")
    }

    @Test func unchangedContentIsNotRewritten() throws {
        let folder = try TemporaryFolder()
        try folder.write("[profile dev]\nregion = x\n", to: "config")
        try ConfigFileEditor.setProperty("region", to: "x", profile: "dev", inConfigAt: folder.url("config"))
        #expect(!folder.exists("config.latchkey-backup"))
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        var profile: String
        var key: String
        var value: String
        var mentions: String
        var testDescription: String { mentions }
    }

    @Test(arguments: [
        Refusal(profile: "bad name", key: "region", value: "x", mentions: "profile name `bad name`"),
        Refusal(profile: "a]b", key: "region", value: "x", mentions: "profile name `a]b`"),
        Refusal(profile: "dev", key: "my key", value: "x", mentions: "key `my key`"),
        Refusal(profile: "dev", key: "region", value: "a\nb", mentions: "one line"),
        Refusal(profile: "dev", key: "region", value: "a\r\nb", mentions: "one line"),
        Refusal(profile: "dev", key: "region", value: " x", mentions: "whitespace"),
        Refusal(profile: "dev", key: "region", value: "a #b", mentions: "comment"),
    ])
    func refusesWhatWouldNotReadBack(_ refusal: Refusal) throws {
        let folder = try TemporaryFolder()
        try folder.write("[profile dev]\n", to: "config")
        #expect {
            try ConfigFileEditor.setProperty(
                refusal.key, to: refusal.value, profile: refusal.profile, inConfigAt: folder.url("config"))
        } throws: { error in
            (error as? ConfigError)?.description.contains(refusal.mentions) == true
        }
        #expect(try folder.read("config") == "[profile dev]\n")
        #expect(!folder.exists("config.latchkey-backup"))
    }

    @Test func ensureProfileRefusesABadName() throws {
        let folder = try TemporaryFolder()
        #expect(throws: ConfigError.self) {
            try ConfigFileEditor.ensureProfile("two words", inConfigAt: folder.url("config"))
        }
        #expect(!folder.exists("config"))
    }

    @Test func aMalformedFileIsLeftForTheUserToFix() throws {
        let folder = try TemporaryFolder()
        try folder.write("[profile dev\nregion = x\n", to: "config")
        #expect(throws: ConfigError(path: folder.url("config"), line: 1, message: "")) {
            do {
                try ConfigFileEditor.setProperty(
                    "region", to: "y", profile: "dev", inConfigAt: folder.url("config"))
            } catch var error as ConfigError {
                error.message = ""
                throw error
            }
        }
        #expect(try folder.read("config") == "[profile dev\nregion = x\n")
    }

    @Test func rewriteReplacesTheTextWithABackupOrLeavesItAlone() throws {
        let folder = try TemporaryFolder()
        let path = folder.url("config")
        try folder.write("# mine\n[profile dev]\n", to: "config")
        #expect(try ConfigFileEditor.rewrite(inConfigAt: path) { $0 + "\n[profile new]\n" })
        #expect(try folder.read("config") == "# mine\n[profile dev]\n\n[profile new]\n")
        #expect(try folder.read("config.latchkey-backup") == "# mine\n[profile dev]\n")

        #expect(try ConfigFileEditor.rewrite(inConfigAt: path) { _ in nil } == false)
        #expect(try ConfigFileEditor.rewrite(inConfigAt: path) { $0 } == false)
        #expect(throws: ConfigError.self) {
            try ConfigFileEditor.rewrite(inConfigAt: path) { $0 + "[profile broken\n" }
        }
        #expect(try folder.read("config") == "# mine\n[profile dev]\n\n[profile new]\n")
        #expect(
            try ConfigFileEditor.rewrite(inConfigAt: folder.url("fresh/config")) {
                $0.isEmpty ? "[default]\n" : nil
            })
        #expect(try folder.read("fresh/config") == "[default]\n" && folder.mode("fresh/config") == 0o600)
    }
}
