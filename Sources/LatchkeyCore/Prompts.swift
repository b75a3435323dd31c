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

/// Why latchkey may not ask anyone anything in this run.
public enum PromptsOff: Sendable, Equatable {
    /// `--no-prompt` was given.
    case option
    /// `LATCHKEY_NO_PROMPT=1` is set.
    case environment
    /// No terminal can be opened and no dialog can be shown (an IDE's or a daemon's
    /// `credential_process`): waiting would never end.
    case noTerminal

    var phrase: String {
        switch self {
        case .option: return "prompts are off (--no-prompt)"
        case .environment: return "prompts are off (LATCHKEY_NO_PROMPT=1)"
        case .noTerminal: return "no terminal or dialog is attached to ask on"
        }
    }
}

/// Decides once per run whether latchkey may ask for a code, a passphrase or a confirmation.
public enum PromptPolicy {
    /// nil when latchkey may ask; otherwise why it must fail at once instead.
    /// `dialogAvailable` is asked only when there is no terminal (it looks programs up on PATH,
    /// which every run, `export` included, would otherwise pay for).
    public static func promptsOff(
        noPromptOption: Bool, environment: [String: String], terminalAvailable: Bool,
        dialogAvailable: @autoclosure () -> Bool
    ) -> PromptsOff? {
        if noPromptOption { return .option }
        if isTrue(environment["LATCHKEY_NO_PROMPT"]) { return .environment }
        if !terminalAvailable, !dialogAvailable() { return .noTerminal }
        return nil
    }

    static func isTrue(_ value: String?) -> Bool {
        ["1", "true", "yes", "on"].contains(value?.trimmingBlanks().lowercased() ?? "")
    }
}

/// latchkey needed to ask for something and could not: says what, why, and the command that works.
public struct PromptRefused: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Need: Sendable, Equatable {
        case mfaCode(profile: String, serial: String)
        case filePassphrase(vault: String)
        case confirmation(question: String, flag: String)
        case awsVaultPassphrase(folder: String)
        case accessKey(profile: String)
        case enrollmentCodes(profile: String)
        case ssoSignIn(profile: String)
    }

    public var need: Need
    public var why: PromptsOff
    /// The profile the run was for, when there is one (for the record `doctor` shows).
    public var profile: String?

    public init(_ need: Need, why: PromptsOff, profile: String? = nil) {
        self.need = need
        self.why = why
        switch need {
        case .mfaCode(let name, _), .accessKey(let name), .enrollmentCodes(let name), .ssoSignIn(let name):
            self.profile = profile ?? name
        default:
            self.profile = profile
        }
    }

    /// What latchkey needed, in a few words.
    public var what: String {
        switch need {
        case .mfaCode(let profile, let serial): return "profile '\(profile)' needs an MFA code for \(serial)"
        case .filePassphrase(let vault): return "the file vault \(vault) needs its passphrase"
        case .confirmation(let question, _): return "\(question) needs a confirmation"
        case .awsVaultPassphrase(let folder): return "aws-vault's file store \(folder) needs its passphrase"
        case .accessKey(let profile): return "`latchkey add \(profile)` needs the access key typed in"
        case .enrollmentCodes(let profile):
            return "enrolling an MFA device for '\(profile)' needs two codes from the app"
        case .ssoSignIn(let profile):
            return "profile '\(profile)' needs an IAM Identity Center sign-in in the browser"
        }
    }

    /// The command or setting that works without asking.
    public var fix: String {
        switch need {
        case .mfaCode(let profile, _):
            return "give the code: `latchkey exec \(profile) --mfa-token CODE -- …` (the session it caches "
                + "also serves `latchkey export` and credential_process), or set mfa_process in the profile, "
                + "or use a YubiKey with --prompt ykman"
        case .filePassphrase:
            return
                "set LATCHKEY_FILE_PASSPHRASE (or unlock the vault once in a terminal with LATCHKEY_UNLOCK_TTL set)"
        case .confirmation(_, let flag): return "add \(flag) to go ahead without asking"
        case .awsVaultPassphrase: return "set AWS_VAULT_FILE_PASSPHRASE"
        case .accessKey(let profile):
            return "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY and run `latchkey add \(profile) --env`"
        case .enrollmentCodes(let profile):
            return "`latchkey mfa enroll \(profile) --codes CODE1 CODE2`, or --yubikey"
        case .ssoSignIn(let profile): return "run `latchkey sso login \(profile)` in a terminal"
        }
    }

    public var description: String { "\(what), but \(why.phrase); \(fix)." }
}

/// The last time latchkey had to refuse to ask (the AWS CLI hides credential_process's message,
/// so `latchkey doctor` shows it). Holds no secret: time, profile, message, fix.
public struct PromptFailureRecord: Codable, Sendable, Equatable {
    public var time: Date
    public var profile: String?
    public var message: String
    public var fix: String

    /// Older records are ignored: they say nothing about today.
    public static let maximumAge: TimeInterval = 24 * 3600
    static let fileName = "last-prompt-failure.json"

    public init(time: Date, profile: String?, message: String, fix: String) {
        self.time = time
        self.profile = profile
        self.message = message
        self.fix = fix
    }

    public init(_ refused: PromptRefused, time: Date) {
        self.init(time: time, profile: refused.profile, message: refused.description, fix: refused.fix)
    }

    public static func path(in directory: String) -> String { directory + "/" + fileName }

    public func save(in directory: String) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        try PrivateFile.write(try encoder.encode(self), to: Self.path(in: directory))
    }

    /// The record, unless there is none, it cannot be read, or it is too old to matter.
    public static func load(in directory: String, now: Date) -> PromptFailureRecord? {
        guard let data = FileManager.default.contents(atPath: path(in: directory)) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        guard let record = try? decoder.decode(PromptFailureRecord.self, from: data),
            now.timeIntervalSince(record.time) <= maximumAge
        else { return nil }
        return record
    }

    /// A later success for the profile makes its record moot.
    public static func clear(profile: String, in directory: String) {
        let file = path(in: directory)
        guard FileManager.default.fileExists(atPath: file) else { return }
        guard let data = FileManager.default.contents(atPath: file),
            let record = try? JSONDecoder().decode(PromptFailureRecord.self, from: data),
            record.profile != profile
        else {
            unlink(file)
            return
        }
    }
}
