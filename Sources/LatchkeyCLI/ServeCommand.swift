import ArgumentParser
import Dispatch
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif
import SystemSupport
import LatchkeyCore
import LatchkeyServer

extension CredentialServerKind: EnumerableFlag {}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a profile's credentials to other processes from a local ECS or IMDSv2 server.",
        discussion: """
            Listens on 127.0.0.1, renews the session before it expires, and prints the variables \
            a client needs; serves until interrupted (Ctrl-C or SIGTERM). Example:
              latchkey serve doug --ecs --port 9911 --token-file ~/.aws/latchkey-token
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var credentialOptions: CredentialOptions

    @Flag(help: "The protocol: --ecs (container credentials, default) or --ec2 (IMDSv2).")
    var kind: CredentialServerKind = .ecs

    @Option(name: .long, help: "Port on 127.0.0.1 (default: a free one).")
    var port: UInt16 = 0

    @Option(
        name: .customLong("token-file"),
        help: "ECS: write the token to this file (0600) instead of printing it.")
    var tokenFile: String?

    @Argument(help: "The profile name.", completion: profileCompletion)
    var profile: String

    func run() async throws {
        let runtime = try Runtime(options: global)
        let running = try await runtime.startCredentialServer(
            kind: kind, profile: profile, options: credentialOptions.choices, port: port)
        let server = running.server
        if let tokenFile { try server.writeTokenFile(tokenFile) }
        stopOnSignals(removing: tokenFile)
        var lines = server.clientVariables(tokenFile: tokenFile).sorted { $0.key < $1.key }
        if let region = running.region { lines.append(("AWS_REGION", region)) }
        runtime.print(lines.map { "export \($0.0)=\($0.1)" }.joined(separator: "\n"))
        fflush(nil)
        runtime.terminal.say(
            "latchkey: serving \(profile) on \(server.url) (\(kind == .ecs ? "ECS" : "IMDSv2")); Ctrl-C stops.\n"
        )
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}

/// SIGINT/SIGTERM end `serve` cleanly (exit 0), taking the token file with them. A plain
/// `sigaction` handler, in place before the variables are printed: a dispatch signal source
/// registers asynchronously, and a signal that came before it (a client stopping the server right
/// after reading them) was ignored, leaving the server running.
func stopOnSignals(removing tokenFile: String?) {
    tokenFileToRemove = tokenFile.flatMap { strdup($0) }
    var action = sigaction()
    #if os(Linux)
        action.__sigaction_handler.sa_handler = stopServing
    #else
        action.__sigaction_u.__sa_handler = stopServing
    #endif
    sigemptyset(&action.sa_mask)
    for signalNumber in [SIGINT, SIGTERM] { sigaction(signalNumber, &action, nil) }
}

/// Set once, before the handler is installed; read only by the handler.
nonisolated(unsafe) private var tokenFileToRemove: UnsafeMutablePointer<CChar>?

/// Only async-signal-safe calls: `unlink` and `_exit`.
private func stopServing(_: Int32) {
    if let path = tokenFileToRemove { unlink(path) }
    _exit(0)
}

extension Runtime {
    /// Gets the first session (asking for MFA here, on the terminal, if needed), then serves it
    /// and renews it in the background without the terminal.
    func startCredentialServer(
        kind: CredentialServerKind, profile: String, options: CredentialChoices, port: UInt16
    ) async throws -> RunningServer {
        let first = try await credentials(profile: profile, options: options)
        let driver = options.prompt ?? environment["LATCHKEY_PROMPT"]
        // With prompts off only a YubiKey may answer a background refresh.
        let renewalPrompt =
            (promptsOff == .option || promptsOff == .environment) && driver != PromptDriver.ykman.rawValue
            ? nil
            : PromptDriver.withoutTerminal(
                driver, environment: childEnvironment(environment), terminal: terminal)
        let served = try ServedProfile(
            profile: profile, first: first, workspace: workspace,
            context: try coreContext(store: try openStore()), renewalPrompt: renewalPrompt)
        let standardError = world.standardError
        // Why a renewal failed goes to our stderr only: a client is told that it failed, not why.
        return try ProfileServer.start(
            served, kind: kind, port: port, log: { standardError("latchkey: \(profile): \($0)\n") },
            debug: debugLog)
    }

    /// `exec --ecs-server/--ec2-server`: the command runs as a child (latchkey stays to serve),
    /// gets the server's variables and no keys, and its exit status becomes ours.
    func execUnderServer(
        kind: CredentialServerKind, profile: String, options: CredentialChoices, arguments: [String]
    ) async throws -> Never {
        let running = try await startCredentialServer(
            kind: kind, profile: profile, options: options, port: 0)
        var environment = serverClientEnvironment(
            base: childEnvironment(self.environment), server: running.server, profile: profile,
            region: running.region)
        environment["LATCHKEY_SESSION_SCOPE"] = running.scope?.label
        let arguments =
            arguments.isEmpty ? interactiveShell(profile: profile, environment: &environment) : arguments
        let path = try resolveExecutable(arguments[0], environment: environment)
        debug("running \(path) with the \(kind.rawValue) server of \(profile)")
        try await ProfileServer.superviseUntilExit(path: path, arguments: arguments, environment: environment)
    }
}
