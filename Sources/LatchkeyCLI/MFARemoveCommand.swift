import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import LatchkeyCore

struct MFARemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Deactivate and delete an MFA device, and remove mfa_serial from the profile.",
        discussion: """
            The device is the profile's mfa_serial unless --serial names another. Deactivating needs \
            an MFA session (under the MFA-required boundary), so you may be asked for a code. \
            A virtual device that was never enabled is only deleted.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var credentialOptions: CredentialOptions

    @Argument(help: "The profile whose stored key belongs to the IAM user.", completion: profileCompletion)
    var profile: String

    @Option(name: .long, help: "The device's serial (ARN). (Default: the profile's mfa_serial.)")
    var serial: String?

    func run() async throws {
        let runtime = try Runtime(options: global)
        try await MFADevices.remove(
            profile: profile, serial: serial, region: credentialOptions.region, in: runtime.workspace,
            // Needs MFA under the boundary: the profile's MFA session, asked for before anything changes.
            mfaSession: {
                try await runtime.iamSession(profile: profile, options: credentialOptions).credentials
            },
            report: { step in
                switch step {
                case .deactivated(let serial): runtime.print("Deactivated \(serial).")
                case .deleted(let serial): runtime.print("Deleted \(serial).")
                case .deletedNotEnabled(let serial): runtime.print("Deleted \(serial) (it was not enabled).")
                case .removedSerial(let profile, let configFile):
                    runtime.print("Removed mfa_serial from [\(sectionName(profile))] in \(configFile).")
                }
            })
    }
}
