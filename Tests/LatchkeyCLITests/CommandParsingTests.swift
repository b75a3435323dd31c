import ArgumentParser
import Testing

@testable import LatchkeyCLI

/// Every command's parsing, one table: a command line, and what the parsed command must hold; and
/// command lines each command must refuse while parsing, with the words the message must name.
/// `everyCommandIsInTheTable` keeps the table complete as commands are added.
@Suite struct CommandParsingTests {
    struct Case: Sendable, CustomStringConvertible {
        var argv: [String]
        var holds: @Sendable (any ParsableCommand) -> Bool
        var description: String { argv.joined(separator: " ") }
    }

    static func parsed<Command: ParsableCommand>(
        _ argv: [String], as _: Command.Type, _ check: @escaping @Sendable (Command) -> Bool
    ) -> Case {
        Case(argv: argv) { command in (command as? Command).map(check) ?? false }
    }

    static let valid: [Case] = [
        parsed(["add", "doug", "--env", "--no-config"], as: AddCommand.self) {
            $0.profile == "doug" && $0.env && $0.noConfig
        },
        parsed(["remove", "doug", "--force"], as: RemoveCommand.self) { $0.profile == "doug" && $0.force },
        parsed(["list", "--json"], as: ListCommand.self) { $0.json && !$0.profiles },
        parsed(["clear"], as: ClearCommand.self) { $0.profile == nil },
        parsed(["clear", "doug"], as: ClearCommand.self) { $0.profile == "doug" },
        parsed(["exec", "doug", "--duration", "2h", "--", "aws", "s3", "ls"], as: ExecCommand.self) {
            // The `--` stays in the words; running the command drops it.
            $0.profile == "doug" && $0.credentialOptions.duration == "2h"
                && $0.command == ["--", "aws", "s3", "ls"]
        },
        parsed(["exec", "--ecs-server", "doug", "--read-only"], as: ExecCommand.self) {
            $0.ecsServer && $0.credentialOptions.scope.readOnly && $0.command.isEmpty
        },
        parsed(["export", "doug", "--format", "json", "--region", "eu-west-1"], as: ExportCommand.self) {
            $0.profile == "doug" && $0.format == .json && $0.credentialOptions.region == "eu-west-1"
        },
        parsed(["explain", "doug", "--json", "--no-session"], as: ExplainCommand.self) {
            $0.profile == "doug" && $0.json && $0.credentialOptions.noSession
        },
        parsed(["sso", "login", "corp", "--no-browser"], as: SSOCommand.Login.self) {
            $0.profile == "corp" && $0.noBrowser
        },
        parsed(["sso", "logout", "corp"], as: SSOCommand.Logout.self) { $0.profile == "corp" },
        parsed(
            ["sso", "populate", "corp", "--prune", "--dry-run", "--template", "{account_id}-{role_name}"],
            as: SSOCommand.Populate.self
        ) { $0.ssoSession == "corp" && $0.prune && $0.dryRun && $0.template == "{account_id}-{role_name}" },
        parsed(["shell-init", "zsh"], as: ShellInitCommand.self) { $0.shell == "zsh" },
        parsed(["doctor", "doug", "--json"], as: DoctorCommand.self) { $0.profile == "doug" && $0.json },
        parsed(["backends", "--json"], as: BackendsCommand.self) { $0.json },
        parsed(
            ["migrate", "--from", "file", "--to", "pass", "--profile", "doug", "--dry-run"],
            as: MigrateCommand.self
        ) { $0.from == "file" && $0.to == "pass" && $0.profile == "doug" && $0.dryRun && !$0.deleteSource },
        parsed(["import", "aws-vault", "--from", "pass", "--dry-run"], as: ImportCommand.self) {
            $0.tool == "aws-vault" && $0.source == "pass" && $0.dryRun
        },
        parsed(["import", "aws-login", "--delete"], as: ImportCommand.self) {
            $0.tool == "aws-login" && $0.delete
        },
        parsed(
            ["mfa", "enroll", "doug", "--yubikey", "--device-name", "doug-key"], as: MFAEnrollCommand.self
        ) {
            $0.profile == "doug" && $0.yubikey && $0.deviceName == "doug-key"
        },
        parsed(["mfa", "list", "doug"], as: MFAListCommand.self) { $0.profile == "doug" && $0.region == nil },
        parsed(["mfa", "remove", "doug", "--serial", "arn:aws:iam::1:mfa/d"], as: MFARemoveCommand.self) {
            $0.profile == "doug" && $0.serial == "arn:aws:iam::1:mfa/d"
        },
        parsed(["policy", "show"], as: PolicyShowCommand.self) { _ in true },
        parsed(["policy", "apply", "doug", "--profile", "admin", "--force"], as: PolicyApplyCommand.self) {
            $0.user == "doug" && $0.profile == "admin" && $0.force
        },
        parsed(["serve", "doug", "--ec2", "--port", "9911"], as: ServeCommand.self) {
            $0.profile == "doug" && $0.kind == .ec2 && $0.port == 9911
        },
        parsed(["login", "doug", "--stdout", "--browser", "firefox"], as: LoginCommand.self) {
            $0.profile == "doug" && $0.stdout && $0.browser == "firefox"
        },
        parsed(["rotate", "doug", "--no-session"], as: RotateCommand.self) {
            $0.profile == "doug" && $0.noSession
        },
        parsed(["signin", "ada", "--remote", "--retire-key"], as: SigninCommand.self) {
            $0.profile == "ada" && $0.remote && $0.retireKey
        },
        parsed(["signout", "--all"], as: SignoutCommand.self) { $0.all && $0.profile == nil },
    ]

    @Test(arguments: valid)
    func parses(_ testCase: Case) throws {
        let command = try LatchkeyCommand.parseAsRoot(try withOptionsBeforeProfile(testCase.argv))
        #expect(testCase.holds(command), "\(type(of: command)) does not hold what \(testCase) says")
    }

    @Test(arguments: [
        (["add"], "Missing expected argument '<profile>'"),
        (["export", "doug", "--format", "yaml"], "yaml"),
        (["serve", "doug", "--port", "70000"], "70000"),
        (["migrate", "--from", "file"], "--to"),
        (["mfa", "enroll"], "<profile>"),
        (["policy", "apply", "doug"], "--profile"),
        (["sso", "populate"], "<sso-session>"),
        (["shell-init"], "<shell>"),
        (["no-such-command"], "no-such-command"),
        (["exec", "doug", "--duration", "forever"], "'forever' is not a duration"),
    ])
    func refuses(_ argv: [String], _ words: String) {
        #expect {
            _ = try LatchkeyCommand.parseAsRoot(try withOptionsBeforeProfile(argv))
        } throws: { error in
            LatchkeyCommand.message(for: error).contains(words)
        }
    }

    /// Every leaf command (one that runs, not a group) has at least one row in `valid`.
    @Test func everyCommandIsInTheTable() throws {
        func leaves(_ command: any ParsableCommand.Type) -> [any ParsableCommand.Type] {
            let children = command.configuration.subcommands
            return children.isEmpty ? [command] : children.flatMap(leaves)
        }
        var covered: Set<String> = []
        for testCase in Self.valid {
            let command = try LatchkeyCommand.parseAsRoot(try withOptionsBeforeProfile(testCase.argv))
            covered.insert(String(describing: type(of: command)))
        }
        let all = leaves(LatchkeyCommand.self).map { String(describing: $0) }
        #expect(all.count > 20)
        #expect(Set(all).subtracting(covered).isEmpty, "commands without a parsing row")
    }
}
