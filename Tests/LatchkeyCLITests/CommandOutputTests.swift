import Foundation
import LatchkeyCore
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCLI

/// Each command's output (text and `--json`) and exit status, run in an `InMemoryWorld`: one
/// table per command, each row a command line, the world it runs in, and what it must print.
@Suite struct CommandOutputTests {
    static let config = """
        [profile doug]
        region = eu-west-1

        [profile admin]
        mfa_serial = arn:aws:iam::123456789012:mfa/admin

        """

    /// A row: the world is made fresh for each, then `prepare` fills it.
    struct Row: Sendable, CustomStringConvertible {
        var argv: [String]
        var status: Int32 = 0
        var out: String? = nil
        var err: String? = nil
        /// Words stderr must contain (when the whole text is not worth pinning).
        var errContains: [String] = []
        var environment: [String: String] = [:]
        var answers: [String]? = nil
        var prepare: @Sendable (InMemoryWorld) async throws -> Void = { _ in }
        var check: @Sendable (InMemoryWorld, Outcome) async throws -> Bool = { _, _ in true }
        var description: String { argv.joined(separator: " ") }
    }

    static func run(_ row: Row, config: String = config) async throws -> (InMemoryWorld, Outcome) {
        let world = try InMemoryWorld(
            config: config, environment: row.environment,
            terminal: ScriptedTerminal(available: row.answers != nil, answers: row.answers ?? []))
        try await row.prepare(world)
        let outcome = await world.run(row.argv)
        return (world, outcome)
    }

