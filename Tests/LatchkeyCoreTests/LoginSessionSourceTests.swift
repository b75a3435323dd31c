import AWSClient
import AWSConfig
import AWSSigV4
import Foundation
import Keyring
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

/// `login_session` profiles: plan, stored item, refresh under the lock, errors (in-memory parts).
@Suite struct LoginSessionSourceTests {
    static let arn = "arn:aws:iam::123456789012:user/ada"
    let clock = ManualClock()
    let keyring = InMemoryKeyring()

    static let config = """
        [profile ada]
        login_session = \(arn)
        region = eu-west-1

        [profile admin]
        role_arn = arn:aws:iam::123456789012:role/Admin
        source_profile = ada
        """

    func resolver(environment: [String: String] = [:]) throws -> ProfileResolver {
        ProfileResolver(
            config: try AWSSharedConfig.parse(configText: Self.config, credentialsText: nil),
            environment: environment, configFile: "config")
    }

    func plan(_ profile: String = "ada") throws -> CredentialPlan {
        try resolver(environment: ["AWS_ENDPOINT_URL_SIGNIN": "http://127.0.0.1:9"]).plan(
            for: CredentialRequest(profile: profile))
    }

    func session(expiresIn seconds: TimeInterval, refreshToken: String = "rt-old") -> LoginSession {
        LoginSession(
            credentials: AWSCredentials(
                accessKeyId: "ASIAOLD", secretAccessKey: "old-secret", sessionToken: "old-token",
                expiration: clock.date + seconds),
            refreshToken: refreshToken, dpopKey: DPoPKey(),
            clientId: SigninOAuthClientKind.sameDevice.clientId,
            identityArn: Self.arn, region: "eu-west-1", issuedAt: clock.date - 3600)
    }

    func service(_ transport: ScriptedTransport, keyring: (any Keyring)? = nil, minimumTTL: String? = nil)
        throws
        -> CredentialService
    {
        var environment = ["HOME": "/nonexistent"]
        environment["LATCHKEY_MIN_TTL"] = minimumTTL
        return CredentialService(
            context: CoreContext(
                environment: environment, settings: try LatchkeySettings(environment: environment),
                store: CredentialStore(keyring: keyring ?? self.keyring), transport: transport,
                mfa: MFACodeSource(
                    prompt: nil, processRunner: ScriptedProcessRunner(output: ""), environment: [:]),
                now: clock.now))
    }

    func store(_ session: LoginSession) async throws {
        try await CredentialStore(keyring: keyring).storeLoginSession(session, profile: "ada")
    }

    func stored() async throws -> LoginSession? {
        try await CredentialStore(keyring: keyring).loginSession(identityArn: Self.arn)
    }

    static func refreshAnswer(id: String = "ASIANEW", refreshToken: String = "rt-new")
        -> ScriptedTransport.Step
    {
        .json(
            #"{"accessToken":{"accessKeyId":"\#(id)","secretAccessKey":"new-secret","sessionToken":"new-token"},"#
                + #""tokenType":"aws_sigv4","expiresIn":900,"refreshToken":"\#(refreshToken)"}"#)
    }

    static func refusal(_ error: String, status: Int) -> ScriptedTransport.Step {
        .json(
            #"{"error":"\#(error)","message":"no"}"#, status: status,
            headers: ["x-amzn-ErrorType": "AccessDeniedException"])
    }

    // MARK: Plan

    @Test func loginSessionProfilesResolveToTheNewSourceAlsoAsASourceProfile() throws {
        let own = try plan()
        guard case .loginSession(let source) = own.source else {
            Issue.record("expected a login session source, got \(own.source)")
            return
        }
        #expect(source.identityArn == Self.arn && source.profile == "ada")
        #expect(source.endpoint == "http://127.0.0.1:9" && source.region == "eu-west-1")
        #expect(own.steps.isEmpty && own.source.operation == "LoginSession")

        let role = try plan("admin")
        guard case .loginSession(let chained) = role.source else {
            Issue.record("expected the role's source to be the login session, got \(role.source)")
            return
        }
        #expect(chained.identityArn == Self.arn)
        #expect(role.steps.map(\.operation) == ["AssumeRole"] && role.steps[0].chained)
    }

    @Test func explainNamesTheSessionAndWhetherItIsStored() async throws {
        let plan = try plan()
        func text() async throws -> String {
            await Explanation.of(
                plan: plan, inventory: try await CredentialStore(keyring: keyring).inventory(),
                settings: try LatchkeySettings(environment: ["HOME": "/nonexistent"]), now: clock.date,
                mfaToken: nil, promptAvailable: false, backendName: "memory"
            ).steps[0].detail
        }
        #expect(try await text().contains("NOT stored yet (`latchkey signin ada`)"))
        try await store(session(expiresIn: 900))
        let detail = try await text()
        #expect(
            detail.contains("console sign-in session of \(Self.arn)")
                && detail.contains("refreshed as needed"))
    }

