// PassKeyring: the standard unix password manager `pass` (backend "pass").
//
// Layout: entry names say nothing. Each item is one entry `<prefix>/<id>` where `<id>` is 32 random
// hex digits; its encrypted content is `latchkey-pass 2\n`, a one-line JSON header (key, label,
// metadata, modified time), `\n`, then the secret. One more entry, `<prefix>/index`, encrypted too,
// maps every id to its header, so `list()` costs one gpg call however many items there are.
//
// Why not keep metadata in names, as aws-vault does (to list expired sessions without gpg)? Names
// are in clear on disk, in `pass git` history and in gpg's argv (visible in `ps`), and ours would
// carry profile names, key ids and MFA device ARNs: who you are and which accounts you hold. Only
// the number of items and when they changed stay visible. The price: listing needs gpg (one call).
//
// Writes hold an exclusive flock on the `<prefix>` folder (pass ignores it; nothing extra lands in
// the store), so two latchkeys never lose each other's index update. A writer killed between
// writing an entry and the index leaves an entry the index lacks: the next write reads it back in.
//
// Entries of the first layout (`<prefix>/<key percent-encoded>/<base64url of the header>`, with the
// metadata in the name) are still read as they are, and the first write moves them all into the
// new layout and removes the old names.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public actor PassKeyring: Keyring {
    public nonisolated var backendName: String { "pass" }
    /// Every call runs pass (and gpg) and waits for it: on a thread of its own, not the runtime's.
    private static let executor = ThreadExecutor(name: "latchkey-pass")
    public nonisolated var unownedExecutor: UnownedSerialExecutor { Self.executor.asUnownedSerialExecutor() }
    /// The password store folder (PASSWORD_STORE_DIR).
    public nonisolated let storeDirectory: String
    public nonisolated let prefix: String
    private let passCommand: String
    private let environment: [String: String]
    private let now: @Sendable () -> Date

    /// - Parameters:
    ///   - passCommand: the `pass` program (`--pass-cmd`), a name on PATH or a path.
    ///   - storeDirectory: the store (`--pass-dir`); default `$PASSWORD_STORE_DIR`, else `~/.password-store`.
    ///   - prefix: the folder inside the store for latchkey's entries (`--pass-prefix`).
    ///   - environment: the environment pass and gpg run with (GNUPGHOME, PATH, HOME...).
    public init(
        passCommand: String = "pass", storeDirectory: String? = nil, prefix: String = "latchkey",
        environment: [String: String] = ProcessInfo.processInfo.environment,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        let home = UserFolders(environment: environment).home
        var store = storeDirectory ?? environment["PASSWORD_STORE_DIR"] ?? (home + "/.password-store")
        if store.hasPrefix("~/") { store = home + store.dropFirst() }
        self.storeDirectory = store
        self.prefix = prefix.trimming("/")
        self.passCommand = passCommand
        var childEnvironment = environment
        childEnvironment["PASSWORD_STORE_DIR"] = store
        self.environment = childEnvironment
        self.now = now
    }

    /// Nil when pass is installed and the store is initialised, else why not.
    public nonisolated var unavailableReason: String? {
        guard findExecutable(passCommand, environment: environment) != nil else {
            return "`\(passCommand)` is not installed (apt install pass)"
        }
        guard FileManager.default.fileExists(atPath: storeDirectory + "/.gpg-id") else {
            return "the store \(storeDirectory) is not initialised; run `pass init YOUR-GPG-KEY-ID`"
        }
        return nil
    }

    public func get(_ key: String) async throws -> KeyringItem? {
        _ = try encode(key)  // the same keys as before are valid
        if let index = try readIndex(),
            let newest = index.items.filter({ $0.value.key == key }).max(by: {
                $0.value.modified < $1.value.modified
            }),
            let entry = try readEntry(newest.key)
        {
            guard entry.info.key == key else {
                throw BackendError.corruptItem(
                    backend: backendName, key: key,
                    reason: "the entry \(entryName(newest.key)) holds another item")
            }
            return KeyringItem(
                key: key, label: entry.info.label, metadata: entry.info.metadata, secret: entry.secret)
        }
        return try legacyGet(key)
    }

    public func set(_ item: KeyringItem) async throws {
        _ = try encode(item.key)
        try await whileWriting { index in
            let info = Info(
                key: item.key, label: item.label, metadata: item.metadata,
                modified: now().timeIntervalSince1970)
            let id = Self.newID()
            try writeEntry(id, info: info, secret: item.secret)
            let replaced = index.items.filter { $0.value.key == item.key }.map(\.key)
            index.items[id] = info
            for old in replaced { index.items[old] = nil }
            try writeIndex(index)
            // Only once the new entry and the index are written do the old ones go.
            for old in replaced { _ = try? pass(["rm", "--force", entryName(old)]) }
        }
    }

    @discardableResult
    public func remove(_ key: String) async throws -> Bool {
        _ = try encode(key)
        return try await whileWriting { index in
            let found = index.items.filter { $0.value.key == key }.map(\.key)
            guard !found.isEmpty else { return false }
            for id in found { index.items[id] = nil }
            try writeIndex(index)
            for id in found {
                let output = try pass(["rm", "--force", entryName(id)])
                if output.status != 0 && FileManager.default.fileExists(atPath: file(entryName(id))) {
                    throw failure("pass rm", output)
                }
            }
            return true
        }
    }

    /// Every item: the index (one gpg call), plus entries of the first layout not yet moved.
    public func list() async throws -> [KeyringItemInfo] {
        var newest: [String: KeyringItemInfo] = [:]
        func consider(_ info: Info) {
            if let seen = newest[info.key], let date = seen.modified,
                date.timeIntervalSince1970 >= info.modified
            {
                return
            }
            newest[info.key] = KeyringItemInfo(
                key: info.key, label: info.label, metadata: info.metadata,
                modified: Date(timeIntervalSince1970: info.modified))
        }
        if let index = try readIndex() {
            for info in index.items.values { consider(info) }
        }
        for entry in legacyEntries() { consider(entry.info) }
        return newest.values.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
    }

    // MARK: Entries and the index

    private struct Info: Codable {
        var key: String
        var label: String
        var metadata: [String: String]
        var modified: Double
    }

    private struct Index: Codable {
        var version = 2
        var items: [String: Info] = [:]
    }

    private static let entryMagic = Data("latchkey-pass 2\n".utf8)
    private static let indexName = "index"

    /// 128 random bits as hex: unguessable, so a name reveals nothing about its item.
    private static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return hexEncoded((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    private static func isID(_ name: String) -> Bool {
        name.utf8.count == 32 && name.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    private func entryName(_ id: String) -> String { prefix + "/" + id }
    private var root: String { storeDirectory + "/" + prefix }

    private func readIndex() throws -> Index? {
        let name = prefix + "/" + Self.indexName
        guard FileManager.default.fileExists(atPath: file(name)) else { return nil }
        let output = try pass(["show", name])
        guard output.status == 0 else {
            if !FileManager.default.fileExists(atPath: file(name)) { return nil }
            throw failure("pass show", output)
        }
        guard let index = try? JSONDecoder().decode(Index.self, from: output.stdout) else {
            throw BackendError.corruptItem(
                backend: backendName, key: Self.indexName,
                reason:
                    "the pass entry \(name) is not latchkey's index; move it away and run `latchkey add` again"
            )
        }
        return index
    }

    private func writeIndex(_ index: Index) throws {
        let output = try pass(
            ["insert", "--multiline", "--force", prefix + "/" + Self.indexName],
            stdin: try JSONEncoder().encode(index))
        guard output.status == 0 else { throw failure("pass insert", output) }
    }

    /// The header and secret of an entry; nil when it is gone.
    private func readEntry(_ id: String) throws -> (info: Info, secret: Data)? {
        let output = try pass(["show", entryName(id)])
        guard output.status == 0 else {
            // Removed by another program since the index was read: absent, not an error.
            if !FileManager.default.fileExists(atPath: file(entryName(id))) { return nil }
            throw failure("pass show", output)
        }
        let bytes = output.stdout
        guard bytes.starts(with: Self.entryMagic),
            let end = bytes[(bytes.startIndex + Self.entryMagic.count)...].firstIndex(of: 0x0A),
            let info = try? JSONDecoder().decode(
                Info.self, from: bytes[(bytes.startIndex + Self.entryMagic.count)..<end])
        else {
            throw BackendError.corruptItem(
                backend: backendName, key: entryName(id), reason: "the pass entry is not a latchkey item")
        }
        return (info: info, secret: Data(bytes[(end + 1)...]))
    }

    private func writeEntry(_ id: String, info: Info, secret: Data) throws {
        var content = Self.entryMagic
        content.append(try JSONEncoder().encode(info))  // one line: JSON strings escape newlines
        content.append(0x0A)
        content.append(secret)
        let output = try pass(["insert", "--multiline", "--force", entryName(id)], stdin: content)
        guard output.status == 0 else { throw failure("pass insert", output) }
    }

    /// Runs `body` on the current index under the writers' lock, after moving entries of the first
    /// layout into the new one and reading back entries a killed writer left out of the index.
    private func whileWriting<T>(_ body: (inout Index) throws -> T) async throws -> T {
        if let reason = unavailableReason {
            throw BackendError.unavailable(backend: backendName, reason: reason)
        }
        try FileManager.default.createDirectory(
            atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let lock = try await FileLock.acquire(path: root, timeout: .seconds(30), folder: true)
        defer { lock.release() }
        var index = try readIndex() ?? Index()
        let legacy = legacyEntries()
        for entry in legacy {
            guard let item = try legacyRead(entry) else { continue }
            if let newer = index.items.values.first(where: { $0.key == item.key }),
                newer.modified >= entry.info.modified
            {
                continue
            }
            let id = Self.newID()
            try writeEntry(id, info: entry.info, secret: item.secret)
            for (old, info) in index.items where info.key == item.key { index.items[old] = nil }
            index.items[id] = entry.info
        }
        let adopted = try adoptStrays(&index)
        if adopted || !legacy.isEmpty { try writeIndex(index) }
        // The old names go only once their items are safely in the new layout and the index.
        for folder in Set(legacy.map(\.folder)) { _ = try? pass(["rm", "--recursive", "--force", folder]) }
        return try body(&index)
    }

    /// Entries in the folder the index does not know: a writer was killed before updating it.
    private func adoptStrays(_ index: inout Index) throws -> Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        var changed = false
        for name in names where name.hasSuffix(".gpg") {
            let id = String(name.dropLast(4))
            guard Self.isID(id), index.items[id] == nil, let info = try readEntry(id)?.info else { continue }
            changed = true
            if let current = index.items.first(where: { $0.value.key == info.key }) {
                let (keep, drop) =
                    current.value.modified >= info.modified ? (current.key, id) : (id, current.key)
                index.items[keep] = keep == id ? info : current.value
                if drop != id { index.items[drop] = nil }
                _ = try? pass(["rm", "--force", entryName(drop)])
            } else {
                index.items[id] = info
            }
        }
        return changed
    }

    // MARK: The first layout (metadata in names), read until the first write moves it

    private struct LegacyEntry {
        var name: String
        var folder: String
        var info: Info
    }

    /// Bytes kept as they are in a key's folder name; everything else is %XX.
    private static let plain = Set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:@+,=".utf8)

    private func encode(_ key: String) throws -> String {
        let encoded = key.percentEncoded(keeping: Self.plain.contains)
        guard !key.isEmpty, encoded.utf8.count <= 240 else {
            throw KeyringError.invalidKey(key: key, reason: "it is empty or too long for a pass entry name")
        }
        return encoded
    }

    private struct LegacyInfo: Codable {
        var label: String
        var metadata: [String: String]
        var modified: Double
    }

    private func legacyGet(_ key: String) throws -> KeyringItem? {
        let encoded = try encode(key)
        let candidates = legacyEntries().filter { $0.folder == prefix + "/" + encoded }
        // Several entries exist only if two writers raced; the newest wins.
        guard let entry = candidates.max(by: { $0.info.modified < $1.info.modified }) else { return nil }
        return try legacyRead(entry)
    }

    private func legacyRead(_ entry: LegacyEntry) throws -> KeyringItem? {
        let output = try pass(["show", entry.name])
        if output.status != 0 {
            if !FileManager.default.fileExists(atPath: file(entry.name)) { return nil }
            throw failure("pass show", output)
        }
        return KeyringItem(
            key: entry.info.key, label: entry.info.label, metadata: entry.info.metadata, secret: output.stdout
        )
    }

    private func file(_ name: String) -> String { storeDirectory + "/" + name + ".gpg" }

    /// Every entry of the first layout, decoded from its name (no gpg).
    private func legacyEntries() -> [LegacyEntry] {
        guard let folders = try? FileManager.default.contentsOfDirectory(atPath: root) else { return [] }
        var found: [LegacyEntry] = []
        for encodedKey in folders {
            guard isFolder(root + "/" + encodedKey), let key = encodedKey.percentDecoded,
                let entries = folderEntries(under: root + "/" + encodedKey)
            else { continue }
            for relative in entries {
                guard relative.hasSuffix(".gpg") else { continue }
                let parts = relative.dropLast(4).split(separator: "/")
                let text = parts.map { $0.dropFirst() }.joined()
                guard parts.allSatisfy({ $0.hasPrefix("i") }), let json = Data(base64URL: text),
                    let info = try? JSONDecoder().decode(LegacyInfo.self, from: json)
                else { continue }
                found.append(
                    LegacyEntry(
                        name: "\(prefix)/\(encodedKey)/\(relative.dropLast(4))",
                        folder: "\(prefix)/\(encodedKey)",
                        info: Info(
                            key: key, label: info.label, metadata: info.metadata, modified: info.modified)))
            }
        }
        return found
    }

    // MARK: Running pass

    private func pass(_ arguments: [String], stdin: Data = Data()) throws -> Subprocess.Output {
        if let reason = unavailableReason {
            throw BackendError.unavailable(backend: backendName, reason: reason)
        }
        guard let executable = findExecutable(passCommand, environment: environment) else {
            throw BackendError.unavailable(backend: backendName, reason: "`\(passCommand)` is not installed")
        }
        return try runHelper(executable, arguments, environment: environment, stdin: stdin)
    }

    private func failure(_ command: String, _ output: Subprocess.Output) -> BackendError {
        let message = oneLine(output.stderrText)
        let lower = message.lowercased()
        if lower.contains("no secret key") || lower.contains("no public key")
            || lower.contains("unusable public key")
        {
            return .gpgKeyMissing(store: storeDirectory, message: message)
        }
        return .commandFailed(backend: backendName, command: command, status: output.status, message: message)
    }
}
