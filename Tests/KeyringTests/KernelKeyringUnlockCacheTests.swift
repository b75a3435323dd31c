import Foundation
import Keyring
import Testing

/// The line of /proc/keys describing our key (serial flags usage timeout perm uid gid type description).
private func procKeysLine(_ description: String) throws -> [Substring]? {
    let text = try String(contentsOfFile: "/proc/keys", encoding: .utf8)
    return text.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        .first { $0.count >= 9 && $0[8].hasPrefix(description) }
}

/// Real kernel keyring tests: they run where the key syscalls work (they do here, in `@u`).
/// Where they do not (macOS, locked-down containers) only the "does nothing" behaviour is checked.
@Suite struct KernelKeyringUnlockCacheTests {
    private let id = "test-\(UUID().uuidString.prefix(12).lowercased())"
    private let cache = KernelKeyringUnlockCache()
    private let key = (0..<32).map { UInt8($0 * 7 % 256) }

    @Test func storesLoadsAndForgets() throws {
        defer { cache.forget(id: id) }
        guard KernelKeyringUnlockCache.isAvailable else {
            cache.store(id: id, key: key, ttl: 60)
            #expect(cache.load(id: id) == nil)  // unavailable: silently caches nothing
            return
        }
        #expect(cache.load(id: id) == nil)
        cache.store(id: id, key: key, ttl: 60)
        #expect(cache.load(id: id) == key)
        let replacement = [UInt8](repeating: 1, count: 32)
        cache.store(id: id, key: replacement, ttl: 60)
        #expect(cache.load(id: id) == replacement)
        cache.forget(id: id)
        #expect(cache.load(id: id) == nil)
    }

    @Test func keyHasATimeoutAndNoGroupOrOtherPermissions() throws {
        defer { cache.forget(id: id) }
        try #require(KernelKeyringUnlockCache.isAvailable, "kernel key API unavailable here")
        cache.store(id: id, key: key, ttl: 600)
        let line = try #require(try procKeysLine(KernelKeyringUnlockCache.namePrefix + id))
        #expect(line[7] == "user")
        #expect(line[3] != "perm")  // "perm" would mean no expiry
        #expect(line[3].hasSuffix("m") || line[3].hasSuffix("s"))
        let permissions = try #require(UInt32(line[4], radix: 16))
        #expect(permissions & 0x0000_ffff == 0)  // nothing for group or others
        #expect(permissions & 0x0002_0000 != 0)  // the same user (a later process) may read it
    }

    @Test func ttlZeroStoresNothing() throws {
        defer { cache.forget(id: id) }
        cache.store(id: id, key: key, ttl: 0)
        #expect(cache.load(id: id) == nil)
    }

    @Test func fileKeyringAsksOnceAcrossInstancesSharingTheKernelCache() async throws {
        try #require(KernelKeyringUnlockCache.isAvailable, "kernel key API unavailable here")
        let folder = try TemporaryFolder()
        let script = PassphraseScript("correct horse battery staple")
        func keyring() -> FileKeyring {
            FileKeyring(
                directory: folder.vault, passphrase: script.provider, unlockCache: cache, scrypt: fastScrypt)
        }
        let cacheID = FileKeyring.unlockCacheID(forVaultAt: folder.vault.path)
        defer {
            cache.forget(id: cacheID)
            folder.delete()
        }
        try await keyring().set(item("credentials:doug", secret: "from the kernel"))
        #expect(cacheID.count == 16)
        #expect(cache.load(id: cacheID)?.count == 32)
        #expect(try await keyring().get("credentials:doug")?.secret == Data("from the kernel".utf8))
        #expect(script.requests == [.create(vault: folder.vault.path)])

        await keyring().lock()  // forgets the kernel copy too
        #expect(cache.load(id: cacheID) == nil)
        _ = try await keyring().get("credentials:doug")
        #expect(script.requests.count == 2)
    }
}