    // MARK: Credentials

    @Test func aFreshSessionIsHandedOutWithoutAnyCall() async throws {
        try await store(session(expiresIn: 600))
        let transport = ScriptedTransport()
        let resolved = try await service(transport).credentials(for: try plan())
        #expect(resolved.credentials.accessKeyId == "ASIAOLD" && resolved.origin == .cachedSession)
        #expect(await transport.requests.isEmpty)
    }

    @Test func fiveMinutesLeftRefreshesAndTheNewRefreshTokenReplacesTheOldInOneWrite() async throws {
        try await store(session(expiresIn: 300))
        let writes = keyring.setCount
        let transport = ScriptedTransport([Self.refreshAnswer()])
        let resolved = try await service(transport).credentials(for: try plan())
        #expect(resolved.credentials.accessKeyId == "ASIANEW" && resolved.origin == .newSession)
        let request = try #require(await transport.requests.first)
        #expect(request.url.absoluteString == "http://127.0.0.1:9/v1/token")
        #expect(request.headers["DPoP"] != nil)
        let body = try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: String])
        #expect(body["refreshToken"] == "rt-old" && body["grantType"] == "refresh_token")
        #expect(keyring.setCount == writes + 1)
        let saved = try #require(try await stored())
        #expect(saved.refreshToken == "rt-new" && saved.credentials.accessKeyId == "ASIANEW")
        #expect(saved.issuedAt == clock.date - 3600)  // the 12-hour limit still counts from the sign-in
    }

    @Test func aLongerMinimumTTLRefreshesEarlier() async throws {
        try await store(session(expiresIn: 600))
        let transport = ScriptedTransport([Self.refreshAnswer()])
        let resolved = try await service(transport, minimumTTL: "15m").credentials(for: try plan())
        #expect(resolved.credentials.accessKeyId == "ASIANEW")
    }

    @Test func theItemIsReadAgainUnderTheLockSoAnotherProcesssRefreshIsUsed() async throws {
        // The first read sees the old item; by the time the lock is held another process has
        // refreshed (and spent the old refresh token). Refreshing with it would fail for real.
        let stale = session(expiresIn: 120)
        var theirs = session(expiresIn: 900, refreshToken: "rt-theirs")
        theirs.credentials.accessKeyId = "ASIATHEIRS"
        let fresh = theirs
        try await store(stale)
        let racing = RacingKeyring(inner: keyring) {
            try await CredentialStore(keyring: $0).storeLoginSession(fresh, profile: "ada")
        }
        let transport = ScriptedTransport()
        var context = try service(transport, keyring: racing).context
        let locks = FileManager.default.temporaryDirectory.appendingPathComponent(
            "locks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: locks, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: locks) }
        context.lockDirectory = locks.path
        let resolved = try await CredentialService(context: context).credentials(for: try plan())
        #expect(resolved.credentials.accessKeyId == "ASIATHEIRS")
        #expect(await transport.requests.isEmpty)
        #expect(try await stored()?.refreshToken == "rt-theirs")
    }

    @Test func anEndedSessionSaysToSignInAgainAndKeepsTheItem() async throws {
        for error in ["TOKEN_EXPIRED", "USER_CREDENTIALS_CHANGED"] {
            try await store(session(expiresIn: 30))
            let transport = ScriptedTransport([
                Self.refusal(error, status: error == "TOKEN_EXPIRED" ? 401 : 403)
            ])
            do {
                _ = try await service(transport).credentials(for: try plan())
                Issue.record("\(error) should fail")
            } catch let problem as LoginSessionProblem {
                guard case .signinRequired = problem else {
                    Issue.record("\(error) gave \(problem)")
                    continue
                }
                #expect("\(problem)".contains("`latchkey signin ada`"))
            }
            #expect(try await stored()?.refreshToken == "rt-old")
        }
    }

    @Test func missingPermissionNamesTheActionAndTheManagedPolicy() async throws {
        try await store(session(expiresIn: 30))
        let transport = ScriptedTransport([Self.refusal("INSUFFICIENT_PERMISSIONS", status: 403)])
        let problem = await #expect(throws: LoginSessionProblem.self) {
            try await service(transport).credentials(for: try plan())
        }
        guard case .missingPermission("ada") = problem else {
            Issue.record("expected missingPermission, got \(String(describing: problem))")
            return
        }
        let text = "\(LoginSessionProblem.missingPermission(profile: "ada"))"
        #expect(text.contains("signin:CreateOAuth2Token") && text.contains("SignInLocalDevelopmentAccess"))
    }

    @Test func noStoredSessionSaysToSignIn() async throws {
        let transport = ScriptedTransport()
        let problem = await #expect(throws: LoginSessionProblem.self) {
            try await service(transport).credentials(for: try plan())
        }
        guard case .notSignedIn("ada", Self.arn) = problem else {
            Issue.record("expected notSignedIn, got \(String(describing: problem))")
            return
        }
        #expect(
            "\(LoginSessionProblem.notSignedIn(profile: "ada", identityArn: Self.arn))".contains(
                "latchkey signin ada"))
    }

    @Test func aServerFailureKeepsTheCurrentCredentialsWhileTheyLast() async throws {
        let failure = ScriptedTransport.Step.json(
            #"{"error":"server_error","message":"down"}"#, status: 500,
            headers: ["x-amzn-ErrorType": "InternalServerException"])
        try await store(session(expiresIn: 200))
        let writes = keyring.setCount
        let transport = ScriptedTransport([failure, failure, failure])
        let resolved = try await service(transport).credentials(for: try plan())
        #expect(resolved.credentials.accessKeyId == "ASIAOLD" && keyring.setCount == writes)

        clock.advance(by: 200)  // now expired: the failure is the answer
        await transport.enqueue(failure)
        await transport.enqueue(failure)
        await transport.enqueue(failure)
        let problem = await #expect(throws: LoginSessionProblem.self) {
            try await service(transport).credentials(for: try plan())
        }
        // The client's own error is kept, not flattened into text.
        guard let problem, case .refreshFailed("ada", let cause) = problem,
            let tokenError = cause as? SigninTokenError, case .serverError(500, _) = tokenError
        else {
            Issue.record(
                "expected refreshFailed holding the server error, got \(String(describing: problem))")
            return
        }
        #expect(
            "\(problem)"
                == "the console sign-in session of profile 'ada' could not be refreshed: \(tokenError)")
        #expect(try await stored()?.refreshToken == "rt-old")
    }

    @Test func aTamperedItemIsAClearError() async throws {
        try await keyring.set(
            KeyringItem(
                key: "login-session:\(Self.arn)", label: "x", metadata: ["kind": "login-session"],
                secret: Data("{\"version\":1}".utf8)))
        do {
            _ = try await service(ScriptedTransport()).credentials(for: try plan())
            Issue.record("a tampered item should fail")
        } catch let problem as LoginSessionProblem {
            #expect("\(problem)".contains("cannot be read") && "\(problem)".contains("latchkey signin ada"))
            guard case .unreadable("ada", let cause) = problem else {
                Issue.record("expected unreadable, got \(problem)")
                return
            }
            #expect(cause is LoginSessionError)
        }
    }

    @Test func listShowsTheSessionUnderEveryProfileThatUsesIt() async throws {
        try await store(session(expiresIn: 900))
        let config = try AWSSharedConfig.parse(configText: Self.config, credentialsText: nil)
        let listed = try await CredentialStore(keyring: keyring).inventory().listingLoginSessions(of: config)
        let session = try #require(listed.sessions.first { $0.profile == "ada" })
        #expect(session.type == "LoginSession" && session.expiration == clock.date - 3600 + 12 * 3600)
        #expect(!listed.sessions.contains { $0.profile == "admin" })
    }

    @Test func importTakesTheIdentityFromTheProfileOrTheIDToken() throws {
        let claims = Data(#"{"sub":"\#(Self.arn)"}"#.utf8).base64EncodedString()
            .replacingOccurrences(of: "=", with: "")
        let file = Data(#"{"idToken":"e30.\#(claims).c2ln"}"#.utf8)
        #expect(LoginSessionAccount.identity(ofCacheFile: file) == Self.arn)
        #expect(LoginSessionAccount.identity(ofCacheFile: Data("{}".utf8)) == nil)
    }
}

/// A keyring where, between latchkey's first read of the login session and its second, another
/// process replaces the item.
final class RacingKeyring: Keyring, @unchecked Sendable {
    let inner: InMemoryKeyring
    let otherProcess: @Sendable (InMemoryKeyring) async throws -> Void
    private let lock = NSLock()
    private var reads = 0

    init(inner: InMemoryKeyring, otherProcess: @escaping @Sendable (InMemoryKeyring) async throws -> Void) {
        self.inner = inner
        self.otherProcess = otherProcess
    }

    var backendName: String { inner.backendName }

    func get(_ key: String) async throws -> KeyringItem? {
        let item = try await inner.get(key)
        let count = lock.withLock {
            reads += 1
            return reads
        }
        if count == 1 { try await otherProcess(inner) }
        return item
    }

    func set(_ item: KeyringItem) async throws { try await inner.set(item) }
    func remove(_ key: String) async throws -> Bool { try await inner.remove(key) }
    func list() async throws -> [KeyringItemInfo] { try await inner.list() }
}

/// `signin --retire-key`: the stored key goes only after the new session proved to be its user.
@Suite struct RetireKeyTests {
    static let arn = "arn:aws:iam::123456789012:user/ada"
    let keyring = InMemoryKeyring()
    let clock = ManualClock()
    let key = AWSCredentials(
        accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")

    static func identity(_ arn: String) -> ScriptedTransport.Step {
        .xml(
            """
            <GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>
            <Arn>\(arn)</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account>
            </GetCallerIdentityResult></GetCallerIdentityResponse>
            """)
    }

    static func done(_ action: String) -> ScriptedTransport.Step {
        .xml(
            """
            <\(action)Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
            <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></\(action)Response>
            """)
    }

    static let denied = ScriptedTransport.Step.xml(
        """
        <ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no</Message></Error>
        <RequestId>1</RequestId></ErrorResponse>
        """, status: 403)

    func account(_ transport: ScriptedTransport) throws -> LoginSessionAccount {
        let environment = ["HOME": "/nonexistent", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"]
        return LoginSessionAccount(
            context: CoreContext(
                environment: environment, settings: try LatchkeySettings(environment: environment),
                store: CredentialStore(keyring: keyring), transport: transport,
                mfa: MFACodeSource(
                    prompt: nil, processRunner: ScriptedProcessRunner(output: ""), environment: [:]),
                now: clock.now),
            resolver: ProfileResolver(
                config: try AWSSharedConfig.parse(configText: "[profile ada]\n", credentialsText: nil),
                environment: environment, configFile: "config"))
    }

    var session: LoginSession {
        LoginSession(
            credentials: AWSCredentials(
                accessKeyId: "ASIASESSION", secretAccessKey: "s", sessionToken: "t",
                expiration: clock.date + 900),
            refreshToken: "rt", dpopKey: DPoPKey(), clientId: SigninOAuthClientKind.sameDevice.clientId,
            identityArn: Self.arn, region: "us-east-1", issuedAt: clock.date)
    }

    func storedKey() async throws -> AWSCredentials? {
        try await CredentialStore(keyring: keyring).longLivedKey(profile: "ada")
    }

    @Test func theKeyIsDeactivatedDeletedAndForgottenWithTheNewSession() async throws {
        try await CredentialStore(keyring: keyring).storeLongLivedKey(key, profile: "ada", now: clock.date)
        let transport = ScriptedTransport([
            Self.identity(Self.arn), Self.identity(Self.arn), Self.done("UpdateAccessKey"),
            Self.done("DeleteAccessKey"),
        ])
        try await account(transport).retire(profile: "ada", session: session)
        let requests = await transport.requests
        let bodies = await transport.bodies
        #expect(bodies.count == 4)
        #expect(bodies[2].contains("Action=UpdateAccessKey") && bodies[2].contains("Status=Inactive"))
        #expect(bodies[3].contains("Action=DeleteAccessKey") && bodies[3].contains("AKIAIOSFODNN7EXAMPLE"))
        // The IAM calls are signed with the session, never with the key being retired.
        for request in requests[2...] {
            #expect(request.headers["Authorization"]?.contains("Credential=ASIASESSION/") == true)
        }
        #expect(try await storedKey() == nil)
    }

    @Test func anotherUsersSessionRetiresNothing() async throws {
        try await CredentialStore(keyring: keyring).storeLongLivedKey(key, profile: "ada", now: clock.date)
        let transport = ScriptedTransport([
            Self.identity("arn:aws:iam::123456789012:user/bob"), Self.identity(Self.arn),
        ])
        await #expect(throws: LoginSessionAccount.RetireKeyRefused.self) {
            try await account(transport).retire(profile: "ada", session: session)
        }
        #expect(await transport.requests.count == 2)
        #expect(try await storedKey() == key)
    }

    @Test func aFailedDeleteReactivatesTheKeyAndKeepsIt() async throws {
        try await CredentialStore(keyring: keyring).storeLongLivedKey(key, profile: "ada", now: clock.date)
        let transport = ScriptedTransport([
            Self.identity(Self.arn), Self.identity(Self.arn), Self.done("UpdateAccessKey"), Self.denied,
            Self.done("UpdateAccessKey"),
        ])
        await #expect(throws: LoginSessionAccount.RetireKeyRefused.self) {
            try await account(transport).retire(profile: "ada", session: session)
        }
        let bodies = await transport.bodies
        #expect(bodies.last?.contains("Status=Active") == true)
        #expect(try await storedKey() == key)
    }

    // MARK: The whole `signin --retire-key`, with the code pasted as for --remote

    /// Counts how often the browser step ran; pastes a code for the URL's own state.
    final class PastingBrowser: @unchecked Sendable {
        private let lock = NSLock()
        private var visits = 0
        var count: Int { lock.withLock { visits } }

        var mode: LoginSessionAccount.Mode {
            .crossDevice { url in
                self.lock.withLock { self.visits += 1 }
                let items = URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems ?? []
                let state = items.first { $0.name == "state" }?.value ?? ""
                return Data("state=\(state)&code=pasted".utf8).base64EncodedString()
            }
        }
    }

    func account(_ transport: ScriptedTransport, config: String) throws -> LoginSessionAccount {
        var account = try self.account(transport)
        account.resolver = ProfileResolver(
            config: try AWSSharedConfig.parse(configText: config, credentialsText: nil),
            environment: account.context.environment, configFile: "config")
        return account
    }

    func configFile(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("retire-\(UUID().uuidString)")
        try Data(text.utf8).write(to: url)
        return url
    }

    func storedSession() async throws -> LoginSession? {
        try await CredentialStore(keyring: keyring).loginSession(identityArn: Self.arn)
    }

    @Test func withoutAStoredKeyTheBrowserNeverOpens() async throws {
        let transport = ScriptedTransport()
        let browser = PastingBrowser()
        let file = try configFile("[profile ada]\n")
        defer { try? FileManager.default.removeItem(at: file) }
        await #expect(throws: LoginSessionAccount.RetireKeyRefused.self) {
            try await account(transport).signin(
                profile: "ada", region: "us-east-1", mode: browser.mode, configFile: file.path,
                retireKey: true)
        }
        let requests = await transport.requests
        #expect(browser.count == 0 && requests.isEmpty)
        #expect(try String(contentsOf: file, encoding: .utf8) == "[profile ada]\n")
    }

    @Test func aProfileThatAlreadyUsesASessionIsRefusedBeforeTheBrowser() async throws {
        try await CredentialStore(keyring: keyring).storeLongLivedKey(key, profile: "ada", now: clock.date)
        let transport = ScriptedTransport()
        let browser = PastingBrowser()
        let text = "[profile ada]\nlogin_session = \(Self.arn)\n"
        let file = try configFile(text)
        defer { try? FileManager.default.removeItem(at: file) }
        do {
            _ = try await account(transport, config: text).signin(
                profile: "ada", region: "us-east-1", mode: browser.mode, configFile: file.path,
                retireKey: true)
            Issue.record("a login_session profile should be refused")
        } catch let refusal as LoginSessionAccount.RetireKeyRefused {
            #expect(refusal.description.contains("already uses the console sign-in session"))
        }
        let requests = await transport.requests
        #expect(browser.count == 0 && requests.isEmpty)
        #expect(try await storedKey() == key)
    }

    @Test func anotherUsersSignInIsNeverStored() async throws {
        try await CredentialStore(keyring: keyring).storeLongLivedKey(key, profile: "ada", now: clock.date)
        let transport = ScriptedTransport([
            .signinToken(arn: Self.arn), Self.identity("arn:aws:iam::123456789012:user/bob"),
            Self.identity(Self.arn),
        ])
        let browser = PastingBrowser()
        let file = try configFile("[profile ada]\n")
        defer { try? FileManager.default.removeItem(at: file) }
        await #expect(throws: LoginSessionAccount.RetireKeyRefused.self) {
            try await account(transport).signin(
                profile: "ada", region: "us-east-1", mode: browser.mode, configFile: file.path,
                retireKey: true)
        }
        let requests = await transport.requests
        #expect(browser.count == 1 && requests.count == 3)
        #expect(try await storedSession() == nil)
        #expect(try await storedKey() == key)
        #expect(try String(contentsOf: file, encoding: .utf8) == "[profile ada]\n")
    }

    @Test func aRefusedDeactivationForgetsTheJustStoredSession() async throws {
        try await CredentialStore(keyring: keyring).storeLongLivedKey(key, profile: "ada", now: clock.date)
        let transport = ScriptedTransport([
            .signinToken(arn: Self.arn), Self.identity(Self.arn), Self.identity(Self.arn), Self.denied,
        ])
        let file = try configFile("[profile ada]\n")
        defer { try? FileManager.default.removeItem(at: file) }
        let refusal = await #expect(throws: LoginSessionAccount.RetireKeyRefused.self) {
            try await account(transport).signin(
                profile: "ada", region: "us-east-1", mode: PastingBrowser().mode, configFile: file.path,
                retireKey: true)
        }
        // IAM's own error is kept, not flattened into text.
        guard case .deactivationFailed(let cause) = refusal?.reason, let iamError = cause as? AWSClientError,
            iamError.serviceError?.operation == "UpdateAccessKey"
        else {
            Issue.record("expected the UpdateAccessKey error, got \(String(describing: refusal))")
            return
        }
        #expect(
            refusal?.description.contains("deactivating it with the new session failed (\(iamError)).")
                == true)
        let bodies = await transport.bodies
        #expect(bodies.last?.contains("Action=UpdateAccessKey") == true)
        #expect(try await storedSession() == nil)
        #expect(try await storedKey() == key)
        #expect(try String(contentsOf: file, encoding: .utf8) == "[profile ada]\n")
    }

    @Test func aSessionStoredBeforeIsKeptWhenTheRetirementIsRefused() async throws {
        try await CredentialStore(keyring: keyring).storeLongLivedKey(key, profile: "ada", now: clock.date)
        try await CredentialStore(keyring: keyring).storeLoginSession(session, profile: "other")
        let transport = ScriptedTransport([
            .signinToken(arn: Self.arn), Self.identity(Self.arn), Self.identity(Self.arn), Self.denied,
        ])
        let file = try configFile("[profile ada]\n")
        defer { try? FileManager.default.removeItem(at: file) }
        await #expect(throws: LoginSessionAccount.RetireKeyRefused.self) {
            try await account(transport).signin(
                profile: "ada", region: "us-east-1", mode: PastingBrowser().mode, configFile: file.path,
                retireKey: true)
        }
        #expect(try await storedSession() != nil)  // another profile's session of the same identity
        #expect(try await storedKey() == key)
    }

    @Test func aRetiredKeyLeavesTheStoredSessionAndTheProfileUsesIt() async throws {
        try await CredentialStore(keyring: keyring).storeLongLivedKey(key, profile: "ada", now: clock.date)
        let transport = ScriptedTransport([
            .signinToken(arn: Self.arn), Self.identity(Self.arn), Self.identity(Self.arn),
            Self.done("UpdateAccessKey"), Self.done("DeleteAccessKey"),
        ])
        let file = try configFile("[profile ada]\n")
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await account(transport).signin(
            profile: "ada", region: "us-east-1", mode: PastingBrowser().mode, configFile: file.path,
            retireKey: true)
        #expect(result.session.identityArn == Self.arn)
        #expect(try await storedSession()?.refreshToken == "rt")
        #expect(try await storedKey() == nil)
        #expect(try String(contentsOf: file, encoding: .utf8).contains("login_session = \(Self.arn)"))
    }
}

