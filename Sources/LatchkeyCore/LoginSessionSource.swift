import AWSClient
import AWSConfig
import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Keyring
import SystemSupport

// Console sign-in sessions (`aws login`'s `login_session`) as a credential source: everything the
// source needs (plan entry, keyring item, refresh under the single-flight lock, errors, the AWS
// CLI's cache file) lives here, in one provider (`LoginSessionProvider`).

extension CredentialSource {
    /// A profile's `login_session = ARN`: the session `latchkey signin` stored in the keyring.
    public struct LoginSessionSource: Sendable, Equatable {
        public var profile: String
        /// The `login_session` value: the signed-in identity's ARN, which names the keyring item.
        public var identityArn: String
        /// The profile's region: where `latchkey signin` signs in when `--region` is not given.
        public var region: String?
        /// A configured Sign-In endpoint (`AWS_ENDPOINT_URL_SIGNIN`, `endpoint_url`...), nil for AWS's own.
        public var endpoint: String?
        public var useFIPS = false
        public var useDualStack = false

        public init(
            profile: String, identityArn: String, region: String? = nil, endpoint: String? = nil,
            useFIPS: Bool = false, useDualStack: Bool = false
        ) {
            self.profile = profile
            self.identityArn = identityArn
            self.region = region
            self.endpoint = endpoint
            self.useFIPS = useFIPS
            self.useDualStack = useDualStack
        }

        /// The Sign-In base URI for `region` (the region the session was created in, for refreshes).
        public func baseURI(region: String?) throws -> URL {
            let custom = try configuredEndpoint(
                endpoint, setting: "endpoint_url, AWS_ENDPOINT_URL_SIGNIN or AWS_ENDPOINT_URL")
            do {
                return try SigninOAuthEndpoint.baseURI(
                    region: region ?? self.region, useFIPS: useFIPS, useDualStack: useDualStack,
                    customEndpoint: custom)
            } catch {
                throw LatchkeyError.sourceFailed(profile: profile, source: "AWS Sign-In", cause: error)
            }
        }

        /// `doctor`'s view, from the item's metadata alone (nothing decrypted, no call).
        func doctorCheck(inventory: CredentialStore.Inventory, now: Date) -> DoctorCheck {
            let name = "sign-in session"
            guard let stored = inventory.loginSessions.first(where: { $0.identityArn == identityArn }) else {
                return .init(
                    name: name, status: .fail, detail: "no session of \(identityArn) is stored",
                    fix: "`latchkey signin \(profile)`")
            }
            guard let until = stored.refreshableUntil, until > now else {
                return .init(
                    name: name, status: .warn,
                    detail: "the session of \(identityArn) reached its 12-hour limit",
                    fix: "`latchkey signin \(profile)`")
            }
            return .init(
                name: name, status: .ok, detail: "\(identityArn), refreshable until \(iso8601(until))")
        }

        func explanation(inventory: CredentialStore.Inventory, backendName: String) -> String {
            let text = "the console sign-in session of \(identityArn)"
            guard let stored = inventory.loginSessions.first(where: { $0.identityArn == identityArn }) else {
                return text
                    + " in the \(backendName) keyring, which is NOT stored yet (`latchkey signin \(profile)`)"
            }
            var detail = text + " in the \(backendName) keyring"
            if let until = stored.refreshableUntil {
                detail += ", refreshed as needed until \(iso8601(until)) (then `latchkey signin \(profile)`)"
            }
            return detail
        }
    }
}

extension ProfileResolver {
    /// The profile's `login_session` source; `identityArn` stands in for a profile that has none yet.
    func loginSessionSource(_ name: String, _ section: ProfileSection, identityArn: String? = nil)
        -> CredentialSource.LoginSessionSource?
    {
        guard let arn = section["login_session"].flatMap(nonEmpty) ?? identityArn else { return nil }
        return .init(
            profile: name, identityArn: arn.trimmingBlanks(),
            region: nonEmpty(environment["AWS_REGION"]) ?? nonEmpty(environment["AWS_DEFAULT_REGION"])
                ?? section.region,
            endpoint: config.configuredEndpointURL(
                service: "signin", profile: name, environment: environment),
            useFIPS: flag(environment["AWS_USE_FIPS_ENDPOINT"] ?? section["use_fips_endpoint"]),
            useDualStack: flag(environment["AWS_USE_DUALSTACK_ENDPOINT"] ?? section["use_dualstack_endpoint"])
        )
    }
}

/// What can go wrong with a stored sign-in session, each saying what to run.
public enum LoginSessionProblem: Error, CustomStringConvertible, Sendable {
    /// No item in the keyring for the profile's `login_session`.
    case notSignedIn(profile: String, identityArn: String)
    /// TOKEN_EXPIRED, USER_CREDENTIALS_CHANGED, or the 12-hour limit: only a browser sign-in helps.
    case signinRequired(profile: String, reason: String)
    /// INSUFFICIENT_PERMISSIONS.
    case missingPermission(profile: String)
    /// The stored item cannot be read (damaged or tampered with).
    case unreadable(profile: String, cause: any Error)
    /// Any other failure while the current credentials have run out.
    case refreshFailed(profile: String, cause: any Error)

