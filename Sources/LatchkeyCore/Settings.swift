import AWSConfig
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// latchkey's own settings, read from the environment once per run.
public struct LatchkeySettings: Sendable, Equatable {
    /// A cached session is reused only while at least this much of it remains.
    public var minimumTTL: Int = 300
    /// How long an unlocked file vault stays unlocked (0 turns remembering off).
    public var unlockTTL: Int = 900
    public var backend: String?
    public var fileDirectory: String
    /// How long a process waits for another one that is getting the same session.
    public var lockTimeout: Int = 180
    /// How long a `credential_process` may run.
    public var processTimeout: Int = 60
    /// Also write IAM Identity Center sign-ins to the AWS CLI's `~/.aws/sso/cache`, so `aws` shares them.
    public var shareSSOCache = false
    /// Also write console sign-in sessions to the AWS CLI's `~/.aws/login/cache`, so `aws` shares them.
    public var shareCLILoginCache = false

    public init(environment: [String: String]) throws {
        let folders = UserFolders(environment: environment)
        if let text = environment["LATCHKEY_MIN_TTL"], !text.isEmpty {
            minimumTTL = try parseDuration(text)
        }
        if let text = environment["LATCHKEY_UNLOCK_TTL"], !text.isEmpty {
            unlockTTL = try parseDuration(text)
        }
        if let text = environment["LATCHKEY_LOCK_TIMEOUT"], !text.isEmpty {
            lockTimeout = try parseDuration(text)
        }
        if let text = environment["LATCHKEY_PROCESS_TIMEOUT"], !text.isEmpty {
            processTimeout = try parseDuration(text)
        }
        shareSSOCache = ["1", "true", "yes"].contains(
            environment["LATCHKEY_SSO_SHARE_CLI_CACHE"]?.lowercased() ?? "")
        shareCLILoginCache = ["1", "true", "yes"].contains(
            environment["LATCHKEY_SHARE_CLI_LOGIN_CACHE"]?.lowercased() ?? "")
        backend = environment["LATCHKEY_BACKEND"].flatMap { $0.isEmpty ? nil : $0 }
        if let dir = environment["LATCHKEY_FILE_DIR"], !dir.isEmpty {
            fileDirectory = ConfigLocations.expandTilde(dir, home: folders.home)
        } else {
            fileDirectory = folders.dataHome + "/latchkey/keyring"
        }
    }
}

/// Parses `3600`, `3600s`, `15m`, `1h`, `1h30m`, `2d` into seconds.
public func parseDuration(_ text: String) throws -> Int {
    let trimmed = text.trimmingBlanks().lowercased()
    if let seconds = Int(trimmed), seconds >= 0 { return seconds }
    var total = 0
    var number = ""
    var sawUnit = false
    for character in trimmed {
        if character.isASCII, character.isNumber {
            number.append(character)
            continue
        }
        guard let value = Int(number) else { throw LatchkeyError.invalidDuration(text) }
        switch character {
        case "d": total += value * 86400
        case "h": total += value * 3600
        case "m": total += value * 60
        case "s": total += value
        default: throw LatchkeyError.invalidDuration(text)
        }
        number = ""
        sawUnit = true
    }
    guard number.isEmpty, sawUnit else { throw LatchkeyError.invalidDuration(text) }
    return total
}

/// Formats seconds for people: `59m`, `1h05m`, `45s`.
public func formatDuration(_ seconds: Int) -> String {
    if seconds < 60 { return "\(max(seconds, 0))s" }
    let hours = seconds / 3600
    let minutes = (seconds % 3600) / 60
    if hours == 0 { return "\(minutes)m" }
    return minutes == 0 ? "\(hours)h" : "\(hours)h\(minutes < 10 ? "0" : "")\(minutes)m"
}
