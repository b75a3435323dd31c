import AWSClient
import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Keyring
import SystemSupport

/// latchkey's items in a keyring: long-lived keys under `credentials:PROFILE` and cached sessions
/// under `session:PROFILE:TYPE:FINGERPRINT`, with what `list` needs in the (non-secret) metadata
/// so listing and expiry never decrypt anything.
public struct CredentialStore: Sendable {
    public let keyring: any Keyring

    public init(keyring: any Keyring) {
        self.keyring = keyring
    }

    static func credentialsKey(_ profile: String) -> String { "credentials:\(profile)" }

    // MARK: Long-lived keys

    public func storeLongLivedKey(_ credentials: AWSCredentials, profile: String, now: Date) async throws {
        let record = StoredSecret(
            accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey)
        try await keyring.set(
            KeyringItem(
                key: Self.credentialsKey(profile),
                label: "latchkey: \(profile)",
                metadata: [
                    "kind": "credentials", "profile": profile,
                    "access_key_id": credentials.accessKeyId, "added": iso8601(now),
                ],
                secret: try JSONEncoder().encode(record)))
    }

    public func longLivedKey(profile: String) async throws -> AWSCredentials? {
        let key = Self.credentialsKey(profile)
        guard let item = try await keyring.get(key) else { return nil }
        guard let record = StoredSecret(json: item.secret) else {
            throw LatchkeyError.corruptStoredItem(key: key)
        }
        return AWSCredentials(accessKeyId: record.accessKeyId, secretAccessKey: record.secretAccessKey)
    }

    @discardableResult
    public func removeLongLivedKey(profile: String) async throws -> Bool {
        try await keyring.remove(Self.credentialsKey(profile))
    }

    // MARK: Sessions

    public func storeSession(
        _ credentials: AWSCredentials, key: String, profile: String, type: String, mfaSerial: String?
    ) async throws {
        guard let token = credentials.sessionToken, let expiration = credentials.expiration else { return }
        let record = StoredSecret(
            accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey,
            sessionToken: token, expiration: Int64(expiration.timeIntervalSince1970))
        var metadata = [
            "kind": "session", "profile": profile, "type": type, "expiration": iso8601(expiration),
        ]
        metadata["mfa_serial"] = mfaSerial
        try await keyring.set(
            KeyringItem(
                key: key, label: "latchkey session: \(profile) (\(type))", metadata: metadata,
                secret: try JSONEncoder().encode(record)))
    }

    /// A cached session, or nil when absent or unreadable (a damaged cache entry is not worth
    /// failing for: a new session replaces it).
    public func session(key: String) async throws -> AWSCredentials? {
        guard let item = try await keyring.get(key),
            let record = StoredSecret(json: item.secret),
            let token = record.sessionToken, let expiration = record.expiration
        else { return nil }
        return AWSCredentials(
            accessKeyId: record.accessKeyId, secretAccessKey: record.secretAccessKey, sessionToken: token,
            expiration: Date(timeIntervalSince1970: TimeInterval(expiration)))
    }

    // MARK: Rotation journals

    static func rotationKey(_ profile: String) -> String { "rotation:\(profile)" }

    public func storeRotationJournal(_ journal: KeyRotation.Journal, profile: String) async throws {
        try await keyring.set(
            KeyringItem(
                key: Self.rotationKey(profile), label: "latchkey rotation in progress: \(profile)",
                metadata: ["kind": "rotation", "profile": profile, "started": iso8601(journal.started)],
                secret: try JSONEncoder().encode(journal)))
    }

    public func rotationJournal(profile: String) async throws -> KeyRotation.Journal? {
        guard let item = try await keyring.get(Self.rotationKey(profile)) else { return nil }
        return try JSONDecoder().decode(KeyRotation.Journal.self, from: item.secret)
    }

    public func removeRotationJournal(profile: String) async throws {
        _ = try await keyring.remove(Self.rotationKey(profile))
    }

    // MARK: IAM Identity Center tokens

    static func ssoTokenKey(_ name: String) -> String { "sso-token:\(name)" }

    public func storeSSOToken(_ token: SSOToken, name: String) async throws {
        try await keyring.set(
            KeyringItem(
                key: Self.ssoTokenKey(name), label: "latchkey IAM Identity Center sign-in: \(name)",
                metadata: ["kind": "sso-token", "profile": name, "expiration": iso8601(token.expiresAt)],
                secret: try JSONEncoder().encode(token)))
    }