    public var description: String {
        switch self {
        case .notSignedIn(let profile, let arn):
            return "profile '\(profile)' uses the console sign-in session of \(arn), but none is stored; "
                + "sign in with `latchkey signin \(profile)`."
        case .signinRequired(let profile, let reason):
            return "the console sign-in session of profile '\(profile)' has ended: \(reason) "
                + "Sign in again with `latchkey signin \(profile)`."
        case .missingPermission(let profile):
            return
                "AWS Sign-In refused to refresh the session of profile '\(profile)': the signed-in identity "
                + "lacks permission for signin:CreateOAuth2Token. Attach the AWS managed policy "
                + "SignInLocalDevelopmentAccess (or a policy allowing signin:CreateOAuth2Token and "
                + "signin:AuthorizeOAuth2Access on arn:aws:signin:*:*:oauth2/public-client/*) to it, then run "
                + "`latchkey signin \(profile)`."
        case .unreadable(let profile, let cause):
            return "the stored console sign-in session of profile '\(profile)' cannot be read (\(cause)); "
                + "sign in again with `latchkey signin \(profile)`."
        case .refreshFailed(let profile, let cause):
            return "the console sign-in session of profile '\(profile)' could not be refreshed: \(cause)"
        }
    }
}

// MARK: - The keyring item

/// The keyring failed while a stored sign-in session was read; keeps the keyring's error. Its text is
/// the one `LoginSessionError.malformed(source: "keyring", ...)` gave before the cause was typed.
public struct LoginSessionKeyringError: Error, CustomStringConvertible, Sendable {
    public var cause: any Error

    public init(cause: any Error) { self.cause = cause }

    public var description: String { "The keyring cannot be read: \(cause); sign in again to replace it." }
}

extension CredentialStore {
    static func loginSessionKey(_ identityArn: String) -> String { "login-session:\(identityArn)" }

    /// Stores (or replaces, in one write) the whole session as one item.
    public func storeLoginSession(_ session: LoginSession, profile: String) async throws {
        try await keyring.set(
            KeyringItem(
                key: Self.loginSessionKey(session.identityArn),
                label: "latchkey console sign-in: \(session.identityArn)",
                metadata: [
                    "kind": "login-session", "profile": profile, "login_session": session.identityArn,
                    "expiration": iso8601(session.expiration),
                    "refreshable_until": iso8601(session.sessionExpiry),
                ],
                secret: try session.keyringData()))
    }

    /// The stored session, nil when there is none; a damaged item is an error (sign in again).
    /// Throws `LoginSessionError` for a damaged item, `LoginSessionKeyringError` when the keyring fails.
    public func loginSession(identityArn: String) async throws -> LoginSession? {
        let item: KeyringItem?
        do {
            item = try await keyring.get(Self.loginSessionKey(identityArn))
        } catch {
            throw LoginSessionKeyringError(cause: error)
        }
        guard let item else { return nil }
        return try LoginSession(keyringData: item.secret)
    }

    @discardableResult
    public func removeLoginSession(identityArn: String) async throws -> Bool {
        try await keyring.remove(Self.loginSessionKey(identityArn))
    }

    public struct StoredLoginSession: Sendable, Equatable {
        public var identityArn: String
        public var profile: String?
        public var expiration: Date?
        public var refreshableUntil: Date?
    }
}

extension CredentialStore {
    /// Every stored sign-in session, from metadata alone.
    public func loginSessionInventory() async throws -> [StoredLoginSession] {
        try await inventory().loginSessions
    }

    static func storedLoginSession(_ info: KeyringItemInfo) -> StoredLoginSession? {
        guard info.metadata["kind"] == "login-session", let arn = info.metadata["login_session"] else {
            return nil
        }
        return StoredLoginSession(
            identityArn: arn, profile: info.metadata["profile"],
            expiration: info.metadata["expiration"].flatMap(parseISO8601),
            refreshableUntil: info.metadata["refreshable_until"].flatMap(parseISO8601))
    }
}

extension CredentialStore.Inventory {
    /// The inventory with each profile's stored sign-in session listed among its sessions (type
    /// `LoginSession`, expiring when it can no longer be refreshed), for `list`.
    public func listingLoginSessions(of config: AWSSharedConfig) -> Self {
        var copy = self
        for name in config.profileNames {
            guard let arn = config.profile(name)?["login_session"].flatMap(nonEmpty),
                let stored = loginSessions.first(where: { $0.identityArn == arn })
            else { continue }
            copy.sessions.append(
                .init(
                    key: CredentialStore.loginSessionKey(arn), profile: name, type: "LoginSession",
                    mfaSerial: nil,
                    expiration: stored.refreshableUntil))
        }
        copy.sessions.sort { ($0.profile, $0.key) < ($1.profile, $1.key) }
        return copy
    }
}

// MARK: - The AWS CLI's cache file

