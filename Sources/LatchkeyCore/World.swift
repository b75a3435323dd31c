import AWSClient
import AWSConfig
import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport
import Keyring

/// Someone at a terminal: where latchkey asks for codes, passphrases and confirmations, and
/// says what it is waiting for (never stdout, which may be captured). The real one is the
/// controlling terminal (LatchkeyCLI's `Terminal`); tests script the answers.
public protocol TerminalIO: Sendable {
    /// Whether someone can be asked (the real one: `/dev/tty` opens).
    var isAvailable: Bool { get }
    /// Writes a message for the person (not stdout).
    func say(_ text: String)
    /// Reads one line; with `hidden` nothing typed is echoed.
    func readLine(prompt: String, hidden: Bool) throws -> String
}

extension TerminalIO {
    /// A yes/no question; only "y" or "yes" is a yes.
    public func confirm(_ question: String) throws -> Bool {
        let answer = try readLine(prompt: "\(question) [y/N] ", hidden: false)
        return ["y", "yes"].contains(answer.trimmingBlanks().lowercased())
    }
}

/// What opening a keyring backend needs: its name, where its items live, and how the file vault
/// gets its passphrase.
public struct KeyringRequest: Sendable {
    public var name: String
    public var backends: BackendSettings
    public var settings: LatchkeySettings
    public var environment: [String: String]
    public var passphrase: PassphraseProvider
    public var allowWeakPassphrase: Bool
}

/// Everything outside the process one run of latchkey touches, as values: the environment, the
/// keyring backends, the HTTP transport, the clock, the terminal, the standard streams, and the
/// private runtime folder. `World.live` is the real one; a test builds one over an in-memory
/// keyring, a scripted transport and a scripted terminal, and captures what is printed.
public struct World: Sendable {
    public var environment: [String: String]
    public var transport: any HTTPTransport
    public var now: @Sendable () -> Date
    /// Opens a backend by name (see `openKeyring(named:backends:...)` for the real ones).
    public var keyrings: @Sendable (KeyringRequest) throws -> any Keyring
    /// The backend used when none is chosen (see `detectBackend`).
    public var defaultBackend: @Sendable (LatchkeySettings, BackendSettings) -> String
    public var terminal: any TerminalIO
    public var standardOutput: @Sendable (String) -> Void
    public var standardError: @Sendable (String) -> Void
    /// Reads one line of standard input without its newline (nil at its end): what a user pipes or
    /// pastes when no terminal can be asked (`signin --remote`).
    public var standardInputLine: @Sendable () async -> String?
    /// Where locks, the spent-code log and prompt-failure records live (looked up on first use,
    /// as the real one may warn); nil turns them off.
    public var runtimeFolder: @Sendable () -> String?

    public init(
        environment: [String: String], transport: any HTTPTransport, now: @escaping @Sendable () -> Date,
        keyrings: @escaping @Sendable (KeyringRequest) throws -> any Keyring,
        defaultBackend: @escaping @Sendable (LatchkeySettings, BackendSettings) -> String,
        terminal: any TerminalIO, standardOutput: @escaping @Sendable (String) -> Void,
        standardError: @escaping @Sendable (String) -> Void,
        standardInputLine: @escaping @Sendable () async -> String?,
        runtimeFolder: @escaping @Sendable () -> String?
    ) {
        self.environment = environment
        self.transport = transport
        self.now = now
        self.keyrings = keyrings
        self.defaultBackend = defaultBackend
        self.terminal = terminal
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.standardInputLine = standardInputLine
        self.runtimeFolder = runtimeFolder
    }

    /// The real world: this process's environment, libcurl, the system clock, the real backends.
    /// `terminal`, the standard streams and the runtime folder come from the caller (the CLI owns them).
    public static func live(
        environment: [String: String], userAgent: String, terminal: any TerminalIO,
        standardOutput: @escaping @Sendable (String) -> Void,
        standardError: @escaping @Sendable (String) -> Void,
        standardInputLine: @escaping @Sendable () async -> String?,
        runtimeFolder: @escaping @Sendable () -> String?
    ) -> World {
        World(
            environment: environment,
            transport: defaultHTTPTransport(userAgent: userAgent, environment: environment),
            now: Date.init,
            keyrings: { request in
                try openKeyring(
                    named: request.name, backends: request.backends, settings: request.settings,
                    environment: request.environment, passphrase: request.passphrase,
                    allowWeakPassphrase: request.allowWeakPassphrase)
            },
            defaultBackend: { settings, backends in detectBackend(settings: settings, backends: backends) },
            terminal: terminal, standardOutput: standardOutput, standardError: standardError,
            standardInputLine: standardInputLine, runtimeFolder: runtimeFolder)
    }
}

