import AWSClient
import AWSConfig
import AWSSigV4
import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

/// Scoped sessions: flags and profile keys to a plan, cache keys, refusals, and what STS is sent.
@Suite struct SessionScopeTests {
    static let readOnly = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    static let audit = "arn:aws:iam::111122223333:policy/Audit"
    static let policyText = """
        {
          "Version": "2012-10-17",
          "Statement": [ { "Effect": "Allow", "Action": "s3:List*", "Resource": "*", "Sid": "a b" } ]
        }
        """

    let configText = """
        [profile doug]
        mfa_serial = arn:aws:iam::111122223333:mfa/doug
        region = us-east-1

        [profile base]
        region = us-east-1

        [profile admin]
        role_arn = arn:aws:iam::111122223333:role/Admin
        source_profile = doug

        [profile role]
        role_arn = arn:aws:iam::111122223333:role/First
        source_profile = base

        [profile hop]
        role_arn = arn:aws:iam::111122223333:role/Second
        source_profile = role

        [profile agent]
        role_arn = arn:aws:iam::111122223333:role/Admin
        source_profile = doug
        latchkey_read_only = true
        latchkey_session_policy_arns = arn:aws:iam::111122223333:policy/Audit , arn:aws:iam::aws:policy/ReadOnlyAccess
        latchkey_session_policy_file = policies/agent.json

        [profile agent2]
        include_profile = agent
        role_arn = arn:aws:iam::111122223333:role/Other
        source_profile = doug

        [profile china]
        role_arn = arn:aws-cn:iam::111122223333:role/Admin
        source_profile = doug
        region = cn-north-1

        [profile sloppy]
        role_arn = arn:aws:iam::111122223333:role/Admin
        source_profile = doug
        latchkey_read_only = yes

        [profile marked]
        latchkey_read_only = true

        [sso-session corp]
        sso_start_url = https://corp.awsapps.com/start
        sso_region = us-east-1

        [profile dev]
        sso_session = corp
        sso_account_id = 111122223333
        sso_role_name = Developer

        [profile proc]
        credential_process = /bin/echo nothing

        [profile ci]
        role_arn = arn:aws:iam::111122223333:role/CI
        web_identity_token_file = /tmp/token
        """

    func resolver(files: [String: String] = [:]) throws -> ProfileResolver {
        var resolver = ProfileResolver(
            config: try AWSSharedConfig.parse(configText: configText, credentialsText: nil),
            environment: ["HOME": "/home/u", "USER": "u"], configFile: "/home/u/.aws/config")
        resolver.readFile = { path in
            guard let text = files[path] else { throw CocoaError(.fileReadNoSuchFile) }
            return Data(text.utf8)
        }
        return resolver
    }

    func plan(_ profile: String, _ scope: ScopeRequest = ScopeRequest(), files: [String: String] = [:])
        throws -> CredentialPlan
    {
        try resolver(files: files).plan(for: CredentialRequest(profile: profile, scope: scope))
    }

    // MARK: Plans

    @Test func readOnlyFlagScopesTheLastAssumeRoleOnlyAndKeepsItsCacheEntryApart() throws {
        let unscoped = try plan("admin")
        let scoped = try plan("admin", ScopeRequest(readOnly: true))
        let scope = try #require(scoped.scope)
        #expect(scope.policyArns == [Self.readOnly])
        #expect(scope.readOnly && scope.policy == nil && scope.label == "read-only")
        #expect(scope.origin == "the command line")
        #expect(unscoped.scope == nil)
        // The MFA session of doug stays shared; the role session does not.
        #expect(scoped.steps.count == 2 && unscoped.steps.count == 2)
        #expect(scoped.steps[0].cacheKey == unscoped.steps[0].cacheKey)
        #expect(scoped.steps[1].cacheKey != unscoped.steps[1].cacheKey)
        #expect(scoped.steps[1].cacheKey.hasPrefix("session:admin:AssumeRole:"))
        #expect(scoped.sessionCacheKey != unscoped.sessionCacheKey)
        // Different scopes of one role differ too, and the same scope is stable.
        let other = try plan("admin", ScopeRequest(policyArns: [Self.audit]))
        #expect(other.sessionCacheKey != scoped.sessionCacheKey)
        #expect(try plan("admin", ScopeRequest(readOnly: true)).sessionCacheKey == scoped.sessionCacheKey)
        #expect(scoped.notes.contains { $0.contains("scoped (read-only") })
    }

    @Test func readOnlyUsesTheRolesPartition() throws {
        let scope = try #require(try plan("china", ScopeRequest(readOnly: true)).scope)
        #expect(scope.policyArns == ["arn:aws-cn:iam::aws:policy/ReadOnlyAccess"])
    }

