import AWSClient
import AWSConfig
import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

/// `sso populate`: names from the template, one block per sso-session that latchkey owns, and
/// nothing outside the block touched.
@Suite struct SSOPopulateTests {
    let prod = SSOAssignment(accountId: "111111111111", accountName: "Prod (EU)", roleName: "Admin")
    let prodRead = SSOAssignment(accountId: "111111111111", accountName: "Prod (EU)", roleName: "ReadOnly")
    let dev = SSOAssignment(accountId: "222222222222", accountName: "dev", roleName: "Admin")

    func apply(
        _ text: String, _ assignments: [SSOAssignment], template: String = SSOPopulate.defaultTemplate,
        region: String = "eu-west-1", prune: Bool = false
    ) throws -> SSOPopulate.Outcome {
        try SSOPopulate.apply(
            to: text, ssoSession: "corp", region: region, assignments: assignments,
            template: try NameTemplate(template), prune: prune)
    }

    @Test func theFirstRunAppendsABlockWithOneProfileEach() throws {
        let text =
            "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n"
        let outcome = try apply(text, [dev, prod])
        #expect(outcome.changes.added == ["Prod-EU/Admin", "dev/Admin"])
        #expect(
            outcome.text == text + """

                # BEGIN latchkey sso populate: corp
                # Written by `latchkey sso populate corp`: edits inside this block are replaced.

                [profile Prod-EU/Admin]
                sso_session = corp
                sso_account_id = 111111111111
                sso_role_name = Admin
                region = eu-west-1

                [profile dev/Admin]
                sso_session = corp
                sso_account_id = 222222222222
                sso_role_name = Admin
                region = eu-west-1
                # END latchkey sso populate: corp

                """)
        let config = try AWSSharedConfig.parse(configText: outcome.text, credentialsText: nil)
        #expect(config.profiles["Prod-EU/Admin"]?["sso_role_name"] == "Admin")
        #expect(config.profiles["dev/Admin"]?["sso_session"] == "corp")
    }

    @Test(arguments: [
        ("{account_name}/{role_name}", "My-Prod-Account/Admin"),
        ("{account_id}-{role_name}", "333333333333-Admin"),
        ("{sso_session}.{account_name}.{role_name}", "corp.My-Prod-Account.Admin"),
        ("aws {account_name} [{role_name}]", "aws-My-Prod-Account-Admin-"),
    ])
    func templatesNameAndSanitise(template: String, expected: String) throws {
        let odd = SSOAssignment(
            accountId: "333333333333", accountName: "  My Prod* Account é ", roleName: "Admin")
        let outcome = try apply("", [odd], template: template)
        #expect(outcome.changes.added == [expected])
    }

    @Test func anAccountWithoutAUsableNameIsNamedByItsId() throws {
        let nameless = SSOAssignment(accountId: "444444444444", accountName: "", roleName: "Admin")
        #expect(try apply("", [nameless]).changes.added == ["444444444444/Admin"])
    }

    @Test(arguments: [
        "{account}/{role_name}", "{account_name/{role_name}", "{account_name}}", "static", "{sso_session}",
    ])
    func aMalformedTemplateIsRefusedClearly(template: String) {
        #expect {
            try NameTemplate(template)
        } throws: { error in
            let text = "\(error)"
            return text.contains("the template `\(template)`")
                && text.contains("{account_name}, {account_id}")
        }
    }

    @Test func clashesGetTheAccountIdTheSameWayWhateverTheOrder() throws {
        let a = SSOAssignment(accountId: "555555555555", accountName: "Shared", roleName: "Admin")
        let b = SSOAssignment(accountId: "666666666666", accountName: "shared!", roleName: "Admin")
        let c = SSOAssignment(accountId: "777777777777", accountName: "Shared", roleName: "Admin")
        let template = "{account_name}/{role_name}"
        let expected = ["Shared/Admin-555555555555", "Shared/Admin-777777777777", "shared/Admin"]
        for order in [[a, b, c], [c, b, a], [b, c, a]] {
            let outcome = try apply("", order, template: template)
            #expect(outcome.changes.added == expected)
            #expect(outcome.text == (try apply("", [a, b, c], template: template)).text)
        }
        // Two roles of one account under an account-only template: the role tells them apart.
        let roles = try apply("", [prodRead, prod], template: "{account_name}").changes.added
        #expect(roles == ["Prod-EU-111111111111-Admin", "Prod-EU-111111111111-ReadOnly"])
    }

    @Test func aSecondRunAddsUpdatesAndKeepsWhatIsGoneUnlessPruned() throws {
        let first = try apply("# mine\n[profile me]\nregion = us-east-1\n", [prod, prodRead]).text
        let again = try apply(first, [prod, prodRead])
        #expect(again.text == first)
        #expect(
            again.changes.unchanged == ["Prod-EU/Admin", "Prod-EU/ReadOnly"] && again.changes.diff.isEmpty)

        // ReadOnly is gone, dev is new, and the region changed for Admin.
        let second = try apply(first, [dev, prod], region: "us-west-2")
        #expect(second.changes.added == ["dev/Admin"])
        #expect(second.changes.updated == ["Prod-EU/Admin"])
        #expect(second.changes.gone == ["Prod-EU/ReadOnly"] && second.changes.removed.isEmpty)
        var config = try AWSSharedConfig.parse(configText: second.text, credentialsText: nil)
        #expect(config.profiles["Prod-EU/ReadOnly"]?["region"] == "eu-west-1")
        #expect(config.profiles["Prod-EU/Admin"]?["region"] == "us-west-2")

        let pruned = try apply(second.text, [dev, prod], region: "us-west-2", prune: true)
        #expect(pruned.changes.removed == ["Prod-EU/ReadOnly"] && pruned.changes.gone.isEmpty)
        config = try AWSSharedConfig.parse(configText: pruned.text, credentialsText: nil)
        #expect(config.profiles["Prod-EU/ReadOnly"] == nil)
        #expect(Set(config.profiles.keys) == ["me", "Prod-EU/Admin", "dev/Admin"])
    }

    @Test func everythingOutsideTheBlockStaysByteForByte() throws {
        let head = "\u{FEFF}# my settings\r\n[default]\r\nregion = us-east-1 ; a comment\r\n\r\n"
        let tail = "\r\n; after the block\r\n[profile Other/Thing]\r\nsso_session = corp\r\n"
        let block = try apply("", [prod]).text.replacingOccurrences(of: "\n", with: "\r\n")
        let text = head + block + tail
        for prune in [false, true] {
            let outcome = try apply(text, [dev], prune: prune)
            #expect(outcome.text.hasPrefix(head))
            #expect(outcome.text.hasSuffix(tail))
            #expect(outcome.text.contains("[profile dev/Admin]\r\nsso_session = corp\r\n"))
            #expect(outcome.text.contains("[profile Prod-EU/Admin]") == !prune)
        }
        // A profile of the same look outside the block is not the block's to prune.
        let pruned = try apply(text, [], prune: true)
        #expect(pruned.text.hasSuffix(tail) && pruned.changes.removed == ["Prod-EU/Admin"])
    }

    @Test func anotherSessionsBlockIsLeftAlone() throws {
        let other = try SSOPopulate.apply(
            to: "", ssoSession: "other", region: "us-east-1", assignments: [dev],
            template: try NameTemplate("o-{role_name}"),
            prune: false
        ).text
        let outcome = try apply(other, [prod], prune: true)
        #expect(outcome.text.hasPrefix(other))
        #expect(outcome.text.contains("# BEGIN latchkey sso populate: corp"))
        #expect(try apply(outcome.text, [], prune: true).text.hasPrefix(other))
    }

    @Test func namesDefinedOutsideTheBlockAreSkippedNotDuplicated() throws {
        let text = "[profile dev/Admin]\nregion = us-east-1\nsso_session = corp\n"
        let outcome = try apply(text, [dev, prod])
        #expect(outcome.changes.skipped == ["dev/Admin"])
        #expect(outcome.changes.added == ["Prod-EU/Admin"])
        #expect(outcome.text.components(separatedBy: "[profile dev/Admin]").count == 2)
        // A block profile the user has since copied out of the block is dropped from the block.
        let moved = try apply(outcome.text + "\n[profile Prod-EU/Admin]\nregion = eu-west-1\n", [dev, prod])
        #expect(moved.changes.skipped == ["Prod-EU/Admin", "dev/Admin"])
        #expect(moved.text.components(separatedBy: "[profile Prod-EU/Admin]").count == 2)
    }

    @Test func theDryRunDiffShowsTheBlocksLinesAddedAndRemoved() throws {
        let first = try apply("[profile me]\n", [prod, prodRead]).text
        let outcome = try apply(first, [prod], prune: true)
        // The block starts on line 3 (after the profile and a blank line); ReadOnly was lines 11-16.
        #expect(
            outcome.changes.diff == [
                "@@ -9,9 +9,3 @@",
                " sso_role_name = Admin",
                " region = eu-west-1",
                "-",
                "-[profile Prod-EU/ReadOnly]",
                "-sso_session = corp",
                "-sso_account_id = 111111111111",
                "-sso_role_name = ReadOnly",
                "-region = eu-west-1",
                " # END latchkey sso populate: corp",
            ])
        let fresh = try apply("[profile me]\n", [dev]).changes.diff
        #expect(fresh.first == "@@ -3,0 +3,9 @@" && fresh.dropFirst().allSatisfy { $0.hasPrefix("+") })
    }

    @Test func aBrokenBlockIsRefused() {
        for text in [
            "# BEGIN latchkey sso populate: corp\n[profile x]\n", "# END latchkey sso populate: corp\n",
        ] {
            #expect(throws: SSOPopulate.PopulateError.self) { try apply(text, [dev]) }
        }
    }

    @Test func theSessionSourceComesFromTheSSOSessionSection() throws {
        let config = try AWSSharedConfig.parse(
            configText:
                "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n"
                + "sso_registration_scopes = sso:account:access, extra\n[sso-session half]\nsso_region = us-east-1\n",
            credentialsText: nil)
        let resolver = ProfileResolver(
            config: config, environment: ["AWS_ENDPOINT_URL_SSO": "http://127.0.0.1:9/portal"],
            configFile: "config")
        let source = try resolver.ssoSessionSource("corp")
        #expect(source.tokenName == "corp" && source.region == "eu-west-1")
        #expect(source.startURL == "https://corp.awsapps.com/start")
        #expect(source.registrationScopes == ["sso:account:access", "extra"])
        #expect(source.portalEndpoint == "http://127.0.0.1:9/portal" && source.accountId == nil)
        #expect(throws: LatchkeyError.self) { try resolver.ssoSessionSource("half") }
        #expect(throws: LatchkeyError.self) { try resolver.ssoSessionSource("nowhere") }
        #expect(resolver.namesOnlyAnSSOSession("corp") && !resolver.namesOnlyAnSSOSession("nowhere"))
    }

    @Test func runListsEveryPageSignsInWithTheStoredTokenAndWritesTheFile() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "latchkey-populate-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let configFile = folder.appendingPathComponent("config").path
        let original =
            "# keep me\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n"
        try original.write(toFile: configFile, atomically: true, encoding: .utf8)
        let keyring = InMemoryKeyring()
        let clock = ManualClock()
        try await CredentialStore(keyring: keyring).storeSSOToken(
            SSOToken(accessToken: "stored-access", expiresAt: clock.date + 3600), name: "corp")
        func portalRun(dryRun: Bool) async throws -> (SSOPopulate.Report, ScriptedTransport) {
            let transport = ScriptedTransport([
                .json(
                    "{\"accountList\":[{\"accountId\":\"111111111111\",\"accountName\":\"Prod\"}],\"nextToken\":\"p2\"}"
                ),
                .json(
                    "{\"message\":\"slow down\"}", status: 429,
                    headers: ["x-amzn-ErrorType": "TooManyRequestsException"]),
                .json("{\"accountList\":[{\"accountId\":\"222222222222\",\"accountName\":\"Dev\"}]}"),
                .json("{\"roleList\":[{\"roleName\":\"Admin\",\"accountId\":\"111111111111\"}]}"),
                .json("{\"roleList\":[{\"roleName\":\"ReadOnly\",\"accountId\":\"222222222222\"}]}"),
            ])
            let environment = ["HOME": folder.path, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"]
            let context = CoreContext(
                environment: environment, settings: try LatchkeySettings(environment: environment),
                store: CredentialStore(keyring: keyring), transport: transport,
                mfa: MFACodeSource(
                    prompt: nil, processRunner: ScriptedProcessRunner(output: ""), environment: [:]),
                now: clock.now)
            let resolver = ProfileResolver(
                config: try AWSSharedConfig.parse(configText: original, credentialsText: nil),
                environment: environment, configFile: configFile)
            let report = try await SSOPopulate(context: context, resolver: resolver).run(
                ssoSession: "corp", options: .init(dryRun: dryRun))
            return (report, transport)
        }

        let (dry, _) = try await portalRun(dryRun: true)
        #expect(dry.changes.added == ["Dev/ReadOnly", "Prod/Admin"] && !dry.written)
        #expect(try String(contentsOfFile: configFile, encoding: .utf8) == original)

        let (report, transport) = try await portalRun(dryRun: false)
        #expect(report.written && report.accounts == 2 && report.roles == 2)
        let requests = await transport.requests
        #expect(
            requests.map(\.url.path) == [
                "/assignment/accounts", "/assignment/accounts", "/assignment/accounts", "/assignment/roles",
                "/assignment/roles",
            ])
        #expect(requests.allSatisfy { $0.headers["x-amz-sso_bearer_token"] == "stored-access" })
        #expect(requests[1].url.query?.contains("next_token=p2") == true)
        let written = try String(contentsOfFile: configFile, encoding: .utf8)
        #expect(written.hasPrefix(original))
        let config = try AWSSharedConfig.parse(configText: written, credentialsText: nil)
        #expect(config.profiles["Dev/ReadOnly"]?["region"] == "eu-west-1")
        #expect(try String(contentsOfFile: configFile + ".latchkey-backup", encoding: .utf8) == original)
    }
}
