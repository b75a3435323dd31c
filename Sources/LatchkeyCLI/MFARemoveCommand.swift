import AWSClient
import AWSConfig
import ArgumentParser
import Foundation
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
        let configured = try runtime.loadConfig().profile(profile)?["mfa_serial"]
        let key = try await runtime.storedKey(profile: profile)
        let listing = try runtime.iamClient(
            credentials: key, profile: profile, region: credentialOptions.region)
        let user = try await listing.getUser(userName: nil)
        let enabled = try await listing.listMFADevices(userName: nil)
        guard let target = serial ?? configured ?? (enabled.count == 1 ? enabled.first?.serialNumber : nil)
        else {
            throw CLIError(
                enabled.isEmpty
                    ? "user \(user.userName) has no MFA device to remove."
                    : "user \(user.userName) has several MFA devices; name one with --serial (see `latchkey mfa list \(profile)`)."
            )
        }
        if enabled.contains(where: { $0.serialNumber == target }) {
            // Needs MFA under the boundary: the profile's MFA session, asked for before anything changes.
            let credentials = try await runtime.iamCredentials(profile: profile, options: credentialOptions)
            let iam = try runtime.iamClient(
                credentials: credentials, profile: profile, region: credentialOptions.region)
            try await iam.deactivateMFADevice(userName: user.userName, serialNumber: target)
            print("Deactivated \(target).")
            if MFADeviceInfo(serialNumber: target, userName: nil, enableDate: nil).isVirtual {
                try await iam.deleteVirtualMFADevice(serialNumber: target)
                print("Deleted \(target).")
            }
        } else {
            do {
                try await listing.deleteVirtualMFADevice(serialNumber: target)
            } catch let error as AWSClientError where error.serviceError?.code == "NoSuchEntity" {
                throw CLIError("there is no MFA device \(target); see `latchkey mfa list \(profile)`.")
            }
            print("Deleted \(target) (it was not enabled).")
        }
        try await runtime.dropSessionsAfterDeviceChange(profile: profile)
        if configured == target,
            try ConfigFileEditor.removeProperty(
                "mfa_serial", profile: profile, inConfigAt: runtime.locations.configFile)
        {
            print("Removed mfa_serial from [\(sectionName(profile))] in \(runtime.locations.configFile).")
        }
    }
}
