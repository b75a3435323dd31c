import ArgumentParser
import AWSClient
import AWSSigV4
import Dispatch
import Foundation
import SystemSupport
import Keyring
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
        print(lines.map { "export \($0.0)=\($0.1)" }.joined(separator: "\n"))
        fflush(nil)
        Terminal.say(
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

/// A started server with what `exec`/`serve` print or hand on.
struct RunningServer {
    var server: CredentialServer
    var region: String?
    var scope: SessionScope?
}

extension Runtime {
    /// Gets the first session (asking for MFA here, on the terminal, if needed), then serves it
    /// and renews it in the background without the terminal.
    func startCredentialServer(
        kind: CredentialServerKind, profile: String, options: CredentialChoices, port: UInt16
    ) async throws -> RunningServer {
        let first = try await credentials(profile: profile, options: options)
        let plan = first.plan
        // Renew when a cached session would no longer be handed out (LATCHKEY_MIN_TTL), and make
        // the refresh itself skip the cache for a little longer, so it really gets a new one.
        let refreshBefore = TimeInterval(settings.minimumTTL)
        var context = try coreContext(keyring: try openKeyring())
        context.settings.minimumTTL = settings.minimumTTL + 60
        // A refresh that finds no code reports it through the server (ServerRefreshError), not as a refusal.
        context.mfa.promptsOff = nil
        let driver = options.prompt ?? environment["LATCHKEY_PROMPT"]
        // With prompts off only a YubiKey may answer a background refresh.
        context.mfa.prompt =
            (promptsOff == .option || promptsOff == .environment) && driver != PromptDriver.ykman.rawValue
            ? nil : PromptDriver.withoutTerminal(driver, environment: childEnvironment(environment))
        let renewalContext = context
        let runtime = self
        let debug = self.debug
        // Why a renewal failed goes to our stderr only: a client is told that it failed, not why.
        let log: @Sendable (String) -> Void = { message in
            FileHandle.standardError.write(Data("latchkey: \(profile): \(message)\n".utf8))
        }
        let feed = CredentialFeed(initial: first.credentials, refreshBefore: refreshBefore, log: log) {
            debug("refreshing the session of \(profile)")
            // A keyring of its own per renewal, dropped after it: between renewals the server
            // holds the session it serves, not the vault key.
            var context = renewalContext
            context.store = CredentialStore(keyring: try runtime.keyringForRenewal())
            do {
                return try await CredentialService(context: context).credentials(for: plan).credentials
            } catch LatchkeyError.mfaCodeUnavailable(let profile, let serial, _) {
                throw ServerRefreshError.noMFACode(profile: profile, serial: serial)
            }
        }
        _ = feed.startRefreshing()
        var roles: RoleFeeds?
        if kind == .ecs {
            let access = STSAccess(plan: plan)
            let sessionName = try resolver().defaultRoleSessionName()
            roles = RoleFeeds(base: feed, refreshBefore: refreshBefore) { [context] roleArn, base in
                let sts = try access.client(
                    credentials: base, context: context, profile: profile, operation: "AssumeRole")
                return try await sts.assumeRole(
                    AssumeRoleRequest(roleArn: roleArn, roleSessionName: sessionName)
                )
                .credentials
            }
        }
        let server = try CredentialServer(
            kind: kind, port: port, feed: feed, roles: roles, roleName: profile,
            region: plan.region ?? "us-east-1")
        debug("\(kind.rawValue) server for \(profile) listening on \(server.url)")
        return RunningServer(server: server, region: plan.region, scope: plan.scope)
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
        let child = try SupervisedCommand.spawn(path: path, arguments: arguments, environment: environment)
        // waitpid blocks: give it a thread of its own, not one of the concurrency pool's.
        let waiter = Thread { exit(child.wait()) }
        waiter.start()
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}

extension Runtime {
    /// The keyring one renewal uses. The file vault's key comes from the unlock cache (so
    /// LATCHKEY_UNLOCK_TTL bounds how long a server can renew without it) or from
    /// LATCHKEY_FILE_PASSPHRASE; never from a prompt, since the terminal is not the server's.
    func keyringForRenewal() throws -> any Keyring {
        let fromEnvironment = nonEmpty(environment["LATCHKEY_FILE_PASSPHRASE"])
        let ttl = settings.unlockTTL
        return try openKeyring(named: backendName) { _ in
            guard let fromEnvironment else { throw ServerRefreshError.vaultLocked(unlockTTL: ttl) }
            return fromEnvironment
        }
    }
}

enum ServerRefreshError: Error, CustomStringConvertible {
    case noMFACode(profile: String, serial: String)
    case vaultLocked(unlockTTL: Int)

    var description: String {
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
