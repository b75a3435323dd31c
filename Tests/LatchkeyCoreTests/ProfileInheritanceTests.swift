import AWSConfig
import Testing

@testable import LatchkeyCore

/// `include_profile` and `[default]` as aws-vault combines them: a profile's own value, then its
/// include chain's (nearest first), then `[default]`'s, which applies after the whole chain.
@Suite struct ProfileInheritanceTests {
    enum Place: String, CaseIterable, Sendable {
        case own, included, includedTwice, defaultSection
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var key: String
        var place: Place?
        var depth: Int
        var testDescription: String { "\(key) in \(place?.rawValue ?? "nowhere"), include depth \(depth)" }
    }

    static let values = [
        "mfa_serial": "arn:aws:iam::111122223333:mfa/near",
        "region": "ap-south-1",
        "mfa_process": "sh -c 'echo 123456'",
        "duration_seconds": "7200",
    ]
    /// What a farther place holds for the same key: it must lose to the nearer one.
    static let losers = [
        "mfa_serial": "arn:aws:iam::111122223333:mfa/far",
        "region": "eu-north-1",
        "mfa_process": "echo 654321",
        "duration_seconds": "5400",
    ]

    static let cases: [Case] = {
        var cases: [Case] = []
        for key in values.keys.sorted() {
            for depth in 0...2 {
                cases.append(Case(key: key, place: nil, depth: depth))
                for place in Place.allCases {
                    if place == .included, depth < 1 { continue }
                    if place == .includedTwice, depth < 2 { continue }
                    cases.append(Case(key: key, place: place, depth: depth))
                }
            }
        }
        return cases
    }()

    /// `[profile target]` includes `mid` (depth 2) or `base` (depth 1); the key sits at `place`,
    /// and every farther place holds a losing value. With `asRole`, target assumes a role from
    /// `keys` (a profile with nothing set) instead of being a key profile itself.
    static func config(_ testCase: Case, asRole: Bool) -> String {
        let order: [Place] = [.own, .included, .includedTwice, .defaultSection]
        func line(_ place: Place) -> String {
            guard let chosen = testCase.place, let at = order.firstIndex(of: chosen),
                let here = order.firstIndex(of: place), here >= at
            else { return "" }
            let value = here == at ? values[testCase.key] ?? "" : losers[testCase.key] ?? ""
            return "\(testCase.key) = \(value)\n"
        }
        var text = "[default]\n" + line(.defaultSection) + "\n"
        text += "[profile keys]\n\n"
        switch testCase.depth {
        case 2:
            text += "[profile base]\n" + line(.includedTwice) + "\n"
            text += "[profile mid]\ninclude_profile = base\n" + line(.included) + "\n"
        case 1:
            text += "[profile base]\n" + line(.included) + "\n"
        default: break
        }
        text += "[profile target]\n"
        if testCase.depth > 0 { text += "include_profile = \(testCase.depth == 2 ? "mid" : "base")\n" }
        if asRole { text += "role_arn = arn:aws:iam::111122223333:role/R\nsource_profile = keys\n" }
        return text + line(.own)
    }

    static func plan(_ testCase: Case, asRole: Bool, environment: [String: String] = [:]) throws
        -> CredentialPlan
    {
        let resolver = ProfileResolver(
            config: try AWSSharedConfig.parse(
                configText: config(testCase, asRole: asRole), credentialsText: nil),
            environment: environment, configFile: "~/.aws/config")
        return try resolver.plan(for: CredentialRequest(profile: "target"))
    }

