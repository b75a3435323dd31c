import Foundation
import Keyring

/// Remembers which MFA codes were accepted, per device and 30-second step, so latchkey never
/// sends one twice: AWS refuses a code it has already accepted (the reason two calls in one
/// step fail). Kept in the private runtime folder; only a salted hash of each spent code is kept.
public struct UsedCodeLog: Sendable {
    public let path: String

    public init(directory: String) {
        path = directory + "/mfa-used.json"
    }

    static let stepSeconds = 30.0

    static func step(_ date: Date) -> Int { Int(date.timeIntervalSince1970 / stepSeconds) }

    static func fingerprint(serial: String, code: String) -> String { digest([serial, code]) }

    /// True when this code for this device was accepted within the window AWS still remembers.
    public func wasUsed(serial: String, code: String, at now: Date) -> Bool {
        guard let entry = entries()[digest([serial])] else { return false }
        return entry.code == Self.fingerprint(serial: serial, code: code)
            && abs(entry.step - Self.step(now)) <= 2
    }

    public func record(serial: String, code: String, at now: Date) {
        var all = entries().filter { abs($0.value.step - Self.step(now)) <= 2 }
        all[digest([serial])] = Entry(
            step: Self.step(now), code: Self.fingerprint(serial: serial, code: code))
        guard let data = try? JSONEncoder().encode(all) else { return }
        // Best effort: losing this record only means AWS itself refuses a reused code.
        let temporary = path + ".\(getpid()).tmp"
        if FileManager.default.createFile(
            atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600])
        {
            rename(temporary, path)
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
