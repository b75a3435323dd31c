import AWSConfig
import Testing

@testable import LatchkeyCore

@Suite struct ProfileResolverTests {
    let configText = """
        [default]
        region = eu-west-1

        [profile doug]
        mfa_serial = arn:aws:iam::111122223333:mfa/doug
        region = us-west-2
        duration_seconds = 7200

        [profile plain]

        [profile admin]
        role_arn = arn:aws:iam::111122223333:role/Admin
        source_profile = doug
        mfa_serial = arn:aws:iam::111122223333:mfa/doug
        external_id = ext-123

        [profile orphan]
        role_arn = arn:aws:iam::111122223333:role/Orphan

        [profile chained]
        role_arn = arn:aws:iam::111122223333:role/Next
        source_profile = admin

        [profile admin2]
        role_arn = arn:aws:iam::111122223333:role/Other
        source_profile = doug

        [profile fragment]
        region = us-west-2
        session_tags = team=ops, env=dev
        transitive_session_tags = team
        source_identity = doug

        [profile mixed]
        include_profile = fragment
        role_arn = arn:aws:iam::111122223333:role/Mixed
        source_profile = doug

        [profile local]
        endpoint_url = http://127.0.0.1:4566
        """

    func resolver(_ environment: [String: String] = [:]) throws -> ProfileResolver {
        ProfileResolver(
            config: try AWSSharedConfig.parse(configText: configText, credentialsText: nil),
            environment: environment, configFile: "~/.aws/config")
    }

    @Test func mfaUserGetsASessionTokenWithItsDevice() throws {
        let plan = try resolver().plan(for: CredentialRequest(profile: "doug"))
        #expect(plan.source == .storedKey(profile: "doug"))
        #expect(plan.steps.count == 1)
        let step = try #require(plan.steps.first)
        // duration_seconds (7200) is a role setting: GetSessionToken keeps its 1-hour default.
        #expect(step.kind == .getSessionToken && step.durationSeconds == 3600)
        #expect(step.mfaSerial == "arn:aws:iam::111122223333:mfa/doug")
        #expect(plan.region == "us-west-2")
        #expect(plan.sessionCacheKey?.hasPrefix("session:doug:GetSessionToken:") == true)
    }

