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
        #expect(plan.step == .getSessionToken(durationSeconds: 7200))
        #expect(plan.keyProfile == "doug")
        #expect(plan.mfaSerial == "arn:aws:iam::111122223333:mfa/doug")
        #expect(plan.region == "us-west-2")
        #expect(plan.sessionCacheKey?.hasPrefix("session:doug:GetSessionToken:") == true)
    }

    @Test func roleProfileAssumesTheRoleWithTheSourceKey() throws {
        let plan = try resolver(["USER": "doug.smith"]).plan(for: CredentialRequest(profile: "admin"))
        #expect(plan.keyProfile == "doug")
        #expect(
            plan.step
                == .assumeRole(
                    .init(
                        roleArn: "arn:aws:iam::111122223333:role/Admin",
                        roleSessionName: "latchkey-doug.smith",
                        externalId: "ext-123", durationSeconds: 3600)))
        #expect(plan.mfaSerial != nil)
        #expect(plan.sessionCacheKey?.hasPrefix("session:admin:AssumeRole:") == true)
    }

    @Test func flagsWinOverTheProfile() throws {
        let request = CredentialRequest(profile: "doug", durationSeconds: 900, region: "ap-south-1")
        let plan = try resolver(["AWS_REGION": "sa-east-1"]).plan(for: request)
        #expect(plan.step == .getSessionToken(durationSeconds: 900))
        #expect(plan.region == "ap-south-1")
    }

    @Test func regionFallsBackToTheEnvironmentNotToDefault() throws {
        #expect(
            try resolver(["AWS_DEFAULT_REGION": "ca-central-1"]).plan(for: .init(profile: "plain")).region
                == "ca-central-1")
        #expect(try resolver().plan(for: .init(profile: "plain")).region == nil)
    }

    @Test func noSessionUsesTheKeyItself() throws {
        let plan = try resolver().plan(for: CredentialRequest(profile: "doug", noSession: true))
        #expect(plan.step == .longLivedKey)
        #expect(plan.sessionCacheKey == nil)
    }

    @Test func endpointOverridesReachTheSTSPlan() throws {
        #expect(try resolver().plan(for: .init(profile: "local")).stsEndpoint == "http://127.0.0.1:4566")
        let env = ["AWS_ENDPOINT_URL_STS": "http://127.0.0.1:9999"]
        #expect(try resolver(env).plan(for: .init(profile: "local")).stsEndpoint == "http://127.0.0.1:9999")
        #expect(try resolver().plan(for: .init(profile: "plain")).stsEndpoint == nil)
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
        #expect(plan.step == .getSessionToken(durationSeconds: 3600))
    }

    @Test func roleWithoutSourceAndChainsAreExplained() throws {
        #expect {
            try resolver().plan(for: .init(profile: "orphan"))
        } throws: { error in
            "\(error)".contains("role_arn but no source_profile")
        }
        #expect {
            try resolver().plan(for: .init(profile: "chained"))
        } throws: { error in
            "\(error)".contains("role chains are not supported yet")
        }
    }

    @Test(arguments: [("doug", 899), ("doug", 129_601), ("admin", 43_201)])
    func durationsOutsideSTSLimitsAreRefused(profile: String, seconds: Int) throws {
        #expect(throws: LatchkeyError.self) {
            try resolver().plan(for: .init(profile: profile, durationSeconds: seconds))
        }
    }
}
