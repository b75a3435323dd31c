// KernelKeyring: the Linux kernel key retention service (backend "keyctl").
//
// Layout: a keyring named `latchkey` (configurable) inside the scope's keyring (the persistent
// user keyring by default), holding one `user` key per item whose description is
// `latchkey:<item key>`. Re-adding a key with the same description replaces its payload
// atomically in the kernel. The payload is `LK1\n`, a 4-byte big-endian length, a small JSON
// header (label, metadata, modified time) and then the secret, so `list()` reads a few hundred
// bytes of kernel memory per item and decrypts nothing. Kernel keys are not durable: they vanish
// at reboot (and the persistent keyring after 3 days unused), which the README says.

import CLatchkeySys
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

/// Which kernel keyring holds latchkey's keyring.
public enum KeyctlScope: String, Sendable, CaseIterable {
    /// The user's persistent keyring (`KEYCTL_GET_PERSISTENT`): outlives login sessions.
    case persistent
    /// The user keyring `@u`: lives while the user has processes.
    case user
    /// The session keyring `@s`: this login session only.
    case session
}

public actor KernelKeyring: Keyring {
    public nonisolated var backendName: String { "keyctl" }
    public nonisolated let scope: KeyctlScope
    public nonisolated let keyringName: String
    private let now: @Sendable () -> Date

    /// The largest payload of a kernel `user` key.
    public static let maximumPayload = 32767
    static let descriptionPrefix = "latchkey:"
    private static let magic = Data("LK1\n".utf8)

    public init(
        scope: KeyctlScope = .persistent, keyringName: String = "latchkey",
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.scope = scope
        self.keyringName = keyringName
        self.now = now
    }

    /// Nil when the kernel key API answers here, else why not.
    public static func unavailableReason(scope: KeyctlScope = .persistent) -> String? {
        let probe: Int64
        switch scope {
        case .persistent: probe = latchkey_keyctl_get_persistent(-1, LATCHKEY_KEY_SPEC_PROCESS_KEYRING)
        case .user: probe = latchkey_keyctl_get_keyring_id(LATCHKEY_KEY_SPEC_USER_KEYRING)
        case .session: probe = latchkey_keyctl_get_keyring_id(LATCHKEY_KEY_SPEC_SESSION_KEYRING)
        }
        guard probe < 0 else { return nil }
        if probe == -Int64(ENOSYS) { return "this system has no kernel key API (Linux only)" }
        if probe == -Int64(EOPNOTSUPP) {
            return "the kernel has no persistent keyrings; set LATCHKEY_KEYCTL_SCOPE=user"
        }
        return "the kernel refused the \(scope.rawValue) keyring (\(errnoText(-probe)))"
    }

    public func get(_ key: String) async throws -> KeyringItem? {
        let description = try Self.description(for: key)
        guard let container = try container(create: false),
            let serial = find(description, in: container),
            let payload = try read(serial)
        else { return nil }
        let (header, secret) = try decode(payload, key: key)
        return KeyringItem(key: key, label: header.label, metadata: header.metadata, secret: secret)
    }

    public func set(_ item: KeyringItem) async throws {
        let description = try Self.description(for: item.key)
        let payload = try encode(item)
        guard payload.count <= Self.maximumPayload else {
            throw BackendError.itemTooLarge(
                backend: backendName, key: item.key, bytes: payload.count, limit: Self.maximumPayload)
        }
        guard let container = try container(create: true) else { return }
        let serial = payload.withUnsafeBytes {
            latchkey_add_key("user", description, $0.baseAddress, $0.count, container)
        }
        guard serial > 0, let key = Int32(exactly: serial) else { throw failure("store a key", serial) }
        _ = latchkey_keyctl_setperm(key, Self.permissions)
    }

    @discardableResult
    public func remove(_ key: String) async throws -> Bool {
        let description = try Self.description(for: key)
        guard let container = try container(create: false), let serial = find(description, in: container)
        else { return false }
        if latchkey_keyctl_invalidate(serial) == 0 { return true }
        let unlinked = latchkey_keyctl_unlink(serial, container)
        if unlinked == -ENOENT || unlinked == -ENOKEY { return false }
        guard unlinked == 0 else { throw failure("remove a key", Int64(unlinked)) }
        return true
    }

    public func list() async throws -> [KeyringItemInfo] {
        guard let container = try container(create: false), let listing = try read(container) else {
            return []
        }
        var infos: [KeyringItemInfo] = []
        let serials = listing.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        for serial in serials {
            // A key removed by another program between the listing and here is simply left out.
            guard let description = describe(serial), description.type == "user",
                description.name.hasPrefix(Self.descriptionPrefix),
                let payload = try? read(serial)
            else { continue }
            let key = String(description.name.dropFirst(Self.descriptionPrefix.count))
            guard let (header, _) = try? decode(payload, key: key) else { continue }
            infos.append(
                KeyringItemInfo(
                    key: key, label: header.label, metadata: header.metadata,
                    modified: Date(timeIntervalSince1970: header.modified)))
        }
        return infos.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
    }

    /// Destroys latchkey's keyring and every item in it.
    public func removeAll() throws {
        guard let container = try container(create: false) else { return }
        if latchkey_keyctl_invalidate(container) != 0 {
            _ = latchkey_keyctl_unlink(container, try scopeKeyring())
        }
    }

    // MARK: Kernel calls

    /// Possessor everything; the same user may view, read, write, search (later processes may not possess it).
    private static let permissions =
        LATCHKEY_KEY_POS_ALL | LATCHKEY_KEY_USR_VIEW | LATCHKEY_KEY_USR_READ | LATCHKEY_KEY_USR_WRITE
        | LATCHKEY_KEY_USR_SEARCH | LATCHKEY_KEY_USR_SETATTR

    private func scopeKeyring() throws -> Int32 {
        let serial: Int64
        switch scope {
        case .persistent: serial = latchkey_keyctl_get_persistent(-1, LATCHKEY_KEY_SPEC_PROCESS_KEYRING)
        case .user: serial = latchkey_keyctl_get_keyring_id(LATCHKEY_KEY_SPEC_USER_KEYRING)
        case .session: serial = latchkey_keyctl_get_keyring_id(LATCHKEY_KEY_SPEC_SESSION_KEYRING)
        }
        guard serial > 0, let id = Int32(exactly: serial) else {
            throw BackendError.unavailable(
                backend: backendName, reason: Self.unavailableReason(scope: scope) ?? errnoText(-serial))
        }
        return id
    }

    /// latchkey's own keyring inside the scope; nil when absent and not asked to create it.
    private func container(create: Bool) throws -> Int32? {
        let scopeSerial = try scopeKeyring()
        let found = latchkey_keyctl_search(scopeSerial, "keyring", keyringName, 0)
        if found > 0 { return Int32(exactly: found) }
        guard create else { return nil }
        let created = latchkey_add_key("keyring", keyringName, nil, 0, scopeSerial)
        guard created > 0, let serial = Int32(exactly: created) else {
            throw failure("create the keyring '\(keyringName)'", created)
        }
        _ = latchkey_keyctl_setperm(serial, Self.permissions)
        return serial
    }

    private func find(_ description: String, in container: Int32) -> Int32? {
        let found = latchkey_keyctl_search(container, "user", description, 0)
        return found > 0 ? Int32(exactly: found) : nil
    }

    /// The key's payload; nil when it vanished (revoked, expired, invalidated) meanwhile.
    private func read(_ serial: Int32) throws -> Data? {
        var capacity = 4096
        while true {
            var buffer = [UInt8](repeating: 0, count: capacity)
            let length = buffer.withUnsafeMutableBytes {
                latchkey_keyctl_read(serial, $0.baseAddress, $0.count)
            }
            if length == -Int64(ENOKEY) || length == -Int64(EKEYREVOKED) || length == -Int64(EKEYEXPIRED) {
                return nil
            }
            guard length >= 0 else { throw failure("read a key", length) }
            if length <= Int64(capacity) { return Data(buffer.prefix(Int(length))) }
            capacity = Int(length)
        }
    }

    private func describe(_ serial: Int32) -> (type: String, name: String)? {
        var buffer = [CChar](repeating: 0, count: 4200)
        let length = buffer.withUnsafeMutableBufferPointer {
            latchkey_keyctl_describe(serial, $0.baseAddress, $0.count)
        }
        guard length > 0, length <= Int64(buffer.count) else { return nil }
        let text = String(
            decoding: buffer.prefix(Int(length) - 1).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // "type;uid;gid;perm;description": the description itself may contain ';'.
        let fields = text.split(separator: ";", maxSplits: 4, omittingEmptySubsequences: false)
        guard fields.count == 5 else { return nil }
        return (String(fields[0]), String(fields[4]))
    }

    private func failure(_ operation: String, _ result: Int64) -> BackendError {
        if result == -Int64(EDQUOT) {
            return .quotaExceeded(
                backend: backendName, maxKeys: Self.limit(getuid() == 0 ? "root_maxkeys" : "maxkeys"),
                maxBytes: Self.limit(getuid() == 0 ? "root_maxbytes" : "maxbytes"))
        }
        return .system(backend: backendName, operation: operation, message: errnoText(-result))
    }

    private static func limit(_ name: String) -> Int? {
        (try? String(contentsOfFile: "/proc/sys/kernel/keys/" + name, encoding: .utf8))
            .flatMap { Int($0.trimmingWhitespace()) }
    }

    // MARK: Payload

    private struct Header: Codable {
        var label: String
        var metadata: [String: String]
        var modified: Double
    }

    static func description(for key: String) throws -> String {
        guard !key.isEmpty, !key.utf8.contains(0) else {
            throw KeyringError.invalidKey(key: key, reason: "it is empty or contains a NUL character")
        }
        let description = descriptionPrefix + key
        guard description.utf8.count < 4096 else {
            throw KeyringError.invalidKey(key: key, reason: "kernel key descriptions hold at most 4095 bytes")
        }
        return description
    }

    private func encode(_ item: KeyringItem) throws -> Data {
        let header = try JSONEncoder().encode(
            Header(label: item.label, metadata: item.metadata, modified: now().timeIntervalSince1970))
        var payload = Self.magic
        withUnsafeBytes(of: UInt32(header.count).bigEndian) { payload.append(contentsOf: $0) }
        payload.append(header)
        payload.append(item.secret)
        return payload
    }

    private func decode(_ payload: Data, key: String) throws -> (Header, Data) {
        let bytes = [UInt8](payload)
        let start = Self.magic.count + 4
        guard bytes.count >= start, Data(bytes.prefix(Self.magic.count)) == Self.magic else {
            throw BackendError.corruptItem(backend: backendName, key: key, reason: "not a latchkey key")
        }
        let length = bytes[Self.magic.count..<start].reduce(0) { $0 << 8 | Int($1) }
        guard bytes.count >= start + length,
            let header = try? JSONDecoder().decode(Header.self, from: Data(bytes[start..<(start + length)]))
        else { throw BackendError.corruptItem(backend: backendName, key: key, reason: "unreadable header") }
        return (header, Data(bytes[(start + length)...]))
    }
}

func errnoText(_ code: Int64) -> String {
    String(cString: strerror(Int32(truncatingIfNeeded: code)))
}
