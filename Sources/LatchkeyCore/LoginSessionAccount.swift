import AWSClient
import AWSConfig
import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// The use cases around console sign-in sessions: `latchkey signin`, `signout`, `import aws-login`.
public struct LoginSessionAccount: Sendable {
    public var context: CoreContext
    public var resolver: ProfileResolver

    public init(context: CoreContext, resolver: ProfileResolver) {
        self.context = context
        self.resolver = resolver
    }

    /// How the browser sign-in reaches latchkey.
    public enum Mode: Sendable {
        /// The browser runs here and comes back to a loopback listener; `openBrowser` shows the URL.
        case sameDevice(openBrowser: @Sendable (URL) async throws -> Void)
        /// The browser runs elsewhere; `prompt` shows the URL and returns what the user pasted.
        case crossDevice(prompt: @Sendable (URL) async throws -> String)
    }

    public struct SigninResult: Sendable {
        public var session: LoginSession
        public var region: String
        /// The `login_session` the profile had before, when it named another identity.
        public var replacedIdentity: String?
    }

    /// Keys that make a profile something else; `aws login` refuses such profiles too.
    static let conflictingKeys = [
        "aws_access_key_id", "role_arn", "credential_process", "web_identity_token_file", "sso_session",
        "sso_start_url", "sso_account_id", "sso_role_name",
    ]

    /// Signs in through the browser, stores the session in the keyring (one item) and writes
    /// `login_session = ARN` into the profile (a new profile is added).
    public func signin(profile: String, region requested: String?, mode: Mode, configFile: String)
        async throws
        -> SigninResult
    {
        try await signin(
            profile: profile, region: requested, mode: mode, configFile: configFile, retireKey: false)
    }

    /// `retireKey`: after signing in, retire the profile's stored access key; the profile is rewritten
    /// only once that succeeded. What can be checked without the session (a key is stored, the profile
    /// is not already a sign-in profile) is checked before the browser opens; the session is stored only
    /// once it proved to be the key's own user, and forgotten again when IAM then refuses to retire the
    /// key (unless the keyring already held a session of that identity). On any failure the key stays.
    public func signin(
        profile: String, region requested: String?, mode: Mode, configFile: String, retireKey: Bool
    ) async throws -> SigninResult {
        let own = resolver.config.profile(profile)?.properties ?? [:]
        if let key = Self.conflictingKeys.first(where: { own[$0].flatMap(nonEmpty) != nil }) {
            throw LatchkeyError.invalidSetting(
                profile: profile, key: key, value: "(set)",
                expected: "no \(key) in a profile that uses a console sign-in session; sign in with a "
                    + "new profile, or remove \(key) from this one")
        }
        let section = try resolver.settings(profile, isTarget: true)
        guard
            let source = resolver.loginSessionSource(profile, section, identityArn: ""),
            let region = requested.flatMap(nonEmpty) ?? source.region
        else {
            throw LatchkeyError.invalidSetting(
                profile: profile, key: "region", value: "(none)",
                expected: "a region to sign in to: pass --region, or set region in the profile or AWS_REGION")
        }
        let key = retireKey ? try await retirableKey(profile: profile) : nil
        let flow = SigninFlow(
            region: region, baseURI: try source.baseURI(region: region), transport: context.transport,
            now: context.now)
        let session: LoginSession
        switch mode {
        case .sameDevice(let openBrowser): session = try await flow.sameDevice(openBrowser: openBrowser)
        case .crossDevice(let prompt): session = try await flow.crossDevice(prompt: prompt)
        }
        if let key {
            // Moving off the key: nothing is stored until the session proved to be the key's user, and
            // the profile is rewritten only once the key is gone.
            let userName = try await keyUser(profile: profile, key: key, session: session)
            let heldBefore = try await context.store.loginSessionInventory().contains {
                $0.identityArn == session.identityArn
            }
            try await context.store.storeLoginSession(session, profile: profile)
            do {
                try await retire(profile: profile, key: key, userName: userName, session: session)
            } catch let refusal as RetireKeyRefused {
                if !heldBefore {
                    do {
                        try await context.store.removeLoginSession(identityArn: session.identityArn)
                    } catch {
                        context.notice(
                            "could not forget the new sign-in session of \(session.identityArn) (\(error)); "
                                + "`latchkey signout --all` removes it.")
                    }
                }
                throw refusal
            }
        } else {
            try await context.store.storeLoginSession(session, profile: profile)
        }
        if context.settings.shareCLILoginCache {
            try AWSLoginCache(environment: context.environment).write(session)
        }
        let previous = own["login_session"].flatMap(nonEmpty)
        let writeRegion = own["region"].flatMap(nonEmpty) == nil && requested.flatMap(nonEmpty) != nil
        try await onOwnThread(named: "latchkey-config") {
            try ConfigFileEditor.setProperty(
                "login_session", to: session.identityArn, profile: profile, inConfigAt: configFile)
            if writeRegion {
                try ConfigFileEditor.setProperty(
                    "region", to: region, profile: profile, inConfigAt: configFile)
            }
        }
        return SigninResult(
            session: session, region: region,
            replacedIdentity: previous == session.identityArn ? nil : previous)
    }

