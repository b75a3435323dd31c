import Foundation
import Keyring
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A vault in a temp folder with one passphrase script and a shared fake unlock cache.
private struct Vault {
    let folder: TemporaryFolder
    let script: PassphraseScript
    let cache = RecordingUnlockCache()

    init(passphrase: String = "correct horse battery staple") throws {
        folder = try TemporaryFolder()
        script = PassphraseScript(passphrase)
    }

    var path: String { folder.vault.path }

    func keyring(
        _ provider: PassphraseProvider? = nil, cache: (any UnlockCache)? = nil, ttl: Int = 900,
        lockTimeout: Duration = .seconds(10), now: @escaping @Sendable () -> Date = { Date() }
    ) -> FileKeyring {
        FileKeyring(
            directory: folder.vault, passphrase: provider ?? script.provider,
            unlockCache: cache ?? NoUnlockCache(),
            unlockCacheTTL: ttl, scrypt: fastScrypt, lockTimeout: lockTimeout, now: now)
    }

    /// Path of the item file for `key`.
    func itemFile(_ key: String) throws -> String {
        try VaultFiles(path: path).itemFile(key)
    }

    func editJSON(_ file: String, _ change: (inout [String: Any]) -> Void) throws {
        try VaultFiles(path: path).edit(file, change)
    }
}

private struct NoSuchItemFile: Error {
    let key: String
}

/// Flips the first bit of a base64 field.
private func flipFirstBit(_ base64: Any?) -> String {
    var bytes = Data(base64Encoded: base64 as? String ?? "") ?? Data([0])
    bytes[bytes.startIndex] ^= 1
    return bytes.base64EncodedString()
}

/// Ways to tamper with a stored item; each must make `get` fail authentication.
enum Tamper: String, CaseIterable, Sendable {
    case metadataValue, metadataAdded, metadataRemoved, label, modified, ciphertext, tag, nonce, salt
    case keyField, swappedFiles

    func apply(to vaultPath: String, victim: String, other: String) throws {
        let vault = VaultFiles(path: vaultPath)
        let file = try vault.itemFile(victim)
        switch self {
        case .metadataValue:
            try vault.edit(file) { $0["metadata"] = ["profile": "mallory", "kind": "credentials"] }
        case .metadataAdded:
            try vault.edit(file) { $0["metadata"] = ["profile": "doug", "kind": "credentials", "x": "y"] }
        case .metadataRemoved: try vault.edit(file) { $0["metadata"] = ["profile": "doug"] }
        case .label: try vault.edit(file) { $0["label"] = "latchkey: mallory" }
        case .modified: try vault.edit(file) { $0["modified"] = "2001-01-01T00:00:00Z" }
        case .ciphertext: try vault.edit(file) { $0["ciphertext"] = flipFirstBit($0["ciphertext"]) }
        case .tag:
            try vault.edit(file) {
                var bytes = Data(base64Encoded: $0["ciphertext"] as? String ?? "") ?? Data()
                bytes[bytes.index(before: bytes.endIndex)] ^= 0x80
                $0["ciphertext"] = bytes.base64EncodedString()
            }
        case .nonce: try vault.edit(file) { $0["nonce"] = flipFirstBit($0["nonce"]) }
        case .salt: try vault.edit(file) { $0["salt"] = flipFirstBit($0["salt"]) }
        case .keyField:
            // The other item's file claims to be the victim, under the victim's file name.
            try FileManager.default.removeItem(atPath: file)
            try FileManager.default.copyItem(atPath: try vault.itemFile(other), toPath: file)
            try vault.edit(file) { $0["key"] = victim }
        case .swappedFiles:
            let otherFile = try vault.itemFile(other)
            try FileManager.default.removeItem(atPath: file)
            try FileManager.default.copyItem(atPath: otherFile, toPath: file)
        }
    }
}

/// Finds and edits item files (by their `key` field, not by guessing the name encoding).
private struct VaultFiles {
    let path: String

    func itemFile(_ key: String) throws -> String {
        for name in try FileManager.default.contentsOfDirectory(atPath: path) where name.hasPrefix("item-") {
            let data = try Data(contentsOf: URL(fileURLWithPath: path + "/" + name))
            if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                object["key"] as? String == key
            {
                return path + "/" + name
            }
        }
        throw NoSuchItemFile(key: key)
    }

