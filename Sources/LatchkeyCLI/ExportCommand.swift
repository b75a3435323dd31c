import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import LatchkeyCore

extension ExportFormat: ExpressibleByArgument {}

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print a profile's session for scripts, SDKs and credential_process.",
        discussion: """
            Formats: env (KEY=value lines), export-env (shell `export` lines), json (the \
            credential_process format), ini (a credentials-file section). In ~/.aws/config:
              credential_process = latchkey export --format json doug
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var credentialOptions: CredentialOptions

    @Option(name: .long, help: "env, export-env, json or ini.")
    var format: ExportFormat = .env

    @Argument(help: "The profile name.", completion: profileCompletion)
    var profile: String

    func run() async throws {
        try await runExport(
            global: global.choices, options: credentialOptions.choices, format: format, profile: profile)
    }
}

/// `export`'s work, from plain values: `ExportCommand` and the hot path (`FastPath.swift`) share it.
func runExport(
    global: GlobalChoices, options: CredentialChoices, format: ExportFormat, profile: String
) async throws {
    let runtime = try Runtime(choices: global)
    let resolved = try await runtime.credentials(profile: profile, options: options)
    let text = renderCredentials(
        resolved.credentials, format: format, profile: profile, region: resolved.plan.region)
    runtime.print(text, terminator: "")
}
