import Crypto
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

/// A small lock around a value, for state the event-loop threads share.
final class Locked<Value>: @unchecked Sendable {
    private let lock = Lock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    var current: Value { withLock { $0 } }
}

/// A value read on every request and written rarely: readers share a read lock and never wait
/// for each other (a plain mutex made the two event loops queue behind one another).
final class ReadMostly<Value>: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>
    private var value: Value

    init(_ value: Value) {
        self.value = value
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    func read<T>(_ body: (Value) throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(value)
    }

    var current: Value { read { $0 } }

    func write<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&value)
    }
}

/// `count` random bytes from the system's CSPRNG (getrandom on Linux), as lower-case hex.
public func randomHexToken(bytes count: Int = 32) -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in
        let byte = UInt8.random(in: 0...255, using: &generator)
        return String(byte, radix: 16).leftPadded(to: 2)
    }.joined()
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// Compares a presented secret with the expected one in time that depends only on the
/// expected length, so response timing reveals nothing about how much of a guess was right.
public func constantTimeEquals(_ presented: String?, _ expected: [UInt8]) -> Bool {
    guard let presented else { return false }
    // The lengths are compared at full width: folded into a byte, lengths 256 apart looked equal.
    let lengthDifference = presented.utf8.count ^ expected.count
    var difference: UInt8 = 0
    var iterator = presented.utf8.makeIterator()
    for byte in expected {
        difference |= byte ^ (iterator.next() ?? ~byte)
    }
    return (lengthDifference | Int(difference)) == 0
}

/// The `Host` values a loopback server accepts: anything else is a DNS-rebinding attempt
/// (a web page whose name was re-pointed at 127.0.0.1) or a misdirected request.
public struct HostCheck: Sendable {
    let allowed: [String]

    public init(port: UInt16) {
        allowed = ["127.0.0.1:\(port)", "localhost:\(port)"]
    }

    public func allows(_ host: String?) -> Bool {
        guard let host else { return false }
        // Clients send the exact URL they were given: an ordinary comparison settles nearly all.
        return allowed.contains(host) || allowed.contains { $0.caseInsensitiveEquals(host) }
    }
}

extension String {
    func caseInsensitiveEquals(_ other: String) -> Bool {
        utf8.count == other.utf8.count
            && zip(utf8, other.utf8).allSatisfy { ($0 | 0x20) == ($1 | 0x20) || $0 == $1 }
    }
}

/// A token bucket for refused requests (bad token, foreign Host, malformed): once a client has
/// spent it, it is answered 429 and disconnected, which bounds guessing without ever slowing
/// a client that has the token.
public final class FailureRateLimiter: @unchecked Sendable {
    private let state: Locked<(tokens: Double, last: Double)>
    let capacity: Double
    let perSecond: Double
    let now: @Sendable () -> Double

    public init(
        capacity: Double = 20, perSecond: Double = 5,
        now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.capacity = capacity
        self.perSecond = perSecond
        self.now = now
        state = Locked((capacity, now()))
    }

    /// Records one refused request; false when the budget is spent.
    public func allowFailure() -> Bool {
        let time = now()
        return state.withLock { state in
            state.tokens = min(capacity, state.tokens + (time - state.last) * perSecond)
            state.last = time
            guard state.tokens >= 1 else { return false }
            state.tokens -= 1
            return true
        }
    }
}

/// IMDSv2 session tokens that need no server-side table: the expiry and an HMAC of it under a
/// key that lives only in this process, checked in constant time.
public struct MetadataTokenIssuer: Sendable {
    let key: SymmetricKey
    public static let ttlRange = 1...21600
    private let verified = ReadMostly<[String: UInt64]>([:])

    public init(key: SymmetricKey = SymmetricKey(size: .bits256)) {
        self.key = key
    }

    public func issue(ttl: Int, now: Double) -> String {
        let expiry = UInt64(now) + UInt64(ttl)
        return expiryHex(expiry) + macHex(expiry)
    }

    public func isValid(_ token: String?, now: Double) -> Bool {
        guard let token, token.utf8.count == 16 + 64 else { return false }
        // Clients reuse one token for hours: remember verified ones rather than redo the HMAC.
        // (Hashing is seeded per process, so lookup timing tells a guesser nothing.)
        if let expiry = verified.read({ $0[token] }) { return Double(expiry) > now }
        guard let expiry = verifiedExpiry(token) else { return false }
        verified.write { cache in
            if cache.count >= 256 { cache.removeAll() }
            cache[token] = expiry
        }
        return Double(expiry) > now
    }

    /// The token's expiry when its MAC is right (checked in constant time), else nil.
    func verifiedExpiry(_ token: String) -> UInt64? {
        let hex = Array(token.utf8)
        guard let expiry = UInt64(String(decoding: hex[0..<16], as: UTF8.self), radix: 16),
            let mac = bytes(fromHex: hex[16...])
        else { return nil }
        let valid = HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: bigEndian(expiry), using: key)
        return valid ? expiry : nil
    }

    private func expiryHex(_ expiry: UInt64) -> String {
        String(expiry, radix: 16).leftPadded(to: 16)
    }

    private func macHex(_ expiry: UInt64) -> String {
        HMAC<SHA256>.authenticationCode(for: bigEndian(expiry), using: key)
            .map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    private func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
    }

    private func bytes(fromHex hex: ArraySlice<UInt8>) -> [UInt8]? {
        var result: [UInt8] = []
        result.reserveCapacity(hex.count / 2)
        var index = hex.startIndex
        while index < hex.endIndex {
            guard let high = nibble(hex[index]), let low = nibble(hex[index + 1]) else { return nil }
            result.append(high << 4 | low)
            index += 2
        }
        return result
    }

    private func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: return byte - 48
        case 97...102: return byte - 87
        default: return nil
        }
    }
}
