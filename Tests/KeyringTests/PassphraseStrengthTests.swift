import Foundation
import Keyring
import Testing

@Suite struct PassphraseStrengthTests {
    /// Weak ones, with a word the reason must contain so the user learns what to change.
    @Test(
        arguments: [
            ("12345", "5 characters"),
            ("abcde", "5 characters"),
            ("pw", "2 characters"),
            ("password", "most common"),
            ("Password1!", "most common"),
            ("dragon2024", "most common"),
            ("QWERTY123", "most common"),
            ("iloveyou", "most common"),
            ("aaaaaaaaaaaaaaaaaaaa", "repeats"),
            ("abababababababab", "repeats"),
            ("abcdefghijklmnopqrst", "run of neighbouring"),
            ("zyxwvutsrqponm", "run of neighbouring"),
            ("qwertyuiopasdfgh", "run of neighbouring"),
            ("3456789012345", "run of neighbouring"),
            ("8675309421", "digits only"),
            ("hunter22", "most common"),
            ("kitten42x", "lower-case letters and digits only"),
            ("nosuchword", "lower-case letters only"),
        ] as [(String, String)])
    func weakPassphrasesAreRefusedWithTheReason(passphrase: String, reason: String) {
        let strength = PassphraseStrength(passphrase)
        #expect(strength.isWeak)
        #expect(strength.weaknesses.joined(separator: "; ").contains(reason), "\(strength.weaknesses)")
    }

    @Test(
        arguments: [
            "correct horse battery staple", "correct horse", "demo passphrase", "bench passphrase",
            "fuzz passphrase", "Tr0ub4dor&3", "zq8#Lm2!", "ünïcödé-pässwörd", "mango tram violet",
            "aws-vault passphrase", "9f3kq2m7xw1p",
        ])
    func reasonablePassphrasesPass(passphrase: String) {
        let strength = PassphraseStrength(passphrase)
        #expect(!strength.isWeak, "\(strength.weaknesses)")
        #expect(strength.estimatedBits >= PassphraseStrength.minimumBits)
    }

    /// A new vault with a weak passphrase is refused before anything is written; allowed, it is
    /// created; opening it later never judges the passphrase again.
    @Test func onlyANewVaultJudgesItsPassphrase() async throws {
        let folder = try TemporaryFolder()
        defer { folder.delete() }
        func keyring(allowWeak: Bool = false) -> FileKeyring {
            FileKeyring(
                directory: folder.vault, passphrase: { _ in "12345" }, scrypt: fastScrypt,
                allowWeakPassphrase: allowWeak)
        }
        do {
            try await keyring().set(item("credentials:doug"))
            Issue.record("a 5-character passphrase created a vault")
        } catch let error as KeyringError {
            guard case .weakPassphrase(let vault, let reasons) = error else {
                Issue.record("expected weakPassphrase, got \(error)")
                return
            }
            #expect(vault == folder.vault.standardizedFileURL.path)
            #expect(reasons.joined().contains("5 characters"))
            #expect(error.description.contains("--allow-weak-passphrase"))
            #expect(error.description.contains("LATCHKEY_ALLOW_WEAK_PASSPHRASE=1"))
            #expect(!error.description.contains("12345"))
        }
        #expect(!FileManager.default.fileExists(atPath: folder.vault.path))

        try await keyring(allowWeak: true).set(item("credentials:doug", secret: "kept"))
        #expect(try await keyring().get("credentials:doug")?.secret == Data("kept".utf8))
        try await keyring().set(item("credentials:doug", secret: "changed"))
        #expect(try await keyring().get("credentials:doug")?.secret == Data("changed".utf8))
    }
}
