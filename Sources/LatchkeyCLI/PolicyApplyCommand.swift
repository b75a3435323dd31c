import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import LatchkeyCore

struct PolicyApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Create or update the boundary policy and set it as USER's permissions boundary.",
        discussion: """
            Idempotent: the same document changes nothing; a different one becomes the new default \
            version (older versions are pruned to stay within IAM's five). Refuses a user without \
            an MFA device unless --force: they would be locked out of everything but enrolment.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var credentialOptions: CredentialOptions

    @Argument(help: "The IAM user to put under the boundary.")
    var user: String

    @Option(
        name: .long, help: "The administrator's profile that makes the IAM calls.",
        completion: profileCompletion)
    var profile: String

    @Option(name: .customLong("policy-name"), help: "The managed policy's name.")
    var policyName = MFABoundaryPolicy.defaultName

    @Flag(name: .long, help: "Apply even when the user has no MFA device yet.")
    var force = false

    func run() async throws {
        let runtime = try Runtime(options: global)
        let session = try await runtime.iamSession(profile: profile, options: credentialOptions)
        let iam = try runtime.workspace.iamClient(
            credentials: session.credentials, profile: profile, region: credentialOptions.region)
        let result = try await BoundaryApplier(iam: iam, adminProfile: profile).apply(
            userName: user, policyName: policyName, force: force)
        switch result.policy {
        case .created: runtime.print("Created policy \(result.policyArn).")
        case .unchanged: runtime.print("Policy \(result.policyArn) is up to date.")
        case .updated(let version, let pruned):
            let note = pruned.isEmpty ? "" : " (deleted old versions \(pruned.joined(separator: ", ")))"
            runtime.print("Updated policy \(result.policyArn) to version \(version)\(note).")
        }
        runtime.print(
            result.boundarySet
                ? "Set it as the permissions boundary of user \(user)."
                : "User \(user) already has it as permissions boundary.")
    }
}