    func edit(_ file: String, _ change: (inout [String: Any]) -> Void) throws {
        let url = URL(fileURLWithPath: file)
        var object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        change(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
    }
}

@Suite struct FileKeyringTests {
    @Test func firstWriteCreatesTheVaultAskingOnceToCreate() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        let keyring = vault.keyring()
        try await keyring.set(item("credentials:doug"))
        try await keyring.set(item("credentials:ann"))
        #expect(try await keyring.get("credentials:doug") != nil)
        #expect(vault.script.requests == [.create(vault: vault.path)])
        let header = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: vault.folder.vault.appendingPathComponent("vault.json")))
                as? [String: Any])
        let kdf = try #require(header["kdf"] as? [String: Any])
        #expect(kdf["name"] as? String == "scrypt")
        #expect(kdf["n"] as? Int == fastScrypt.n)
        #expect(Data(base64Encoded: kdf["salt"] as? String ?? "")?.count == 32)
    }

    @Test func reopeningAsksToUnlockAndReadsWhatWasWritten() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        try await vault.keyring().set(item("credentials:doug", secret: "kept"))
        let reopened = vault.keyring()
        #expect(try await reopened.get("credentials:doug")?.secret == Data("kept".utf8))
        #expect(vault.script.requests == [.create(vault: vault.path), .unlock(vault: vault.path)])
    }

    @Test func wrongPassphraseIsDetectedAndWritesNothing() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        try await vault.keyring().set(item("credentials:doug"))
        let before = try FolderSnapshot(vault.path)

        let wrong = PassphraseScript("incorrect horse")
        let keyring = vault.keyring(wrong.provider, cache: vault.cache)
        await #expect(throws: KeyringError.wrongPassphrase(vault: vault.path)) {
            try await keyring.get("credentials:doug")
        }
        await #expect(throws: KeyringError.wrongPassphrase(vault: vault.path)) {
            try await keyring.set(item("credentials:ann"))
        }
        #expect(try FolderSnapshot(vault.path) == before)
        #expect(vault.cache.stores.isEmpty)
        let message = KeyringError.wrongPassphrase(vault: vault.path).description
        #expect(message.contains("does not open the vault at \(vault.path)"))
        #expect(!message.contains("incorrect horse"))
    }

    @Test func emptyPassphraseIsRefusedOnCreate() async throws {
        let vault = try Vault(passphrase: "")
        defer { vault.folder.delete() }
        await #expect(throws: KeyringError.emptyPassphrase(vault: vault.path)) {
            try await vault.keyring().set(item("credentials:doug"))
        }
        #expect(!FileManager.default.fileExists(atPath: vault.path))
    }

    @Test func filesAre0600InA0700Folder() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        let old = umask(0)  // the most permissive umask must not leak into our modes
        defer { umask(old) }
        let keyring = vault.keyring()
        try await keyring.set(item("credentials:doug"))
        try await keyring.remove("credentials:nobody")
        #expect(try permissions(vault.path) == 0o700)
        let names = try FileManager.default.contentsOfDirectory(atPath: vault.path).sorted()
        #expect(names.count == 3)  // vault.json, .lock, one item
        for name in names {
            #expect(try permissions(vault.path + "/" + name) == 0o600, "\(name)")
        }
    }

    @Test(arguments: [0o750, 0o705, 0o777, 0o710])
    func refusesAFolderOthersCanEnter(mode: Int) async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        let keyring = vault.keyring()
        try await keyring.set(item("credentials:doug"))
        #expect(chmod(vault.path, mode_t(mode)) == 0)
        let before = try FolderSnapshot(vault.path)
        let expected = KeyringError.insecurePermissions(path: vault.path, mode: UInt32(mode))
        await #expect(throws: expected) { try await vault.keyring().get("credentials:doug") }
        await #expect(throws: expected) { try await keyring.set(item("credentials:ann")) }
        await #expect(throws: expected) { try await keyring.remove("credentials:doug") }
        await #expect(throws: expected) { try await keyring.list() }
        #expect(try FolderSnapshot(vault.path) == before)
        #expect(expected.description.contains("chmod 700 \(vault.path)"))
    }

    @Test(arguments: Tamper.allCases)
    func tamperingFailsAuthentication(tamper: Tamper) async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        let keyring = vault.keyring()
        try await keyring.set(item("credentials:doug", metadata: ["profile": "doug", "kind": "credentials"]))
        try await keyring.set(item("credentials:ann", secret: "ann's", metadata: ["profile": "ann"]))
        let victimFile = try vault.itemFile("credentials:doug")
        try tamper.apply(to: vault.path, victim: "credentials:doug", other: "credentials:ann")

        await #expect(throws: KeyringError.tamperedItem(file: victimFile)) {
            try await vault.keyring().get("credentials:doug")
        }
        #expect(try await vault.keyring().get("credentials:ann")?.secret == Data("ann's".utf8))
    }

    @Test func listLeavesOutFilesRenamedToAnotherKey() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        try await vault.keyring().set(item("credentials:doug"))
        try await vault.keyring().set(item("credentials:ann"))
        try await vault.keyring().set(item("credentials:bob"))
        try Tamper.swappedFiles.apply(to: vault.path, victim: "credentials:doug", other: "credentials:ann")
        #expect(
            try await vault.keyring(noPassphraseExpected).list().map(\.key) == [
                "credentials:ann", "credentials:bob",
            ])
    }

    @Test func truncatedItemGivesAClearErrorAndOthersStillRead() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        let keyring = vault.keyring()
        try await keyring.set(item("credentials:doug"))
        try await keyring.set(item("credentials:ann", secret: "ann's"))
        let broken = try vault.itemFile("credentials:doug")
        let data = try Data(contentsOf: URL(fileURLWithPath: broken))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: broken))

        let fresh = vault.keyring()
        await #expect(
            throws: KeyringError.corruptItem(file: broken, reason: "it is not a complete latchkey item")
        ) {
            try await fresh.get("credentials:doug")
        }
        #expect(try await fresh.get("credentials:ann")?.secret == Data("ann's".utf8))
        try await fresh.set(item("credentials:bob"))
        #expect(try await fresh.get("credentials:bob") != nil)
        #expect(try await fresh.list().map(\.key) == ["credentials:ann", "credentials:bob"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: broken)) == data.prefix(data.count / 2))
        #expect(KeyringError.corruptItem(file: broken, reason: "x").description.contains(broken))
        // The damaged item can be replaced by writing it again.
        try await fresh.set(item("credentials:doug", secret: "again"))
        #expect(try await fresh.get("credentials:doug")?.secret == Data("again".utf8))
    }

    @Test func corruptVaultHeaderIsNamed() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        try await vault.keyring().set(item("credentials:doug"))
        let header = vault.path + "/vault.json"
        try Data("{\"format\":".utf8).write(to: URL(fileURLWithPath: header))
        await #expect(
            throws: KeyringError.corruptVault(
                file: header, reason: "it is not a complete latchkey vault header")
        ) {
            try await vault.keyring().get("credentials:doug")
        }
    }

    @Test func forgedHeaderWithHugeCostIsRefused() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        try await vault.keyring().set(item("credentials:doug"))
        let header = vault.path + "/vault.json"
        try vault.editJSON(header) {
            var kdf = $0["kdf"] as? [String: Any] ?? [:]
            kdf["n"] = 1 << 30
            $0["kdf"] = kdf
        }
        await #expect(
            throws: KeyringError.corruptVault(
                file: header, reason: "its key derivation parameters are invalid")
        ) {
            try await vault.keyring(noPassphraseExpected).get("credentials:doug")
        }
    }

    @Test func noPlaintextSecretOrPassphraseInAnyFile() async throws {
        let passphrase = "correct horse battery staple"
        let vault = try Vault(passphrase: passphrase)
        defer { vault.folder.delete() }
        let secrets = ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AQoDYXdzEJr//session-token//EXAMPLE"]
        let keyring = vault.keyring()
        for (index, secret) in secrets.enumerated() {
            try await keyring.set(item("credentials:\(index)", secret: secret))
        }
        try await keyring.set(item("credentials:0", secret: secrets[0]))  // a rewrite too
        var needles = secrets.map { Data($0.utf8) } + [Data(passphrase.utf8)]
        needles += secrets.map { Data(Data($0.utf8).base64EncodedString().utf8) }
        needles.append(Data(Data(passphrase.utf8).base64EncodedString().utf8))
        let snapshot = try FolderSnapshot(vault.path)
        #expect(snapshot.files.count == 4)
        for (name, bytes) in snapshot.files {
            for needle in needles { #expect(!contains(bytes, needle), "\(name)") }
        }
    }

    @Test func itemFilesAreNamedByBase32OfTheKey() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        let keyring = vault.keyring()
        // RFC 4648 base32 vectors, lowercase without padding.
        let vectors = [
            "f": "my", "fo": "mzxq", "foo": "mzxw6", "foob": "mzxw6yq", "fooba": "mzxw6ytb",
            "foobar": "mzxw6ytboi",
        ]
        for key in vectors.keys { try await keyring.set(item(key)) }
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: vault.path))
        for (key, encoded) in vectors {
            #expect(names.contains("item-\(encoded).json"), "\(key)")
        }
    }

    @Test func pathTraversalKeysStayInTheFolder() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        try await vault.keyring().set(item("../../escape"))
        try await vault.keyring().set(item("/etc/passwd"))
        let parentEntries = try FileManager.default.contentsOfDirectory(atPath: vault.folder.path)
        #expect(parentEntries == ["keyring"])
        let names = try FileManager.default.contentsOfDirectory(atPath: vault.path)
        for name in names where name.hasPrefix("item-") {
            #expect(
                name.dropFirst(5).dropLast(5).allSatisfy { "abcdefghijklmnopqrstuvwxyz234567".contains($0) })
        }
    }

    @Test func unusableKeysAreRefused() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        let keyring = vault.keyring()
        await #expect(throws: KeyringError.invalidKey(key: "", reason: "the key is empty")) {
            try await keyring.set(item(""))
        }
        let long = String(repeating: "x", count: 200)
        await #expect(throws: KeyringError.self) { try await keyring.set(item(long)) }
        await #expect(throws: KeyringError.self) { try await keyring.get(long) }
        let longest = String(repeating: "y", count: 153)
        try await keyring.set(item(longest))
        #expect(try await keyring.get(longest) != nil)
    }

    @Test func readsNeverAskWhenNothingNeedsDecrypting() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        let empty = vault.keyring(noPassphraseExpected)
        #expect(try await empty.get("credentials:doug") == nil)
        #expect(try await empty.list().isEmpty)
        #expect(try await empty.remove("credentials:doug") == false)
        #expect(!FileManager.default.fileExists(atPath: vault.path))

        try await vault.keyring().set(item("credentials:doug", metadata: ["profile": "doug"]))
        let locked = vault.keyring(noPassphraseExpected)
        #expect(try await locked.get("credentials:ann") == nil)
        #expect(try await locked.list().map(\.metadata) == [["profile": "doug"]])
        #expect(try await locked.remove("credentials:doug"))
        #expect(try await locked.list().isEmpty)
    }

    @Test func listShowsModifiedTimeFromTheInjectedClock() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        let moment = Date(timeIntervalSince1970: 1_800_000_000.75)
        try await vault.keyring(now: { moment }).set(item("credentials:doug"))
        #expect(
            try await vault.keyring().list().first?.modified == Date(timeIntervalSince1970: 1_800_000_000))
    }

    @Test func unlockCacheSkipsThePassphraseAcrossInstances() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        try await vault.keyring(cache: vault.cache).set(item("credentials:doug", secret: "cached"))
        let second = vault.keyring(cache: vault.cache)
        #expect(try await second.get("credentials:doug")?.secret == Data("cached".utf8))
        #expect(vault.script.requests == [.create(vault: vault.path)])
        #expect(vault.cache.stores.map(\.ttl) == [900])
        #expect(vault.cache.stores.map(\.id) == [FileKeyring.unlockCacheID(forVaultAt: vault.path)])
    }

    @Test func ttlZeroDisablesTheCache() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        try await vault.keyring(cache: vault.cache, ttl: 0).set(item("credentials:doug"))
        _ = try await vault.keyring(cache: vault.cache, ttl: 0).get("credentials:doug")
        #expect(vault.script.requests == [.create(vault: vault.path), .unlock(vault: vault.path)])
        #expect(vault.cache.load(id: FileKeyring.unlockCacheID(forVaultAt: vault.path)) == nil)
    }

    @Test func aStaleCachedKeyIsForgottenAndThePassphraseAsked() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        let id = FileKeyring.unlockCacheID(forVaultAt: vault.path)
        try await vault.keyring().set(item("credentials:doug"))
        vault.cache.store(id: id, key: [UInt8](repeating: 7, count: 32), ttl: 900)  // from an older vault
        #expect(try await vault.keyring(cache: vault.cache).get("credentials:doug") != nil)
        #expect(vault.script.requests.last == .unlock(vault: vault.path))
        #expect(vault.cache.forgets == [id])
        #expect(vault.cache.load(id: id) != [UInt8](repeating: 7, count: 32))
    }

    @Test func lockForgetsTheKey() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        let keyring = vault.keyring(cache: vault.cache)
        try await keyring.set(item("credentials:doug"))
        await keyring.lock()
        _ = try await keyring.get("credentials:doug")
        #expect(vault.script.requests == [.create(vault: vault.path), .unlock(vault: vault.path)])
    }

    @Test func concurrentFirstAccessAsksOnce() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        try await vault.keyring().set(item("credentials:doug"))
        let keyring = vault.keyring()
        try await withThrowingTaskGroup(of: KeyringItem?.self) { group in
            for _ in 0..<16 { group.addTask { try await keyring.get("credentials:doug") } }
            for try await found in group { #expect(found != nil) }
        }
        #expect(vault.script.requests.count == 2)  // create + one unlock
    }

    @Test func writersInSeparateInstancesLoseNothing() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        try await vault.keyring().set(item("seed"))
        let instances = (0..<4).map { _ in vault.keyring() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (writer, keyring) in instances.enumerated() {
                group.addTask {
                    for index in 0..<10 { try await keyring.set(item("w\(writer):\(index)")) }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await vault.keyring().list().count == 41)
    }

    @Test func concurrentCreatorsShareOneVault() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        let instances = (0..<4).map { _ in vault.keyring() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, keyring) in instances.enumerated() {
                group.addTask { try await keyring.set(item("creator:\(index)")) }
            }
            try await group.waitForAll()
        }
        let reader = vault.keyring()
        for index in 0..<4 { #expect(try await reader.get("creator:\(index)") != nil) }
    }

    @Test func aHeldLockTimesOutClearlyAndWritesNothing() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        let keyring = vault.keyring(lockTimeout: .milliseconds(200))
        try await keyring.set(item("credentials:doug"))
        let lockPath = vault.path + "/.lock"
        let fd = open(lockPath, O_RDWR | O_CLOEXEC)
        #expect(fd >= 0)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX) == 0)  // another writer holds it
        let before = try FolderSnapshot(vault.path)
        await #expect(throws: KeyringError.lockTimeout(path: lockPath, seconds: 0.2)) {
            try await keyring.set(item("credentials:ann"))
        }
        #expect(try FolderSnapshot(vault.path) == before)
        #expect(try await keyring.get("credentials:doug") != nil)  // reads need no lock
    }

    @Test func staleTempFileFromAKilledWriterIsIgnoredThenCleaned() async throws {
        let vault = try Vault()
        defer { vault.folder.delete() }
        let keyring = vault.keyring()
        try await keyring.set(item("credentials:doug", secret: "intact"))
        let stale = vault.path + "/.tmp-0123456789abcdef"
        try Data("{\"version\":1,\"key\":\"credentials:do".utf8).write(to: URL(fileURLWithPath: stale))

        #expect(try await keyring.list().map(\.key) == ["credentials:doug"])
        #expect(try await vault.keyring().get("credentials:doug")?.secret == Data("intact".utf8))
        try await keyring.set(item("credentials:ann"))
        #expect(!FileManager.default.fileExists(atPath: stale))
    }
}
