import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import LatchkeyCore

struct MFAListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the MFA devices of the profile's IAM user.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The profile whose stored key belongs to the IAM user.", completion: profileCompletion)
    var profile: String

    @Option(name: .long, help: "Region to sign IAM requests for.")
    var region: String?

    func run() async throws {
        let runtime = try Runtime(options: global)
        let listing = try await MFADevices.list(profile: profile, region: region, in: runtime.workspace)
        let (devices, configured) = (listing.devices, listing.configuredSerial)
        if devices.isEmpty {
            runtime.print("No MFA device is enabled; enrol one with `latchkey mfa enroll \(profile)`.")
            return
        }
        for device in devices {
            let enabled = device.enableDate.map { "enabled \(iso8601($0))" } ?? "enabled"
            let mark = device.serialNumber == configured ? "  (mfa_serial of \(profile))" : ""
            runtime.print("\(device.serialNumber)  \(enabled)\(mark)")
        }
    }
}
