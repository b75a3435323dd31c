import ArgumentParser
import LatchkeyCore

struct MFACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mfa",
        abstract: "Enrol, list and remove the IAM user's virtual MFA devices.",
        subcommands: [MFAEnrollCommand.self, MFAListCommand.self, MFARemoveCommand.self])
}

extension Runtime {
    /// After an MFA device is added or removed, the profile's cached sessions are dropped. The
    /// device change stands either way: sessions made before it are only stale, so a failure warns
    /// with the command that finishes the job.
    func dropSessionsAfterDeviceChange(profile: String) async throws {
        let store = CredentialStore(keyring: try openKeyring())
        do {
            try await store.removeSessions(profile: profile)
        } catch {
            Terminal.say(
                "latchkey: warning: could not remove the cached sessions of '\(profile)' (\(error)); "
                    + "run `latchkey clear \(profile)`.\n")
        }
    }
}
