import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

/// `--no-prompt`, `LATCHKEY_NO_PROMPT=1` and "no terminal, no dialog": latchkey fails at once
/// with what it needed and what works, and keeps the message where `doctor` shows it.
@Suite struct PromptPolicyTests {
    struct Case: Sendable, CustomStringConvertible {
        var option: Bool
        var environment: [String: String]
        var terminal: Bool
        var dialog: Bool
        var expected: PromptsOff?
        var description: String { "option \(option) env \(environment) tty \(terminal) dialog \(dialog)" }
    }

    @Test(arguments: [
        Case(option: false, environment: [:], terminal: true, dialog: false, expected: nil),
        Case(option: false, environment: [:], terminal: false, dialog: true, expected: nil),
        Case(option: false, environment: [:], terminal: false, dialog: false, expected: .noTerminal),
        Case(option: true, environment: [:], terminal: true, dialog: true, expected: .option),
        Case(
            option: false, environment: ["LATCHKEY_NO_PROMPT": "1"], terminal: true, dialog: true,
            expected: .environment),
        Case(
            option: false, environment: ["LATCHKEY_NO_PROMPT": "true"], terminal: true, dialog: false,
            expected: .environment),
        Case(
            option: false, environment: ["LATCHKEY_NO_PROMPT": "0"], terminal: true, dialog: false,
            expected: nil),
        Case(
            option: false, environment: ["LATCHKEY_NO_PROMPT": ""], terminal: true, dialog: false,
            expected: nil),
    ])
    func mayPrompt(_ example: Case) {
        #expect(
            PromptPolicy.promptsOff(
                noPromptOption: example.option, environment: example.environment,
                terminalAvailable: example.terminal, dialogAvailable: example.dialog) == example.expected)
    }

    struct Refusal: Sendable, CustomStringConvertible {
        var need: PromptRefused.Need
        var mentions: [String]
        var description: String { "\(need)" }
    }

    @Test(arguments: [
        Refusal(
            need: .mfaCode(profile: "doug", serial: "arn:aws:iam::111122223333:mfa/doug"),
            mentions: [
                "needs an MFA code for arn:aws:iam::111122223333:mfa/doug",
                "latchkey exec doug --mfa-token CODE -- …", "mfa_process",
            ]),
        Refusal(
            need: .filePassphrase(vault: "/home/d/.latchkey/vault"),
            mentions: ["/home/d/.latchkey/vault needs its passphrase", "LATCHKEY_FILE_PASSPHRASE"]),
        Refusal(
            need: .confirmation(question: "removing profile 'doug'", flag: "--force (-f)"),
            mentions: ["removing profile 'doug' needs a confirmation", "add --force (-f)"]),
        Refusal(
            need: .awsVaultPassphrase(folder: "/k"), mentions: ["/k needs", "AWS_VAULT_FILE_PASSPHRASE"]),
        Refusal(
            need: .accessKey(profile: "doug"), mentions: ["`latchkey add doug --env`", "AWS_ACCESS_KEY_ID"]),
        Refusal(
            need: .enrollmentCodes(profile: "doug"),
            mentions: ["two codes", "`latchkey mfa enroll doug --codes CODE1 CODE2`", "--yubikey"]),
        Refusal(need: .ssoSignIn(profile: "work"), mentions: ["sign-in", "`latchkey sso login work`"]),
    ])
    func eachRefusalNamesWhatItNeededAndWhatWorks(_ example: Refusal) {
        for why in [PromptsOff.option, .environment, .noTerminal] {
            let message = PromptRefused(example.need, why: why).description
            for text in example.mentions { #expect(message.contains(text), "\(message)") }
        }
        #expect(PromptRefused(example.need, why: .option).description.contains("--no-prompt"))
        #expect(PromptRefused(example.need, why: .environment).description.contains("LATCHKEY_NO_PROMPT=1"))
        #expect(PromptRefused(example.need, why: .noTerminal).description.contains("no terminal"))
    }

    @Test func aMissingCodeIsRefusedAtOnceWhenPromptsAreOff() async throws {
        var source = MFACodeSource(
            prompt: nil, processRunner: ScriptedProcessRunner(output: ""), environment: [:])
        source.promptsOff = .option
        await #expect(
            throws: PromptRefused(.mfaCode(profile: "doug", serial: "arn:mfa"), why: .option)
        ) {
            try await source.code(profile: "doug", serial: "arn:mfa", mfaProcess: nil, flag: nil)
        }
        // What asks no one still works.
        #expect(
            try await source.code(profile: "doug", serial: "arn:mfa", mfaProcess: nil, flag: "123456")
                == "123456")
        source.processRunner = ScriptedProcessRunner(output: "654321\n")
        #expect(
            try await source.code(profile: "doug", serial: "arn:mfa", mfaProcess: "oathtool", flag: nil)
                == "654321")
    }

    @Test func theRecordIsPrivateAgesOutAndIsClearedBySuccess() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "latchkey-prompt-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        let refused = PromptRefused(.mfaCode(profile: "doug", serial: "arn:mfa"), why: .noTerminal)
        try PromptFailureRecord(refused, time: now).save(in: folder)

        let mode =
            try FileManager.default.attributesOfItem(atPath: PromptFailureRecord.path(in: folder))[
                .posixPermissions] as? Int
        #expect(mode == 0o600)
        let loaded = try #require(PromptFailureRecord.load(in: folder, now: now.addingTimeInterval(60)))
        #expect(loaded.profile == "doug")
        #expect(loaded.message == refused.description)
        #expect(PromptFailureRecord.load(in: folder, now: now.addingTimeInterval(25 * 3600)) == nil)

        PromptFailureRecord.clear(profile: "other", in: folder)
        #expect(PromptFailureRecord.load(in: folder, now: now) != nil)
        PromptFailureRecord.clear(profile: "doug", in: folder)
        #expect(PromptFailureRecord.load(in: folder, now: now) == nil)
    }
}