    /// The key retirement failed before the key was deleted: it is still stored and working.
    public struct RetireKeyRefused: Error, CustomStringConvertible, Sendable {
        /// Why; the failed call's own error where a call failed.
        public enum Reason: Sendable, CustomStringConvertible {
            /// A refusal latchkey decided itself (the sentence says why).
            case explained(String)
            /// GetCallerIdentity with the key or with the new session failed.
            case identityCheckFailed(any Error)
            /// UpdateAccessKey (to inactive) with the new session failed.
            case deactivationFailed(any Error)
            /// DeleteAccessKey with the new session failed; the key was made active again.
            case deletionFailed(any Error)

            public var description: String {
                switch self {
                case .explained(let text): text
                case .identityCheckFailed(let cause): "GetCallerIdentity failed (\(cause))."
                case .deactivationFailed(let cause): "deactivating it with the new session failed (\(cause))."
                case .deletionFailed(let cause):
                    "deleting it with the new session failed (\(cause)); it was reactivated."
                }
            }
        }

        public var profile: String
        public var reason: Reason

        public init(profile: String, reason: Reason) {
            self.profile = profile
            self.reason = reason
        }

        public init(profile: String, reason: String) {
            self.init(profile: profile, reason: .explained(reason))
        }

        public var description: String {
            "the access key of profile '\(profile)' was not retired: \(reason) The key is still stored and "
                + "works; the profile still uses it."
        }
    }

    /// The checks of `--retire-key` that need no session, made before the browser opens: the profile
    /// is not a sign-in profile already and its key is stored in latchkey. Returns the key.
    public func retirableKey(profile: String) async throws -> AWSCredentials {
        let own = resolver.config.profile(profile)?.properties ?? [:]
        if let arn = own["login_session"].flatMap(nonEmpty) {
            throw RetireKeyRefused(
                profile: profile,
                reason: "it already uses the console sign-in session of \(arn) (login_session), so its key "
                    + "is not the one it uses; `latchkey signin \(profile)` without --retire-key signs in "
                    + "again.")
        }
        guard let key = try await context.store.longLivedKey(profile: profile) else {
            throw RetireKeyRefused(
                profile: profile,
                reason: "no access key is stored for it (`latchkey add \(profile)` stores one).")
        }
        return key
    }

