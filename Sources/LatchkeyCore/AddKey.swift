import AWSConfig
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `latchkey add`: checks the pair, keeps it in the keyring (replacing any older key of the
/// profile and dropping sessions made with it), and makes sure the config has the profile
/// (comments and layout kept) unless `configFile` is nil (`--no-config`).
public enum AddKey {
    public struct Outcome: Sendable, Equatable {
        public var backendName: String
        /// True when `[profile NAME]` was written into the config file.
        public var addedProfile: Bool
    }

    public static func run(
        accessKeyId: String, secretAccessKey: String, profile: String, configFile: String?, now: Date,
        store openStore: () throws -> CredentialStore
    ) async throws -> Outcome {
        // The pair is checked before the keyring is opened (which may ask for a passphrase).
        let credentials = try validateKeyPair(accessKeyId: accessKeyId, secretAccessKey: secretAccessKey)
        let store = try openStore()
        try await store.storeLongLivedKey(credentials, profile: profile, now: now)
        try await store.removeSessions(profile: profile)
        let added =
            try configFile.map { try ConfigFileEditor.ensureProfile(profile, inConfigAt: $0) } ?? false
        return Outcome(backendName: store.keyring.backendName, addedProfile: added)
    }
}
