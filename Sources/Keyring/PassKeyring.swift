// PassKeyring: the standard unix password manager `pass` (backend "pass").
//
// Each item is one pass entry `<prefix>/<key>/<info>` where `<key>` is the item key with
// unsafe characters percent-encoded and `<info>` is the base64url of a small JSON (label,
// metadata, modified time), split into path components of at most 200 characters. Nothing
// secret is in a name: `list()` walks the store's folders and never runs gpg. The secret is
// the entry's content, written with `pass insert -m -f` on stdin and read with `pass show`.

import Foundation
import SystemSupport

public actor PassKeyring: Keyring {
    public nonisolated var backendName: String { "pass" }
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
        self.prefix = prefix.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        self.passCommand = passCommand
        var childEnvironment = environment
        childEnvironment["PASSWORD_STORE_DIR"] = store
        self.environment = childEnvironment
        self.now = now
    }

    /// Nil when pass is installed and the store is initialised, else why not.
    public nonisolated var unavailableReason: String? {
        guard ChildProcess.locate(passCommand, environment: environment) != nil else {
            return "`\(passCommand)` is not installed (apt install pass)"
        }
        guard FileManager.default.fileExists(atPath: storeDirectory + "/.gpg-id") else {
            return "the store \(storeDirectory) is not initialised; run `pass init YOUR-GPG-KEY-ID`"
        }
        return nil
    }

    public func get(_ key: String) async throws -> KeyringItem? {
        // Several entries exist only if two writers raced; the newest wins.
        guard let entry = try entries(for: key).max(by: { $0.info.modified < $1.info.modified }) else {
            return nil
        }
        let output = try pass(["show", entry.name])
        if output.status != 0 {
            // Removed by another program since the listing: absent, not an error.
            if !FileManager.default.fileExists(atPath: file(entry.name)) { return nil }
            throw failure("pass show", output)
        }
        return KeyringItem(
            key: key, label: entry.info.label, metadata: entry.info.metadata, secret: output.stdout)
    }

    public func set(_ item: KeyringItem) async throws {
        let previous = try entries(for: item.key)
        let info = Info(label: item.label, metadata: item.metadata, modified: now().timeIntervalSince1970)
        let name = try entryName(key: item.key, info: info)
        let output = try pass(["insert", "--multiline", "--force", name], stdin: item.secret)
        guard output.status == 0 else { throw failure("pass insert", output) }
        // Only once the new entry is written do the old ones go.
        for old in previous where old.name != name { _ = try? pass(["rm", "--force", old.name]) }
    }

    @discardableResult
    public func remove(_ key: String) async throws -> Bool {
        let found = try entries(for: key)
        guard !found.isEmpty else { return false }
        var removed = false
        for entry in found {
            let output = try pass(["rm", "--force", entry.name])
            if output.status == 0 {
                removed = true
            } else if FileManager.default.fileExists(atPath: file(entry.name)) {
                throw failure("pass rm", output)
            }
        }
        try? FileManager.default.removeItem(atPath: folder(for: try encode(key)))
        return removed
    }

    public func list() async throws -> [KeyringItemInfo] {
        let root = storeDirectory + "/" + prefix
        guard let keyFolders = try? FileManager.default.contentsOfDirectory(atPath: root) else { return [] }
        var newest: [String: KeyringItemInfo] = [:]
        for encoded in keyFolders {
            guard let key = decode(encoded) else { continue }
            for entry in entries(inFolder: encoded, key: key) {
                if let seen = newest[key], let date = seen.modified,
                    date.timeIntervalSince1970 >= entry.info.modified
                {
                    continue
                }
                newest[key] = KeyringItemInfo(
                    key: key, label: entry.info.label, metadata: entry.info.metadata,
                    modified: Date(timeIntervalSince1970: entry.info.modified))
            }
        }
        return newest.values.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
    }

    // MARK: Entry names

    private struct Info: Codable {
        var label: String
        var metadata: [String: String]
        var modified: Double
    }

    private struct Entry {
        var name: String
        var info: Info
    }

    /// Bytes kept as they are in a key's folder name; everything else is %XX.
    private static let plain = Set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:@+,=".utf8)

    private func encode(_ key: String) throws -> String {
        var encoded = ""
        for byte in key.utf8 {
            if Self.plain.contains(byte) {
                encoded.append(Character(UnicodeScalar(byte)))
            } else {
                encoded += String(format: "%%%02X", byte)
            }
        }
        guard !key.isEmpty, encoded.utf8.count <= 240 else {
            throw KeyringError.invalidKey(key: key, reason: "it is empty or too long for a pass entry name")
        }
        return encoded
    }

    private func decode(_ encoded: String) -> String? {
        encoded.removingPercentEncoding
    }

    private func entryName(key: String, info: Info) throws -> String {
        let text = try JSONEncoder().encode(info).base64URL
        var parts: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            parts.append("i" + rest.prefix(200))  // a letter first: never "." or "-" at the start
            rest = rest.dropFirst(200)
        }
        return ([prefix, try encode(key)] + parts).joined(separator: "/")
    }

    private func folder(for encodedKey: String) -> String { storeDirectory + "/" + prefix + "/" + encodedKey }
    private func file(_ name: String) -> String { storeDirectory + "/" + name + ".gpg" }

    private func entries(for key: String) throws -> [Entry] {
        entries(inFolder: try encode(key), key: key)
    }

    private func entries(inFolder encodedKey: String, key: String) -> [Entry] {
        let base = folder(for: encodedKey)
        guard let enumerator = FileManager.default.enumerator(atPath: base) else { return [] }
        var found: [Entry] = []
        while let relative = enumerator.nextObject() as? String {
            guard relative.hasSuffix(".gpg") else { continue }
            let parts = relative.dropLast(4).split(separator: "/")
            let text = parts.map { $0.dropFirst() }.joined()
            guard parts.allSatisfy({ $0.hasPrefix("i") }), let json = Data(base64URL: text),
                let info = try? JSONDecoder().decode(Info.self, from: json)
            else { continue }
            found.append(Entry(name: "\(prefix)/\(encodedKey)/\(relative.dropLast(4))", info: info))
        }
        return found
    }

    // MARK: Running pass

    private func pass(_ arguments: [String], stdin: Data = Data()) throws -> ChildProcess.Output {
        if let reason = unavailableReason {
            throw BackendError.unavailable(backend: backendName, reason: reason)
        }
        guard let executable = ChildProcess.locate(passCommand, environment: environment) else {
            throw BackendError.unavailable(backend: backendName, reason: "`\(passCommand)` is not installed")
        }
        return try ChildProcess.run(executable, arguments, environment: environment, stdin: stdin)
    }

    private func failure(_ command: String, _ output: ChildProcess.Output) -> BackendError {
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
