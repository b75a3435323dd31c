#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One secret in a keyring, with the non-secret facts stored next to it.
public struct KeyringItem: Sendable, Equatable, CustomStringConvertible {
    /// The lookup key, e.g. `credentials:doug` or `session:doug:GetSessionToken:ab12`.
    public var key: String
    /// A name for people, e.g. `latchkey: doug`.
    public var label: String
    /// Not secret: listed without decrypting (profile, kind, expiration...).
    public var metadata: [String: String]
    public var secret: Data

    public init(key: String, label: String, metadata: [String: String] = [:], secret: Data) {
        self.key = key
        self.label = label
        self.metadata = metadata
        self.secret = secret
    }

    public var description: String {
        "KeyringItem(key: \(key), label: \(label), metadata: \(metadata), secret: <\(secret.count) bytes>)"
    }
}

/// What `list()` shows about an item: everything but the secret.
public struct KeyringItemInfo: Sendable, Equatable {
    public var key: String
    public var label: String
    public var metadata: [String: String]
    public var modified: Date?

    public init(key: String, label: String, metadata: [String: String] = [:], modified: Date? = nil) {
        self.key = key
        self.label = label
        self.metadata = metadata
        self.modified = modified
    }
}

/// A store of secrets (OS keyring, encrypted files, ...).
public protocol Keyring: Sendable {
    /// A short name such as `file`, shown to users and used in configuration.
    var backendName: String { get }
    /// The item, or nil when absent.
    func get(_ key: String) async throws -> KeyringItem?
    /// Adds the item or replaces the one with the same key.
    func set(_ item: KeyringItem) async throws
    /// Removes the item; false when it was absent.
    @discardableResult func remove(_ key: String) async throws -> Bool
    /// Every item without its secret; never needs the passphrase.
    func list() async throws -> [KeyringItemInfo]
}

/// Why a passphrase is asked for.
public enum PassphrasePurpose: Sendable, Equatable {
    /// Open the existing vault at this path.
    case unlock(vault: String)
    /// Choose the passphrase of a new vault at this path (the caller confirms it by asking twice).
    case create(vault: String)
}

/// Where a file keyring's passphrase comes from (a terminal prompt, an environment variable, a test).
public typealias PassphraseProvider = @Sendable (PassphrasePurpose) async throws -> String
