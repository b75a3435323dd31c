// FileKeyring: an encrypted keyring in a folder of files (backend "file").
//
// Construction (format version 1):
// - `vault.json`, created on the first write, holds the KDF (scrypt with N, r, p and a random
//   32-byte salt) and a key-check value: AES-256-GCM of a fixed label under
//   HKDF-SHA256(master, kdf salt, "latchkey key check v1"). A wrong passphrase fails that check
//   at once, before anything is read or written.
// - master key = scrypt(NFC(passphrase), salt), 32 bytes. It may be kept in an `UnlockCache`
//   (the kernel keyring) so later commands skip scrypt; a cached key is accepted only if it
//   passes the key check of the current `vault.json`.
// - Each item is one file `item-<base32 of the UTF-8 key>.json` holding version, key, label,
//   metadata and modified time in clear (so `list()` needs no passphrase), plus a fresh random
//   32-byte salt, a fresh 12-byte nonce and the AES-256-GCM ciphertext+tag of the secret under
//   item key = HKDF-SHA256(master, item salt, "latchkey item v1|" + key). The AAD is a
//   length-prefixed encoding of version, key, label, modified time and the sorted metadata, so
//   none can be edited and no file can be swapped for another without failing authentication.
// - Writes: 0700 folder (refused with a chmod hint if group/world can enter it), exclusive
//   `flock` on `.lock` with a bounded wait, temp file 0600 + fsync + rename + fsync of the
//   folder. Temp files found while holding the lock were left by a killed writer and are removed.
//   Reads take no lock: rename makes every file either the old or the new version.

import Crypto
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

