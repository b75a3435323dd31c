import ArgumentParser
import LatchkeyCore

struct PolicyShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print the MFA-required permissions boundary document (JSON).",
        discussion: """
            Everything is denied unless the request was made with MFA (aws:MultiFactorAuthPresent), \
            except what a user needs to enrol their own first device: create, enable, resync and \
            list their own virtual MFA device, read their own user, get a session token, change \
            their password.
            """)

    func run() throws {
        Runtime.print(MFABoundaryPolicy.document)
    }
}
