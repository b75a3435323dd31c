import ArgumentParser
import AWSClient
import AWSConfig
import Foundation
import Keyring
import LatchkeyCore
import SystemSupport

/// Options every command that touches the keyring takes.
struct GlobalOptions: ParsableArguments {
    @Flag(name: .long, help: "Print what latchkey does to stderr (secrets masked).")
    var debug = false

    @Option(
        name: .long,
        help:
            "Keyring backend: keychain, secret-service, keyctl, pass, file. (Default: $LATCHKEY_BACKEND, else detected.)"
    )
    var backend: String?

    @Option(name: .customLong("pass-dir"), help: "The pass store folder. (Default: $PASSWORD_STORE_DIR.)")
    var passDir: String?

    @Option(name: .customLong("pass-cmd"), help: "The pass program. (Default: pass.)")
    var passCmd: String?

    @Option(
        name: .customLong("pass-prefix"), help: "The folder of latchkey's pass entries. (Default: latchkey.)")
    var passPrefix: String?

    @Flag(
        name: .customLong("allow-weak-passphrase"),
        help: "Create a file vault even with a weak passphrase. (Default: $LATCHKEY_ALLOW_WEAK_PASSPHRASE=1.)"
    )
    var allowWeakPassphrase = false
}

/// The real world, assembled once per run for the core: environment, config, keyring,
/// HTTP transport, terminal prompts.
struct Runtime {
    let environment: [String: String]
    let settings: LatchkeySettings
    let locations: ConfigLocations
    let debug: @Sendable (String) -> Void

    init(options: GlobalOptions) throws {
        environment = ProcessInfo.processInfo.environment
        settings = try LatchkeySettings(environment: environment)
        locations = ConfigLocations.resolve(environment: environment)
        let enabled = options.debug || environment["LATCHKEY_DEBUG"] == "1"
        debug = { message in
            guard enabled else { return }
            FileHandle.standardError.write(Data("latchkey: \(message)\n".utf8))
        }
        backends = BackendSettings(environment: environment, options: options)
        backendName =
            options.backend ?? settings.backend ?? detectBackend(settings: settings, backends: backends)
        openBrowser = environment["LATCHKEY_NO_BROWSER"] != "1"
        allowWeakPassphrase =
            options.allowWeakPassphrase || environment["LATCHKEY_ALLOW_WEAK_PASSPHRASE"] == "1"
    }

    /// Whether a new file vault may get a passphrase `PassphraseStrength` calls weak.
    let allowWeakPassphrase: Bool

    /// Whether an IAM Identity Center sign-in opens the browser (off with LATCHKEY_NO_BROWSER=1 or --no-browser).
    var openBrowser: Bool

    let backendName: String
    let backends: BackendSettings

    func loadConfig() throws -> AWSSharedConfig {
        try AWSSharedConfig.load(locations)
    }

    func openKeyring() throws -> any Keyring {
        try openKeyring(named: backendName)
    }

    /// `passphrase` replaces the file vault's usual one (the environment, else a terminal prompt).
    func openKeyring(named name: String, passphrase: PassphraseProvider? = nil) throws -> any Keyring {
        switch KnownBackend(rawValue: name) {
        case .file:
            let cache: any UnlockCache =
                settings.unlockTTL > 0 ? KernelKeyringUnlockCache() : NoUnlockCache()
            return FileKeyring(
                directory: URL(fileURLWithPath: settings.fileDirectory),
                passphrase: passphrase ?? filePassphrase(environment: environment),
                unlockCache: cache,
                unlockCacheTTL: settings.unlockTTL,
                allowWeakPassphrase: allowWeakPassphrase)
        case .some(let backend):
            return try backend.open(backends, environment: environment)
        case .none:
            throw BackendError.unknownBackend(name: name, known: KnownBackend.allCases.map(\.rawValue))
        }
    }

    func coreContext(keyring: any Keyring, prompt: String? = nil) throws -> CoreContext {
        let runtimeDirectory = privateRuntimeFolder
        let notice: @Sendable (String) -> Void = { Terminal.say("latchkey: \($0)\n") }
        let children = childEnvironment(environment)
        var mfa = MFACodeSource(
            prompt: try PromptDriver.choose(prompt ?? environment["LATCHKEY_PROMPT"], environment: children),
            processRunner: SystemProcessRunner(), environment: children)
        mfa.usedCodes = runtimeDirectory.map(UsedCodeLog.init(directory:))
        mfa.notice = notice
        var context = CoreContext(
            environment: environment, settings: settings, store: CredentialStore(keyring: keyring),
            transport: defaultHTTPTransport(
                userAgent: "latchkey/\(latchkeyVersion)", environment: environment),
            mfa: mfa, debug: debug, ssoPresenter: TerminalSSOPresenter(openBrowser: openBrowser))
        context.lockDirectory = runtimeDirectory
        context.notice = notice
        return context
    }

    func resolver() throws -> ProfileResolver {
        ProfileResolver(config: try loadConfig(), environment: environment, configFile: locations.configFile)
    }
}

/// The private folder for locks, the spent-code log and the shell's rc files, located on first use;
/// when the usual one is refused (another user made it, say), the warning is printed once on stderr.
let privateRuntimeFolder: String? = {
    let found = RuntimeFolder.locate(environment: ProcessInfo.processInfo.environment)
    if let warning = found.warning {
        FileHandle.standardError.write(Data("latchkey: warning: \(warning)\n".utf8))
    }
    return found.path
}()

/// The file vault's passphrase: `LATCHKEY_FILE_PASSPHRASE`, else a hidden prompt on the terminal.
func filePassphrase(environment: [String: String]) -> PassphraseProvider {
    let fromEnvironment = environment["LATCHKEY_FILE_PASSPHRASE"]
    return { purpose in
        if let fromEnvironment, !fromEnvironment.isEmpty { return fromEnvironment }
        guard Terminal.isAvailable else { throw PassphraseUnavailable() }
        switch purpose {
        case .create(let vault):
            Terminal.say("Creating a new encrypted vault at \(vault).\n")
            let first = try Terminal.readLine(prompt: "Choose a passphrase for it: ", hidden: true)
            let second = try Terminal.readLine(prompt: "Type it again: ", hidden: true)
            guard first == second else { throw PassphraseMismatch() }
            guard !first.isEmpty else { throw PassphraseUnavailable() }
            return first
        case .unlock(let vault):
            return try Terminal.readLine(prompt: "Passphrase for \(vault): ", hidden: true)
        }
    }
}

struct PassphraseUnavailable: Error, CustomStringConvertible {
    var description: String {
        "the file vault needs a passphrase: run from a terminal, or set LATCHKEY_FILE_PASSPHRASE."
    }
}

struct PassphraseMismatch: Error, CustomStringConvertible {
    var description: String { "the two passphrases differ; nothing was created. Run the command again." }
}
