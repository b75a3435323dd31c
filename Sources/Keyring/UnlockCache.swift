import CLatchkeySys
import Crypto
import Foundation

/// Keeps a vault's derived master key for a while so each command does not run scrypt again.
public protocol UnlockCache: Sendable {
    /// The cached key, or nil when absent, expired or unavailable.
    func load(id: String) -> [UInt8]?
    /// Caches the key for `ttl` seconds; `ttl <= 0` caches nothing.
    func store(id: String, key: [UInt8], ttl: Int)
    /// Drops the cached key, if any.
    func forget(id: String)
}

/// Caches nothing: every new `FileKeyring` asks for the passphrase.
public struct NoUnlockCache: UnlockCache {
    public init() {}
    public func load(id: String) -> [UInt8]? { nil }
    public func store(id: String, key: [UInt8], ttl: Int) {}
    public func forget(id: String) {}
}

/// Caches the master key in the Linux kernel user keyring (`@u`) as a `user` key named
/// `latchkey:vault:<id>`, readable only by this user, that the kernel destroys after `ttl` seconds.
/// Where the key API is missing or forbidden (macOS, some containers) it silently caches nothing.
public struct KernelKeyringUnlockCache: UnlockCache {
    public static let namePrefix = "latchkey:vault:"

    public init() {}

    /// True when the kernel key API answers here.
    public static var isAvailable: Bool {
        latchkey_keyctl_get_keyring_id(LATCHKEY_KEY_SPEC_USER_KEYRING) > 0
    }

    public func load(id: String) -> [UInt8]? {
        guard let serial = find(id) else { return nil }
        var buffer = [UInt8](repeating: 0, count: 64)
        let length = buffer.withUnsafeMutableBytes {
            latchkey_keyctl_read(serial, $0.baseAddress, $0.count)
        }
        guard length > 0, length <= Int64(buffer.count) else { return nil }
        return Array(buffer.prefix(Int(length)))
    }

    public func store(id: String, key: [UInt8], ttl: Int) {
        guard ttl > 0, !key.isEmpty else { return }
        forget(id: id)  // a fresh key, so the timeout starts now
        let created = key.withUnsafeBytes {
            latchkey_add_key(
                "user", Self.namePrefix + id, $0.baseAddress, $0.count, LATCHKEY_KEY_SPEC_USER_KEYRING)
        }
        guard created > 0, let serial = Int32(exactly: created) else { return }
        // Possessor and same user only; later processes may not possess @u, so the user needs read/search.
        let permissions =
            LATCHKEY_KEY_POS_ALL | LATCHKEY_KEY_USR_VIEW | LATCHKEY_KEY_USR_READ
            | LATCHKEY_KEY_USR_WRITE | LATCHKEY_KEY_USR_SEARCH | LATCHKEY_KEY_USR_SETATTR
        let seconds = UInt32(clamping: ttl)
        if latchkey_keyctl_setperm(serial, permissions) != 0
            || latchkey_keyctl_set_timeout(serial, seconds) != 0
        {
            destroy(serial)  // never leave a key behind without its timeout
        }
    }

    public func forget(id: String) {
        while let serial = find(id) {
            guard destroy(serial) else { return }
        }
    }

    private func find(_ id: String) -> Int32? {
        let found = latchkey_keyctl_search(
            LATCHKEY_KEY_SPEC_USER_KEYRING, "user", Self.namePrefix + id, 0)
        return found > 0 ? Int32(exactly: found) : nil
    }

    @discardableResult
    private func destroy(_ serial: Int32) -> Bool {
        latchkey_keyctl_invalidate(serial) == 0 || latchkey_keyctl_revoke(serial) == 0
    }
}
