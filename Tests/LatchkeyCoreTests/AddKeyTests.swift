import AWSSigV4
import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

/// `latchkey add` as a use case: checked before the keyring is touched, stored, old sessions
/// dropped, the profile written into the config only when asked.
@Suite struct AddKeyTests {
    static let id = "AKIAIOSFODNN7EXAMPLE"
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

    @Test func aBadPairNeverOpensTheKeyring() async {
        await #expect(throws: LatchkeyError.self) {
            _ = try await AddKey.run(
                accessKeyId: "not-a-key", secretAccessKey: Self.secret, profile: "doug", configFile: nil,
                now: Date()
            ) {
                Issue.record("the keyring was opened for a pair that is not valid")
                return CredentialStore(keyring: InMemoryKeyring())
            }
        }
    }

    @Test func storesDropsOldSessionsAndAddsTheProfileOnce() async throws {
        let store = CredentialStore(keyring: InMemoryKeyring())
        let session = AWSCredentials(
            accessKeyId: "ASIAOLD", secretAccessKey: "s", sessionToken: "t", expiration: Date() + 3600)
        try await store.storeSession(
            session, key: "k", profile: "doug", type: "GetSessionToken", mfaSerial: nil)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("config").path
        try "# mine\n[default]\nregion = eu-west-1\n".write(toFile: config, atomically: true, encoding: .utf8)

        let first = try await AddKey.run(
            accessKeyId: Self.id, secretAccessKey: Self.secret, profile: "doug", configFile: config,
            now: Date()
        ) { store }
        #expect(first == .init(backendName: store.keyring.backendName, addedProfile: true))
        #expect(try await store.longLivedKey(profile: "doug")?.accessKeyId == Self.id)
        #expect(try await store.session(key: "k") == nil)
        let text = try String(contentsOfFile: config, encoding: .utf8)
        #expect(text.hasPrefix("# mine\n[default]\nregion = eu-west-1\n") && text.contains("[profile doug]"))

        let again = try await AddKey.run(
            accessKeyId: Self.id, secretAccessKey: Self.secret, profile: "doug", configFile: config,
            now: Date()
        ) { store }
        #expect(!again.addedProfile)
        #expect(try String(contentsOfFile: config, encoding: .utf8) == text)

        let keyringOnly = try await AddKey.run(
            accessKeyId: Self.id, secretAccessKey: Self.secret, profile: "ci", configFile: nil, now: Date()
        ) { store }
        #expect(!keyringOnly.addedProfile)
        #expect(
            try String(contentsOfFile: config, encoding: .utf8) == text, "--no-config leaves the file alone")
    }
}
