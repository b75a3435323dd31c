import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
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

/// One run's world with the global options applied, for the commands: the core's `Workspace`
/// (config, keyring, transport, clock, terminal, stdout/stderr, all values of `World`) and what
/// only the command line knows (prompt drivers, the SSO presenter).
struct Runtime {
    let workspace: Workspace
    /// Whether `--debug` or `LATCHKEY_DEBUG=1` asked for debug lines.
    let debugging: Bool
    /// Where debug lines go (stderr when debugging, else nowhere): what the core is handed.
    let debugLog: @Sendable (String) -> Void

    /// The world commands run in: the real one, unless a test set another for its task.
    @TaskLocal static var world: World?

    init(options: GlobalOptions) throws {
        try self.init(choices: options.choices)
    }

    init(choices options: GlobalChoices) throws {
        try self.init(choices: options, world: Runtime.world ?? liveWorld())
    }

    init(choices options: GlobalChoices, world: World) throws {
        let environment = world.environment
        let enabled = options.debug || environment["LATCHKEY_DEBUG"] == "1"
        let standardError = world.standardError
        debugging = enabled
        debugLog = { message in
            guard enabled else { return }
            standardError("latchkey: \(message)\n")
        }
        let terminalAvailable = world.terminal.isAvailable
        workspace = try Workspace(
            world: world, backend: options.backend, passCmd: options.passCmd, passDir: options.passDir,
            passPrefix: options.passPrefix, allowWeakPassphrase: options.allowWeakPassphrase,
            terminalAvailable: terminalAvailable,
            promptsOff: PromptPolicy.promptsOff(
                noPromptOption: options.noPrompt, environment: environment,
                terminalAvailable: terminalAvailable,
                dialogAvailable: PromptDriver.dialogAvailable(environment: childEnvironment(environment))),
            debug: debugLog)
        openBrowser = environment["LATCHKEY_NO_BROWSER"] != "1"
    }

    var world: World { workspace.world }
    var environment: [String: String] { workspace.environment }
    var settings: LatchkeySettings { workspace.settings }
    var backendName: String { workspace.backendName }
    var backends: BackendSettings { workspace.backends }
    /// The config file latchkey edits.
    var configFile: String { workspace.configFile }
    /// A debug line, built only when debugging (on the warm path, formatting one cost the runtime's
    /// conformance look-ups).
    func debug(_ message: @autoclosure () -> String) {
        if debugging { debugLog(message()) }
    }

    /// Whether the terminal could be opened when the run started.
    var terminalAvailable: Bool { workspace.terminalAvailable }
    /// Set when no one may be asked: `--no-prompt`, `LATCHKEY_NO_PROMPT=1`, or no terminal and no dialog.
    var promptsOff: PromptsOff? { workspace.promptsOff }
    var terminal: any TerminalIO { world.terminal }

    /// Whether an IAM Identity Center sign-in opens the browser (off with LATCHKEY_NO_BROWSER=1 or --no-browser).
    var openBrowser: Bool

    /// Prints on the world's stdout, as `Swift.print` does.
    func print(_ text: String = "", terminator: String = "\n") {
        world.standardOutput(text + terminator)
    }

    /// Fails at once, saying what works instead, unless someone can be asked on the terminal.
    func requireTerminal(for need: PromptRefused.Need) throws {
        try workspace.requireTerminal(for: need)
    }

    /// The store over the chosen backend (or `name`).
    func openStore(named name: String? = nil) throws -> CredentialStore {
        try workspace.openStore(named: name)
    }

    func coreContext(store: CredentialStore, prompt: String? = nil) throws -> CoreContext {
        let runtimeDirectory = world.runtimeFolder()
        let terminal = world.terminal
        let notice: @Sendable (String) -> Void = { terminal.say("latchkey: \($0)\n") }
        let children = childEnvironment(environment)
        let driver = prompt ?? environment["LATCHKEY_PROMPT"]
        var mfa = MFACodeSource(
            prompt: try PromptDriver.choose(
                driver, environment: children, terminal: terminal, promptsOff: promptsOff),
            processRunner: SystemProcessRunner(), environment: children)
        mfa.promptsOff = promptsOff
        mfa.usedCodes = runtimeDirectory.map(UsedCodeLog.init(directory:))
        mfa.notice = notice
        var context = CoreContext(
            environment: environment, settings: settings, store: store, transport: world.transport,
            mfa: mfa, now: world.now, debug: debugLog,
            // The sign-in happens in a browser, perhaps on another device, so only an explicit
            // --no-prompt / LATCHKEY_NO_PROMPT turns it off; with no terminal the URL goes to stderr.
            ssoPresenter: promptsOff == nil || promptsOff == .noTerminal
                ? TerminalSSOPresenter(
                    openBrowser: openBrowser, terminal: terminal, environment: environment) : nil)
        context.lockDirectory = runtimeDirectory
        context.promptsOff = promptsOff
        context.notice = notice
        return context
    }

    func resolver() throws -> ProfileResolver {
        try workspace.resolver()
    }
}

/// This process's world: its environment, libcurl, the system clock, the real keyring backends,
/// the controlling terminal, stdin, stdout and stderr.
func liveWorld() -> World {
    World.live(
        environment: processEnvironment(), userAgent: "latchkey/\(latchkeyVersion)",
        terminal: DeviceTerminal(), standardOutput: { Swift.print($0, terminator: "") },
        standardError: { writeToStandardError($0) },
        standardInputLine: {
            // A blocking read: on a thread of its own, never on the cooperative pool.
            await onOwnThread(named: "latchkey-stdin") { readLine(strippingNewline: true) }
        },
        runtimeFolder: { privateRuntimeFolder })
}

/// The private folder for locks, the spent-code log and the shell's rc files, located on first use;
/// when the usual one is refused (another user made it, say), the warning is printed once on stderr.
let privateRuntimeFolder: String? = {
    let found = RuntimeFolder.locate(environment: processEnvironment())
    if let warning = found.warning {
        writeToStandardError("latchkey: warning: \(warning)\n")
    }
    return found.path
}()

extension Runtime {
    /// Prints on the stdout of the world commands run in, for a command that needs no runtime.
    static func print(_ text: String, terminator: String = "\n") {
        if let world {
            world.standardOutput(text + terminator)
        } else {
            Swift.print(text, terminator: terminator)
        }
    }
}
