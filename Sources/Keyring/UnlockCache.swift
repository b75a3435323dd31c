import CLatchkeySys
import Crypto
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

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

/// The few kernel key calls the unlock cache makes, so a test can watch their order.
/// Each returns what the system call returns: a serial or 0 on success, a negative errno on failure.
public protocol KernelKeyCalls: Sendable {
    func addKey(type: String, description: String, payload: [UInt8], keyring: Int32) -> Int64
    func setPermissions(_ key: Int32, _ permissions: UInt32) -> Int32
    func setTimeout(_ key: Int32, seconds: UInt32) -> Int32
    func link(_ key: Int32, into keyring: Int32) -> Int32
    func unlink(_ key: Int32, from keyring: Int32) -> Int32
    func search(_ keyring: Int32, type: String, description: String) -> Int64
    func read(_ key: Int32, into buffer: inout [UInt8]) -> Int64
    func invalidate(_ key: Int32) -> Int32
    func revoke(_ key: Int32) -> Int32
}

/// The real system calls.
public struct SystemKernelKeyCalls: KernelKeyCalls {
    public init() {}
    public func addKey(type: String, description: String, payload: [UInt8], keyring: Int32) -> Int64 {
        payload.withUnsafeBytes { latchkey_add_key(type, description, $0.baseAddress, $0.count, keyring) }
    }
    public func setPermissions(_ key: Int32, _ permissions: UInt32) -> Int32 {
        latchkey_keyctl_setperm(key, permissions)
    }
    public func setTimeout(_ key: Int32, seconds: UInt32) -> Int32 {
        latchkey_keyctl_set_timeout(key, seconds)
    }
    public func link(_ key: Int32, into keyring: Int32) -> Int32 { latchkey_keyctl_link(key, keyring) }
    public func unlink(_ key: Int32, from keyring: Int32) -> Int32 { latchkey_keyctl_unlink(key, keyring) }
    public func search(_ keyring: Int32, type: String, description: String) -> Int64 {
        latchkey_keyctl_search(keyring, type, description, 0)
    }
    public func read(_ key: Int32, into buffer: inout [UInt8]) -> Int64 {
        buffer.withUnsafeMutableBytes { latchkey_keyctl_read(key, $0.baseAddress, $0.count) }
    }
    public func invalidate(_ key: Int32) -> Int32 { latchkey_keyctl_invalidate(key) }
    public func revoke(_ key: Int32) -> Int32 { latchkey_keyctl_revoke(key) }
}

/// Caches the master key in the Linux kernel user keyring (`@u`) as a `user` key named
/// `latchkey:vault:<id>`, readable only by this user, that the kernel destroys after `ttl` seconds.
/// Where the key API is missing or forbidden (macOS, some containers) it silently caches nothing.
///
/// The key is born in this thread's own keyring (`@t`), which no other process can reach, gets its
/// permissions and timeout there, and only then is linked into `@u`: a key without its timeout or
/// with default permissions is never visible in `@u`, even if latchkey is killed half-way.
public struct KernelKeyringUnlockCache: UnlockCache {
    public static let namePrefix = "latchkey:vault:"
    /// Possessor and same user only; later processes may not possess @u, so the user needs read/search.
    public static let permissions =
        LATCHKEY_KEY_POS_ALL | LATCHKEY_KEY_USR_VIEW | LATCHKEY_KEY_USR_READ
        | LATCHKEY_KEY_USR_WRITE | LATCHKEY_KEY_USR_SEARCH | LATCHKEY_KEY_USR_SETATTR
    public static let userKeyring = LATCHKEY_KEY_SPEC_USER_KEYRING
    public static let threadKeyring = LATCHKEY_KEY_SPEC_THREAD_KEYRING

    private let calls: any KernelKeyCalls

    public init(calls: any KernelKeyCalls = SystemKernelKeyCalls()) {
        self.calls = calls
    }

    /// True when the kernel key API answers here.
    public static var isAvailable: Bool {
        latchkey_keyctl_get_keyring_id(LATCHKEY_KEY_SPEC_USER_KEYRING) > 0
    }

    public func load(id: String) -> [UInt8]? {
        guard let serial = find(id) else { return nil }
        var buffer = [UInt8](repeating: 0, count: 64)
        let length = calls.read(serial, into: &buffer)
        guard length > 0, length <= Int64(buffer.count) else { return nil }
        return Array(buffer.prefix(Int(length)))
    }

    public func store(id: String, key: [UInt8], ttl: Int) {
        guard ttl > 0, !key.isEmpty else { return }
        forget(id: id)  // a fresh key, so the timeout starts now
        // store() is synchronous, so every call below runs on this one thread and sees the same @t.
        let created = calls.addKey(
            type: "user", description: Self.namePrefix + id, payload: key, keyring: Self.threadKeyring)
        guard created > 0, let serial = Int32(exactly: created) else { return }
        defer { _ = calls.unlink(serial, from: Self.threadKeyring) }  // @u (if linked) keeps it alive
        guard calls.setPermissions(serial, Self.permissions) == 0,
            calls.setTimeout(serial, seconds: UInt32(clamping: ttl)) == 0,
            calls.link(serial, into: Self.userKeyring) == 0
        else {
            destroy(serial)  // never leave a key behind without its timeout
            return
        }
    }

    public func forget(id: String) {
        while let serial = find(id) {
            guard destroy(serial) else { return }
        }
    }

    private func find(_ id: String) -> Int32? {
        let found = calls.search(Self.userKeyring, type: "user", description: Self.namePrefix + id)
        return found > 0 ? Int32(exactly: found) : nil
    }

    @discardableResult
    private func destroy(_ serial: Int32) -> Bool {
        calls.invalidate(serial) == 0 || calls.revoke(serial) == 0
    }
}
