import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import LatchkeyCore
import SystemSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

struct MFAEnrollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Create and enable a virtual MFA device for the profile's IAM user.",
        discussion: """
            Uses the profile's stored key. Draws the QR code to scan, reads two consecutive codes, \
            enables the device and writes mfa_serial into the profile in ~/.aws/config (a backup is \
            kept). If anything fails before the device is enabled, the device is deleted again.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The profile whose stored key belongs to the IAM user.", completion: profileCompletion)
    var profile: String

    @Option(name: .customLong("device-name"), help: "The virtual device's name. (Default: the user name.)")
    var deviceName: String?

    @Option(name: .customLong("qr-png"), help: "Also write the QR code as a PNG image to this file.")
    var qrPNG: String?

    @Flag(name: .customLong("show-secret"), help: "Print the Base32 secret too (to type it in by hand).")
    var showSecret = false

    @Option(
        name: .long, parsing: .upToNextOption,
        help: "Two consecutive codes, for scripts (instead of asking on the terminal).")
    var codes: [String] = []

    @Flag(name: .long, help: "Store the secret in a YubiKey (ykman) and read the codes from it.")
    var yubikey = false

    @Option(name: .customLong("ykman-cred"), help: "The YubiKey account name. (Default: AWS:USER@ACCOUNT.)")
    var ykmanCred: String?

    @Option(name: .customLong("ykman-device"), help: "The YubiKey's serial, when several are plugged in.")
    var ykmanDevice: String?

    @Option(name: .long, help: "Region to sign IAM requests for.")
    var region: String?

    func validate() throws {
        guard codes.isEmpty || codes.count == 2 else {
            throw ValidationError("--codes takes exactly two codes, from two consecutive 30-second windows.")
        }
        for (index, code) in codes.enumerated() {
            _ = try checkedEnrollmentCode(code, source: index == 0 ? "--codes (first)" : "--codes (second)")
        }
        if yubikey, !codes.isEmpty {
            throw ValidationError("--yubikey reads the codes itself; drop --codes.")
        }
    }

    func run() async throws {
        let runtime = try Runtime(options: global)
        let yubiKey =
            yubikey ? try YubiKeyOATH(environment: runtime.environment, deviceSerial: ykmanDevice) : nil
        let interactive = codes.isEmpty && yubiKey == nil
        if interactive { try runtime.requireTerminal(for: .enrollmentCodes(profile: profile)) }
        try yubiKey?.checkPresent()
        let key = try await runtime.workspace.storedKey(profile: profile)
        let iam = try runtime.workspace.iamClient(credentials: key, profile: profile, region: region)
        let enrollment = MFAEnrollment(iam: iam, profile: profile)
        let configuredSerial = try runtime.workspace.configuredMFASerial(profile: profile)
        let pending: PendingEnrollment
        do {
            pending = try await enrollment.start(deviceName: deviceName)
        } catch MFAEnrollmentError.deviceNameTaken(_, _, let serial?) where configuredSerial == nil {
            // An earlier enrolment enabled the device, then died before it wrote the config.
            runtime.print(
                "MFA device \(serial) is already enabled for this user (an earlier enrolment stopped before it "
                    + "updated the config). If that device is not on your authenticator, remove it with "
                    + "`latchkey mfa remove \(profile)` and enrol again.")
            try await writeSerial(serial, runtime: runtime)
            return
        }
        runtime.debug("created virtual MFA device \(pending.device.serialNumber)")

        do {
            try present(pending, showQR: yubiKey == nil, runtime: runtime)
            if let yubiKey {
                try yubiKey.addTOTP(name: ykmanCred ?? pending.accountLabel, seed: pending.device.base32Seed)
            }
        } catch {
            await enrollment.abandon(pending)
            throw error
        }
        try await enrollment.complete(pending, attempts: interactive ? 3 : 1) { attempt in
            if let yubiKey { return try await yubiKeyCodes(yubiKey, name: ykmanCred ?? pending.accountLabel) }
            if !codes.isEmpty { return (codes[0], codes[1]) }
            if attempt > 1 { runtime.terminal.say("Those codes were not accepted; try again.\n") }
            let first = try runtime.terminal.readLine(
                prompt: "Enter the code the app shows now: ", hidden: false)
            let second = try runtime.terminal.readLine(
                prompt: "Wait for the next code and enter it: ", hidden: false)
            return (first, second)
        }
        runtime.print("Enabled MFA device \(pending.device.serialNumber) for user \(pending.user.userName).")
        try await writeSerial(pending.device.serialNumber, runtime: runtime)
    }

    /// Points the profile at the enabled device; sessions made without MFA are not wanted now.
    private func writeSerial(_ serial: String, runtime: Runtime) async throws {
        try await runtime.workspace.dropSessionsAfterDeviceChange(profile: profile)
        let configFile = runtime.configFile
        do {
            try runtime.workspace.writeMFASerial(serial, profile: profile)
        } catch {
            throw CLIError(
                "the device is enabled in AWS, but \(configFile) could not be updated (", cause: error,
                "); add this line to the [\(sectionName(profile))] section by hand:\nmfa_serial = \(serial)")
        }
        runtime.print("Wrote mfa_serial to [\(sectionName(profile))] in \(configFile).")
    }

    private func present(_ pending: PendingEnrollment, showQR: Bool, runtime: Runtime) throws {
        let code = try QRCode(text: pending.otpauthURI)
        if let qrPNG {
            // It holds the secret: 0600 from its creation, never readable by others for a moment.
            do throws(FileOperationError) {
                try PrivateFile.write(Data(code.png()), to: qrPNG)
            } catch {
                throw CLIError(
                    "could not write the QR code to \(qrPNG) (", cause: error, "); choose another path.")
            }
            runtime.print("Wrote the QR code to \(qrPNG); delete it once scanned (it holds the secret).")
        }
        if showQR {
            runtime.print("Scan this with your authenticator app (account \(pending.accountLabel)):")
            runtime.print(code.terminalText(ansiColors: isatty(1) == 1), terminator: "")
        }
        if showSecret { runtime.print("Secret: \(pending.device.base32Seed)") }
    }

    /// Two codes from consecutive windows: a YubiKey answers the same code within one window,
    /// so latchkey waits for the next one.
    private func yubiKeyCodes(_ yubiKey: YubiKeyOATH, name: String) async throws -> (String, String) {
        let first = try yubiKey.code(name: name)
        var second = try yubiKey.code(name: name)
        var waits = 0
        while second == first, waits < 2 {
            let left = 30 - Int(Date().timeIntervalSince1970) % 30
            writeToStandardError("Waiting \(left) s for the YubiKey's next code...\n")
            try await Task.sleep(for: .seconds(left + 1))
            second = try yubiKey.code(name: name)
            waits += 1
        }
        return (first, second)
    }
}
