import ArgumentParser
import Foundation
import LatchkeyCore
import Testing

@testable import LatchkeyCLI

/// `--no-prompt` on every command that can ask, the drivers it still allows, and the desktop
/// notification a credential_process call sends while a dialog or a YubiKey waits.
@Suite struct NoPromptTests {
    @Test(arguments: [
        ["exec", "doug", "--no-prompt", "--", "env"],
        ["exec", "--no-prompt", "doug", "--", "env"],
        ["export", "doug", "--no-prompt"],
        ["export", "--no-prompt", "--format", "json", "doug"],
        ["remove", "doug", "--no-prompt"],
        ["add", "--no-prompt", "doug"],
        ["import", "aws-vault", "--no-prompt"],
        ["mfa", "enroll", "doug", "--no-prompt"],
        ["sso", "login", "doug", "--no-prompt"],
        ["login", "doug", "--no-prompt"],
        ["rotate", "doug", "--no-prompt"],
        ["serve", "doug", "--no-prompt"],
    ])
    func everyCommandThatCanAskTakesNoPrompt(_ arguments: [String]) throws {
        // Before --no-prompt existed, each of these failed to parse.
        _ = try LatchkeyCommand.parseAsRoot(try withOptionsBeforeProfile(arguments))
    }

    @Test func theOptionReachesTheGlobalOptions() throws {
        let exec = try LatchkeyCommand.parseAsRoot(
            try withOptionsBeforeProfile(["exec", "doug", "--no-prompt", "--", "env"]))
        #expect((exec as? ExecCommand)?.global.noPrompt == true)
        let export = try LatchkeyCommand.parseAsRoot(["export", "--format", "json", "doug", "--no-prompt"])
        #expect((export as? ExportCommand)?.global.noPrompt == true)
        let remove = try LatchkeyCommand.parseAsRoot(["remove", "doug"])
        #expect((remove as? RemoveCommand)?.global.noPrompt == false)
    }

    @Test func execKeepsTheCommandAfterNoPrompt() throws {
        #expect(
            try withOptionsBeforeProfile(["exec", "doug", "--no-prompt", "--", "aws", "sts"])
                == ["exec", "--no-prompt", "doug", "--", "aws", "sts"])
    }

    @Test func withPromptsOffOnlyAYubiKeyMayAnswer() throws {
        let environment = ["PATH": "/nonexistent"]
        let attached = ScriptedTerminal(available: true)
        #expect(
            try PromptDriver.choose(nil, environment: environment, terminal: attached, promptsOff: .option)
                == nil)
        #expect(
            try PromptDriver.choose(
                "zenity", environment: environment, terminal: attached, promptsOff: .environment) == nil)
        #expect(
            try PromptDriver.choose(
                "terminal", environment: environment, terminal: attached, promptsOff: .option) == nil)
        // ykman is asked for (and found missing), not skipped.
        #expect(throws: CLIError.self) {
            _ = try PromptDriver.choose(
                "ykman", environment: environment, terminal: attached, promptsOff: .option)
        }
    }

    @Test func noDisplayMeansNoDialogAndNoNotifier() {
        #expect(!PromptDriver.dialogAvailable(environment: ["PATH": "/usr/bin:/bin"]))
        #expect(DesktopNotifier.system(environment: ["PATH": "/usr/bin:/bin"]) == nil)
    }

    final class Sent: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [(String, String)] = []
        func append(_ item: (String, String)) { lock.withLock { items.append(item) } }
        var all: [(String, String)] { lock.withLock { items } }
    }

    struct FixedRunner: ProcessRunner {
        var text: String
        func output(of arguments: [String], environment: [String: String], timeout: Duration) async throws
            -> String
        { text }
    }

    @Test(arguments: [PromptDriver.zenity, .ykman])
    func aDialogOrTouchWithoutTerminalIsAnnounced(_ driver: PromptDriver) async throws {
        let sent = Sent()
        var prompt = ProgramPrompt(
            driver: driver, environment: [:], terminal: ScriptedTerminal(available: false),
            notifier: DesktopNotifier { sent.append(($0, $1)) })
        prompt.runner = FixedRunner(text: "123456\n")
        let code = try await prompt.mfaCode(serial: "arn:aws:iam::111122223333:mfa/doug", profile: "doug")
        #expect(code.contains("123456"))
        let notification = try #require(sent.all.first)
        #expect(notification.0.contains("doug"))
        #expect(notification.1.contains(driver == .ykman ? "YubiKey" : "dialog"))
        #expect(!notification.0.contains("123456") && !notification.1.contains("123456"))

        let attached = ScriptedTerminal(available: true)
        prompt.terminal = attached
        _ = try await prompt.mfaCode(serial: "arn:aws:iam::111122223333:mfa/doug", profile: "doug")
        #expect(sent.all.count == 1, "an attached terminal says it instead")
        #expect(attached.said.text.contains("YubiKey") == (driver == .ykman))
    }
}