@Suite struct DoctorRetireKeyAdviceTests {
    @Test func doctorShowsTheStoredSignInSessionFromMetadata() async throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let environment = ["HOME": "/nonexistent"]
        let keyring = InMemoryKeyring()
        let config = try AWSSharedConfig.parse(
            configText: "[profile ada]\nlogin_session = \(LoginSessionSourceTests.arn)\n",
            credentialsText: nil)
        let doctor = Doctor(
            context: CoreContext(
                environment: environment, settings: try LatchkeySettings(environment: environment),
                store: CredentialStore(keyring: keyring), transport: ScriptedTransport(),
                mfa: MFACodeSource(
                    prompt: nil, processRunner: ScriptedProcessRunner(output: ""), environment: [:]),
                now: { now }),
            config: .success(config), configFile: "config",
            iam: { IAMClient(credentials: $0, region: "us-east-1", transport: ScriptedTransport()) })
        func check() async -> DoctorCheck? {
            await doctor.run(profile: "ada").first { $0.name == "sign-in session" }
        }
        #expect(await check()?.status == .fail)
        #expect(await check()?.fix == "`latchkey signin ada`")
        let session = LoginSession(
            credentials: AWSCredentials(
                accessKeyId: "ASIA", secretAccessKey: "s", sessionToken: "t", expiration: now + 900),
            refreshToken: "rt", dpopKey: DPoPKey(), clientId: SigninOAuthClientKind.sameDevice.clientId,
            identityArn: LoginSessionSourceTests.arn, region: "us-east-1", issuedAt: now - 3600)
        try await CredentialStore(keyring: keyring).storeLoginSession(session, profile: "ada")
        #expect(await check()?.status == .ok)
        #expect(await check()?.detail.contains("refreshable until") == true)
        #expect(keyring.getCount == 0)  // metadata only: nothing decrypted
    }

    @Test func anOldKeyIsAdvisedToMoveToASigninSession() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let environment = ["HOME": "/nonexistent"]
        let doctor = Doctor(
            context: CoreContext(
                environment: environment, settings: try LatchkeySettings(environment: environment),
                store: CredentialStore(keyring: InMemoryKeyring()), transport: ScriptedTransport(),
                mfa: MFACodeSource(
                    prompt: nil, processRunner: ScriptedProcessRunner(output: ""), environment: [:]),
                now: { now }),
            config: .success(AWSSharedConfig()), configFile: "config",
            iam: { IAMClient(credentials: $0, region: "us-east-1", transport: ScriptedTransport()) })
        let old = CredentialStore.StoredKey(profile: "doug", accessKeyId: "AKIA", added: now - 200 * 86400)
        let check = doctor.ageCheck(old, name: "key age")
        #expect(check.fix?.contains("latchkey signin doug --retire-key") == true)
        let young = CredentialStore.StoredKey(profile: "doug", accessKeyId: "AKIA", added: now - 86400)
        #expect(doctor.ageCheck(young, name: "key age").fix == nil)
    }
}