    /// Proves `session` is the IAM user `key` belongs to (GetCallerIdentity with each); returns the
    /// user name.
    public func keyUser(profile: String, key: AWSCredentials, session: LoginSession) async throws -> String {
        func refused(_ reason: RetireKeyRefused.Reason) -> RetireKeyRefused {
            RetireKeyRefused(profile: profile, reason: reason)
        }
        let region = session.region
        let stsEndpoint = try endpoint("sts", profile: profile)
        let keyIdentity: CallerIdentity
        let sessionIdentity: CallerIdentity
        do {
            keyIdentity = try await STSClient(
                credentials: key, region: region, endpoint: stsEndpoint, transport: context.transport,
                now: context.now
            ).getCallerIdentity()
            sessionIdentity = try await STSClient(
                credentials: session.credentials, region: region, endpoint: stsEndpoint,
                transport: context.transport, now: context.now
            ).getCallerIdentity()
        } catch {
            throw refused(.identityCheckFailed(error))
        }
        guard keyIdentity.arn == sessionIdentity.arn, keyIdentity.arn == session.identityArn,
            keyIdentity.arn.contains(":user/"), let userName = session.userName
        else {
            throw refused(
                .explained(
                    "the browser signed in as \(sessionIdentity.arn), but the key belongs to \(keyIdentity.arn); "
                        + "sign in as the key's own IAM user."))
        }
        return userName
    }

    /// Deactivates and deletes the profile's stored IAM access key with the new session, after
    /// proving the session is the key's own user (`keyUser`), then removes the key from the keyring.
    /// Any failure before the delete leaves the key active and stored.
    public func retire(profile: String, session: LoginSession) async throws {
        let key = try await retirableKey(profile: profile)
        let userName = try await keyUser(profile: profile, key: key, session: session)
        try await retire(profile: profile, key: key, userName: userName, session: session)
    }

    private func retire(profile: String, key: AWSCredentials, userName: String, session: LoginSession)
        async throws
    {
        func refused(_ reason: RetireKeyRefused.Reason) -> RetireKeyRefused {
            RetireKeyRefused(profile: profile, reason: reason)
        }
        let iam = IAMClient(
            credentials: session.credentials, region: session.region,
            endpoint: try endpoint("iam", profile: profile), transport: context.transport, now: context.now)
        do {
            try await iam.updateAccessKey(accessKeyId: key.accessKeyId, status: .inactive, userName: userName)
        } catch {
            throw refused(.deactivationFailed(error))
        }
        do {
            try await iam.deleteAccessKey(accessKeyId: key.accessKeyId, userName: userName)
        } catch {
            let reactivated: Bool
            do {
                try await iam.updateAccessKey(
                    accessKeyId: key.accessKeyId, status: .active, userName: userName)
                reactivated = true
            } catch {
                reactivated = false
            }
            guard reactivated else {
                throw LatchkeyError.awsCallFailed(
                    operation: "DeleteAccessKey", profile: profile, cause: error,
                    advice:
                        "; the key is now INACTIVE and still stored: reactivate it in the IAM console "
                        + "or delete it there, then `latchkey remove \(profile)`.")
            }
            throw refused(.deletionFailed(error))
        }
        try await context.store.removeLongLivedKey(profile: profile)
        try await context.store.removeSessions(profile: profile)
    }

    private func endpoint(_ service: String, profile: String) throws -> URL? {
        try resolver.configuredEndpoint(service: service, profile: profile)
    }

    /// Forgets the profile's stored session (and the shared CLI cache file). Returns the identity
    /// forgotten, nil when nothing was stored.
    public func signout(profile: String) async throws -> String? {
        let section = try resolver.settings(profile, isTarget: true)
        guard let arn = section["login_session"].flatMap(nonEmpty) else {
            throw LatchkeyError.invalidSetting(
                profile: profile, key: "login_session", value: "(none)",
                expected: "a profile signed in with `latchkey signin \(profile)`")
        }
        return try await forget(arn) ? arn : nil
    }

    /// Forgets every stored session; returns the identities.
    public func signoutAll() async throws -> [String] {
        var forgotten: [String] = []
        for stored in try await context.store.loginSessionInventory()
        where try await forget(stored.identityArn) {
            forgotten.append(stored.identityArn)
        }
        return forgotten
    }

