import Foundation
import Keyring
import Testing

/// Measurements for the report, not pass/fail on speed (the machine is shared):
/// `LATCHKEY_KEYRING_TIMING=1 swift test -c release --filter FileKeyringTimingTests`.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["LATCHKEY_KEYRING_TIMING"] == "1"))
struct FileKeyringTimingTests {
    private static func median(_ runs: Int, _ body: () async throws -> Void) async rethrows -> Duration {
        let clock = ContinuousClock()
        var samples: [Duration] = []
        for _ in 0..<runs {
            let start = clock.now
            try await body()
            samples.append(clock.now - start)
        }
        return samples.sorted()[runs / 2]
    }

    @Test(arguments: [14, 15, 16, 17])
    func scryptUnlock(log2N: Int) async throws {
        let folder = try TemporaryFolder()
        defer { folder.delete() }
        let script = PassphraseScript("correct horse battery staple")
        let scrypt = ScryptParameters(n: 1 << log2N, r: 8, p: 1)
        try await FileKeyring(directory: folder.vault, passphrase: script.provider, scrypt: scrypt)
            .set(item("credentials:doug"))
        let time = try await Self.median(5) {
            let found = try await FileKeyring(directory: folder.vault, passphrase: script.provider).get(
                "credentials:doug")
            #expect(found != nil)
        }
        print("TIMING scrypt N=2^\(log2N) r=8 p=1 cold get (unlock + read): \(time)")
        #expect(script.requests.count == 6)
    }

    @Test func warmGetWithTheKernelCache() async throws {
        try #require(KernelKeyringUnlockCache.isAvailable)
        let folder = try TemporaryFolder()
        let cache = KernelKeyringUnlockCache()
        let cacheID = FileKeyring.unlockCacheID(forVaultAt: folder.vault.path)
        defer {
            cache.forget(id: cacheID)
            folder.delete()
        }
        let script = PassphraseScript("correct horse battery staple")
        try await FileKeyring(directory: folder.vault, passphrase: script.provider, unlockCache: cache)
            .set(item("credentials:doug"))
        let warm = try await Self.median(300) {
            let keyring = FileKeyring(
                directory: folder.vault, passphrase: noPassphraseExpected, unlockCache: cache)
            let found = try await keyring.get("credentials:doug")
            #expect(found != nil)
        }
        let itemPath = try #require(
            FileManager.default.contentsOfDirectory(atPath: folder.vault.path).first { $0.hasPrefix("item-") }
        )
        let fileOnly = try await Self.median(300) {
            _ = try Data(contentsOf: folder.vault.appendingPathComponent("vault.json"))
            _ = try Data(contentsOf: folder.vault.appendingPathComponent(itemPath))
        }
        let cacheOnly = await Self.median(300) { #expect(cache.load(id: cacheID) != nil) }
        print(
            "TIMING warm get (new instance, kernel cache, one item): \(warm); reading the two files alone: \(fileOnly); kernel cache load: \(cacheOnly)"
        )
        #expect(script.requests.count == 1)
    }
}
