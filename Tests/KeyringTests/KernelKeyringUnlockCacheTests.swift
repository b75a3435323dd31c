import Foundation
import Keyring
import Testing

/// The line of /proc/keys describing our key (serial flags usage timeout perm uid gid type description).
private func procKeysLine(_ description: String) throws -> [Substring]? {
    let text = try procKeys()
    return text.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        .first { $0.count >= 9 && $0[8].hasPrefix(description) }
}

/// All of /proc/keys. The kernel hands it out a page per `read`, and `String(contentsOfFile:)` stopped
/// at the first short read: with more than a page of keys (other suites', a benchmark's), a key
/// whose serial sorted late was missing and these tests failed now and then. Read to the end.
private func procKeys() throws -> String {
    let descriptor = open("/proc/keys", O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count == 0 { break }
        if count < 0 {
            if errno == EINTR { continue }
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        bytes += buffer[..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
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

/// One kernel call as the unlock cache made it.
enum KeyCall: Equatable {
    case add(description: String, keyring: Int32)
    case setPermissions(Int32, UInt32)
    case setTimeout(Int32, UInt32)
    case link(Int32, into: Int32)
    case unlink(Int32, from: Int32)
    case search(Int32)
    case read(Int32)
    case invalidate(Int32)
    case revoke(Int32)
}

/// Records every call and forwards it to `inner` (a scripted kernel, or the real one), then runs
/// `afterEach` so a test can look at the kernel between two calls.
final class RecordingKeyCalls: KernelKeyCalls, @unchecked Sendable {
    private let lock = NSLock()
    private var log: [KeyCall] = []
    private let inner: (any KernelKeyCalls)?
    private let failing: (KeyCall) -> Bool
    private let afterEach: @Sendable (KeyCall) -> Void

    /// With no `inner`, every call succeeds (add_key returns 1000) unless `failing` says otherwise.
    init(
        inner: (any KernelKeyCalls)? = nil, failing: @escaping (KeyCall) -> Bool = { _ in false },
        afterEach: @escaping @Sendable (KeyCall) -> Void = { _ in }
    ) {
        self.inner = inner
        self.failing = failing
        self.afterEach = afterEach
    }

    var calls: [KeyCall] { lock.withLock { log } }

    private func record<T: BinaryInteger>(_ call: KeyCall, _ real: (any KernelKeyCalls) -> T, fake: T) -> T {
        lock.withLock { log.append(call) }
        let answer: T
        if let inner { answer = real(inner) } else { answer = failing(call) ? -1 : fake }
        afterEach(call)
        return answer
    }

    func addKey(type: String, description: String, payload: [UInt8], keyring: Int32) -> Int64 {
        record(
            .add(description: description, keyring: keyring),
            { $0.addKey(type: type, description: description, payload: payload, keyring: keyring) },
            fake: 1000)
    }
    func setPermissions(_ key: Int32, _ permissions: UInt32) -> Int32 {
        record(.setPermissions(key, permissions), { $0.setPermissions(key, permissions) }, fake: 0)
    }
    func setTimeout(_ key: Int32, seconds: UInt32) -> Int32 {
        record(.setTimeout(key, seconds), { $0.setTimeout(key, seconds: seconds) }, fake: 0)
    }
    func link(_ key: Int32, into keyring: Int32) -> Int32 {
        record(.link(key, into: keyring), { $0.link(key, into: keyring) }, fake: 0)
    }
    func unlink(_ key: Int32, from keyring: Int32) -> Int32 {
        record(.unlink(key, from: keyring), { $0.unlink(key, from: keyring) }, fake: 0)
    }
    func search(_ keyring: Int32, type: String, description: String) -> Int64 {
        // The scripted kernel holds nothing yet: search finds nothing.
        record(.search(keyring), { $0.search(keyring, type: type, description: description) }, fake: -126)
    }
    func read(_ key: Int32, into buffer: inout [UInt8]) -> Int64 {
        lock.withLock { log.append(.read(key)) }
        return inner?.read(key, into: &buffer) ?? -1
    }
    func invalidate(_ key: Int32) -> Int32 { record(.invalidate(key), { $0.invalidate(key) }, fake: 0) }
    func revoke(_ key: Int32) -> Int32 { record(.revoke(key), { $0.revoke(key) }, fake: 0) }
}

/// The order of the kernel calls: the key must carry its permissions and timeout before anything
/// links it into the user keyring, where every process of the user can find it.
@Suite struct UnlockKeyCreationOrderTests {
    private let key = [UInt8](repeating: 7, count: 32)

    @Test func theKeyIsBornOutsideTheUserKeyringAndLinkedOnlyOnceRestricted() throws {
        let calls = RecordingKeyCalls()
        KernelKeyringUnlockCache(calls: calls).store(id: "abc", key: key, ttl: 300)
        let log = calls.calls
        let add = try #require(log.firstIndex { if case .add = $0 { true } else { false } })
        #expect(
            log[add]
                == .add(description: "latchkey:vault:abc", keyring: KernelKeyringUnlockCache.threadKeyring))
        let permissions = try #require(
            log.firstIndex(of: .setPermissions(1000, KernelKeyringUnlockCache.permissions)))
        let timeout = try #require(log.firstIndex(of: .setTimeout(1000, 300)))
        let linked = try #require(log.firstIndex(of: .link(1000, into: KernelKeyringUnlockCache.userKeyring)))
        #expect(add < permissions && permissions < linked && timeout < linked)
        let unlinked = try #require(
            log.firstIndex(of: .unlink(1000, from: KernelKeyringUnlockCache.threadKeyring)))
        #expect(linked < unlinked)
        // Nothing but the finished key ever reaches @u.
        for call in log {
            if case .add(_, let keyring) = call { #expect(keyring != KernelKeyringUnlockCache.userKeyring) }
        }
        #expect(KernelKeyringUnlockCache.permissions & 0x0000_ffff == 0)  // nothing for group or others
    }

    @Test(
        arguments: [
            KeyCall.setPermissions(1000, KernelKeyringUnlockCache.permissions),
            KeyCall.setTimeout(1000, 300),
            KeyCall.link(1000, into: KernelKeyringUnlockCache.userKeyring),
        ])
    func aFailedStepLinksNothingAndDestroysTheKey(failing: KeyCall) {
        let calls = RecordingKeyCalls(failing: { $0 == failing })
        KernelKeyringUnlockCache(calls: calls).store(id: "abc", key: key, ttl: 300)
        let log = calls.calls
        let failed = log.firstIndex(of: failing) ?? log.endIndex
        #expect(!log[..<failed].contains(.link(1000, into: KernelKeyringUnlockCache.userKeyring)))
        #expect(log.contains(.invalidate(1000)))
        #expect(log.contains(.unlink(1000, from: KernelKeyringUnlockCache.threadKeyring)))
    }

    /// The real kernel, watched between every two calls: whenever the key can be found in @u it
    /// already has its timeout and user-only permissions; afterwards the thread keyring is empty.
    @Test func inTheRealKernelTheKeyIsNeverInTheUserKeyringWithoutTimeoutOrPermissions() throws {
        try #require(KernelKeyringUnlockCache.isAvailable, "kernel key API unavailable here")
        let id = "order-\(UUID().uuidString.prefix(12).lowercased())"
        let description = KernelKeyringUnlockCache.namePrefix + id
        let system = SystemKernelKeyCalls()
        let sightings = Sightings()
        let calls = RecordingKeyCalls(
            inner: system,
            afterEach: { _ in
                let found = system.search(
                    KernelKeyringUnlockCache.userKeyring, type: "user", description: description)
                guard found > 0 else { return }
                sightings.append((try? procKeysLine(description)).flatMap { $0 }.map { $0.map(String.init) })
            })
        let cache = KernelKeyringUnlockCache(calls: calls)
        defer { KernelKeyringUnlockCache().forget(id: id) }
        cache.store(id: id, key: key, ttl: 600)

        #expect(KernelKeyringUnlockCache().load(id: id) == key)
        let seen = sightings.all
        #expect(!seen.isEmpty)
        for line in seen {
            let fields = try #require(line, "the key was in @u but not in /proc/keys")
            #expect(fields[3] != "perm", "the key was in @u without a timeout")
            let permissions = try #require(UInt32(fields[4], radix: 16))
            #expect(permissions & 0x0000_ffff == 0, "the key was in @u with group/other permissions")
        }
        // Only @u holds it: the thread keyring no longer links it.
        #expect(
            system.search(KernelKeyringUnlockCache.threadKeyring, type: "user", description: description) < 0)
    }
}

final class Sightings: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [[String]?] = []
    func append(_ line: [String]?) { lock.withLock { lines.append(line) } }
    var all: [[String]?] { lock.withLock { lines } }
}