    private func forget(_ arn: String) async throws -> Bool {
        let removed = try await context.store.removeLoginSession(identityArn: arn)
        if context.settings.shareCLILoginCache {
            let path = AWSLoginCache(environment: context.environment).path(for: arn)
            if FileManager.default.fileExists(atPath: path) {
                try FileManager.default.removeItem(atPath: path)
            }
        }
        return removed
    }

    // MARK: import aws-login

    public struct ImportedSession: Sendable {
        public var identityArn: String
        public var file: String
        public var deleted: Bool
    }

    public struct ImportReport: Sendable {
        public var imported: [ImportedSession] = []
        /// Files that are not sessions latchkey can read: path and why (never a value).
        public var skipped: [(file: String, reason: SkipReason)] = []
    }

    /// Why `importAWSLogin` skipped a file.
    public enum SkipReason: Sendable, CustomStringConvertible {
        /// Reading or parsing the file failed (the error names the field, never a value).
        case unreadable(any Error)
        /// Neither a profile's `login_session` nor the file's ID token names its identity.
        case unnamed

        public var description: String {
            switch self {
            case .unreadable(let cause): "\(cause)"
            case .unnamed: "no profile's login_session and no ID token name its identity"
            }
        }
    }

    /// Moves every session file of the AWS CLI's login cache into the keyring. A file is deleted
    /// only when `delete` says so for it, and only after its session is stored.
    public func importAWSLogin(delete: @Sendable (String) async throws -> Bool) async throws -> ImportReport {
        let cache = AWSLoginCache(environment: context.environment)
        var report = ImportReport()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: cache.directory)) ?? []
        let known = knownIdentities()
        for name in names.sorted() where name.hasSuffix(".json") {
            let path = cache.directory + "/" + name
            let data: Data
            do {
                guard let read = try PrivateFile.read(path) else { continue }
                data = read
            } catch {
                report.skipped.append((path, .unreadable(error)))
                continue
            }
            guard let arn = known[name] ?? Self.identity(ofCacheFile: data),
                LoginSession.cacheFileName(loginSession: arn) == name
            else {
                report.skipped.append((path, .unnamed))
                continue
            }
            let modified =
                (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
                ?? context.now()
            let session: LoginSession
            do {
                session = try LoginSession(
                    cacheFile: data, loginSession: arn, region: regionFor(arn), signedInAt: modified)
            } catch {
                report.skipped.append((path, .unreadable(error)))
                continue
            }
            try await context.store.storeLoginSession(session, profile: profileFor(arn) ?? "")
            var deleted = false
            if try await delete(path) {
                try FileManager.default.removeItem(atPath: path)
                deleted = true
            }
            report.imported.append(ImportedSession(identityArn: arn, file: path, deleted: deleted))
        }
        return report
    }

    /// Cache file name → `login_session` value, for every profile that has one.
    private func knownIdentities() -> [String: String] {
        var found: [String: String] = [:]
        for (_, section) in resolver.config.profiles {
            if let arn = section["login_session"].flatMap(nonEmpty) {
                found[LoginSession.cacheFileName(loginSession: arn)] = arn
            }
        }
        return found
    }

    private func profileFor(_ arn: String) -> String? {
        resolver.config.profiles.first { $0.value["login_session"] == arn }?.key
    }

    private func regionFor(_ arn: String) -> String {
        if let name = profileFor(arn), let region = resolver.config.profile(name)?.region { return region }
        return nonEmpty(context.environment["AWS_REGION"]) ?? nonEmpty(
            context.environment["AWS_DEFAULT_REGION"])
            ?? "us-east-1"
    }

    /// The `sub` of the file's ID token (read without verifying it, as the AWS CLI does).
    static func identity(ofCacheFile data: Data) -> String? {
        guard let object = JSONValue(parsing: data),
            let token = (object["idToken"] ?? object["identityToken"])?.string
        else { return nil }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var text = String(parts[1]).replacing("-", with: "+").replacing("_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let payload = Data(base64Encoded: text),
            let claims = JSONValue(parsing: payload)
        else { return nil }
        return claims["sub"]?.string.flatMap(nonEmpty)
    }
}
