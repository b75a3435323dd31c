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

    @Flag(
        name: .customLong("no-prompt"),
        help:
            "Never ask for a code, passphrase or confirmation: fail at once, naming what works. (Also LATCHKEY_NO_PROMPT=1.)"
    )
    var noPrompt = false

    /// The same, as plain values: what `Runtime` reads.
    var choices: GlobalChoices {
        GlobalChoices(
            debug: debug, backend: backend, passDir: passDir, passCmd: passCmd, passPrefix: passPrefix,
            allowWeakPassphrase: allowWeakPassphrase, noPrompt: noPrompt)
    }
}

/// `GlobalOptions` as plain values, so the hot path (`FastPath.swift`) can build a `Runtime`
/// without ArgumentParser; `GlobalChoices()` is what no options at all mean.
struct GlobalChoices: Equatable {
    var debug = false
    var backend: String?
    var passDir: String?
    var passCmd: String?
    var passPrefix: String?
    var allowWeakPassphrase = false
    var noPrompt = false
}

/// The real world, assembled once per run for the core: environment, config, keyring,
/// HTTP transport, terminal prompts.
struct Runtime {
    let environment: [String: String]
    let settings: LatchkeySettings
    let locations: ConfigLocations
    let debug: @Sendable (String) -> Void

    init(options: GlobalOptions) throws {
        try self.init(choices: options.choices)
    }

    init(choices options: GlobalChoices) throws {
        environment = ProcessInfo.processInfo.environment
        settings = try LatchkeySettings(environment: environment)
        locations = ConfigLocations.resolve(environment: environment)
        let enabled = options.debug || environment["LATCHKEY_DEBUG"] == "1"
        debug = { message in
            guard enabled else { return }
            FileHandle.standardError.write(Data("latchkey: \(message)\n".utf8))
        }
        backends = BackendSettings(
            environment: environment, passCmd: options.passCmd, passDir: options.passDir,
            passPrefix: options.passPrefix)
        backendName =
            options.backend ?? settings.backend ?? detectBackend(settings: settings, backends: backends)
        openBrowser = environment["LATCHKEY_NO_BROWSER"] != "1"
        allowWeakPassphrase =
            options.allowWeakPassphrase || environment["LATCHKEY_ALLOW_WEAK_PASSPHRASE"] == "1"
        terminalAvailable = Terminal.isAvailable
        promptsOff = PromptPolicy.promptsOff(
            noPromptOption: options.noPrompt, environment: environment, terminalAvailable: terminalAvailable,
            dialogAvailable: PromptDriver.dialogAvailable(environment: childEnvironment(environment)))
    }

    /// Whether `/dev/tty` could be opened when the run started.
    let terminalAvailable: Bool
    /// Set when no one may be asked: `--no-prompt`, `LATCHKEY_NO_PROMPT=1`, or no terminal and no dialog.
    let promptsOff: PromptsOff?

    /// Fails at once, saying what works instead, unless someone can be asked on the terminal.
    func requireTerminal(for need: PromptRefused.Need) throws {
        if let promptsOff { throw PromptRefused(need, why: promptsOff) }
        if !terminalAvailable { throw PromptRefused(need, why: .noTerminal) }
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
        try LatchkeyCore.openKeyring(
            named: name, backends: backends, settings: settings, environment: environment,
            passphrase: passphrase ?? filePassphrase(environment: environment, promptsOff: promptsOff),
            allowWeakPassphrase: allowWeakPassphrase)
    }

    func coreContext(keyring: any Keyring, prompt: String? = nil) throws -> CoreContext {
        let runtimeDirectory = privateRuntimeFolder
        let notice: @Sendable (String) -> Void = { Terminal.say("latchkey: \($0)\n") }
        let children = childEnvironment(environment)
        let driver = prompt ?? environment["LATCHKEY_PROMPT"]
        var mfa = MFACodeSource(
            prompt: try PromptDriver.choose(driver, environment: children, promptsOff: promptsOff),
            processRunner: SystemProcessRunner(), environment: children)
        mfa.promptsOff = promptsOff
        mfa.usedCodes = runtimeDirectory.map(UsedCodeLog.init(directory:))
        mfa.notice = notice
        var context = CoreContext(
            environment: environment, settings: settings, store: CredentialStore(keyring: keyring),
            transport: defaultHTTPTransport(
                userAgent: "latchkey/\(latchkeyVersion)", environment: environment),
            mfa: mfa, debug: debug,
            // The sign-in happens in a browser, perhaps on another device, so only an explicit
            // --no-prompt / LATCHKEY_NO_PROMPT turns it off; with no terminal the URL goes to stderr.
            ssoPresenter: promptsOff == nil || promptsOff == .noTerminal
                ? TerminalSSOPresenter(openBrowser: openBrowser) : nil)
        context.lockDirectory = runtimeDirectory
        context.promptsOff = promptsOff
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

/// The file vault's passphrase: `LATCHKEY_FILE_PASSPHRASE`, else a hidden prompt on the terminal
/// (unless prompts are off).
func filePassphrase(environment: [String: String], promptsOff: PromptsOff?) -> PassphraseProvider {
    let fromEnvironment = environment["LATCHKEY_FILE_PASSPHRASE"]
    return { purpose in
        if let fromEnvironment, !fromEnvironment.isEmpty { return fromEnvironment }
        let vault: String
        switch purpose {
        case .create(let path), .unlock(let path): vault = path
        }
        if let promptsOff { throw PromptRefused(.filePassphrase(vault: vault), why: promptsOff) }
        guard Terminal.isAvailable else {
            throw PromptRefused(.filePassphrase(vault: vault), why: .noTerminal)
        }
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
    var description: String { "an empty passphrase cannot protect the vault; nothing was created." }
}

struct PassphraseMismatch: Error, CustomStringConvertible {
    var description: String { "the two passphrases differ; nothing was created. Run the command again." }
}