    /// The stored sign-in, nil when absent or unreadable (signing in again replaces it).
    public func ssoToken(name: String) async throws -> SSOToken? {
        guard let item = try await keyring.get(Self.ssoTokenKey(name)) else { return nil }
        return try? JSONDecoder().decode(SSOToken.self, from: item.secret)
    }

    @discardableResult
    public func removeSSOToken(name: String) async throws -> Bool {
        try await keyring.remove(Self.ssoTokenKey(name))
    }

    /// Everything stored, described from metadata alone.
    public func inventory() async throws -> Inventory {
        var inventory = Inventory()
        for info in try await keyring.list() {
            if let login = Self.storedLoginSession(info) {
                inventory.loginSessions.append(login)
                continue
            }
            guard let profile = info.metadata["profile"] else { continue }
            switch info.metadata["kind"] {
            case "credentials":
                inventory.credentials.append(
                    .init(
                        profile: profile, accessKeyId: info.metadata["access_key_id"],
                        added: info.metadata["added"].flatMap(parseISO8601)))
            case "rotation":
                inventory.unfinishedRotations.append(
                    .init(profile: profile, started: info.metadata["started"].flatMap(parseISO8601)))
            case "session":
                inventory.sessions.append(
                    .init(
                        key: info.key, profile: profile, type: info.metadata["type"] ?? "?",
                        mfaSerial: info.metadata["mfa_serial"],
                        expiration: info.metadata["expiration"].flatMap(parseISO8601)))
            default: continue
            }
        }
        inventory.credentials.sort { $0.profile < $1.profile }
        inventory.sessions.sort { ($0.profile, $0.key) < ($1.profile, $1.key) }
        inventory.loginSessions.sort { $0.identityArn < $1.identityArn }
        return inventory
    }

    /// Removes cached sessions: those of one profile (or all), or only the expired ones.
    @discardableResult
    public func removeSessions(profile: String? = nil, expiredBefore cutoff: Date? = nil) async throws -> Int
    {
        var removed = 0
        for session in try await inventory().sessions {
            if let profile, session.profile != profile { continue }
            if let cutoff, let expiration = session.expiration, expiration > cutoff { continue }
            if try await keyring.remove(session.key) { removed += 1 }
        }
        return removed
    }

    public struct Inventory: Sendable {
        public var credentials: [StoredKey] = []
        public var sessions: [CachedSession] = []
        /// Rotations that stopped before they finished (see `KeyRotation.Journal`).
        public var unfinishedRotations: [UnfinishedRotation] = []
        /// Console sign-in sessions (`latchkey signin`).
        public var loginSessions: [StoredLoginSession] = []
    }

    public struct UnfinishedRotation: Sendable, Equatable {
        public var profile: String
        public var started: Date?
    }

    public struct StoredKey: Sendable, Equatable {
        public var profile: String
        public var accessKeyId: String?
        public var added: Date?
    }

    public struct CachedSession: Sendable, Equatable {
        public var key: String
        public var profile: String
        public var type: String
        public var mfaSerial: String?
        public var expiration: Date?
    }
}

/// The JSON inside a keyring item's secret.
struct StoredSecret: Encodable {
    var accessKeyId: String
    var secretAccessKey: String
    var sessionToken: String?
    var expiration: Int64?
}

extension StoredSecret {
    /// Read by hand, as `JSONDecoder` would (the hot path reads one on every warm `export`, issue 16):
    /// both keys are required strings, the token a string and the expiration whole seconds when present.
    init?(json: Data) {
        guard let object = JSONValue(parsing: json)?.object, let accessKeyId = object["accessKeyId"]?.string,
            let secretAccessKey = object["secretAccessKey"]?.string
        else { return nil }
        self.init(accessKeyId: accessKeyId, secretAccessKey: secretAccessKey)
        switch object["sessionToken"] {
        case nil, .null?: break
        case .string(let token)?: sessionToken = token
        default: return nil
        }
        switch object["expiration"] {
        case nil, .null?: break
        case let value?:
            guard let seconds = value.int else { return nil }
            expiration = Int64(seconds)
        }
    }
}
