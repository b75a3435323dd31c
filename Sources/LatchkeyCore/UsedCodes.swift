import Crypto
import Foundation
import SystemSupport

/// Remembers which MFA codes were accepted, per device and 30-second step, so latchkey never
/// sends one twice: AWS refuses a code it has already accepted (the reason two calls in one
/// step fail). Kept in the private runtime folder. A code is kept only as an HMAC-SHA256 keyed with
/// a random per-user key (`mfa-used.key`, 0600 beside the log), so the log alone does not give
/// the code away by a lookup of all million SHA-256 values.
/// Best effort throughout: losing a record only means AWS itself refuses a reused code.
public struct UsedCodeLog: Sendable {
    public let path: String
    let keyPath: String

    public init(directory: String) {
        path = directory + "/mfa-used.json"
        keyPath = directory + "/mfa-used.key"
    }

    static let stepSeconds = 30.0
    static let keyBytes = 32

    static func step(_ date: Date) -> Int { Int(date.timeIntervalSince1970 / stepSeconds) }

    static func fingerprint(_ parts: [String], key: SymmetricKey) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(parts.joined(separator: "\u{1F}").utf8), using: key)
            .map { String(format: "%02x", $0) }.joined()
    }

    /// True when this code for this device was accepted within the window AWS still remembers.
    public func wasUsed(serial: String, code: String, at now: Date) -> Bool {
        guard let key = key(create: false), let entry = entries()[Self.fingerprint([serial], key: key)]
        else { return false }
        return entry.code == Self.fingerprint([serial, code], key: key)
            && abs(entry.step - Self.step(now)) <= 2
    }

    public func record(serial: String, code: String, at now: Date) {
        guard let key = key(create: true) else { return }
        var all = entries().filter { abs($0.value.step - Self.step(now)) <= 2 }
        all[Self.fingerprint([serial], key: key)] = Entry(
            step: Self.step(now), code: Self.fingerprint([serial, code], key: key))
        guard let data = try? JSONEncoder().encode(all) else { return }
        try? PrivateFile.write(data, to: path)
    }

    /// The log's key; made (random, 0600, never replacing one another process just made) when
    /// `create` is set and there is none or it is damaged.
    func key(create: Bool) -> SymmetricKey? {
        if let data = try? PrivateFile.read(keyPath, limit: Self.keyBytes), data.count == Self.keyBytes {
            return SymmetricKey(data: data)
        }
        guard create else { return nil }
        let fresh = SymmetricKey(size: .bits256)
        let bytes = fresh.withUnsafeBytes { Data($0) }
        do throws(FileOperationError) {
            try PrivateFile.create(bytes, at: keyPath)
            return fresh
        } catch  where error.errno == EEXIST {
            // Another process made one first, or a damaged one is there: use it, or replace it.
            if let data = try? PrivateFile.read(keyPath, limit: Self.keyBytes), data.count == Self.keyBytes {
                return SymmetricKey(data: data)
            }
            guard (try? PrivateFile.write(bytes, to: keyPath)) != nil else { return nil }
            return fresh
        } catch {
            return nil
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