    @Test(arguments: cases)
    func theNearestValueWinsAndDefaultComesLast(_ testCase: Case) throws {
        let expected = testCase.place.map { _ in Self.values[testCase.key] ?? "" }
        let plan = try Self.plan(testCase, asRole: false)
        let session = try #require(plan.steps.first)
        #expect(session.kind == .getSessionToken)
        switch testCase.key {
        case "mfa_serial": #expect(session.mfaSerial == expected)
        case "mfa_process": #expect(session.mfaProcess == expected)
        case "region": #expect(plan.region == expected)
        default:
            // duration_seconds is a role's: GetSessionToken keeps its own 1-hour default...
            #expect(session.durationSeconds == STSDurationLimits.defaultSession)
            // ...and the role gets it, from wherever it was inherited.
            let role = try #require(try Self.plan(testCase, asRole: true).steps.last)
            #expect(role.operation == "AssumeRole")
            #expect(role.durationSeconds == expected.flatMap { Int($0) } ?? STSDurationLimits.defaultRole)
        }
    }

    @Test func mfaFromDefaultReachesAProfileThatIncludesAnEmptyOne() throws {
        let text = """
            [default]
            mfa_serial = arn:aws:iam::111122223333:mfa/doug
            region = eu-central-1
            [profile base]
            [profile inc]
            include_profile = base
            """
        let resolver = ProfileResolver(
            config: try AWSSharedConfig.parse(configText: text, credentialsText: nil), environment: [:],
            configFile: "~/.aws/config")
        let plan = try resolver.plan(for: CredentialRequest(profile: "inc"))
        #expect(plan.steps.map(\.mfaSerial) == ["arn:aws:iam::111122223333:mfa/doug"])
        #expect(plan.region == "eu-central-1")
    }

    @Test func includingDefaultItselfDoesNotApplyItTwice() throws {
        let text = """
            [default]
            region = eu-central-1
            role_arn = arn:aws:iam::111122223333:role/FromDefault
            source_profile = keys
            [profile keys]
            [profile inc]
            include_profile = default
            """
        let resolver = ProfileResolver(
            config: try AWSSharedConfig.parse(configText: text, credentialsText: nil), environment: [:],
            configFile: "~/.aws/config")
        // An explicit include takes the identity too; [default]'s fallback never does.
        let plan = try resolver.plan(for: CredentialRequest(profile: "inc"))
        #expect(plan.steps.map(\.operation) == ["AssumeRole"])
        #expect(plan.region == "eu-central-1")
        #expect(
            try resolver.plan(for: CredentialRequest(profile: "keys")).steps.map(\.operation) == [
                "GetSessionToken"
            ])
    }
}

/// aws-vault's environment overrides and the SDKs' web identity from the environment.
@Suite struct EnvironmentOverrideTests {
    let configText = """
        [default]
        region = eu-west-1

        [profile doug]
        mfa_serial = arn:aws:iam::111122223333:mfa/doug

        [profile plain]

        [profile admin]
        role_arn = arn:aws:iam::111122223333:role/Admin
        source_profile = doug
        role_session_name = from-file

        [profile filekeys]
        aws_access_key_id = AKIAIOSFODNN7EXAMPLE
        aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
        """

    func plan(_ profile: String, _ environment: [String: String], configText: String? = nil) throws
        -> CredentialPlan
    {
        let resolver = ProfileResolver(
            config: try AWSSharedConfig.parse(
                configText: configText ?? self.configText, credentialsText: nil),
            environment: environment, configFile: "~/.aws/config")
        return try resolver.plan(for: CredentialRequest(profile: profile))
    }