/// The world with the run's global choices applied (backend, pass settings, prompts): the config,
/// the keyring and the IAM clients every use case starts from. LatchkeyCLI's `Runtime` holds one.
public struct Workspace: Sendable {
    public let world: World
    public let settings: LatchkeySettings
    public let locations: ConfigLocations
    public let backendName: String
    public let backends: BackendSettings
    /// Whether a new file vault may get a passphrase `PassphraseStrength` calls weak.
    public let allowWeakPassphrase: Bool
    /// Whether the terminal could be opened when the run started.
    public let terminalAvailable: Bool
    /// Set when no one may be asked: `--no-prompt`, `LATCHKEY_NO_PROMPT=1`, or no terminal and no dialog.
    public let promptsOff: PromptsOff?
    public let debug: @Sendable (String) -> Void

    /// `backend` and the pass settings are the command's options (nil: the environment, else the
    /// defaults); `terminalAvailable` and `promptsOff` are what the caller found and decided from
    /// the options, the terminal and the dialogs it knows.
    public init(
        world: World, backend: String?, passCmd: String?, passDir: String?, passPrefix: String?,
        allowWeakPassphrase: Bool, terminalAvailable: Bool, promptsOff: PromptsOff?,
        debug: @escaping @Sendable (String) -> Void
    ) throws {
        self.world = world
        let environment = world.environment
        settings = try LatchkeySettings(environment: environment)
        locations = ConfigLocations.resolve(environment: environment)
        backends = BackendSettings(
            environment: environment, passCmd: passCmd, passDir: passDir, passPrefix: passPrefix)
        backendName = backend ?? settings.backend ?? world.defaultBackend(settings, backends)
        self.allowWeakPassphrase =
            allowWeakPassphrase || environment["LATCHKEY_ALLOW_WEAK_PASSPHRASE"] == "1"
        self.terminalAvailable = terminalAvailable
        self.promptsOff = promptsOff
        self.debug = debug
    }

    public var environment: [String: String] { world.environment }
    /// The config file latchkey edits (`AWS_CONFIG_FILE`, else ~/.aws/config).
    public var configFile: String { locations.configFile }

    public func loadConfig() throws -> AWSSharedConfig {
        try AWSSharedConfig.load(locations)
    }

    public func resolver() throws -> ProfileResolver {
        ProfileResolver(config: try loadConfig(), environment: environment, configFile: locations.configFile)
    }

    /// The chosen backend (or `name`), its file vault's passphrase from `LATCHKEY_FILE_PASSPHRASE`
    /// or the terminal; `passphrase` replaces that.
    func openKeyring(named name: String? = nil, passphrase: PassphraseProvider? = nil) throws -> any Keyring {
        try world.keyrings(
            KeyringRequest(
                name: name ?? backendName, backends: backends, settings: settings, environment: environment,
                passphrase: passphrase ?? filePassphrase(), allowWeakPassphrase: allowWeakPassphrase))
    }

    /// The store over the chosen backend (or `name`).
    public func openStore(named name: String? = nil) throws -> CredentialStore {
        CredentialStore(keyring: try openKeyring(named: name))
    }

    /// The file vault's passphrase: `LATCHKEY_FILE_PASSPHRASE`, else a hidden prompt on the terminal
    /// (unless prompts are off).
    func filePassphrase() -> PassphraseProvider {
        let fromEnvironment = environment["LATCHKEY_FILE_PASSPHRASE"]
        let promptsOff = promptsOff
        let terminal = world.terminal
        return { purpose in
            if let fromEnvironment, !fromEnvironment.isEmpty { return fromEnvironment }
            let vault: String
            switch purpose {
            case .create(let path), .unlock(let path): vault = path
            }
            if let promptsOff { throw PromptRefused(.filePassphrase(vault: vault), why: promptsOff) }
            guard terminal.isAvailable else {
                throw PromptRefused(.filePassphrase(vault: vault), why: .noTerminal)
            }
            switch purpose {
            case .create(let vault):
                terminal.say("Creating a new encrypted vault at \(vault).\n")
                let first = try terminal.readLine(prompt: "Choose a passphrase for it: ", hidden: true)
                let second = try terminal.readLine(prompt: "Type it again: ", hidden: true)
                guard first == second else { throw PassphraseMismatch() }
                guard !first.isEmpty else { throw PassphraseUnavailable() }
                return first
            case .unlock(let vault):
                return try terminal.readLine(prompt: "Passphrase for \(vault): ", hidden: true)
            }
        }
    }

