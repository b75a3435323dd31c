import ArgumentParser
import LatchkeyCore
import Testing

@testable import LatchkeyCLI

/// The hot commands read without ArgumentParser (FastPath.swift) mean exactly what ArgumentParser
/// reads from the same words; every other shape is left to ArgumentParser.
@Suite struct FastPathTests {
    @Test(arguments: [
        ["export", "doug"],
        ["export", "--format", "json", "doug"],
        ["export", "doug", "--format", "json"],
        ["export", "--format=json", "doug"],
        ["export", "doug", "--format=ini"],
        ["export", "--format", "export-env", "doug"],
        ["export", "--format", "env", "doug"],
        ["export", "help"],
        ["export", "a=b"],
        ["export", "--mfa-token", "123456", "doug"],
        ["export", "doug", "--mfa-token=123456", "--format", "json"],
        ["export", "--format=json", "--mfa-token", "help", "doug"],
    ])
    func exportMeansWhatArgumentParserReads(_ arguments: [String]) throws {
        let fast = try #require(FastCommand(arguments))
        let parsed = try #require(
            try LatchkeyCommand.parseAsRoot(withOptionsBeforeProfile(arguments)) as? ExportCommand)
        let options = parsed.credentialOptions.choices
        #expect(fast == .export(profile: parsed.profile, format: parsed.format, options: options))
        #expect(parsed.global.choices == GlobalChoices())
        // Only the MFA code may differ from no options at all.
        #expect(options == CredentialChoices(mfaToken: options.mfaToken))
        #expect((options.mfaToken != nil) == arguments.contains { $0.hasPrefix("--mfa-token") })
    }

    @Test(arguments: [
        ["exec", "doug"],
        ["exec", "doug", "--"],
        ["exec", "doug", "--", "aws", "sts", "get-caller-identity"],
        ["exec", "doug", "--", "sh", "-c", "echo $1", "--duration", "-s", "--help", "--"],
        ["exec", "help", "--", "true"],
        ["exec", "--mfa-token", "123456", "doug", "--", "env"],
        ["exec", "doug", "--mfa-token=123456"],
        ["exec", "doug", "--mfa-token", "123456", "--", "sh", "--mfa-token", "1"],
    ])
    func execMeansWhatArgumentParserReads(_ arguments: [String]) throws {
        let fast = try #require(FastCommand(arguments))
        let parsed = try #require(
            try LatchkeyCommand.parseAsRoot(withOptionsBeforeProfile(arguments)) as? ExecCommand)
        let full = ExecRequest(
            global: parsed.global.choices, options: parsed.credentialOptions.choices,
            ecsServer: parsed.ecsServer, ec2Server: parsed.ec2Server, profile: parsed.profile,
            command: parsed.command)
        #expect(fast == .exec(full))
        #expect(
            full.global == GlobalChoices()
                && full.options == CredentialChoices(mfaToken: full.options.mfaToken))
        let beforeCommand = arguments.prefix { $0 != "--" }
        #expect((full.options.mfaToken != nil) == beforeCommand.contains { $0.hasPrefix("--mfa-token") })
    }

    @Test func versionIsArgumentParsersVersion() throws {
        #expect(FastCommand(["--version"]) == .version)
        #expect(throws: (any Error).self) { try LatchkeyCommand.parseAsRoot(["--version"]) }
        do {
            _ = try LatchkeyCommand.parseAsRoot(["--version"])
        } catch {
            #expect(LatchkeyCommand.fullMessage(for: error) + "\n" == versionLine)
            #expect(LatchkeyCommand.exitCode(for: error) == .success)
        }
    }

    /// Any option, flag, terminator or extra word the fast path does not know sends the untouched
    /// arguments to ArgumentParser: a flag added to `exec`/`export` elsewhere keeps working.
    @Test(arguments: [
        [], ["--help"], ["-h"], ["help"], ["--version", "x"], ["version"], ["list"], ["explain", "doug"],
        ["export"], ["export", "--format", "json"], ["export", "--format"],
        ["export", "--format", "JSON", "doug"],
        ["export", "--format", "yaml", "doug"], ["export", "--format=", "doug"],
        ["export", "--format", "json", "--format", "env", "doug"], ["export", "doug", "other"],
        ["export", "--", "doug"], ["export", "doug", "--"], ["export", "-h", "doug"],
        ["export", "doug", "--help"],
        ["export", "--no-such-flag", "doug"], ["export", "doug", "--no-session"], ["export", "-n", "doug"],
        ["export", "doug", "--duration", "2h"], ["export", "doug", "--region", "eu-west-1"],
        ["export", "doug", "--debug"], ["export", "doug", "-t", "123456"], ["export", "doug", "--mfa-token"],
        ["export", "--mfa-token", "-1", "doug"], ["export", "--mfa-token=", "doug"],
        ["export", "--mfa-token", "1", "--mfa-token", "2", "doug"], ["export", "--mfa-token", "", "doug"],
        ["export", "doug", "--backend", "file"], ["export", "doug", "--no-prompt"], ["export", "-"],
        ["export", ""], ["export", "--format", "json", "-doug"],
        ["exec"], ["exec", "--"], ["exec", "--", "doug"], ["exec", ""],
        ["exec", "-d", "2h", "doug", "--", "env"],
        ["exec", "doug", "--duration", "2h", "--", "env"], ["exec", "doug", "-s"],
        ["exec", "doug", "--ec2-server"],
        ["exec", "doug", "--no-such-flag", "--", "env"], ["exec", "doug", "env"],
        ["exec", "doug", "aws", "s3", "ls"],
        ["exec", "doug", "--help"], ["exec", "doug", "-t", "123456"], ["exec", "--mfa-token", "doug"],
        ["exec", "doug", "--mfa-token", "1", "--mfa-token", "2"], ["exec", "--mfa-token", "1", "--", "doug"],
    ])
    func everyOtherShapeGoesToArgumentParser(_ arguments: [String]) {
        #expect(FastCommand(arguments) == nil)
    }
}
