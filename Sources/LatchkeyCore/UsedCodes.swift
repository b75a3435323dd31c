import Crypto
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif
import SystemSupport

/// Remembers which MFA codes were accepted, per device and 30-second step, so latchkey never
/// sends one twice: AWS refuses a code it has already accepted (the reason two calls in one
/// step fail). Kept in `mfa-used/` in the private runtime folder. A code is kept only as an
/// HMAC-SHA256 keyed with a random per-user key (`mfa-used/key`, 0600 beside the log), so the log
/// alone does not give the code away by a lookup of all million SHA-256 values.
/// Best effort throughout: losing a record only means AWS itself refuses a reused code.
public struct UsedCodeLog: Sendable {
    /// A folder of its own: every writer holds its lock, so a temp file found there is stale.
    let folder: String
    public let path: String
    let keyPath: String

    public init(directory: String) {
        folder = directory + "/mfa-used"
        path = folder + "/log.json"
        keyPath = folder + "/key"
    }

    static let stepSeconds = 30.0
    static let keyBytes = 32

    static func step(_ date: Date) -> Int { Int(date.timeIntervalSince1970 / stepSeconds) }

    static func fingerprint(_ parts: [String], key: SymmetricKey) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(parts.joined(separator: "\u{1F}").utf8), using: key)
            .withUnsafeBytes { hexEncoded($0) }
    }

    /// True when this code for this device was accepted within the window AWS still remembers.
    public func wasUsed(serial: String, code: String, at now: Date) -> Bool {
        guard let key = storedKey(), let entry = entries()[Self.fingerprint([serial], key: key)]
        else { return false }
        return entry.code == Self.fingerprint([serial, code], key: key)
            && abs(entry.step - Self.step(now)) <= 2
    }

    public func record(serial: String, code: String, at now: Date) {
        guard (try? PrivateFolder.prepare(folder)) != nil else { return }
        // Read-modify-write under an flock (it dies with its holder), so no record is lost.
        let lock = open(folder + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard lock >= 0 else { return }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { return }
        }
        removeStaleTemporaries()
        guard let key = storedKey() ?? newKey() else { return }
        var all = entries().filter { abs($0.value.step - Self.step(now)) <= 2 }
        all[Self.fingerprint([serial], key: key)] = Entry(
            step: Self.step(now), code: Self.fingerprint([serial, code], key: key))
        guard let data = try? JSONEncoder().encode(all) else { return }
        try? PrivateFile.write(data, to: path)
    }

    func storedKey() -> SymmetricKey? {
        guard let data = try? PrivateFile.read(keyPath, limit: Self.keyBytes), data.count == Self.keyBytes
        else { return nil }
        return SymmetricKey(data: data)
    }

    /// A fresh random key, written 0600 (over a damaged one); call with the lock held.
    func newKey() -> SymmetricKey? {
        let fresh = SymmetricKey(size: .bits256)
        guard (try? PrivateFile.write(fresh.withUnsafeBytes { Data($0) }, to: keyPath)) != nil else {
            return nil
        }
        return fresh
    }

    /// What a writer killed mid-write left; safe because every writer holds the lock we hold.
    func removeStaleTemporaries() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names where name.hasPrefix(PrivateFile.temporaryPrefix) {
            unlink(folder + "/" + name)
        }
    }

    /// Seconds until the next 30-second step begins (when a new code appears).
    public static func secondsToNextStep(from now: Date) -> Double {
        stepSeconds - now.timeIntervalSince1970.truncatingRemainder(dividingBy: stepSeconds)
    }

    struct Entry: Codable {
        var step: Int
        var code: String
    }

    func entries() -> [String: Entry] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        return (try? JSONDecoder().decode([String: Entry].self, from: data)) ?? [:]
    }
}
