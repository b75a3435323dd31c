import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import LatchkeyCore

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check a profile from the config to AWS and explain what is wrong, with the fix.",
        discussion: """
            Checks the config, the keyring, the profile's plan, where MFA codes come from, the stored \
            key (readable, age), the key against AWS, the clock against AWS (MFA codes depend on it), \
            the MFA device against mfa_serial, and the MFA-required boundary. Only the long-lived key \
            is used: no MFA prompt. Exits 1 when a check fails.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Print JSON for scripts.")
    var json = false

    @Argument(
        help: "The profile to check (default: only the config and the keyring).",
        completion: profileCompletion)
    var profile: String?

    func run() async throws {
        let runtime = try Runtime(options: global)
        let context = try runtime.coreContext(store: try runtime.openStore())
        let config = Result { try runtime.workspace.loadConfig() }
        let doctor = Doctor(
            context: context, config: config, configFile: runtime.configFile,
            iam: { key in
                try runtime.workspace.iamClient(credentials: key, profile: profile ?? "default", region: nil)
            })
        let checks = await doctor.run(profile: profile)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            runtime.print(String(decoding: try encoder.encode(["checks": checks]), as: UTF8.self))
        } else {
            for check in checks {
                let mark =
                    ["ok": "ok  ", "warn": "warn", "fail": "FAIL", "skip": "skip"][check.status.rawValue]
                    ?? "?"
                runtime.print("\(mark)  \(check.name): \(check.detail)")
                if let fix = check.fix, check.status == .warn || check.status == .fail {
                    runtime.print("      fix: \(fix)")
                }
            }
        }
        if checks.contains(where: { $0.status == .fail }) { throw ExitCode(1) }
    }
}
