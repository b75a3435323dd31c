import ArgumentParser
import Foundation
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
        let runtime = try Runtime(options: global)
        let resolved = try await runtime.credentials(profile: profile, options: credentialOptions)
        let text = renderCredentials(
            resolved.credentials, format: format, profile: profile, region: resolved.plan.region)
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
