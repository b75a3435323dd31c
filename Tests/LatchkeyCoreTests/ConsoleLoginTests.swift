import AWSClient
import AWSConfig
import AWSSigV4
import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

@Suite("Console login URLs: credential kinds, durations, partitions")
struct ConsoleLoginTests {
    let clock = ManualClock()
    let keyring = InMemoryKeyring()
    static let serial = "arn:aws:iam::123456789012:mfa/doug"

    func context(_ transport: ScriptedTransport, environment: [String: String] = [:]) throws -> CoreContext {
        CoreContext(
            environment: environment, settings: try LatchkeySettings(environment: ["HOME": "/nonexistent"]),
            store: CredentialStore(keyring: keyring), transport: transport,
            mfa: MFACodeSource(
                prompt: nil, processRunner: ScriptedProcessRunner(output: ""), environment: [:]),
            now: clock.now)
    }

    func plan(_ config: String, profile: String, duration: Int? = nil, credentials: String? = nil) throws
        -> CredentialPlan
    {
        try ProfileResolver(
            config: try AWSSharedConfig.parse(configText: config, credentialsText: credentials),
            environment: [:],
            configFile: "config"
        ).plan(for: CredentialRequest(profile: profile, durationSeconds: duration))
    }

    func storeKey() async throws {
        try await CredentialStore(keyring: keyring).storeLongLivedKey(
            AWSCredentials(accessKeyId: "AKIAUSERKEY000000001", secretAccessKey: "user/secret"),
            profile: "doug",
            now: clock.date)
    }

    func credentialsXML(_ operation: String, id: String, extra: String = "") -> ScriptedTransport.Step {
        .xml(
            """
            <\(operation)Response><\(operation)Result><Credentials>
              <AccessKeyId>\(id)</AccessKeyId><SecretAccessKey>\(id)-secret</SecretAccessKey>
              <SessionToken>\(id)-token</SessionToken><Expiration>\(iso8601(clock.date + 3600))</Expiration>
            </Credentials>\(extra)</\(operation)Result></\(operation)Response>
            """)
    }

    var assumeRole: ScriptedTransport.Step {
        credentialsXML(
            "AssumeRole", id: "ASIAROLE",
            extra:
                "<AssumedRoleUser><AssumedRoleId>AROA:s</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/admin/s</Arn></AssumedRoleUser>"
        )
    }

    static func identity(_ arn: String) -> ScriptedTransport.Step {
        .xml(
            "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>\(arn)</Arn><UserId>AIDA</UserId>"
                + "<Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>")
    }

