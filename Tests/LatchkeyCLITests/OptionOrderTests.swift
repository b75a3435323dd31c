import ArgumentParser
import Testing

@testable import LatchkeyCLI

/// aws-vault (kingpin) takes options anywhere before `--`; latchkey's commands do too.
@Suite struct OptionOrderTests {
    @Test(arguments: [
        (
            ["exec", "doug", "--duration", "2h", "--", "terraform", "plan"],
            ["exec", "--duration", "2h", "doug", "--", "terraform", "plan"]
        ),
        (
            ["exec", "--mfa-token", "123456", "doug", "-d", "2h", "-n", "--", "env"],
            ["exec", "--mfa-token", "123456", "-d", "2h", "-n", "doug", "--", "env"]
        ),
        (["exec", "doug", "--duration=2h", "-s"], ["exec", "--duration=2h", "-s", "doug"]),
        (
            ["exec", "doug", "-t", "123456", "aws", "s3", "ls"],
            ["exec", "-t", "123456", "doug", "aws", "s3", "ls"]
        ),
        // After `--`, or from the command on, every word is the command's.
        (
            ["exec", "doug", "--", "sh", "-c", "echo $1", "x", "--duration"],
            ["exec", "doug", "--", "sh", "-c", "echo $1", "x", "--duration"]
        ),
        (
            ["exec", "doug", "aws", "s3", "ls", "--region", "x"],
            ["exec", "doug", "aws", "s3", "ls", "--region", "x"]
        ),
        (["exec", "doug", "--help"], ["exec", "--help", "doug"]),
        // Scope options: a flag, and a repeatable option with a value.
        (
            ["exec", "agent", "--read-only", "--policy-arn", "arn:aws:iam::aws:policy/A", "--", "env"],
            ["exec", "--read-only", "--policy-arn", "arn:aws:iam::aws:policy/A", "agent", "--", "env"]
        ),
        (["exec", "agent", "--policy", "p.json", "env"], ["exec", "--policy", "p.json", "agent", "env"]),
        // Other commands have no command of their own: ArgumentParser already takes options anywhere.
        (["export", "doug", "--format", "json"], ["export", "doug", "--format", "json"]),
    ])
    func execOptionsMoveBeforeTheProfile(_ given: [String], _ expected: [String]) throws {
        #expect(try withOptionsBeforeProfile(given) == expected)
    }

    @Test(arguments: [
        (["exec", "doug", "--no-such-flag", "--", "env"], "no-such-flag"),
        (["exec", "doug", "-d", "--", "env"], "-d needs a value"),
        (["exec", "doug", "--mfa-token"], "--mfa-token needs a value"),
        (["exec", "doug", "--duration", "soon", "--", "env"], "'soon' is not a duration"),
        (["exec", "--duration", "soon", "doug", "--", "env"], "'soon' is not a duration"),
    ])
    func badOptionsFailWhileParsing(_ given: [String], _ message: String) {
        #expect {
            _ = try LatchkeyCommand.parseAsRoot(try withOptionsBeforeProfile(given))
        } throws: { error in
            LatchkeyCommand.message(for: error).contains(message)
        }
    }

    @Test func execParsesOptionsAfterTheProfile() throws {
        let arguments = [
            "exec", "doug", "-d", "2h", "-t", "123456", "-n", "--", "sh", "-c", "x", "--duration",
        ]
        let parsed = try LatchkeyCommand.parseAsRoot(try withOptionsBeforeProfile(arguments))
        let exec = try #require(parsed as? ExecCommand)
        #expect(exec.profile == "doug")
        #expect(exec.credentialOptions.duration == "2h" && exec.credentialOptions.mfaToken == "123456")
        #expect(exec.credentialOptions.noSession)
        #expect(exec.command == ["--", "sh", "-c", "x", "--duration"])
        let server = try #require(
            try LatchkeyCommand.parseAsRoot(try withOptionsBeforeProfile(["exec", "doug", "-s"]))
                as? ExecCommand)
        #expect(server.ecsServer && server.command.isEmpty)
    }

    @Test func otherCommandsTakeOptionsAfterTheProfile() throws {
        let export = try #require(
            try LatchkeyCommand.parseAsRoot([
                "export", "doug", "--format", "json", "-d", "2h", "-t", "123456", "-n",
            ])
                as? ExportCommand)
        #expect(export.profile == "doug" && export.format == .json)
        #expect(export.credentialOptions.duration == "2h" && export.credentialOptions.noSession)
        let login = try #require(
            try LatchkeyCommand.parseAsRoot(["login", "ops", "-d", "4h", "-s", "-t", "123456"])
                as? LoginCommand)
        #expect(
            login.profile == "ops" && login.duration == "4h" && login.stdout && login.mfaToken == "123456")
        let rotate = try #require(
            try LatchkeyCommand.parseAsRoot(["rotate", "doug", "-n", "-t", "123456"]) as? RotateCommand)
        #expect(rotate.profile == "doug" && rotate.noSession && rotate.mfaToken == "123456")
        let serve = try #require(
            try LatchkeyCommand.parseAsRoot(["serve", "doug", "--ec2", "-d", "1h", "--port", "9911"])
                as? ServeCommand)
        #expect(serve.profile == "doug" && serve.kind == .ec2 && serve.port == 9911)
        #expect(serve.credentialOptions.duration == "1h")
        let explain = try #require(
            try LatchkeyCommand.parseAsRoot(["explain", "doug", "--json", "-d", "2h"]) as? ExplainCommand)
        #expect(explain.json && explain.credentialOptions.duration == "2h")
    }
}