    @Test func roleWithMFAGoesThroughTheSharedSessionOfItsSource() throws {
        let plan = try resolver(["USER": "doug.smith"]).plan(for: CredentialRequest(profile: "admin"))
        #expect(plan.source == .storedKey(profile: "doug"))
        #expect(plan.steps.map(\.operation) == ["GetSessionToken", "AssumeRole"])
        let (session, role) = (plan.steps[0], plan.steps[1])
        #expect(session.profile == "doug" && session.mfaSerial == "arn:aws:iam::111122223333:mfa/doug")
        #expect(session.durationSeconds == STSDurationLimits.defaultChainedSession)
        #expect(role.mfaSerial == nil && role.mfaCoveredBy == session.mfaSerial && role.chained)
        #expect(
            role.kind
                == .assumeRole(
                    .init(
                        roleArn: "arn:aws:iam::111122223333:role/Admin",
                        roleSessionName: "latchkey-doug.smith",
                        externalId: "ext-123", sessionTags: [:], transitiveTagKeys: [], sourceIdentity: nil)))
        // The same session serves `exec doug`'s own cache only when the device matches; here it does not
        // (the chained one lasts 8 h), but every role of doug shares it.
        let other = try resolver().plan(for: CredentialRequest(profile: "admin2"))
        #expect(other.steps[0].cacheKey == session.cacheKey)
    }

    @Test func longRoleSessionSkipsTheSessionAndSendsTheCodeToAssumeRole() throws {
        let plan = try resolver().plan(for: CredentialRequest(profile: "admin", durationSeconds: 4 * 3600))
        #expect(plan.steps.map(\.operation) == ["AssumeRole"])
        #expect(plan.steps[0].mfaSerial == "arn:aws:iam::111122223333:mfa/doug")
        #expect(!plan.steps[0].chained && plan.steps[0].durationSeconds == 14400)
        #expect(plan.notes.contains { $0.contains("longer than 1 hour") })
    }

    @Test func chainsOfRolesAskOnceAndRefuseLongChainedSessions() throws {
        let plan = try resolver().plan(for: CredentialRequest(profile: "chained"))
        #expect(plan.steps.map(\.profile) == ["doug", "admin", "chained"])
        #expect(plan.steps.compactMap(\.mfaSerial) == ["arn:aws:iam::111122223333:mfa/doug"])
        #expect(plan.steps.dropFirst().allSatisfy { $0.chained })
        #expect {
            try resolver().plan(for: CredentialRequest(profile: "chained", durationSeconds: 7200))
        } throws: { error in
            "\(error)".contains("limits such chained role sessions to 1 hour")
        }
    }

    @Test func flagsWinOverTheProfileAndTheEnvironmentOverTheFile() throws {
        let request = CredentialRequest(profile: "doug", durationSeconds: 900, region: "ap-south-1")
        let plan = try resolver(["AWS_REGION": "sa-east-1"]).plan(for: request)
        #expect(plan.steps[0].durationSeconds == 900)
        #expect(plan.region == "ap-south-1")
        #expect(
            try resolver(["AWS_REGION": "sa-east-1"]).plan(for: .init(profile: "doug")).region == "sa-east-1")
    }

    @Test func defaultSectionLendsRegionButNoIdentity() throws {
        #expect(try resolver().plan(for: .init(profile: "plain")).region == "eu-west-1")
        #expect(
            try resolver(["AWS_DEFAULT_REGION": "ca-central-1"]).plan(for: .init(profile: "plain")).region
                == "ca-central-1")
        #expect(try resolver().plan(for: .init(profile: "plain")).steps[0].mfaSerial == nil)
    }

    @Test func includeProfileMixesInSettings() throws {
        let plan = try resolver().plan(for: .init(profile: "mixed"))
        #expect(plan.region == "us-west-2")
        #expect(
            plan.steps.last?.kind
                == .assumeRole(
                    .init(
                        roleArn: "arn:aws:iam::111122223333:role/Mixed", roleSessionName: "latchkey-user",
                        externalId: nil,
                        sessionTags: ["team": "ops", "env": "dev"], transitiveTagKeys: ["team"],
                        sourceIdentity: "doug")))
    }

    @Test func noSessionUsesTheKeyItself() throws {
        let plan = try resolver().plan(for: CredentialRequest(profile: "doug", noSession: true))
        #expect(plan.steps.isEmpty)
        #expect(plan.sessionCacheKey == nil)
    }

    @Test func endpointOverridesReachTheSTSPlan() throws {
        #expect(try resolver().plan(for: .init(profile: "local")).sts.endpoint == "http://127.0.0.1:4566")
        let env = ["AWS_ENDPOINT_URL_STS": "http://127.0.0.1:9999"]
        #expect(try resolver(env).plan(for: .init(profile: "local")).sts.endpoint == "http://127.0.0.1:9999")
        #expect(try resolver().plan(for: .init(profile: "plain")).sts.endpoint == nil)
        #expect(
            try resolver(["AWS_STS_REGIONAL_ENDPOINTS": "legacy"]).plan(for: .init(profile: "plain")).sts
                .useGlobalEndpoint)
    }

    @Test func cacheKeysSeparateWhatMakesSessionsDifferent() throws {
        let resolver = try resolver()
        let doug = try resolver.plan(for: .init(profile: "doug")).sessionCacheKey
        let plain = try resolver.plan(for: .init(profile: "plain")).sessionCacheKey
        let elsewhere = try self.resolver(["AWS_ENDPOINT_URL": "http://127.0.0.1:1"]).plan(
            for: .init(profile: "doug")
        )
        .sessionCacheKey
        #expect(Set([doug, plain, elsewhere]).count == 3)
    }

    @Test func unknownProfileIsAnErrorUnlessStored() throws {
        #expect(throws: LatchkeyError.self) { try resolver().plan(for: .init(profile: "nobody")) }
        let plan = try resolver().plan(for: .init(profile: "nobody"), storedProfiles: ["nobody"])
        #expect(plan.source == .storedKey(profile: "nobody"))
    }

    @Test func roleWithoutSourceIsExplained() throws {
        #expect {
            try resolver().plan(for: .init(profile: "orphan"))
        } throws: { error in
            "\(error)".contains("role_arn but no source_profile")
        }
    }

    @Test(arguments: [("doug", 899), ("doug", 129_601), ("admin", 43_201)])
    func durationsOutsideSTSLimitsAreRefused(profile: String, seconds: Int) throws {
        #expect(throws: LatchkeyError.self) {
            try resolver().plan(for: .init(profile: profile, durationSeconds: seconds))
        }
    }
}
