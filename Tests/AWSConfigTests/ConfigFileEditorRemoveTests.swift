import Foundation
import Testing

@testable import AWSConfig

@Suite struct ConfigFileEditorRemoveTests {
    struct Removal: Sendable, CustomTestStringConvertible {
        var name: String
        var before: String
        var profile: String
        var key = "mfa_serial"
        var after: String
        var testDescription: String { name }
    }

    static let removals: [Removal] = [
        Removal(
            name: "only the key goes; comments, order and the other keys stay",
            before:
                "# mine\n[profile dev]\nregion = eu-west-1 ; home\nMFA_Serial = arn:aws:iam::1:mfa/dev\noutput = json\n",
            profile: "dev",
            after: "# mine\n[profile dev]\nregion = eu-west-1 ; home\noutput = json\n"),
        Removal(
            name: "continuation lines of the value go with it",
            before: "[profile dev]\ns3 =\n  addressing_style = path\n# keep\nregion = x\n",
            profile: "dev", key: "s3",
            after: "[profile dev]\n# keep\nregion = x\n"),
        Removal(
            name: "other profiles are untouched",
            before: "[profile a]\nmfa_serial = 1\n\n[profile b]\nmfa_serial = 2\r\n",
            profile: "b",
            after: "[profile a]\nmfa_serial = 1\n\n[profile b]\n"),
        Removal(
            name: "[default] works and an empty section stays",
            before: "[default]\nmfa_serial = s\n",
            profile: "default",
            after: "[default]\n"),
    ]

    @Test(arguments: removals)
    func removePropertyRemovesOnlyTheKey(_ removal: Removal) throws {
        let folder = try TemporaryFolder()
        try folder.write(removal.before, to: "config")
        #expect(
            try ConfigFileEditor.removeProperty(
                removal.key, profile: removal.profile, inConfigAt: folder.url("config")))
        #expect(try folder.read("config") == removal.after)
        #expect(try folder.read("config.latchkey-backup") == removal.before)
        let parsed = try AWSSharedConfig.parse(configText: removal.after, credentialsText: nil)
        #expect(parsed.profiles[removal.profile]?[removal.key] == nil)
    }

    @Test func absentKeyOrProfileChangesNothing() throws {
        let folder = try TemporaryFolder()
        let text = "[profile dev]\nregion = x\n"
        try folder.write(text, to: "config")
        #expect(
            try ConfigFileEditor.removeProperty(
                "mfa_serial", profile: "dev", inConfigAt: folder.url("config")) == false)
        #expect(
            try ConfigFileEditor.removeProperty(
                "mfa_serial", profile: "ops", inConfigAt: folder.url("config")) == false)
        #expect(try folder.read("config") == text)
        #expect(!folder.exists("config.latchkey-backup"))
    }
}
