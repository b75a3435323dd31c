import ArgumentParser
import LatchkeyCore

struct MFACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mfa",
        abstract: "Enrol, list and remove the IAM user's virtual MFA devices.",
        subcommands: [MFAEnrollCommand.self, MFAListCommand.self, MFARemoveCommand.self])
}