    @Test func mfaSerialFromTheEnvironmentMakesTheSessionUseMFA() throws {
        let serial = "arn:aws:iam::111122223333:mfa/env"
        #expect(try plan("plain", [:]).steps.map(\.mfaSerial) == [nil])
        #expect(try plan("plain", ["AWS_MFA_SERIAL": serial]).steps.map(\.mfaSerial) == [serial])
        // It replaces the profile's own, as in aws-vault, for every profile of the chain.
        #expect(try plan("doug", ["AWS_MFA_SERIAL": serial]).steps.map(\.mfaSerial) == [serial])
        #expect(try plan("admin", ["AWS_MFA_SERIAL": serial]).steps.compactMap(\.mfaSerial) == [serial])
        #expect(
            try plan("plain", ["AWS_MFA_SERIAL": serial]).notes.contains { $0.contains("AWS_MFA_SERIAL") })
    }

    @Test func roleArnFromTheEnvironmentIsAssumedWithTheProfilesOwnKey() throws {
        let role = "arn:aws:iam::111122223333:role/FromEnv"
        let plan = try plan("doug", ["AWS_ROLE_ARN": role, "AWS_ROLE_SESSION_NAME": "ci-run"])
        #expect(plan.source == .storedKey(profile: "doug"))
        #expect(plan.steps.map(\.operation) == ["GetSessionToken", "AssumeRole"])
        guard case .assumeRole(let settings) = plan.steps[1].kind else {
            Issue.record("no AssumeRole step")
            return
        }
        #expect(settings.roleArn == role && settings.roleSessionName == "ci-run")
        #expect(plan.steps[0].mfaSerial == "arn:aws:iam::111122223333:mfa/doug")
    }

    @Test func roleVariablesReplaceTheTargetsRoleOnly() throws {
        let role = "arn:aws:iam::111122223333:role/FromEnv"
        let plan = try plan("admin", ["AWS_ROLE_ARN": role, "AWS_ROLE_SESSION_NAME": "ci-run"])
        #expect(plan.source == .storedKey(profile: "doug"))
        guard case .assumeRole(let settings) = plan.steps.last?.kind else {
            Issue.record("no AssumeRole step")
            return
        }
        #expect(settings.roleArn == role && settings.roleSessionName == "ci-run")
        // A profile without a role and without the variable keeps its plain session.
        #expect(
            try self.plan("plain", ["AWS_ROLE_SESSION_NAME": "x"]).steps.map(\.operation) == [
                "GetSessionToken"
            ])
    }

    @Test func webIdentityFromTheEnvironmentWinsOverTheRoleMeaning() throws {
        let environment = [
            "AWS_ROLE_ARN": "arn:aws:iam::111122223333:role/Pod",
            "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token", "AWS_ROLE_SESSION_NAME": "pod-1",
        ]
        for profile in ["plain", "doug", "default"] {
            let plan = try plan(profile, environment)
            guard case .webIdentity(let web) = plan.source else {
                Issue.record("\(profile): \(plan.source)")
                continue
            }
            #expect(web.roleArn == "arn:aws:iam::111122223333:role/Pod" && web.tokenFile == "/var/run/token")
            #expect(web.roleSessionName == "pod-1" && web.fromEnvironment)
            #expect(plan.steps.isEmpty)
        }
        // Without any config file, `default` resolves from the environment alone.
        let bare = try plan("default", environment, configText: "")
        #expect(bare.source.operation == "AssumeRoleWithWebIdentity")
        // A profile with credentials of its own keeps them (and the role is not replaced).
        #expect(try plan("filekeys", environment).source.operation == "StaticKeys")
        #expect(
            try plan("admin", environment).steps.last?.kind
                == .assumeRole(
                    .init(
                        roleArn: "arn:aws:iam::111122223333:role/Admin", roleSessionName: "pod-1",
                        externalId: nil,
                        sessionTags: [:], transitiveTagKeys: [], sourceIdentity: nil)))
        // A misspelt profile is still an error.
        #expect(throws: LatchkeyError.self) { try plan("nobody", environment) }
    }

    @Test(
        arguments: [
            ([:], 3600), (["AWS_SESSION_TOKEN_TTL": "2h"], 7200), (["AWS_SESSION_TOKEN_TTL": "900"], 900),
        ] as [([String: String], Int)])
    func sessionLengthComesFromTheTTLVariableNotDurationSeconds(
        _ environment: [String: String], _ seconds: Int
    )
        throws
    {
        let text = "[default]\nduration_seconds = 10800\n[profile doug]\nduration_seconds = 5400\n"
        #expect(try plan("doug", environment, configText: text).steps.map(\.durationSeconds) == [seconds])
    }
}