    static func expect(_ row: Row) async throws {
        let (world, outcome) = try await run(row)
        #expect(outcome.status == row.status, "\(row): \(outcome)")
        if let out = row.out { #expect(outcome.out == out, "\(row): \(outcome)") }
        if let err = row.err { #expect(outcome.err == err, "\(row): \(outcome)") }
        for word in row.errContains { #expect(outcome.err.contains(word), "\(row): \(outcome)") }
        #expect(try await row.check(world, outcome), "\(row): \(outcome)")
    }

    static let storedDoug: @Sendable (InMemoryWorld) async throws -> Void = {
        try await $0.storeKey(profile: "doug")
    }

    // MARK: list

    static let listRows: [Row] = [
        Row(argv: ["list", "--profiles"], out: "admin\ndoug\n"),
        Row(
            argv: ["list"],
            out: """
                Profile  Credentials         Sessions
                admin    -                   -
                doug     AKIA…MPLE, 10d old  GetSessionToken: 45m left

                """,
            prepare: { world in
                try await world.storeKey(profile: "doug")
                try await world.storeSession(profile: "doug", secondsLeft: 2700)
            }),
        Row(
            argv: ["list", "--json"],
            out: #"{"profiles":[{"credentials":null,"name":"admin","sessions":[]},"#
                + #"{"credentials":{"access_key_id":"AKIAIOSFODNN7EXAMPLE","added":"2026-05-18T20:26:40Z","age_days":10},"#
                + #""name":"doug","sessions":[{"expiration":"2026-05-28T21:11:40Z","seconds_left":2700,"type":"GetSessionToken"}]}]}"#
                + "\n",
            prepare: { world in
                try await world.storeKey(profile: "doug")
                try await world.storeSession(profile: "doug", secondsLeft: 2700)
            }),
        // A profile that exists only in the keyring (added with --no-config) is listed too.
        Row(
            argv: ["list"], prepare: { try await $0.storeKey(profile: "ghost") },
            check: { _, outcome in
                outcome.out.contains("ghost    AKIA…MPLE, 10d old  -")
            }),
    ]

    @Test(arguments: listRows) func list(_ row: Row) async throws { try await Self.expect(row) }

    @Test func listWithNothingSaysHowToStart() async throws {
        let world = try InMemoryWorld()
        let outcome = await world.run(["list"])
        #expect(outcome.status == 0)
        #expect(
            outcome.out
                == "Profile  Credentials  Sessions\nNo profiles yet: `latchkey add NAME` stores a key and creates one.\n"
        )
    }

    // MARK: add

    static let addRows: [Row] = [
        Row(
            argv: ["add", "doug", "--env", "--no-config"],
            out: "Added credentials to profile \"doug\" in the memory backend.\n",
            environment: [
                "AWS_ACCESS_KEY_ID": InMemoryWorld.accessKeyId, "AWS_SECRET_ACCESS_KEY": InMemoryWorld.secret,
            ],
            check: { world, _ in
                try await world.store.longLivedKey(profile: "doug")?.secretAccessKey == InMemoryWorld.secret
            }),
        // A new profile is added to the config file.
        Row(
            argv: ["add", "carol"], answers: [InMemoryWorld.accessKeyId, InMemoryWorld.secret],
            check: { world, outcome in
                outcome.out
                    == "Added credentials to profile \"carol\" in the memory backend.\n"
                    + "Added [profile carol] to \(world.configFile).\n"
                    && world.config.contains("[profile carol]")
                    && outcome.said.contains("Enter Secret Access Key: ")
            }),
        Row(
            argv: ["add", "doug", "--env"], status: 1,
            err: "latchkey: \(LatchkeyError.missingEnvironmentCredentials)\n"
        ),
        Row(
            argv: ["add", "doug"], status: 1,
            err: "latchkey: \(PromptRefused(.accessKey(profile: "doug"), why: .noTerminal))\n"),
        Row(
            argv: ["add", "doug", "--no-config"], status: 1, errContains: ["AKIA"],
            answers: ["not-a-key-id", InMemoryWorld.secret],
            check: { world, _ in try await world.store.longLivedKey(profile: "doug") == nil }),
        Row(argv: ["add"], status: 64, errContains: ["Missing expected argument '<profile>'"]),
    ]

    @Test(arguments: addRows) func add(_ row: Row) async throws { try await Self.expect(row) }

    // MARK: remove

    static let removeRows: [Row] = [
        Row(
            argv: ["remove", "doug", "--force"],
            out: "Removed credentials and 1 cached session(s) of profile \"doug\".\n",
            prepare: { world in
                try await world.storeKey(profile: "doug")
                try await world.storeSession(profile: "doug", secondsLeft: 600)
            }, check: { world, _ in world.keyring.snapshot.isEmpty }),
        Row(
            argv: ["remove", "ghost", "-f"], status: 1,
            err: "latchkey: nothing is stored for profile \"ghost\"; `latchkey list` shows what is.\n"),
        Row(
            argv: ["remove", "doug"], out: "Nothing removed.\n", answers: ["n"], prepare: storedDoug,
            check: { world, _ in
                try await world.store.longLivedKey(profile: "doug") != nil
            }),
        Row(
            argv: ["remove", "doug"],
            out: "Removed credentials and 0 cached session(s) of profile \"doug\".\n",
            answers: ["yes"], prepare: storedDoug,
            check: { world, outcome in
                outcome.said == "Delete credentials for profile \"doug\"? [y/N] "
                    && world.keyring.snapshot.isEmpty
            }),
        Row(
            argv: ["remove", "doug"], status: 1, errContains: ["--force (-f)"], prepare: storedDoug,
            check: { world, _ in try await world.store.longLivedKey(profile: "doug") != nil }),
    ]

    @Test(arguments: removeRows) func remove(_ row: Row) async throws { try await Self.expect(row) }

    // MARK: clear

    static let twoSessions: @Sendable (InMemoryWorld) async throws -> Void = { world in
        try await world.storeKey(profile: "doug")
        try await world.storeSession(profile: "doug", secondsLeft: 600)
        try await world.storeSession(profile: "admin", secondsLeft: 600)
    }

    static let clearRows: [Row] = [
        Row(
            argv: ["clear"], out: "Cleared 2 sessions.\n", prepare: twoSessions,
            check: { world, _ in
                // The stored key stays.
                world.keyring.snapshot.count == 1
            }),
        Row(
            argv: ["clear", "admin"], out: "Cleared 1 session.\n", prepare: twoSessions,
            check: { world, _ in
                world.keyring.snapshot.count == 2
            }),
        Row(argv: ["clear"], out: "Cleared 0 sessions.\n"),
    ]

    @Test(arguments: clearRows) func clear(_ row: Row) async throws { try await Self.expect(row) }

    // MARK: export

    static let exportRows: [Row] = [
        Row(
            argv: ["export", "doug", "--no-session"],
            out: """
                AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
                AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
                AWS_REGION=eu-west-1
                AWS_DEFAULT_REGION=eu-west-1

                """, prepare: storedDoug),
        Row(
            argv: ["export", "--format", "export-env", "doug", "--no-session"],
            out: """
                export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
                export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
                export AWS_REGION=eu-west-1
                export AWS_DEFAULT_REGION=eu-west-1

                """, prepare: storedDoug),
        Row(
            argv: ["export", "--format", "json", "doug", "-n"],
            out:
                #"{"Version":1,"AccessKeyId":"AKIAIOSFODNN7EXAMPLE","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}"#
                + "\n", prepare: storedDoug),
        Row(
            argv: ["export", "--format", "ini", "doug", "-n", "--region", "us-west-2"],
            out: """
                [doug]
                aws_access_key_id = AKIAIOSFODNN7EXAMPLE
                aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
                region = us-west-2

                """, prepare: storedDoug),
        Row(
            argv: ["export", "doug", "-n"], status: 1,
            err: "latchkey: \(LatchkeyError.noStoredCredentials(profile: "doug", backend: "memory"))\n"),
        Row(argv: ["export", "--format", "yaml", "doug"], status: 64, errContains: ["yaml"]),
    ]

    @Test(arguments: exportRows) func export(_ row: Row) async throws { try await Self.expect(row) }

    /// STS's answer to GetSessionToken: session ASIAEXAMPLE000001.
    static let sessionTokenAnswer = ScriptedTransport.Step.xml(
        """
        <GetSessionTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <GetSessionTokenResult><Credentials>
            <SessionToken>TOKEN1</SessionToken><SecretAccessKey>SESSIONSECRET</SecretAccessKey>
            <Expiration>2026-05-28T21:26:40Z</Expiration><AccessKeyId>ASIAEXAMPLE000001</AccessKeyId>
          </Credentials></GetSessionTokenResult>
          <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
        </GetSessionTokenResponse>
        """)

    /// A session is made once through STS (the scripted transport), then reused from the keyring.
    @Test func exportMakesASessionOnceThenReusesIt() async throws {
        let world = try InMemoryWorld(
            config: Self.config,
            transport: [Self.sessionTokenAnswer])
        try await world.storeKey(profile: "doug")
        let expected =
            #"{"Version":1,"AccessKeyId":"ASIAEXAMPLE000001","SecretAccessKey":"SESSIONSECRET","#
            + #""SessionToken":"TOKEN1","Expiration":"2026-05-28T21:26:40Z"}"# + "\n"
        for _ in 0..<2 {
            let outcome = await world.run(["export", "--format", "json", "doug"])
            #expect(outcome.status == 0, "\(outcome)")
            #expect(outcome.out == expected, "\(outcome)")
        }
        #expect(await world.transport.requests.count == 1)
        #expect(await world.transport.bodies.first?.contains("Action=GetSessionToken") == true)
    }

    /// The MFA code is asked of the world's terminal (not the process's), and sent to STS.
    @Test func exportAsksTheWorldsTerminalForTheCode() async throws {
        let terminal = ScriptedTerminal(available: true, answers: ["123456"])
        let world = try InMemoryWorld(
            config: Self.config,
            transport: [Self.sessionTokenAnswer], terminal: terminal)
        try await world.storeKey(profile: "admin")
        let outcome = await world.run(["export", "--format", "json", "admin"])
        #expect(outcome.status == 0, "\(outcome)")
        #expect(terminal.said.text.contains("Enter MFA code for arn:aws:iam::123456789012:mfa/admin"))
        let body = try #require(await world.transport.bodies.first)
        #expect(body.contains("TokenCode=123456"), "\(body)")
    }

    // MARK: exec (what fails before the command replaces latchkey)

    static let execRows: [Row] = [
        Row(
            argv: ["exec", "doug", "--", "true"], status: 1,
            err: "latchkey: \(LatchkeyError.nestedExec(profile: "admin"))\n",
            environment: ["AWS_VAULT": "admin"]),
        Row(
            argv: ["exec", "doug", "--", "no-such-program-here"], status: 1,
            errContains: ["no-such-program-here"],
            prepare: storedDoug, check: { world, _ in await world.transport.requests.isEmpty }),
        Row(
            argv: ["exec", "--ecs-server", "--ec2-server", "doug", "--", "true"], status: 1,
            err: "latchkey: choose one of --ecs-server and --ec2-server.\n"),
        // A bad value stops latchkey while parsing, before any AWS call (ArgumentParser's exit 1).
        Row(
            argv: ["exec", "doug", "--duration", "forever"], status: 1,
            errContains: ["'forever' is not a duration"],
            check: { world, _ in await world.transport.requests.isEmpty }),
    ]

    @Test(arguments: execRows) func exec(_ row: Row) async throws { try await Self.expect(row) }

    // MARK: explain

    @Test func explainText() async throws {
        let (_, outcome) = try await Self.run(Row(argv: ["explain", "doug"], prepare: Self.storedDoug))
        #expect(outcome.status == 0, "\(outcome)")
        let lines = outcome.out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(
            lines.first?.hasPrefix(
                "Profile doug: region eu-west-1, STS at https://sts.eu-west-1.amazonaws.com") == true,
            "\(outcome)")
        #expect(lines.contains { $0.hasPrefix("  1. from ") && $0.contains("memory") }, "\(outcome)")
        #expect(lines.contains { $0.hasPrefix("  2. GetSessionToken for 'doug'") }, "\(outcome)")
        #expect(lines.contains("     not cached: STS is called"), "\(outcome)")
        #expect(lines.suffix(2) == ["Running it now calls AWS.", ""], "\(outcome)")
    }

    @Test func explainSaysWhenNothingIsNeeded() async throws {
        let world = try InMemoryWorld(config: Self.config)
        try await world.storeKey(profile: "doug")
        _ = await world.run(["export", "doug", "-n"])  // no session: nothing cached
        let outcome = await world.run(["explain", "doug", "--no-session"])
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.out.hasSuffix("Running it now needs no MFA code and no STS call.\n"), "\(outcome)")
    }

    @Test func explainJSON() async throws {
        let (_, outcome) = try await Self.run(
            Row(argv: ["explain", "--json", "admin"], prepare: { try await $0.storeKey(profile: "admin") }))
        #expect(outcome.status == 0, "\(outcome)")
        let object = try JSONSerialization.jsonObject(with: Data(outcome.out.utf8)) as? [String: Any]
        #expect(object?["profile"] as? String == "admin", "\(outcome)")
        let steps = object?["steps"] as? [[String: Any]] ?? []
        #expect(steps.count == 2, "\(outcome)")
        #expect(steps.last?["operation"] as? String == "GetSessionToken", "\(outcome)")
        #expect(steps.last?["mfa_serial"] as? String == "arn:aws:iam::123456789012:mfa/admin", "\(outcome)")
        #expect(object?["ready_without_prompt"] as? Bool == false, "\(outcome)")
    }

    @Test func explainOfAnUnknownProfileFails() async throws {
        let (_, outcome) = try await Self.run(Row(argv: ["explain", "nobody"]))
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.err.hasPrefix("latchkey: ") && outcome.err.contains("nobody"), "\(outcome)")
        #expect(outcome.out.isEmpty)
    }

