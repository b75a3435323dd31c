import Testing

@testable import Keyring

/// The unlock cache's id is the first 16 hex digits of SHA-256 of the vault path: pinned, since a
/// vault unlocked by an earlier version is found by it.
@Suite struct UnlockCacheIDTests {
    @Test func idIsTheFirstSixteenHexDigits() {
        #expect(FileKeyring.unlockCacheID(forVaultAt: "abc") == "ba7816bf8f01cfea")
    }
}