/// `~/.aws/login/cache` (or `$AWS_LOGIN_CACHE_DIRECTORY`): where `aws login` keeps sessions in clear.
public struct AWSLoginCache: Sendable {
    public var directory: String

    public init(environment: [String: String]) {
        let home = UserFolders(environment: environment).home
        if let configured = nonEmpty(environment["AWS_LOGIN_CACHE_DIRECTORY"]) {
            directory = ConfigLocations.expandTilde(configured, home: home)
        } else {
            directory = home + "/.aws/login/cache"
        }
    }

    public func path(for identityArn: String) -> String {
        directory + "/" + LoginSession.cacheFileName(loginSession: identityArn)
    }

    /// Writes (0600, atomically) the file the AWS CLI reads, keeping members latchkey does not know.
    public func write(_ session: LoginSession) throws {
        let path = path(for: session.identityArn)
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let existing = try? PrivateFile.read(path)
        try PrivateFile.write(try session.cacheFileData(updating: existing ?? nil), to: path)
    }
}

// MARK: - Credentials, refreshed under the single-flight lock

/// The provider of a `login_session` profile: the session's current credentials, refreshed first
/// when little validity is left (5 minutes, or LATCHKEY_MIN_TTL when longer). One process refreshes
/// at a time: under the lock the item is read again, because another process may have refreshed
/// (and so spent the refresh token) first.
struct LoginSessionProvider: CredentialProvider {
    let source: CredentialSource.LoginSessionSource

    func credentials(_ run: ProviderRun) async throws -> ProvidedCredentials {
        let context = run.context
        let session = try await storedLoginSession(context)
        guard needsRefresh(session, context) else {
            context.debug("using the stored sign-in session of \(source.identityArn)")
            return ProvidedCredentials(credentials: session.credentials, origin: .cachedSession)
        }
        let lock = try await context.lockSession(
            CredentialStore.loginSessionKey(source.identityArn), profile: source.profile)
        defer { lock?.release() }
        let current = try await storedLoginSession(context)
        guard needsRefresh(current, context) else {
            context.debug("another process refreshed the sign-in session of \(source.identityArn)")
            return ProvidedCredentials(credentials: current.credentials, origin: .cachedSession)
        }
        guard let refreshed = try await refresh(current, context) else {
            return ProvidedCredentials(credentials: current.credentials, origin: .cachedSession)
        }
        try await context.store.storeLoginSession(refreshed, profile: source.profile)
        if context.settings.shareCLILoginCache {
            try AWSLoginCache(environment: context.environment).write(refreshed)
        }
        return ProvidedCredentials(credentials: refreshed.credentials, origin: .newSession)
    }

    private func storedLoginSession(_ context: CoreContext) async throws -> LoginSession {
        let session: LoginSession?
        do {
            session = try await context.store.loginSession(identityArn: source.identityArn)
        } catch {
            throw LoginSessionProblem.unreadable(profile: source.profile, cause: error)
        }
        guard let session else {
            throw LoginSessionProblem.notSignedIn(profile: source.profile, identityArn: source.identityArn)
        }
        return session
    }

    private func needsRefresh(_ session: LoginSession, _ context: CoreContext) -> Bool {
        let window = max(LoginSession.refreshWindow, TimeInterval(context.settings.minimumTTL))
        return session.expiration.timeIntervalSince(context.now()) <= window
    }

    /// The refreshed session, or nil when the current credentials must serve (see below).
    private func refresh(_ session: LoginSession, _ context: CoreContext) async throws -> LoginSession? {
        let now = context.now()
        let stillValid = session.expiration > now.addingTimeInterval(60)
        if session.hasReachedSessionLimit(at: now) {
            if stillValid { return nil }
            throw LoginSessionProblem.signinRequired(
                profile: source.profile, reason: "a session can be refreshed for at most 12 hours.")
        }
        let client = SigninOAuthClient(
            baseURI: try source.baseURI(region: session.region), transport: context.transport,
            now: context.now)
        context.debug("refreshing the sign-in session of \(source.identityArn) at \(client.tokenURL)")
        do {
            return try await client.refresh(session)
        } catch SigninTokenError.tokenExpired {
            throw LoginSessionProblem.signinRequired(
                profile: source.profile,
                reason:
                    "AWS Sign-In no longer accepts its refresh token (expired, revoked, or the 12-hour limit)."
            )
        } catch SigninTokenError.userCredentialsChanged {
            throw LoginSessionProblem.signinRequired(
                profile: source.profile,
                reason: "the identity's credentials (such as its console password) changed.")
        } catch SigninTokenError.insufficientPermissions {
            throw LoginSessionProblem.missingPermission(profile: source.profile)
        } catch {
            // A passing failure (network, throttling, a server error): the current credentials serve
            // while they last; the stored item is untouched, so the next run tries again.
            if stillValid {
                context.notice(
                    "could not refresh the sign-in session of '\(source.profile)' (\(error)); using the current "
                        + "credentials until \(iso8601(session.expiration)).")
                return nil
            }
            throw LoginSessionProblem.refreshFailed(profile: source.profile, cause: error)
        }
    }
}
