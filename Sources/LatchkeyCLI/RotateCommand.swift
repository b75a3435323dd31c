import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import LatchkeyCore

struct RotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Replace a profile's stored access key with a new one, safely.",
        discussion: """
            Creates a new access key (the IAM calls use an MFA session when the profile has \
            mfa_serial: one code for the whole rotation), stores it in place of the old one, \
            checks that it works (retrying while IAM catches up, up to \
            LATCHKEY_ROTATE_VERIFY_TIMEOUT, default 60s), deletes the old key from AWS and removes \
            the profile's cached sessions. If the new key cannot be stored or does not work, it is \
            deleted again and the old one stays; if the old key cannot be deleted, you are told \
            its id to remove by hand. A rotation that was killed part-way is finished (or its unused \
            key deleted) by the next `rotate`. A user who already has two keys is refused before \
            anything is changed.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(
        help: "The profile whose stored key to rotate (a role profile rotates its source key).",
        completion: profileCompletion)
    var profile: String

    @Flag(
        name: [.customShort("n"), .customLong("no-session")],
        help: "Make the IAM calls with the old key itself, without MFA.")
    var noSession = false

    @Option(
        name: [.customShort("t"), .customLong("mfa-token")], help: "The current MFA code, instead of asking.")
    var mfaToken: String?

    func run() async throws {
        let runtime = try Runtime(options: global)
        let lookup = try await runtime.workspace.plan(
            for: CredentialRequest(profile: profile, scope: .unscoped))
        let rotation = try await KeyRotation.live(
            plan: lookup.plan, resolver: lookup.resolver,
            context: try runtime.coreContext(store: lookup.store),
            noSession: noSession, mfaToken: mfaToken,
            verify: try KeyRotation.VerifyPolicy(environment: runtime.environment),
            progress: { [standardError = runtime.world.standardError] in standardError("latchkey: \($0)\n") })
        let result = try await rotation.run()
        if result.finishedInterrupted {
            runtime.print(
                "Finished the interrupted rotation of '\(rotation.profile)': \(result.oldAccessKeyId) -> "
                    + "\(result.newAccessKeyId) (old key deleted; \(result.sessionsCleared) cached session"
                    + "\(result.sessionsCleared == 1 ? "" : "s") removed).")
            return
        }
        runtime.print(
            "Rotated the key of '\(rotation.profile)': \(result.oldAccessKeyId) -> \(result.newAccessKeyId) "
                + "(works after \(result.verifyAttempts) attempt\(result.verifyAttempts == 1 ? "" : "s"); "
                + "old key deleted; \(result.sessionsCleared) cached session"
                + "\(result.sessionsCleared == 1 ? "" : "s") removed).")
    }
}
