import Foundation

/// Everything the core can refuse or fail at, each with a sentence that says what to do.
public enum LatchkeyError: Error, CustomStringConvertible, Sendable {
    case unknownProfile(String, configFile: String)
    case noStoredCredentials(profile: String, backend: String)
    case roleWithoutSource(profile: String)
    case unsupportedChain(profile: String, source: String)
    case invalidDuration(String)
    case durationOutOfRange(seconds: Int, operation: String, range: ClosedRange<Int>)
    case malformedMFACode(source: String)
    case mfaRejected(profile: String, serial: String)
    case mfaCodeUnavailable(profile: String, serial: String, reason: String)
    case mfaProcessFailed(command: String, reason: String)
    case invalidAccessKeyId(String)
    case invalidSecretAccessKey
    case temporaryKeyNotAllowed
    case missingEnvironmentCredentials
    case nestedExec(profile: String)
    case commandNotFound(String)
    case corruptStoredItem(key: String)
    case awsCallFailed(operation: String, profile: String, detail: String)

    public var description: String {
        switch self {
        case .unknownProfile(let name, let configFile):
            return "profile '\(name)' is not in \(configFile) and has no stored credentials; "
                + "add it with `latchkey add \(name)`, or check the spelling with `latchkey list`."
        case .noStoredCredentials(let profile, let backend):
            return "no credentials are stored for profile '\(profile)' in the \(backend) backend; "
                + "store them with `latchkey add \(profile)`."
        case .roleWithoutSource(let profile):
            return "profile '\(profile)' has role_arn but no source_profile; "
                + "add `source_profile = NAME` naming the profile whose keys assume the role."
        case .unsupportedChain(let profile, let source):
            return "profile '\(profile)' uses source_profile '\(source)', which itself assumes a role; "
                + "role chains are not supported yet: point source_profile at a profile with stored keys."
        case .invalidDuration(let text):
            return "'\(text)' is not a duration; write it as seconds (3600) or with a unit (15m, 1h, 1h30m)."
        case .durationOutOfRange(let seconds, let operation, let range):
            return "a duration of \(seconds) s is outside what \(operation) allows "
                + "(\(range.lowerBound)…\(range.upperBound) s); choose a value in that range."
        case .malformedMFACode(let source):
            return
                "the MFA code from \(source) is not 6 digits; enter the 6-digit code your MFA device shows."
        case .mfaRejected(let profile, let serial):
            return "the MFA code was rejected by AWS for \(serial) (profile '\(profile)'); "
                + "wait for the next code and try again, and check the device's clock if it keeps failing. "
                + "Nothing was cached."
        case .mfaCodeUnavailable(let profile, let serial, let reason):
            return "profile '\(profile)' needs an MFA code for \(serial) but \(reason); "
                + "pass --mfa-token CODE, set mfa_process in the profile, or run from a terminal."
        case .mfaProcessFailed(let command, let reason):
            return
                "mfa_process `\(command)` failed: \(reason); run it by hand to check it prints a 6-digit code."
        case .invalidAccessKeyId(let id):
            return "'\(id)' is not an AWS access key id (20 characters, starting AKIA); "
                + "copy it again from the IAM console or the key's CSV file."
        case .invalidSecretAccessKey:
            return "the secret access key is not valid (40 characters of A-Z, a-z, 0-9, + and /); "
                + "copy it again from the key's CSV file."
        case .temporaryKeyNotAllowed:
            return "that is a temporary key (ASIA…); store the IAM user's long-lived key (AKIA…) "
                + "and let latchkey create sessions from it."
        case .missingEnvironmentCredentials:
            return "--env needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set in the environment."
        case .nestedExec(let profile):
            return "already inside a latchkey session for profile '\(profile)' (AWS_VAULT is set); "
                + "exit that shell first, or unset AWS_VAULT if you really mean to nest."
        case .commandNotFound(let name):
            return "command '\(name)' was not found in PATH."
        case .corruptStoredItem(let key):
            return "the stored item '\(key)' could not be decoded; remove it with `latchkey clear` "
                + "(sessions) or add the credentials again with `latchkey add`."
        case .awsCallFailed(let operation, let profile, let detail):
            return "\(operation) for profile '\(profile)' failed: \(detail)"
        }
    }
}
