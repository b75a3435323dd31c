import AWSConfig
import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

/// The cross-SDK `assume-role-tests.json`: how a profile resolves into a chain of sources and
/// roles. latchkey's own additions are set aside for the comparison: profiles here have no
/// `mfa_serial`, so no GetSessionToken step appears, and no key is in the keyring (a profile
/// without credential settings is an error, as in the SDKs).
@Suite struct AssumeRoleConformanceTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var docs: String
        var profiles: [String: [String: String]]
        var ssoSessions: [String: [String: String]]
        var selected: String
        /// Each link as `kind: {key: value}`; nil when the case expects an error.
        var chain: [String]?
        var testDescription: String { docs }
    }

    static let cases: [Case] = {
        guard
            let tests = try? ConformanceData.json("credential-provider-tests/assume-role-tests.json")
                as? [[String: Any]]
        else { return [] }
        return tests.map { test in
            let input = test["input"] as? [String: Any] ?? [:]
            let output = test["output"] as? [String: Any] ?? [:]
            let chain = (output["ProfileChain"] as? [[String: Any]])?.map { link -> String in
                let (kind, value) = link.first ?? ("?", "")
                if let fields = value as? [String: String] { return render(kind, fields) }
                return render(kind, ["name": "\(value)"])
            }
            return Case(
                docs: test["docs"] as? String ?? "?",
                profiles: input["profiles"] as? [String: [String: String]] ?? [:],
                ssoSessions: input["sso_sessions"] as? [String: [String: String]] ?? [:],
                selected: input["selected_profile"] as? String ?? "", chain: chain)
        }
    }()

    static func render(_ kind: String, _ fields: [String: String]) -> String {
        kind + " {"
            + fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + "}"
    }

    @Test func suiteIsComplete() {
        #expect(Self.cases.count == 28, "read \(ConformanceData.directory.path)")
    }

    @Test(arguments: cases)
    func resolves(_ testCase: Case) throws {
        let config = AWSSharedConfig(
            profiles: testCase.profiles.reduce(into: [:]) {
                $0[$1.key] = ProfileSection(name: $1.key, properties: $1.value)
            },
            ssoSessions: testCase.ssoSessions.reduce(into: [:]) {
                $0[$1.key] = ProfileSection(name: $1.key, properties: $1.value)
            })
        let resolver = ProfileResolver(config: config, environment: ["HOME": "/home"], configFile: "config")
        guard let expected = testCase.chain else {
            #expect(throws: LatchkeyError.self) {
                try resolver.plan(for: CredentialRequest(profile: testCase.selected), storedProfiles: [])
            }
            return
        }
        let plan = try resolver.plan(for: CredentialRequest(profile: testCase.selected), storedProfiles: [])
        var chain = [Self.link(plan.source, config: config, expected: expected.first ?? "")]
        for step in plan.steps {
            guard case .assumeRole(let role) = step.kind else { continue }
            var fields = ["role_arn": role.roleArn]
            let wanted = expected[chain.count]
            if wanted.contains("role_session_name=") { fields["role_session_name"] = role.roleSessionName }
            if let externalId = role.externalId { fields["external_id"] = externalId }
            chain.append(Self.render("AssumeRole", fields))
        }
        #expect(chain == expected)
    }

    /// The source in the suite's terms; a default session name is compared only where the case names one.
    static func link(_ source: CredentialSource, config: AWSSharedConfig, expected: String) -> String {
        switch source {
        case .staticKeys(let profile, let credentials):
            var fields = [
                "access_key_id": credentials.accessKeyId, "secret_access_key": credentials.secretAccessKey,
            ]
            fields["session_token"] = credentials.sessionToken
            fields["account_id"] = config.profile(profile)?["aws_account_id"]
            return render("AccessKey", fields)
        case .environment: return render("NamedSource", ["name": "Environment"])
        case .instanceMetadata: return render("NamedSource", ["name": "Ec2InstanceMetadata"])
        case .ecsContainer: return render("NamedSource", ["name": "EcsContainer"])
        case .webIdentity(let web):
            var fields = ["role_arn": web.roleArn, "web_identity_token_file": web.tokenFile]
            if expected.contains("role_session_name=") { fields["role_session_name"] = web.roleSessionName }
            return render("WebIdentityToken", fields)
        case .sso(let sso):
            var fields = ["sso_region": sso.region, "sso_start_url": sso.startURL]
            fields["sso_account_id"] = sso.accountId
            fields["sso_role_name"] = sso.roleName
            fields["sso_session"] = sso.sessionName
            return render("Sso", fields)
        case .storedKey(let profile): return render("StoredKey", ["profile": profile])
        case .credentialProcess(_, let command, _): return render("CredentialProcess", ["command": command])
        case .loginSession(let login): return render("LoginSession", ["login_session": login.identityArn])
        }
    }
}
