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
/// - `export [--format F | --format=F] [--mfa-token C | --mfa-token=C] PROFILE` in any order, each at
///   most once (F: a known format)
/// - `exec [--mfa-token C | --mfa-token=C] PROFILE [-- COMMAND...]`, the option before or after PROFILE
///   (everything after `--` is the command's)
///
/// PROFILE and C are words that do not start with `-`. What no option means is the
/// `GlobalChoices()`, `CredentialChoices()` and `ExportFormat.env` the parsed commands default to
/// (FastPathTests checks that against ArgumentParser). `--mfa-token` is here for the first session
/// of the hour, when a script passes the code: ArgumentParser's tree cost as much as the STS call.
/// `LATCHKEY_FULL_PARSER=1` turns the fast path off, so the end-to-end tests can run the same
/// command line both ways and compare.
enum FastCommand: Equatable {
    case version
    case export(profile: String, format: ExportFormat, options: CredentialChoices)
    case exec(ExecRequest)

    /// The shape `arguments` (without the program name) has, or nil: ask ArgumentParser.
    init?(_ arguments: [String]) {
        guard let first = arguments.first else { return nil }
        switch first {
        case "--version" where arguments.count == 1:
            self = .version
        case "export":
            guard let read = Self.read(arguments.dropFirst(), takingFormat: true) else { return nil }
            self = .export(profile: read.profile, format: read.format ?? .env, options: read.options)
        case "exec":
            let end = arguments.firstIndex(of: "--") ?? arguments.endIndex
            guard let read = Self.read(arguments[1..<end], takingFormat: false) else { return nil }
            self = .exec(
                ExecRequest(options: read.options, profile: read.profile, command: Array(arguments[end...])))
        default:
            return nil
        }
    }

    /// A profile, `--mfa-token` and (when `takingFormat`) `--format`, each at most once, in any order;
    /// nil at any other word or without a profile.
    private static func read(
        _ arguments: ArraySlice<String>, takingFormat: Bool
    ) -> (profile: String, format: ExportFormat?, options: CredentialChoices)? {
        var words = Words(arguments)
        var profile: String?
        var format: ExportFormat?
        var options = CredentialChoices()
        while !words.isEmpty {
            if takingFormat, format == nil, let value = words.option("--format") {
                guard let known = ExportFormat(rawValue: value) else { return nil }
                format = known
            } else if options.mfaToken == nil, let value = words.option("--mfa-token") {
                options.mfaToken = value
            } else if profile == nil, let word = words.profile() {
                profile = word
            } else {
                return nil
            }
        }
        guard let profile else { return nil }
        return (profile, format, options)
    }

    func run() async throws {
        switch self {
        case .version:
            writeToStandardOutput(versionLine)
        case .export(let profile, let format, let options):
            try await runExport(global: GlobalChoices(), options: options, format: format, profile: profile)
        case .exec(let request):
            try await runExec(request)
        }
    }
}

/// What `latchkey --version` prints, as ArgumentParser prints the configuration's `version`.
let versionLine = "\(latchkeyVersion) (\(latchkeyCommit))\n"

/// The words of a command line, taken from the front.
private struct Words {
    private var rest: ArraySlice<String>

    init(_ words: ArraySlice<String>) { rest = words }

    var isEmpty: Bool { rest.isEmpty }

    /// The value of `name` given as `name VALUE` or `name=VALUE`, taking those words; nil (and nothing
    /// taken) when the next word is not that option with a value ArgumentParser surely reads the same.
    mutating func option(_ name: String) -> String? {
        guard let word = rest.first else { return nil }
        if word == name, rest.count >= 2, Self.isValue(rest[rest.startIndex + 1]) {
            defer { rest = rest.dropFirst(2) }
            return rest[rest.startIndex + 1]
        }
        if word.hasPrefix(name + "="), case let value = String(word.dropFirst(name.count + 1)),
            Self.isValue(value)
        {
            rest = rest.dropFirst()
            return value
        }
        return nil
    }

    /// The next word when ArgumentParser can only take it as a positional value.
    mutating func profile() -> String? {
        guard let word = rest.first, Self.isValue(word) else { return nil }
        rest = rest.dropFirst()
        return word
    }

    /// Not empty, not an option or `--`.
    private static func isValue(_ word: String) -> Bool {
        !word.isEmpty && !word.hasPrefix("-")
    }
}