    /// The plan for a request, also for profiles that live only in the keyring (added with
    /// --no-config): the keyring-only re-plan. `console`: the plan of `latchkey login` (see
    /// `ProfileResolver.consolePlan`).
    public func plan(for request: CredentialRequest, console: Bool = false) async throws -> (
        plan: CredentialPlan, resolver: ProfileResolver, store: CredentialStore
    ) {
        let store = try openStore()
        let resolver = try resolver()
        let plan =
            console
            ? try await resolver.consolePlan(for: request, store: store)
            : try await resolver.plan(for: request, store: store)
        return (plan, resolver, store)
    }

    /// An IAM client for the profile (see `ProfileResolver.iamClient`).
    public func iamClient(credentials: AWSCredentials, profile: String, region: String?) throws -> IAMClient {
        try resolver().iamClient(
            credentials: credentials, profile: profile, region: region, transport: world.transport)
    }

    /// The profile's stored long-lived key: what a user without MFA yet may manage their own device with.
    public func storedKey(profile: String) async throws -> AWSCredentials {
        let store = try openStore()
        guard let key = try await store.longLivedKey(profile: profile) else {
            throw LatchkeyError.noStoredCredentials(profile: profile, backend: store.keyring.backendName)
        }
        return key
    }

    /// Whether IAM calls for the profile need its MFA session: it has `mfa_serial` or a role;
    /// otherwise the stored key itself is used (IAM refuses sessions made without MFA).
    public func iamCallsNeedSession(profile: String) throws -> Bool {
        let section = try loadConfig().profile(profile)
        return section?["mfa_serial"] != nil || section?["role_arn"] != nil
    }

    /// The profile's configured `mfa_serial`, if any.
    public func configuredMFASerial(profile: String) throws -> String? {
        try loadConfig().profile(profile)?["mfa_serial"]
    }

    /// The keyring one server renewal uses. The file vault's key comes from the unlock cache (so
    /// LATCHKEY_UNLOCK_TTL bounds how long a server can renew without it) or from
    /// LATCHKEY_FILE_PASSPHRASE; never from a prompt, since the terminal is not the server's.
    public func storeForRenewal() throws -> CredentialStore {
        let fromEnvironment = environment["LATCHKEY_FILE_PASSPHRASE"].flatMap { $0.isEmpty ? nil : $0 }
        let ttl = settings.unlockTTL
        return CredentialStore(
            keyring: try openKeyring { _ in
                guard let fromEnvironment else { throw ServerRefreshError.vaultLocked(unlockTTL: ttl) }
                return fromEnvironment
            })
    }
}

public struct PassphraseUnavailable: Error, CustomStringConvertible {
    public var description: String { "an empty passphrase cannot protect the vault; nothing was created." }
}

public struct PassphraseMismatch: Error, CustomStringConvertible {
    public var description: String {
        "the two passphrases differ; nothing was created. Run the command again."
    }
}

/// Why a credential server could not renew the session it serves (said on the server's stderr).
public enum ServerRefreshError: Error, CustomStringConvertible {
    case noMFACode(profile: String, serial: String)
    case vaultLocked(unlockTTL: Int)

    public var description: String {
        switch self {
        case .noMFACode(let profile, let serial):
            return
                "the session of profile '\(profile)' expired and a new one needs an MFA code for \(serial), "
                + "which the server cannot ask for; set mfa_process in the profile, or restart it with "
                + "--prompt zenity (or kdialog, osascript, ykman)."
        case .vaultLocked(let ttl):
            let kept =
                ttl > 0
                ? "for LATCHKEY_UNLOCK_TTL (\(formatDuration(ttl)))" : "at all (LATCHKEY_UNLOCK_TTL=0)"
            return "the file vault is locked again: its key is kept \(kept), and a credential server "
                + "cannot ask for the passphrase; set LATCHKEY_UNLOCK_TTL to cover the server's life "
                + "(e.g. 12h) or LATCHKEY_FILE_PASSPHRASE, then start it again."
        }
    }
}
