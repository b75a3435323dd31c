#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Everything the core can refuse or fail at, each with a sentence that says what to do.
public enum LatchkeyError: Error, CustomStringConvertible, Sendable {
    case unknownProfile(String, configFile: String)
    case noStoredCredentials(profile: String, backend: String)
    case roleWithoutSource(profile: String)
    case missingSourceProfile(source: String, referencedBy: String, configFile: String)
    case profileLoop([String])
    case sourceAndCredentialSource(profile: String)
    case unknownCredentialSource(profile: String, value: String)
    case partialKeys(profile: String, missing: String)
    case webIdentityWithoutRole(profile: String)
    case invalidSSOConfig(profile: String, problem: String)
    case chainedDurationTooLong(profile: String, seconds: Int, reason: String)
    case invalidSetting(profile: String, key: String, value: String, expected: String)
    case invalidDuration(String)
    case durationOutOfRange(seconds: Int, operation: String, range: ClosedRange<Int>)
    case malformedMFACode(source: String)
    case mfaRejected(profile: String, serial: String)
    case mfaCodeUnavailable(profile: String, serial: String, reason: String)
    case mfaProcessFailed(command: String, cause: any Error)
    case mfaCodeReused(serial: String)
    /// Carries only the length: the rejected value may be a secret pasted in the wrong place.
    case invalidAccessKeyId(characters: Int)
    case invalidSecretAccessKey
    case temporaryKeyNotAllowed
    case missingEnvironmentCredentials
    case nestedExec(profile: String)
    case commandNotFound(String)
    case corruptStoredItem(key: String)
    /// An AWS call failed: `cause` is what the client reported (AWSClientError: the service's
    /// answer, a timeout, no connection), `advice` what to do about it (may be empty).
    case awsCallFailed(operation: String, profile: String, cause: any Error, advice: String = "")
    case sourceUnavailable(profile: String, source: String, reason: String)
    /// A service or program source failed; `cause` is its own error, `advice` what to do.
    case sourceFailed(profile: String, source: String, cause: any Error, advice: String = "")
    case lockTimeout(profile: String, seconds: Int)

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
        case .missingSourceProfile(let source, let referencedBy, let configFile):
            return
                "profile '\(referencedBy)' names source_profile '\(source)', which is not in \(configFile); "
                + "add a [profile \(source)] section (and `latchkey add \(source)`), or fix the name."
        case .profileLoop(let names):
            return "the profiles \(names.joined(separator: " -> ")) form a loop through source_profile; "
                + "one of them must end the chain with a stored key or another credential source."
        case .sourceAndCredentialSource(let profile):
            return
                "profile '\(profile)' has both source_profile and credential_source; keep only one of them."
        case .unknownCredentialSource(let profile, let value):
            return "profile '\(profile)' has credential_source = \(value); "
                + "use Environment, Ec2InstanceMetadata or EcsContainer."
        case .partialKeys(let profile, let missing):
            return "profile '\(profile)' has half a key pair in the shared files (\(missing) is missing); "
                + "add it, or remove both keys and store them with `latchkey add \(profile)`."
        case .webIdentityWithoutRole(let profile):
            return
                "profile '\(profile)' has web_identity_token_file but no role_arn; add the role_arn to assume."
        case .invalidSSOConfig(let profile, let problem):
            return "profile '\(profile)': \(problem)"
        case .chainedDurationTooLong(let profile, let seconds, let reason):
            return
                "profile '\(profile)' asks for a \(formatDuration(seconds)) role session, but \(reason), and AWS "
                + "limits such chained role sessions to 1 hour; ask for 1h or less (--duration or duration_seconds)."
        case .invalidSetting(let profile, let key, let value, let expected):
            return "profile '\(profile)' has \(key) = \(value); expected \(expected)."
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
                + "pass --mfa-token CODE, set mfa_process in the profile, choose a --prompt driver "
                + "(zenity, kdialog, osascript, ykman), or run from a terminal."
        case .mfaCodeReused(let serial):
            return "that MFA code for \(serial) was already used, and AWS accepts each code only once; "
                + "wait for the next code (a new one appears every 30 seconds) and try again."
        case .mfaProcessFailed(let command, let cause):
            return
                "mfa_process `\(command)` failed: \(cause); run it by hand to check it prints a 6-digit code."
        case .invalidAccessKeyId(let characters):
            let swapped =
                characters == 40
                ? " 40 characters is the length of a secret access key: were the two swapped?" : ""
            return
                "the access key id is not valid (it has \(characters) characters; an id has 20, starting AKIA, "
                + "and what was given is not shown in case it is a secret); "
                + "copy it again from the IAM console or the key's CSV file.\(swapped)"
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
        case .awsCallFailed(let operation, let profile, let cause, let advice):
            return "\(operation) for profile '\(profile)' failed: \(cause)\(advice)"
        case .lockTimeout(let profile, let seconds):
            return "another latchkey process has been getting the session for '\(profile)' for \(seconds) s "
                + "(waiting for an MFA code?); answer or stop it and try again, or raise LATCHKEY_LOCK_TIMEOUT."
        case .sourceUnavailable(let profile, let source, let reason):
            return "profile '\(profile)' gets credentials from \(source), but \(reason)"
        case .sourceFailed(let profile, let source, let cause, let advice):
            return "profile '\(profile)' gets credentials from \(source), but \(cause)\(advice)"
        }
    }
}