    static let token = ScriptedTransport.Step.json(#"{"SigninToken":"SIGNIN-TOKEN"}"#)

    static let roleConfig = """
        [profile doug]
        [profile admin]
        role_arn = arn:aws:iam::123456789012:role/admin
        source_profile = doug
        region = eu-west-1
        """

    @Test func aRoleIsSignedInAsItIsWithoutDurationUnlessAsked() async throws {
        try await storeKey()
        let transport = ScriptedTransport([assumeRole, Self.token])
        let login = ConsoleLogin(context: try context(transport))
        let result = try await login.loginURL(
            plan: try plan(Self.roleConfig, profile: "admin"), request: ConsoleLoginRequest(profile: "admin"))
        #expect(result.kind == .role(chained: false) && result.sessionDuration == nil)
        let signin = try #require(await transport.requests.last)
        #expect(signin.url.host == "signin.aws.amazon.com")
        #expect(queryValue(signin.url, "SessionDuration") == nil)
        let session = try #require(queryValue(signin.url, "Session"))
        #expect(
            session.contains(#""sessionId":"ASIAROLE""#)
                && session.contains(#""sessionToken":"ASIAROLE-token""#))
        // The login URL: same endpoint, Action=login, the token, a regional console destination.
        #expect(result.url.host == "signin.aws.amazon.com" && queryValue(result.url, "Action") == "login")
        #expect(queryValue(result.url, "SigninToken") == "SIGNIN-TOKEN")
        #expect(
            queryValue(result.url, "Destination")
                == "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1")
        #expect(queryValue(result.url, "Issuer") == "https://console.aws.amazon.com/")
    }

    @Test func aRoleWithADurationSendsIt() async throws {
        try await storeKey()
        let transport = ScriptedTransport([assumeRole, Self.token])
        let result = try await ConsoleLogin(context: try context(transport)).loginURL(
            plan: try plan(Self.roleConfig, profile: "admin", duration: 7200),
            request: ConsoleLoginRequest(profile: "admin", path: "ec2/home", durationSeconds: 7200))
        #expect(result.sessionDuration == 7200)
        let requests = await transport.requests
        #expect(String(decoding: requests[0].body, as: UTF8.self).contains("DurationSeconds=7200"))
        #expect(queryValue(requests[1].url, "SessionDuration") == "7200")
        #expect(
            result.destination.absoluteString
                == "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1")
    }

    @Test(arguments: [
        (ConsoleCredentialKind.federationToken, 7200 as Int?, nil as Int?),
        (.federationToken, nil, nil),
        (.role(chained: false), nil, nil),
        (.role(chained: false), 900, 900),
        (.role(chained: false), 43200, 43200),
        (.role(chained: true), 3600, 3600),
        (.role(chained: true), 900, 900),
    ])
    func sessionDurationRules(kind: ConsoleCredentialKind, requested: Int?, sent: Int?) throws {
        #expect(try ConsoleSessionDuration.forSignin(kind: kind, requested: requested) == sent)
    }

    @Test(arguments: [
        (ConsoleCredentialKind.role(chained: false), 899), (.role(chained: false), 43201),
        (.role(chained: true), 3601), (.role(chained: true), 600),
    ])
    func durationsAWSWouldRefuseAreRefusedFirst(kind: ConsoleCredentialKind, requested: Int) {
        #expect(throws: ConsoleLoginError.self) {
            try ConsoleSessionDuration.forSignin(kind: kind, requested: requested)
        }
    }

