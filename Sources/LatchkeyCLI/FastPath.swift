#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport
import LatchkeyCore

/// The hot commands, read without ArgumentParser (issue 16). `credential_process = latchkey
/// export --format json P` and `latchkey exec P -- cmd` run many times a day, and building
/// ArgumentParser's command tree cost more than everything else they do (about 21 M of 36 M
/// instructions for a warm export: runtime casts and reflection over every subcommand's
/// arguments). So the few shapes below are recognised by hand and run the very code the parsed
/// commands run; anything else (any other option or flag, `-h`, `--`, a repeated option, a value
/// that is not a known format, a second word) is not recognised, and the untouched arguments go
/// to ArgumentParser, which gives its own answer or its own error. An option added to `exec` or
/// `export` therefore works at once: it only makes a command line leave the fast path.
///
/// - `--version`
/// - `export [--format F | --format=F]... PROFILE` in any order, each at most once (F: a known format)
/// - `exec PROFILE` and `exec PROFILE -- COMMAND...` (everything after `--` is the command's)
///
/// PROFILE is one word that does not start with `-`. What no option means is the
/// `GlobalChoices()`, `CredentialChoices()` and `ExportFormat.env` the parsed commands default to
/// (FastPathTests checks that against ArgumentParser). `LATCHKEY_FULL_PARSER=1` turns the fast
/// path off, so the end-to-end tests can run the same command line both ways and compare.
enum FastCommand: Equatable {
    case version
    case export(profile: String, format: ExportFormat)
    case exec(ExecRequest)

    /// The shape `arguments` (without the program name) has, or nil: ask ArgumentParser.
    init?(_ arguments: [String]) {
        guard let first = arguments.first else { return nil }
        switch first {
        case "--version" where arguments.count == 1:
            self = .version
        case "export":
            var profile: String?
            var format: ExportFormat?
            var index = 1
            while index < arguments.count {
                let word = arguments[index]
                if word == "--format", format == nil, index + 1 < arguments.count,
                    let value = ExportFormat(rawValue: arguments[index + 1])
                {
                    format = value
                    index += 2
                } else if word.hasPrefix("--format="), format == nil,
                    let value = ExportFormat(rawValue: String(word.dropFirst("--format=".count)))
                {
                    format = value
                    index += 1
                } else if profile == nil, isProfileWord(word) {
                    profile = word
                    index += 1
                } else {
                    return nil
                }
            }
            guard let profile else { return nil }
            self = .export(profile: profile, format: format ?? .env)
        case "exec":
            guard arguments.count >= 2, isProfileWord(arguments[1]) else { return nil }
            guard arguments.count == 2 || arguments[2] == "--" else { return nil }
            self = .exec(ExecRequest(profile: arguments[1], command: Array(arguments[2...])))
        default:
            return nil
        }
    }

    func run() async throws {
        switch self {
        case .version:
            writeToStandardOutput(versionLine)
        case .export(let profile, let format):
            try await runExport(
                global: GlobalChoices(), options: CredentialChoices(), format: format, profile: profile)
        case .exec(let request):
            try await runExec(request)
        }
    }
}

/// What `latchkey --version` prints, as ArgumentParser prints the configuration's `version`.
let versionLine = "\(latchkeyVersion) (\(latchkeyCommit))\n"

/// A word ArgumentParser can only take as a positional value: not empty, not an option or `--`.
private func isProfileWord(_ word: String) -> Bool {
    !word.isEmpty && !word.hasPrefix("-")
}