    // MARK: backends

    @Test func backendsText() async throws {
        let (_, outcome) = try await Self.run(Row(argv: ["backends", "--backend", "file"]))
        #expect(outcome.status == 0, "\(outcome)")
        let lines = outcome.out.split(separator: "\n").map(String.init)
        #expect(
            lines.map { String($0.dropFirst(2).prefix(15)).trimmingCharacters(in: .whitespaces) }.dropLast()
                == ["keychain", "secret-service", "keyctl", "pass", "file"], "\(outcome)")
        #expect(lines.contains("* file            available"), "\(outcome)")
        #if canImport(Security)
            #expect(lines.contains("  keychain        available"), "\(outcome)")
        #else
            #expect(lines.contains("  keychain        unavailable: macOS only"), "\(outcome)")
        #endif
        #expect(lines.filter { $0.hasPrefix("*") }.count == 1, "\(outcome)")
        #expect(
            lines.last == "(* = the backend used now; choose with --backend or LATCHKEY_BACKEND)",
            "\(outcome)")
    }

    @Test func backendsJSON() async throws {
        let (_, outcome) = try await Self.run(
            Row(
                argv: ["backends", "--json"],
                environment: ["LATCHKEY_BACKEND": "pass", "PATH": "/nonexistent"]))
        #expect(outcome.status == 0, "\(outcome)")
        let rows = try JSONSerialization.jsonObject(with: Data(outcome.out.utf8)) as? [[String: Any]] ?? []
        #expect(
            rows.map { $0["name"] as? String } == ["keychain", "secret-service", "keyctl", "pass", "file"])
        #expect(rows.filter { $0["selected"] as? Bool == true }.map { $0["name"] as? String } == ["pass"])
        let pass = rows.first { $0["name"] as? String == "pass" }
        #expect(pass?["available"] as? Bool == false, "\(outcome)")
        #expect((pass?["reason"] as? String)?.isEmpty == false, "\(outcome)")
        #expect(rows.first { $0["name"] as? String == "file" }?["available"] as? Bool == true)
    }

    // MARK: policy show

    @Test func policyShowPrintsTheBoundary() async throws {
        let (_, outcome) = try await Self.run(Row(argv: ["policy", "show"]))
        #expect(outcome.status == 0)
        #expect(outcome.out == MFABoundaryPolicy.document + "\n")
        let policy = try JSONSerialization.jsonObject(with: Data(outcome.out.utf8)) as? [String: Any]
        #expect(policy?["Version"] as? String == "2012-10-17")
        #expect(outcome.out.contains("aws:MultiFactorAuthPresent"))
    }

    // MARK: mfa list

    static let listMFADevices = """
        <ListMFADevicesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
          <ListMFADevicesResult><IsTruncated>false</IsTruncated><MFADevices>
            <member><UserName>admin</UserName><SerialNumber>arn:aws:iam::123456789012:mfa/admin</SerialNumber>
              <EnableDate>2026-01-02T03:04:05Z</EnableDate></member>
            <member><UserName>admin</UserName><SerialNumber>arn:aws:iam::123456789012:mfa/spare</SerialNumber>
              <EnableDate>2026-02-03T04:05:06Z</EnableDate></member>
          </MFADevices></ListMFADevicesResult>
          <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
        </ListMFADevicesResponse>
        """

    @Test func mfaListMarksTheProfilesDevice() async throws {
        let world = try InMemoryWorld(config: Self.config, transport: [.xml(Self.listMFADevices)])
        try await world.storeKey(profile: "admin")
        let outcome = await world.run(["mfa", "list", "admin"])
        #expect(outcome.status == 0, "\(outcome)")
        #expect(
            outcome.out == """
                arn:aws:iam::123456789012:mfa/admin  enabled 2026-01-02T03:04:05Z  (mfa_serial of admin)
                arn:aws:iam::123456789012:mfa/spare  enabled 2026-02-03T04:05:06Z

                """, "\(outcome)")
        #expect(await world.transport.bodies.first?.contains("Action=ListMFADevices") == true)
    }

    @Test func mfaListWithoutDevicesSaysHowToEnrol() async throws {
        let empty = """
            <ListMFADevicesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
              <ListMFADevicesResult><IsTruncated>false</IsTruncated><MFADevices/></ListMFADevicesResult>
            </ListMFADevicesResponse>
            """
        let world = try InMemoryWorld(config: Self.config, transport: [.xml(empty)])
        try await world.storeKey(profile: "doug")
        let outcome = await world.run(["mfa", "list", "doug"])
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.out == "No MFA device is enabled; enrol one with `latchkey mfa enroll doug`.\n")
    }

    @Test func mfaListWithoutAStoredKeyFails() async throws {
        let (world, outcome) = try await Self.run(Row(argv: ["mfa", "list", "doug"]))
        #expect(outcome.status == 1)
        #expect(
            outcome.err
                == "latchkey: \(LatchkeyError.noStoredCredentials(profile: "doug", backend: "memory"))\n")
        #expect(await world.transport.requests.isEmpty)
    }

    // MARK: migrate

    @Test func migrateCopiesVerifiesAndRemoves() async throws {
        let world = try InMemoryWorld(config: Self.config, backends: ["memory", "other"])
        try await world.storeKey(profile: "doug")
        let key = try #require(world.keyring.snapshot.first?.key)
        let dry = await world.run(["migrate", "--from", "memory", "--to", "other", "--dry-run"])
        #expect(dry.status == 0)
        #expect(dry.out == "would copy \(key) from memory to other\n", "\(dry)")
        #expect(world.keyrings["other"]?.snapshot.isEmpty == true)
        let moved = await world.run(["migrate", "--from", "memory", "--to", "other", "--delete-source"])
        #expect(moved.status == 0, "\(moved)")
        #expect(world.keyrings["other"]?.snapshot.first?.key == key)
        #expect(moved.out == "copied \(key) to other (verified)\nremoved \(key) from memory\n", "\(moved)")
        #expect(world.keyring.snapshot.isEmpty)
        let again = await world.run(["migrate", "--from", "memory", "--to", "other", "--profile", "doug"])
        #expect(again.out == "Nothing to migrate from memory for profile \"doug\".\n", "\(again)")
        let same = await world.run(["migrate", "--from", "memory", "--to", "memory"])
        #expect(same.status == 1)
        #expect(same.err == "latchkey: --from and --to name the same backend 'memory'; nothing to do.\n")
    }

    // MARK: import

    static let importRows: [Row] = [
        Row(
            argv: ["import", "1password"], status: 1,
            err: "latchkey: latchkey imports from aws-vault or aws-login, not '1password'.\n"),
        Row(
            argv: ["import", "aws-vault", "--from", "keepass"], status: 1,
            err: "latchkey: unknown aws-vault backend 'keepass'; use file, pass or secret-service.\n"),
        Row(
            argv: ["import", "aws-vault"], status: 1, errContains: ["aws-vault", "AWS_VAULT_FILE_PASSPHRASE"]),
    ]

    @Test(arguments: importRows) func importFrom(_ row: Row) async throws { try await Self.expect(row) }

    @Test func importFromAnEmptyFileStore() async throws {
        let world = try InMemoryWorld()
        try FileManager.default.createDirectory(
            atPath: world.folder + "/keys", withIntermediateDirectories: true)
        world.environment["AWS_VAULT_FILE_PASSPHRASE"] = "secret"
        let outcome = await world.run(["import", "aws-vault", "--dir", world.folder + "/keys"])
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.out == "No long-lived keys found in aws-vault's file store.\n")
    }

    // MARK: doctor

    @Test func doctorWithoutAProfileChecksConfigAndKeyring() async throws {
        let (_, outcome) = try await Self.run(Row(argv: ["doctor", "--json"], prepare: Self.storedDoug))
        let object = try JSONSerialization.jsonObject(with: Data(outcome.out.utf8)) as? [String: Any]
        let checks = object?["checks"] as? [[String: Any]] ?? []
        #expect(!checks.isEmpty, "\(outcome)")
        let failed = checks.contains { $0["status"] as? String == "fail" }
        #expect(outcome.status == (failed ? 1 : 0), "\(outcome)")
        let (_, text) = try await Self.run(Row(argv: ["doctor"], prepare: Self.storedDoug))
        #expect(text.status == outcome.status)
        #expect(
            text.out.split(separator: "\n").filter { !$0.hasPrefix("      fix: ") }.count == checks.count,
            "\(text)")
    }

    @Test func doctorFailsOnABrokenConfig() async throws {
        let world = try InMemoryWorld(config: "[profile doug\nregion = x\n")
        let outcome = await world.run(["doctor"])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.out.contains("FAIL"), "\(outcome)")
    }

    // MARK: mfa remove

    static let getUser = """
        <GetUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetUserResult><User>
          <UserName>doug</UserName><UserId>AIDAEXAMPLE</UserId><Arn>arn:aws:iam::123456789012:user/doug</Arn>
          <CreateDate>2025-01-01T00:00:00Z</CreateDate><Path>/</Path>
        </User></GetUserResult></GetUserResponse>
        """
    static let noDevices = """
        <ListMFADevicesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
          <ListMFADevicesResult><IsTruncated>false</IsTruncated><MFADevices/></ListMFADevicesResult>
        </ListMFADevicesResponse>
        """

    @Test func mfaRemoveOfADeviceThatWasNeverEnabled() async throws {
        let deleted = """
            <DeleteVirtualMFADeviceResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
              <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
            </DeleteVirtualMFADeviceResponse>
            """
        let serial = "arn:aws:iam::123456789012:mfa/doug"
        let world = try InMemoryWorld(
            config: Self.config + "[profile carol]\nmfa_serial = \(serial)\n",
            transport: [.xml(Self.getUser), .xml(Self.noDevices), .xml(deleted)])
        try await world.storeKey(profile: "carol")
        try await world.storeSession(profile: "carol", secondsLeft: 600)
        let outcome = await world.run(["mfa", "remove", "carol"])
        #expect(outcome.status == 0, "\(outcome)")
        #expect(
            outcome.out
                == "Deleted \(serial) (it was not enabled).\n"
                + "Removed mfa_serial from [profile carol] in \(world.configFile).\n", "\(outcome)")
        #expect(!world.config.contains("mfa_serial = \(serial)"))
        // The sessions made before the change are gone; the stored key stays.
        #expect(world.keyring.snapshot.count == 1)
        #expect(await world.transport.bodies.last?.contains("Action=DeleteVirtualMFADevice") == true)
    }

    @Test func mfaRemoveWithNoDeviceFails() async throws {
        let world = try InMemoryWorld(
            config: Self.config, transport: [.xml(Self.getUser), .xml(Self.noDevices)])
        try await world.storeKey(profile: "doug")
        let outcome = await world.run(["mfa", "remove", "doug"])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.err == "latchkey: user doug has no MFA device to remove.\n", "\(outcome)")
        #expect(outcome.out.isEmpty)
    }

    // MARK: signin --remote: with no terminal, the code the browser shows is pasted on stdin

    /// A world whose stdin answers the sign-in URL printed so far with the confirmation page's code
    /// for `state` (the URL's own when nil): base64 of `state=S&code=pasted`.
    static func pastingWorld(arn: String, state: String? = nil) throws -> InMemoryWorld {
        let world = try InMemoryWorld(config: config, transport: [.signinToken(arn: arn)])
        let said = world.terminal.said
        world.standardInput = {
            let url = said.text.split(separator: "\n").first { $0.hasPrefix("https://") }
            let printed = url.flatMap { URLComponents(string: String($0))?.queryItems }?
                .first { $0.name == "state" }?.value
            return Data("state=\(state ?? printed ?? "")&code=pasted".utf8).base64EncodedString()
        }
        return world
    }

    @Test func signinRemoteTakesThePastedCodeFromStandardInput() async throws {
        let arn = "arn:aws:iam::123456789012:user/doug"
        let world = try Self.pastingWorld(arn: arn)
        let outcome = await world.run(["signin", "doug", "--remote"])
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.said.contains("https://eu-west-1.signin.aws.amazon.com/v1/authorize?"), "\(outcome)")
        #expect(
            outcome.out.hasPrefix(
                "Signed in as \(arn) for profile 'doug' (kept in the memory keyring); refreshable until "),
            "\(outcome)")
        #expect(await world.transport.bodies.first?.contains(#""code":"pasted""#) == true)
        #expect(world.config.contains("login_session = \(arn)"))
        #expect(try await world.store.loginSession(identityArn: arn)?.identityArn == arn)
    }

    @Test func signinRemoteRefusesAPasteForAnotherSignIn() async throws {
        let world = try Self.pastingWorld(arn: "arn:aws:iam::123456789012:user/doug", state: "forged")
        let outcome = await world.run(["signin", "doug", "--remote"])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(
            outcome.err
                == ("latchkey: That code belongs to a different sign-in (state mismatch); open the URL latchkey "
                    + "printed this time and paste the code its page shows.\n"),
            "\(outcome)")
        #expect(await world.transport.requests.isEmpty)
        #expect(!world.config.contains("login_session"))
    }

    // MARK: the other commands: what they print, or how they fail before anything changes

    static let noKeyForDoug =
        "latchkey: \(LatchkeyError.noStoredCredentials(profile: "doug", backend: "memory"))\n"

    static let otherRows: [Row] = [
        Row(
            argv: ["shell-init", "bash"],
            check: { _, outcome in
                outcome.out.contains("__latchkey_ps1() {") && outcome.out.contains("complete ")
                    && outcome.out.hasSuffix("*) PS1='$(__latchkey_ps1)'\"$PS1\" ;; esac\n")
            }),
        Row(
            argv: ["shell-init", "fish"],
            check: { _, outcome in
                outcome.out.contains("function __latchkey_segment")
                    && outcome.out.contains("complete -c 'latchkey'")
            }),
        Row(
            argv: ["shell-init", "tcsh"], status: 1,
            err: "latchkey: unknown shell 'tcsh'; latchkey knows bash, zsh and fish.\n"),
        Row(
            argv: ["sso", "logout", "doug"], status: 1,
            errContains: ["profile 'doug' does not use IAM Identity Center"]),
        Row(
            argv: ["sso", "login", "doug"], status: 1,
            err: "latchkey: profile 'doug' does not use IAM Identity Center "
                + "(no sso_session or sso_start_url).\n"),
        Row(
            argv: ["sso", "populate", "nope"], status: 1,
            errContains: ["there is no [sso-session nope] section in", "add it or fix the name."]),
        Row(
            argv: ["signout", "doug"], status: 1,
            err: "latchkey: profile 'doug' has login_session = (none); "
                + "expected a profile signed in with `latchkey signin doug`.\n"),
        Row(argv: ["signout", "--all"], out: "Forgot 0 sign-in sessions.\n"),
        Row(
            argv: ["mfa", "enroll", "doug"], status: 1,
            err: "latchkey: \(PromptRefused(.enrollmentCodes(profile: "doug"), why: .noTerminal))\n",
            prepare: storedDoug),
        Row(argv: ["mfa", "enroll", "doug", "--codes", "123456", "654321"], status: 1, err: noKeyForDoug),
        Row(argv: ["mfa", "remove", "doug"], status: 1, err: noKeyForDoug),
        Row(argv: ["rotate", "doug"], status: 1, errContains: ["doug", "memory"]),
        Row(argv: ["serve", "doug", "-n"], status: 1, err: noKeyForDoug),
        Row(argv: ["login", "doug", "--stdout"], status: 1, errContains: ["doug"]),
        Row(argv: ["policy", "apply", "bob", "--profile", "doug", "-n"], status: 1, err: noKeyForDoug),
    ]

    @Test(arguments: otherRows) func otherCommands(_ row: Row) async throws {
        try await Self.expect(row)
        // None of them reached AWS.
        let (world, _) = try await Self.run(row)
        #expect(await world.transport.requests.isEmpty, "\(row)")
    }
}