public actor FileKeyring: Keyring {
    public nonisolated var backendName: String { "file" }
    /// The vault folder, as shown in prompts and errors.
    public nonisolated let path: String
    /// The name of this vault's master key in the unlock cache.
    public nonisolated let unlockCacheID: String

    private let folder: VaultFolder
    private let passphrase: PassphraseProvider
    private let unlockCache: any UnlockCache
    private let unlockCacheTTL: Int
    private let scrypt: ScryptParameters
    private let allowWeakPassphrase: Bool
    private let now: @Sendable () -> Date

    private var masterKey: SymmetricKey?
    private var unlocking: Task<[UInt8], any Error>?

    private static let headerName = "vault.json"

    /// - Parameters:
    ///   - directory: the vault folder (the CLI passes `~/.latchkey/keyring`).
    ///   - passphrase: asked only when the master key is needed and not cached.
    ///   - unlockCache: where the derived master key is kept between commands.
    ///   - unlockCacheTTL: seconds the cached key lives; 0 disables the cache.
    ///   - scrypt: cost used when creating a vault; an existing vault keeps its own.
    ///   - lockTimeout: the longest wait for another writer.
    ///   - allowWeakPassphrase: create a vault even with a passphrase `PassphraseStrength` calls weak.
    ///   - now: the clock for items' modified time.
    public init(
        directory: URL,
        passphrase: @escaping PassphraseProvider,
        unlockCache: any UnlockCache = NoUnlockCache(),
        unlockCacheTTL: Int = 900,
        scrypt: ScryptParameters = .standard,
        lockTimeout: Duration = .seconds(10),
        allowWeakPassphrase: Bool = false,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        let path = directory.standardizedFileURL.path
        self.path = path
        self.unlockCacheID = Self.unlockCacheID(forVaultAt: path)
        self.folder = VaultFolder(path: path, lockTimeout: lockTimeout)
        self.passphrase = passphrase
        self.unlockCache = unlockCache
        self.unlockCacheTTL = unlockCacheTTL
        self.scrypt = scrypt
        self.allowWeakPassphrase = allowWeakPassphrase
        self.now = now
    }

    /// First 16 hex digits of SHA-256 of the vault path.
    public static func unlockCacheID(forVaultAt path: String) -> String {
        // Not String(format:): on every warm run that would start ICU's locale and time zone (issue 16).
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        for byte in SHA256.hash(data: Data(path.utf8)).prefix(8) {
            hex += [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
        }
        return String(decoding: hex, as: UTF8.self)
    }

    public func get(_ key: String) async throws -> KeyringItem? {
        let name = try ItemFileName.make(for: key)
        guard try folder.prepare(create: false), let data = try folder.contents(of: name) else { return nil }
        let filePath = folder.file(name)
        let file = try ItemFile.decode(data, file: filePath)
        guard file.key == key else { throw KeyringError.tamperedItem(file: filePath) }
        return try file.open(masterKey: await unlockedKey(creating: false), file: filePath)
    }

    public func set(_ item: KeyringItem) async throws {
        let name = try ItemFileName.make(for: item.key)
        _ = try folder.prepare(create: false)  // refuses an unsafe folder before asking anything
        let masterKey = try await unlockedKey(creating: true)
        _ = try folder.prepare(create: true)
        let data = try ItemFile.seal(item, masterKey: masterKey, modified: now()).encoded()
        let lock = try await folder.acquireWriterLock()
        defer { lock.release() }
        try folder.removeStaleTempFiles()
        try folder.writeAtomically(data, to: name)
    }

    @discardableResult
    public func remove(_ key: String) async throws -> Bool {
        let name = try ItemFileName.make(for: key)
        guard try folder.prepare(create: false) else { return false }
        let lock = try await folder.acquireWriterLock()
        defer { lock.release() }
        try folder.removeStaleTempFiles()
        return try folder.delete(name)
    }

    public func list() async throws -> [KeyringItemInfo] {
        guard try folder.prepare(create: false) else { return [] }
        var infos: [KeyringItemInfo] = []
        for name in try folder.entries() where ItemFileName.isItemFile(name) {
            let filePath = folder.file(name)
            guard let data = try folder.contents(of: name) else { continue }  // removed meanwhile
            // A damaged or renamed file is left out rather than failing the whole listing (and
            // with it `clear` and session expiry); `get` of that item reports it by name.
            guard let file = try? ItemFile.decode(data, file: filePath),
                (try? ItemFileName.make(for: file.key)) == name
            else { continue }
            infos.append(file.info)
        }
        return infos.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
    }

    /// Forgets the master key here and in the unlock cache; the next access asks again.
    public func lock() {
        masterKey = nil
        unlockCache.forget(id: unlockCacheID)
    }

    // MARK: - Unlocking

    /// The master key; concurrent callers share one unlock (one prompt).
    private func unlockedKey(creating: Bool) async throws -> SymmetricKey {
        if let masterKey { return masterKey }
        let task = unlocking ?? Task { try await self.deriveMasterKey(creating: creating) }
        unlocking = task
        defer { unlocking = nil }
        let key = SymmetricKey(data: try await task.value)
        masterKey = key
        return key
    }

    private func deriveMasterKey(creating: Bool) async throws -> [UInt8] {
        if let header = try readHeader() {
            return try await openVault(header)
        }
        guard creating else {
            throw KeyringError.corruptVault(
                file: folder.file(Self.headerName), reason: "it is missing while item files exist")
        }
        let chosen = try await passphrase(.create(vault: path))
        guard !chosen.isEmpty else { throw KeyringError.emptyPassphrase(vault: path) }
        // Judged only here, when a vault gets its passphrase; opening an existing vault never judges it.
        let strength = PassphraseStrength(chosen)
        if strength.isWeak && !allowWeakPassphrase {
            throw KeyringError.weakPassphrase(vault: path, reasons: strength.weaknesses)
        }
        let salt = Data(randomBytes(32))
        let key = try scrypt.deriveKey(passphrase: chosen, salt: salt)
        let header = try VaultHeader.make(masterKey: key, scrypt: scrypt, salt: salt)
        _ = try folder.prepare(create: true)
        let lock = try await folder.acquireWriterLock()
        let created: Bool
        do {
            defer { lock.release() }
            created = try folder.contents(of: Self.headerName) == nil
            if created {
                try folder.writeAtomically(try JSONEncoder().encode(header), to: Self.headerName)
            }
        }
        if created { return try verified(key, header) }
        // Another process created the vault meanwhile: the chosen passphrase must open that one.
        guard let existing = try readHeader() else {
            throw KeyringError.corruptVault(
                file: folder.file(Self.headerName), reason: "it vanished while being created")
        }
        return try verified(existing.scrypt.deriveKey(passphrase: chosen, salt: existing.kdf.salt), existing)
    }

    private func openVault(_ header: VaultHeader) async throws -> [UInt8] {
        if unlockCacheTTL > 0, let cached = unlockCache.load(id: unlockCacheID) {
            let key = SymmetricKey(data: cached)
            if header.accepts(key) { return cached }
            unlockCache.forget(id: unlockCacheID)  // left from an older vault at this path
        }
        let given = try await passphrase(.unlock(vault: path))
        return try verified(header.scrypt.deriveKey(passphrase: given, salt: header.kdf.salt), header)
    }

    /// Checks `key` against the header and caches it.
    private func verified(_ key: SymmetricKey, _ header: VaultHeader) throws -> [UInt8] {
        guard header.accepts(key) else { throw KeyringError.wrongPassphrase(vault: path) }
        let bytes = key.withUnsafeBytes { Array($0) }
        if unlockCacheTTL > 0 {
            unlockCache.store(id: unlockCacheID, key: bytes, ttl: unlockCacheTTL)
        }
        return bytes
    }

    private func readHeader() throws -> VaultHeader? {
        guard let data = try folder.contents(of: Self.headerName) else { return nil }
        return try VaultHeader.decode(data, file: folder.file(Self.headerName))
    }
}
