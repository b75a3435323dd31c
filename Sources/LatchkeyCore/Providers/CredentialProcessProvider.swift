import AWSClient
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// `credential_process`: a program, run without a shell, that prints credentials as JSON.
struct CredentialProcessProvider: CredentialProvider {
    let profile: String
    let command: String

    func credentials(_ run: ProviderRun) async throws -> ProvidedCredentials {
        let context = run.context
        let arguments: [String]
        do {
            arguments = try splitCommandLine(command)
        } catch {
            throw LatchkeyError.sourceFailed(
                profile: profile, source: "credential_process", cause: error,
                advice: "; fix credential_process.")
        }
        let output: String
        do {
            output = try await context.mfa.processRunner.output(
                of: arguments, environment: childEnvironment(context.environment),
                timeout: .seconds(context.settings.processTimeout))
        } catch {
            throw LatchkeyError.sourceFailed(
                profile: profile, source: "credential_process `\(arguments[0])`",
                cause: ProgramFailed(cause: error),
                advice: ". Run it by hand to see why.")
        }
        do {
            let parsed = try CredentialProcessOutput.parse(Data(output.utf8), now: context.now())
            return ProvidedCredentials(credentials: parsed.credentials, origin: .newSession)
        } catch {
            throw LatchkeyError.sourceFailed(
                profile: profile, source: "credential_process `\(arguments[0])`",
                cause: InvalidOutput(cause: error))
        }
    }

    /// The program could not be run, failed or timed out.
    struct ProgramFailed: Error, CustomStringConvertible {
        let cause: any Error
        var description: String { "it failed: \(cause)" }
    }

    /// The program printed something that is not the credential_process JSON.
    struct InvalidOutput: Error, CustomStringConvertible {
        let cause: any Error
        var description: String { "its output is not valid: \(cause)" }
    }
}
