// SecretServiceKeyring: the freedesktop Secret Service over D-Bus (backend "secret-service"):
// gnome-keyring, KeePassXC, KWallet's bridge. libsecret is loaded with dlopen on first use (the
// CSecretService shim), so latchkey starts and works with other backends where it is missing.
//
// Items live in a collection of our own (label `latchkey` by default; `default` means the
// desktop's default collection). When latchkey's own collection neither exists nor can be created
// (gnome-keyring asks for a new collection's password through a desktop prompt, so a headless
// server, WSL or CI cannot), the default collection is used, as secret-tool and git's libsecret
// helper do; a collection named explicitly is used or reported, never swapped. Each item is labelled for people (`latchkey: doug`) and carries
// searchable attributes: `application=latchkey`, `latchkey_key=<item key>` and the item's
// metadata (profile, kind, type, expiration...), so `list()` reads attributes and no secret.

import CSecretService
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import SystemSupport

public actor SecretServiceKeyring: Keyring {
    public nonisolated var backendName: String { "secret-service" }
    /// libsecret's calls are synchronous D-Bus round trips: on a thread of their own, not the runtime's.
    private static let executor = ThreadExecutor(name: "latchkey-secret-service")
    public nonisolated var unownedExecutor: UnownedSerialExecutor { Self.executor.asUnownedSerialExecutor() }
    public nonisolated let collection: String
    /// The value of every item's `application` attribute: `latchkey`, or another to keep apart
    /// several keyrings in one collection (tests).
    public nonisolated let application: String
    /// Whether the desktop may show its prompts (unlock, create); without one they would wait forever.
    public nonisolated let allowPrompt: Bool
    /// Whether the default collection stands in when `collection` is missing and cannot be created.
    public nonisolated let fallbackToDefault: Bool
    /// Told once when items go to the default collection instead of `collection`.
    private let notice: @Sendable (String) -> Void
    /// The collection opened: `collection`, or `default` after falling back; nil until opened.
    public private(set) var collectionInUse: String?
    /// The shim's open collection, as an address (0 when closed).
    private var handle: UInt = 0
    private var toldFallback = false

    static let keyAttribute = "latchkey_key"
    private static let reserved: Set<String> = ["application", keyAttribute, "xdg:schema"]

    public init(
        collection: String = "latchkey", application: String = "latchkey",
        environment: [String: String] = ProcessInfo.processInfo.environment, fallbackToDefault: Bool = false,
        notice: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.collection = collection
        self.application = application
        self.fallbackToDefault = fallbackToDefault && collection != "default"
        self.notice = notice
        allowPrompt = ["DISPLAY", "WAYLAND_DISPLAY"].contains { !(environment[$0] ?? "").isEmpty }
    }

    deinit {
        let handle = self.handle
        if handle != 0 {
            SecretServiceLibrary.call { latchkey_ss_close(UnsafeMutableRawPointer(bitPattern: handle)) }
        }
    }

    /// Nil when libsecret loads and a Secret Service answers on the session bus, else why not.
    /// Never prompts and never opens a collection.
    public static func unavailableReason(environment: [String: String]) -> String? {
        let runtime = environment["XDG_RUNTIME_DIR"].map { $0 + "/bus" }
        let hasBus =
            environment["DBUS_SESSION_BUS_ADDRESS"].map { !$0.isEmpty } ?? false
            || runtime.map { FileManager.default.fileExists(atPath: $0) } ?? false
        guard hasBus else { return "there is no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset)" }
        return SecretServiceLibrary.call {
            var message: UnsafeMutablePointer<CChar>?
            let code = latchkey_ss_probe(&message)
            return code == 0 ? nil : take(message)
        }
    }

    /// Locks the collection, as the desktop does on screen lock (for tests).
    public func lock() throws {
        guard let handle = try open(create: false) else { return }
        try check { latchkey_ss_lock(handle, &$0) }
        close()
    }

    /// Deletes every latchkey item of the collection.
    public func removeAll() throws {
        guard let handle = try open(create: false) else { return }
        try delete(handle, ["application": application])
    }

    public func get(_ key: String) async throws -> KeyringItem? {
        let found = try search([Self.keyAttribute: key, "application": application], secrets: true)
        // Two items for one key exist only if two writers raced; the newest wins.
        guard let newest = found.max(by: { $0.modified < $1.modified }) else { return nil }
        guard let secret = newest.secret else {
            throw BackendError.corruptItem(
                backend: backendName, key: key, reason: "its secret cannot be read")
        }
        return KeyringItem(key: key, label: newest.label, metadata: newest.metadata, secret: secret)
    }

    public func set(_ item: KeyringItem) async throws {
        guard !item.key.isEmpty else { throw KeyringError.invalidKey(key: item.key, reason: "it is empty") }
        if let clash = item.metadata.keys.first(where: { Self.reserved.contains($0) }) {
            throw KeyringError.invalidKey(key: item.key, reason: "the metadata name '\(clash)' is reserved")
        }
        var attributes = item.metadata
        attributes["application"] = application
        attributes[Self.keyAttribute] = item.key
        // The two identifying attributes first: they find the items this one replaces.
        let names =
            [Self.keyAttribute, "application"] + attributes.keys.filter { !Self.reserved.contains($0) }
        let values = names.map { attributes[$0] ?? "" }
        guard let handle = try open(create: true) else { return }
        try withCStrings(names) { cNames in
            try withCStrings(values) { cValues in
                try item.secret.withUnsafeBytes { secret in
                    try check {
                        latchkey_ss_store(
                            handle, item.label, cNames, cValues, names.count, 2, secret.baseAddress,
                            secret.count, &$0)
                    }
                }
            }
        }
    }

    @discardableResult
    public func remove(_ key: String) async throws -> Bool {
        guard let handle = try open(create: false) else { return false }
        return try delete(handle, [Self.keyAttribute: key, "application": application]) > 0
    }

    public func list() async throws -> [KeyringItemInfo] {
        var newest: [String: Found] = [:]
        for found in try search(["application": application], secrets: false) {
            guard let key = found.key else { continue }
            if let seen = newest[key], seen.modified >= found.modified { continue }
            newest[key] = found
        }
        return newest.values.compactMap { found in
            found.key.map {
                KeyringItemInfo(
                    key: $0, label: found.label, metadata: found.metadata,
                    modified: Date(timeIntervalSince1970: TimeInterval(found.modified)))
            }
        }
        .sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
    }

    /// Every item of the collection with its attributes and secret (for importing other tools' items).
    public func allItems() throws -> [(label: String, attributes: [String: String], secret: Data?)] {
        try search([:], secrets: true).map { ($0.label, $0.attributes, $0.secret) }
    }

    // MARK: The shim

    struct Found {
        var label: String
        var attributes: [String: String]
        var secret: Data?
        var modified: UInt64
        var key: String? { attributes[SecretServiceKeyring.keyAttribute] }
        var metadata: [String: String] {
            attributes.filter { !SecretServiceKeyring.reserved.contains($0.key) }
        }
    }

    private func open(create: Bool) throws -> UnsafeMutableRawPointer? {
        if handle != 0 {
            if create, collectionInUse != collection { tellFallback() }
            return UnsafeMutableRawPointer(bitPattern: handle)
        }
        var (code, address, message) = Self.openShim(collection, create: false, prompt: allowPrompt)
        var opened = collection
        if code == LATCHKEY_SS_NO_COLLECTION, create, !fallbackToDefault || allowPrompt {
            (code, address, message) = Self.openShim(collection, create: true, prompt: allowPrompt)
        }
        if code != 0, code != LATCHKEY_SS_LOCKED, fallbackToDefault {
            // Missing and not creatable here: the default collection, where other tools keep theirs.
            (code, address, message) = Self.openShim("default", create: false, prompt: allowPrompt)
            opened = "default"
        }
        if code == LATCHKEY_SS_NO_COLLECTION, !create { return nil }
        if code == LATCHKEY_SS_NO_COLLECTION {
            throw BackendError.unavailable(
                backend: backendName,
                reason: opened == "default"
                    ? "the collection '\(collection)' cannot be created without a desktop prompt and there is no "
                        + "default collection either; create one in your keyring manager (Seahorse)"
                    : "the collection '\(collection)' \(message); create it in your keyring manager (Seahorse), "
                        + "or set LATCHKEY_SECRET_SERVICE_COLLECTION=default to use your login collection"
            )
        }
        guard code == 0, address != 0 else { throw error(code, message, collection: opened) }
        handle = address
        collectionInUse = opened
        if create, opened != collection { tellFallback() }
        return UnsafeMutableRawPointer(bitPattern: address)
    }

    private func tellFallback() {
        guard !toldFallback else { return }
        toldFallback = true
        notice(
            "using the Secret Service's default collection (where secret-tool keeps its items): the "
                + "collection '\(collection)' does not exist and cannot be created without a desktop prompt.")
    }

    private static func openShim(_ name: String, create: Bool, prompt: Bool) -> (Int32, UInt, String) {
        SecretServiceLibrary.call { () -> (Int32, UInt, String) in
            var opened: UnsafeMutableRawPointer?
            var message: UnsafeMutablePointer<CChar>?
            let code = latchkey_ss_open(name, create ? 1 : 0, prompt ? 1 : 0, &opened, &message)
            return (code, opened.map { UInt(bitPattern: $0) } ?? 0, code == 0 ? "" : take(message))
        }
    }

    private func close() {
        let handle = self.handle
        if handle != 0 {
            SecretServiceLibrary.call { latchkey_ss_close(UnsafeMutableRawPointer(bitPattern: handle)) }
        }
        self.handle = 0
    }

    @discardableResult
    private func delete(_ handle: UnsafeMutableRawPointer, _ match: [String: String]) throws -> Int {
        let names = Array(match.keys)
        var deleted = 0
        try withCStrings(names) { cNames in
            try withCStrings(names.map { match[$0] ?? "" }) { cValues in
                try check { latchkey_ss_delete(handle, cNames, cValues, names.count, &deleted, &$0) }
            }
        }
        return deleted
    }

    private func search(_ match: [String: String], secrets: Bool) throws -> [Found] {
        guard let handle = try open(create: false) else { return [] }
        let result = SearchResult()
        let names = Array(match.keys)
        try withCStrings(names) { cNames in
            try withCStrings(names.map { match[$0] ?? "" }) { cValues in
                try check {
                    latchkey_ss_search(
                        handle, cNames, cValues, names.count, secrets ? 1 : 0, &result.items, &result.count,
                        &$0)
                }
            }
        }
        defer { latchkey_ss_free_items(result.items, result.count) }
        guard let items = result.items else { return [] }
        let count = result.count
        return (0..<count).map { index in
            let item = items[index]
            var attributes: [String: String] = [:]
            for at in 0..<item.attribute_count {
                guard let name = item.attribute_names[at], let value = item.attribute_values[at] else {
                    continue
                }
                attributes[String(cString: name)] = String(cString: value)
            }
            let secret = item.secret.map { Data(bytes: $0, count: item.secret_length) }
            return Found(
                label: item.label.map { String(cString: $0) } ?? "", attributes: attributes, secret: secret,
                modified: item.modified)
        }
    }

    private func check(_ body: (inout UnsafeMutablePointer<CChar>?) -> Int32) throws {
        var message: UnsafeMutablePointer<CChar>?
        let code = SecretServiceLibrary.call { body(&message) }
        guard code == 0 else {
            let text = take(message)
            // The service may have gone away or the collection been locked: open afresh next time.
            close()
            throw error(code, text)
        }
    }

    private func error(_ code: Int32, _ message: String, collection: String? = nil) -> BackendError {
        let collection = collection ?? collectionInUse ?? self.collection
        switch code {
        case LATCHKEY_SS_LOCKED: return .locked(backend: backendName, collection: collection, reason: message)
        case LATCHKEY_SS_UNAVAILABLE, LATCHKEY_SS_NO_SERVICE:
            return .unavailable(backend: backendName, reason: message)
        default:
            return .system(
                backend: backendName, operation: "use the collection '\(collection)'", message: message)
        }
    }
}

/// The shim's answer to a search, owned by one call.
private final class SearchResult: @unchecked Sendable {
    var items: UnsafeMutablePointer<latchkey_ss_item>?
    var count = 0
}

/// libsecret's sync calls share glib state: one at a time in the process.
enum SecretServiceLibrary {
    private static let lock = Lock()
    static func call<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

private func take(_ message: UnsafeMutablePointer<CChar>?) -> String {
    guard let message else { return "unknown error" }
    defer { latchkey_ss_free(message) }
    return String(cString: message)
}

private func withCStrings<T>(
    _ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) throws -> T
) throws -> T {
    // One extra NULL so an empty list still has a valid base address.
    let pointers = strings.map { strdup($0).map { UnsafePointer($0) } } + [nil]
    defer { pointers.forEach { free(UnsafeMutablePointer(mutating: $0)) } }
    return try pointers.withUnsafeBufferPointer { buffer in
        guard let base = buffer.baseAddress else {
            throw BackendError.system(
                backend: "secret-service", operation: "pass attributes", message: "none")
        }
        return try body(base)
    }
}