    @Test func anIAMUserGetsAFederationTokenWithTheLongLivedKeyAndNoSessionDuration() async throws {
        try await storeKey()
        let transport = ScriptedTransport([
            credentialsXML(
                "GetFederationToken", id: "ASIAFED",
                extra:
                    "<FederatedUser><FederatedUserId>1:latchkey-doug</FederatedUserId><Arn>arn:aws:sts::123456789012:federated-user/latchkey-doug</Arn></FederatedUser>"
            ),
            Self.token,
        ])
        let result = try await ConsoleLogin(context: try context(transport)).loginURL(
            plan: try plan("[profile doug]\nregion = us-east-1\n", profile: "doug", duration: 7200),
            request: ConsoleLoginRequest(profile: "doug", durationSeconds: 7200))
        #expect(result.kind == .federationToken && result.sessionDuration == nil)
        let requests = await transport.requests
        let body = AWSPercentEncoding.decode(String(decoding: requests[0].body, as: UTF8.self))
        #expect(body.contains("Action=GetFederationToken") && body.contains("Name=latchkey-doug"))
        #expect(body.contains("DurationSeconds=7200"))
        #expect(
            body.contains(
                #"Policy={"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
            ))
        #expect(requests[0].headers["Authorization"]?.contains("Credential=AKIAUSERKEY000000001/") == true)
        #expect(queryValue(requests[1].url, "SessionDuration") == nil)
        #expect(try #require(queryValue(requests[1].url, "Session")).contains("ASIAFED"))
        #expect(
            queryValue(result.url, "Destination")
                == "https://us-east-1.console.aws.amazon.com/console/home?region=us-east-1")
    }

    @Test func aScopedIAMUserSendsTheScopeInsteadOfAllowAll() async throws {
        try await storeKey()
        var resolver = ProfileResolver(
            config: try AWSSharedConfig.parse(
                configText: "[profile doug]\nregion = us-east-1\n", credentialsText: nil),
            environment: [:], configFile: "/home/doug/.aws/config")
        let document =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}"#
        resolver.readFile = { _ in Data(document.utf8) }
        let readOnly = "arn:aws:iam::aws:policy/ReadOnlyAccess"
        for (scope, policy, arns) in [
            (ScopeRequest(readOnly: true), nil, [readOnly]),
            (
                ScopeRequest(policyFile: "/p.json", policyArns: ["arn:aws:iam::123456789012:policy/x"]),
                document,
                ["arn:aws:iam::123456789012:policy/x"]
            ),
        ] {
            // `plan(for:)` refuses a scope here (GetSessionToken takes none); the console's plan does not.
            let request = CredentialRequest(profile: "doug", scope: scope)
            #expect(throws: SessionScopeError.self) { try resolver.plan(for: request) }
            let plan = try await resolver.consolePlan(for: request, store: CredentialStore(keyring: keyring))
            #expect(plan.scope?.policyArns == arns && plan.scope?.policy == policy)
            let transport = ScriptedTransport([
                credentialsXML(
                    "GetFederationToken", id: "ASIAFED",
                    extra:
                        "<FederatedUser><FederatedUserId>1:latchkey-doug</FederatedUserId><Arn>arn:aws:sts::123456789012:federated-user/latchkey-doug</Arn></FederatedUser>"
                ),
                Self.token,
            ])
            let result = try await ConsoleLogin(context: try context(transport)).loginURL(
                plan: plan, request: ConsoleLoginRequest(profile: "doug"))
            #expect(result.kind == .federationToken)
            let body = AWSPercentEncoding.decode(
                String(decoding: await transport.requests[0].body, as: UTF8.self))
            #expect(body.contains("Action=GetFederationToken"))
            #expect(!body.contains(#""Action":"*""#))
            #expect(body.contains("Policy=") == (policy != nil))
            if let policy { #expect(body.contains("Policy=\(policy)")) }
            for (index, arn) in arns.enumerated() {
                #expect(body.contains("PolicyArns.member.\(index + 1).arn=\(arn)"))
            }
        }
    }

    @Test func aScopedConsoleLoginIsStillRefusedWhereNothingTakesTheScope() async throws {
        let config =
            "[profile doug]\nmfa_serial = \(Self.serial)\n[profile sso]\nsso_start_url = https://x\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = r\n"
        let resolver = ProfileResolver(
            config: try AWSSharedConfig.parse(configText: config, credentialsText: nil), environment: [:],
            configFile: "config")
        let store = CredentialStore(keyring: keyring)
        for profile in ["doug", "sso"] {
            await #expect(throws: SessionScopeError.self) {
                try await resolver.consolePlan(
                    for: CredentialRequest(profile: profile, scope: ScopeRequest(readOnly: true)),
                    store: store)
            }
        }
        #expect(
            try await resolver.consolePlan(for: CredentialRequest(profile: "doug"), store: store).scope == nil
        )
    }

    @Test func anIAMUserWithMFAIsToldToUseTheAccountSigninPage() async throws {
        try await storeKey()
        let transport = ScriptedTransport([Self.identity("arn:aws:iam::123456789012:user/doug")])
        await #expect(
            throws: ConsoleLoginError.mfaUser(
                profile: "doug", serial: Self.serial,
                signinPage: URL(string: "https://123456789012.signin.aws.amazon.com/console"))
        ) {
            _ = try await ConsoleLogin(context: try context(transport)).loginURL(
                plan: try plan("[profile doug]\nmfa_serial = \(Self.serial)\n", profile: "doug"),
                request: ConsoleLoginRequest(profile: "doug"))
        }
        // Nothing was federated: only the identity lookup went out.
        #expect(await transport.requests.count == 1)
    }

    @Test func aGetSessionTokenSessionIsRefusedWithTheSigninPage() async throws {
        let transport = ScriptedTransport([Self.identity("arn:aws:iam::123456789012:user/doug")])
        let credentials = """
            [temp]
            aws_access_key_id = ASIASESSION
            aws_secret_access_key = secret
            aws_session_token = token
            """
        do {
            _ = try await ConsoleLogin(context: try context(transport)).loginURL(
                plan: try plan(
                    "[profile temp]\nregion = us-gov-west-1\n", profile: "temp", credentials: credentials),
                request: ConsoleLoginRequest(profile: "temp"))
            Issue.record("expected a refusal")
        } catch let error as ConsoleLoginError {
            guard case .sessionTokenCredentials(_, _, let page) = error else { throw error }
            #expect(page.absoluteString == "https://123456789012.signin.amazonaws-us-gov.com/console")
            #expect("\(error)".contains("does not accept"))
        }
    }

    @Test func temporaryRoleCredentialsFromElsewhereAreSignedInAsChained() async throws {
        let transport = ScriptedTransport([
            Self.identity("arn:aws:sts::123456789012:assumed-role/R/s"), Self.token,
        ])
        let credentials =
            "[temp]\naws_access_key_id = ASIAROLE\naws_secret_access_key = s\naws_session_token = t\n"
        let result = try await ConsoleLogin(context: try context(transport)).loginURL(
            plan: try plan("", profile: "temp", credentials: credentials),
            request: ConsoleLoginRequest(profile: "temp"))
        #expect(result.kind == .role(chained: true))
    }

    @Test(arguments: [
        ("cn-north-1", "signin.amazonaws.cn", "https://console.amazonaws.cn/console/home?region=cn-north-1"),
        (
            "us-gov-west-1", "signin.amazonaws-us-gov.com",
            "https://console.amazonaws-us-gov.com/console/home?region=us-gov-west-1"
        ),
        (
            "ap-southeast-2", "signin.aws.amazon.com",
            "https://ap-southeast-2.console.aws.amazon.com/console/home?region=ap-southeast-2"
        ),
    ])
    func eachPartitionUsesItsOwnHosts(region: String, signin: String, destination: String) async throws {
        try await storeKey()
        let transport = ScriptedTransport([assumeRole, Self.token])
        let result = try await ConsoleLogin(context: try context(transport)).loginURL(
            plan: try plan(Self.roleConfig, profile: "admin"),
            request: ConsoleLoginRequest(profile: "admin", region: region))
        let requests = await transport.requests
        #expect(requests[1].url.host == signin)
        #expect(result.url.host == signin)
        #expect(queryValue(result.url, "Destination") == destination)
    }

    @Test func theSigninEndpointCanBeReplaced() async throws {
        try await storeKey()
        let transport = ScriptedTransport([assumeRole, Self.token])
        let result = try await ConsoleLogin(
            context: try context(
                transport, environment: ["LATCHKEY_SIGNIN_ENDPOINT": "http://127.0.0.1:4567"])
        ).loginURL(
            plan: try plan(Self.roleConfig, profile: "admin"), request: ConsoleLoginRequest(profile: "admin"))
        #expect(
            await transport.requests.last?.url.absoluteString.hasPrefix("http://127.0.0.1:4567/federation?")
                == true)
        #expect(result.url.absoluteString.hasPrefix("http://127.0.0.1:4567/federation?Action=login&"))
        await #expect(throws: BadEndpointURL.self) {
            _ = try await ConsoleLogin(
                context: try context(transport, environment: ["LATCHKEY_SIGNIN_ENDPOINT": "not a url"])
            ).loginURL(
                plan: try plan(Self.roleConfig, profile: "admin"),
                request: ConsoleLoginRequest(profile: "admin"))
        }
    }

    @Test(arguments: [
        ("doug", "latchkey-doug"), ("team/ops dev", "latchkey-team-ops-dev"),
        ("a-very-long-profile-name-indeed-yes", "latchkey-a-very-long-profile-nam"),
    ])
    func federatedNames(profile: String, expected: String) {
        #expect(ConsoleLogin.federatedName(profile) == expected)
        #expect(ConsoleLogin.federatedName(profile).count <= 32)
    }
}

/// The decoded value of a query parameter.
func queryValue(_ url: URL, _ name: String) -> String? {
    for pair in (url.query ?? "").split(separator: "&") {
        let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
        if AWSPercentEncoding.decode(parts[0]) == name {
            return AWSPercentEncoding.decode(parts.count > 1 ? parts[1] : "")
        }
    }
    return nil
}