    @Test func profileKeysScopeTheSessionAndFlagsReplaceThem() throws {
        let file = "/home/u/.aws/policies/agent.json"
        let scoped = try plan("agent", files: [file: Self.policyText])
        let scope = try #require(scoped.scope)
        // ReadOnlyAccess once, first; the config's order otherwise.
        #expect(scope.policyArns == [Self.readOnly, Self.audit])
        #expect(scope.policyFile == file)
        #expect(scope.origin == "profile 'agent'")
        #expect(scope.label == "read-only,policy,policy-arns:1")
        #expect(
            scope.policy
                == #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:List*","Resource":"*","Sid":"a b"}]}"#
        )

        let replaced = try #require(try plan("agent", ScopeRequest(policyArns: [Self.audit])).scope)
        #expect(replaced.policyArns == [Self.audit] && !replaced.readOnly && replaced.policy == nil)
        #expect(replaced.label == "policy-arns:1")

        // include_profile carries the keys, as it carries the role settings.
        let included = try #require(try plan("agent2", files: [file: Self.policyText]).scope)
        #expect(included.policyArns == [Self.readOnly, Self.audit])

        // Commands that manage a profile (rotate, sso login) plan it unscoped.
        #expect(try plan("agent", .unscoped).scope == nil)
        #expect(try plan("marked", .unscoped).scope == nil)
    }

    @Test func policyFileChangesTheCacheKey() throws {
        let narrower = Self.policyText.replacingOccurrences(of: "s3:List*", with: "s3:GetObject")
        let first = try plan(
            "admin", ScopeRequest(policyFile: "/p.json"), files: ["/p.json": Self.policyText])
        let second = try plan("admin", ScopeRequest(policyFile: "/p.json"), files: ["/p.json": narrower])
        #expect(first.scope?.label == "policy")
        #expect(first.sessionCacheKey != second.sessionCacheKey)
    }

    // MARK: Refusals

    @Test(arguments: [
        ("doug", "GetSessionToken takes no session policy"),
        ("dev", "GetRoleCredentials takes no session policy"),
        ("proc", "a program's output"),
        ("marked", "GetSessionToken takes no session policy"),
    ])
    func whereAWSTakesNoSessionPolicyTheSessionIsRefused(profile: String, reason: String) throws {
        let error = #expect(throws: SessionScopeError.self) {
            try plan(profile, ScopeRequest(readOnly: true))
        }
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains("profile '\(profile)' is to be scoped (read-only)"))
        #expect(text.contains(reason))
        #expect(text.contains("will not hand out an unscoped session"))
        #expect(text.contains("role_arn and source_profile = \(profile)"))
    }

    @Test func aProfileKeyOnAPlainKeyIsRefusedToo() throws {
        #expect(throws: SessionScopeError.self) { try plan("marked") }
        // --no-session hands out the key itself: it cannot be narrowed.
        #expect(throws: SessionScopeError.self) {
            try resolver().plan(
                for: CredentialRequest(profile: "base", noSession: true, scope: ScopeRequest(readOnly: true)))
        }
    }

    @Test func badInputNamesWhatIsWrong() throws {
        func message(_ scope: ScopeRequest, files: [String: String] = [:], profile: String = "admin")
            -> String
        {
            do {
                _ = try plan(profile, scope, files: files)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(message(ScopeRequest(policyFile: "/missing.json")).contains("/missing.json cannot be read"))
        // The read's own error is kept.
        let unreadable = #expect(throws: SessionScopeError.self) {
            try plan("admin", ScopeRequest(policyFile: "/missing.json"))
        }
        guard case .unreadablePolicyFile("/missing.json", let cause) = unreadable else {
            Issue.record("expected unreadablePolicyFile, got \(String(describing: unreadable))")
            return
        }
        #expect((cause as? CocoaError)?.code == .fileReadNoSuchFile)
        #expect(
            message(ScopeRequest(policyFile: "/p.json"), files: ["/p.json": "{not json"])
                .contains("the session policy file /p.json cannot be used: it is not valid JSON"))
        #expect(
            message(ScopeRequest(policyFile: "/p.json"), files: ["/p.json": "[1, 2]"])
                .contains("not a policy document"))
        let long =
            #"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"\#(String(repeating: "x", count: 2100))"}]}"#
        #expect(
            message(ScopeRequest(policyFile: "/p.json"), files: ["/p.json": long])
                .contains("/p.json is \(long.count) characters without spaces, and AWS takes at most 2048"))
        #expect(
            message(ScopeRequest(policyArns: ["arn:aws:iam::111122223333:role/Admin"]))
                .contains(
                    "'arn:aws:iam::111122223333:role/Admin' (from the command line) is not an IAM managed policy ARN"
                ))
        let eleven = (1...11).map { "arn:aws:iam::111122223333:policy/P\($0)" }
        #expect(message(ScopeRequest(policyArns: eleven)).contains("11 managed session policies"))
        #expect(
            message(ScopeRequest(), profile: "sloppy").contains(
                "latchkey_read_only = yes; expected true or false"))
    }

    @Test(arguments: [
        ("arn:aws:iam::aws:policy/ReadOnlyAccess", true),
        ("arn:aws-us-gov:iam::111122223333:policy/team/Audit", true),
        ("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess", true),
        ("arn:aws:iam::11112222333:policy/Short", false),
        ("arn:aws:iam::111122223333:role/Admin", false),
        ("arn:aws:s3:::bucket/policy/x", false),
        ("ReadOnlyAccess", false),
        ("arn:aws:iam::aws:policy/", false),
        ("arn:aws:iam::aws:policy/a b", false),
    ])
    func policyArnShape(arn: String, valid: Bool) {
        #expect(SessionScope.isPolicyArn(arn) == valid)
    }

    @Test func compactingKeepsStringsExactly() {
        #expect(
            SessionScope.compactJSON("{ \"a\" : \"x \\\" y\" ,\n\t\"b\": [ 1, 2 ] }")
                == #"{"a":"x \" y","b":[1,2]}"#)
    }

    // MARK: Web identity

    @Test func webIdentityIsScopedOnItsOwnCall() throws {
        let unscoped = try plan("ci")
        let scoped = try plan("ci", ScopeRequest(readOnly: true))
        #expect(scoped.steps.isEmpty && scoped.scope?.policyArns == [Self.readOnly])
        #expect(scoped.sessionCacheKey != unscoped.sessionCacheKey)
        #expect(scoped.sessionCacheKey?.hasPrefix("session:ci:AssumeRoleWithWebIdentity:") == true)
    }

    // MARK: What STS is sent

    static func roleXML(_ id: String, expires: Date) -> ScriptedTransport.Step {
        .xml(
            """
            <AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
              <Credentials><AccessKeyId>\(id)</AccessKeyId><SecretAccessKey>rolesecret</SecretAccessKey>
                <SessionToken>roletoken</SessionToken><Expiration>\(iso8601(expires))</Expiration></Credentials>
              <AssumedRoleUser><AssumedRoleId>AROA:s</AssumedRoleId>
                <Arn>arn:aws:sts::111122223333:assumed-role/R/s</Arn></AssumedRoleUser>
            </AssumeRoleResult></AssumeRoleResponse>
            """)
    }

    static func parameters(_ body: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            result[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return result
    }

    func service(_ transport: ScriptedTransport, keyring: InMemoryKeyring, clock: ManualClock) throws
        -> CredentialService
    {
        CredentialService(
            context: CoreContext(
                environment: [:], settings: try LatchkeySettings(environment: ["HOME": "/nonexistent"]),
                store: CredentialStore(keyring: keyring), transport: transport,
                mfa: MFACodeSource(
                    prompt: nil, processRunner: ScriptedProcessRunner(output: ""), environment: [:]),
                now: clock.now))
    }

    @Test func onlyTheLastAssumeRoleCarriesThePolicies() async throws {
        let clock = ManualClock()
        let keyring = InMemoryKeyring()
        try await CredentialStore(keyring: keyring).storeLongLivedKey(
            AWSCredentials(
                accessKeyId: "AKIAIOSFODNN7EXAMPLE",
                secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            profile: "base", now: clock.date)
        let transport = ScriptedTransport([
            Self.roleXML("ASIAFIRST00000000001", expires: clock.date + 3600),
            Self.roleXML("ASIASECOND0000000001", expires: clock.date + 3600),
        ])
        let scoped = try plan(
            "hop", ScopeRequest(policyFile: "/p.json", policyArns: [Self.audit], readOnly: true),
            files: ["/p.json": Self.policyText])
        let service = try service(transport, keyring: keyring, clock: clock)
        let result = try await service.credentials(for: scoped)
        #expect(result.credentials.accessKeyId == "ASIASECOND0000000001")

        let bodies = await transport.bodies.map(Self.parameters)
        #expect(bodies.count == 2)
        #expect(bodies[0]["RoleArn"] == "arn:aws:iam::111122223333:role/First")
        #expect(bodies[0]["Policy"] == nil && bodies[0]["PolicyArns.member.1.arn"] == nil)
        #expect(bodies[1]["RoleArn"] == "arn:aws:iam::111122223333:role/Second")
        #expect(bodies[1]["Policy"] == scoped.scope?.policy)
        #expect(bodies[1]["Policy"]?.hasPrefix(#"{"Version":"2012-10-17""#) == true)
        #expect(bodies[1]["PolicyArns.member.1.arn"] == Self.readOnly)
        #expect(bodies[1]["PolicyArns.member.2.arn"] == Self.audit)
        #expect(bodies[1]["PolicyArns.member.3.arn"] == nil)

        // The unscoped session of the same role is not the scoped one: it calls STS again
        // (from the cached first hop), and sends no policy.
        let unscopedTransport = ScriptedTransport([
            Self.roleXML("ASIATHIRD00000000001", expires: clock.date + 3600)
        ])
        let unscoped = try await self.service(unscopedTransport, keyring: keyring, clock: clock)
            .credentials(for: try plan("hop"))
        #expect(unscoped.credentials.accessKeyId == "ASIATHIRD00000000001")
        let plain = await unscopedTransport.bodies.map(Self.parameters)
        #expect(plain.count == 1 && plain[0]["RoleArn"] == "arn:aws:iam::111122223333:role/Second")
        #expect(plain[0]["Policy"] == nil && plain[0]["PolicyArns.member.1.arn"] == nil)

        // And the scoped one is reused from its own cache entry, with no call.
        let again = try await self.service(ScriptedTransport([]), keyring: keyring, clock: clock)
            .credentials(for: scoped)
        #expect(again.credentials.accessKeyId == "ASIASECOND0000000001" && again.origin == .cachedSession)
    }

    @Test func webIdentityCallCarriesThePolicies() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "scope-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let token = folder.appendingPathComponent("token").path
        try Data("header.payload.signature".utf8).write(to: URL(fileURLWithPath: token))
        let config =
            "[profile ci]\nrole_arn = arn:aws:iam::111122223333:role/CI\nweb_identity_token_file = \(token)\n"
        let resolver = ProfileResolver(
            config: try AWSSharedConfig.parse(configText: config, credentialsText: nil),
            environment: ["HOME": "/home/u"], configFile: "/home/u/.aws/config")
        let scoped = try resolver.plan(
            for: CredentialRequest(profile: "ci", scope: ScopeRequest(readOnly: true)))
        let clock = ManualClock()
        let transport = ScriptedTransport([
            .xml(
                """
                <AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>
                  <Credentials><AccessKeyId>ASIAWEB0000000000001</AccessKeyId><SecretAccessKey>s</SecretAccessKey>
                    <SessionToken>t</SessionToken><Expiration>\(iso8601(clock.date + 3600))</Expiration></Credentials>
                  <AssumedRoleUser><AssumedRoleId>AROA:s</AssumedRoleId>
                    <Arn>arn:aws:sts::111122223333:assumed-role/CI/s</Arn></AssumedRoleUser>
                </AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>
                """)
        ])
        let result = try await service(transport, keyring: InMemoryKeyring(), clock: clock).credentials(
            for: scoped)
        #expect(result.credentials.accessKeyId == "ASIAWEB0000000000001")
        let body = try #require(await transport.bodies.first.map(Self.parameters))
        #expect(body["Action"] == "AssumeRoleWithWebIdentity")
        #expect(body["PolicyArns.member.1.arn"] == Self.readOnly)
    }

    // MARK: What the child and explain see

    @Test func execEnvironmentNamesTheScopeAndDropsAnInheritedOne() throws {
        let credentials = AWSCredentials(accessKeyId: "ASIAX", secretAccessKey: "s", sessionToken: "t")
        let scope = try #require(try plan("admin", ScopeRequest(readOnly: true)).scope)
        let scoped = execEnvironment(
            base: ["PATH": "/bin"], credentials: credentials, profile: "admin", region: nil, scope: scope)
        #expect(scoped["LATCHKEY_SESSION_SCOPE"] == "read-only" && scoped["AWS_VAULT"] == "admin")
        let plain = execEnvironment(
            base: ["LATCHKEY_SESSION_SCOPE": "read-only"], credentials: credentials, profile: "admin",
            region: nil)
        #expect(plain["LATCHKEY_SESSION_SCOPE"] == nil)
    }

    @Test func explanationCarriesTheScope() async throws {
        let scoped = try plan("admin", ScopeRequest(policyArns: [Self.audit], readOnly: true))
        let explanation = await Explanation.of(
            plan: scoped, inventory: CredentialStore.Inventory(),
            settings: try LatchkeySettings(environment: ["HOME": "/nonexistent"]), now: Date(), mfaToken: nil,
            promptAvailable: false, backendName: "file")
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let json = try #require(
            try JSONSerialization.jsonObject(with: encoder.encode(explanation)) as? [String: Any])
        let scope = try #require(json["scope"] as? [String: Any])
        #expect(scope["label"] as? String == "read-only,policy-arns:1")
        #expect(scope["policy_arns"] as? [String] == [Self.readOnly, Self.audit])
        #expect(scope["read_only"] as? Bool == true)
        #expect(scope["origin"] as? String == "the command line")
    }
}
