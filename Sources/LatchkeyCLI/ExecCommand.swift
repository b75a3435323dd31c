import ArgumentParser
import CLatchkeyServerSys
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import LatchkeyCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command (or your shell) with a profile's session in its environment.",
        discussion: """
            latchkey replaces itself with the command, so signals and the exit status are the \
            command's own. Options go before or after the profile; the command starts at `--` \
            (or at the first word after the profile that is not an option), and everything from \
            there is its own. Example: latchkey exec doug --duration 2h -- aws sts get-caller-identity
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var credentialOptions: CredentialOptions

    @Flag(
        name: [.customLong("ecs-server"), .customShort("s"), .customLong("server")],
        help: "Serve the session from a local ECS server that renews it (-s, --server: aws-vault's names).")
    var ecsServer = false

    @Flag(
        name: .customLong("ec2-server"), help: "Serve the session from a local IMDSv2 server that renews it.")
    var ec2Server = false

    @Argument(help: "The profile name.", completion: profileCompletion)
    var profile: String

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments (default: $SHELL).")
    var command: [String] = []

    func run() async throws {
        try await runExec(
            ExecRequest(
                global: global.choices, options: credentialOptions.choices, ecsServer: ecsServer,
                ec2Server: ec2Server, profile: profile, command: command))
    }
}

/// What `exec` was asked, as plain values: `ExecCommand` and the hot path (`FastPath.swift`) fill it.
struct ExecRequest: Equatable {
    var global = GlobalChoices()
    var options = CredentialChoices()
    var ecsServer = false
    var ec2Server = false
    var profile: String
    /// As ArgumentParser captures it: a leading `--` is kept.
    var command: [String] = []
}

/// `exec`'s work.
func runExec(_ request: ExecRequest) async throws {
    let profile = request.profile
    let credentialOptions = request.options
    let (ecsServer, ec2Server) = (request.ecsServer, request.ec2Server)
    let command = request.command
    let runtime = try Runtime(choices: request.global)
    if let active = nonEmpty(runtime.environment["AWS_VAULT"]) {
        throw LatchkeyError.nestedExec(profile: active)
    }
    // A misspelt command fails now, before a session (and perhaps an MFA code) is spent on it.
    let requested = command.first == "--" ? Array(command.dropFirst()) : command
    if let name = requested.first { _ = try resolveExecutable(name, environment: runtime.environment) }
    if ecsServer || ec2Server {
        guard !(ecsServer && ec2Server) else {
            throw CLIError("choose one of --ecs-server and --ec2-server.")
        }
        let arguments = requested
        try await runtime.execUnderServer(
            kind: ecsServer ? .ecs : .ec2, profile: profile, options: credentialOptions,
            arguments: arguments)
    }
    let resolved = try await runtime.credentials(profile: profile, options: credentialOptions)
    var environment = execEnvironment(
        base: runtime.environment, credentials: resolved.credentials, profile: profile,
        region: resolved.plan.region, scope: resolved.plan.scope)
    var arguments = requested
    if arguments.isEmpty {
        arguments = interactiveShell(profile: profile, environment: &environment)
        if let expiration = resolved.credentials.expiration {
            let left = formatDuration(Int(expiration.timeIntervalSinceNow))
            runtime.terminal.say(
                "latchkey: starting a shell for \(profile), session valid for \(left); exit to leave.\n")
        }
    }
    let path = try resolveExecutable(arguments[0], environment: environment)
    runtime.debug("exec \(path) with the session of \(profile)")
    try replaceProcess(path: path, arguments: arguments, environment: environment)
}

/// `execve`: the command takes over this process (pid, signals, exit status).
func replaceProcess(path: String, arguments: [String], environment: [String: String]) throws -> Never {
    fflush(nil)
    let argv = arguments.map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    latchkey_restore_core_limit()  // the command's own core dumps are the user's business
    execve(path, argv, envp)
    let reason = String(cString: strerror(errno))
    throw CLIError("could not run \(path): \(reason)")
}
