import ArgumentParser

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "The MFA-required permissions boundary: show it, or apply it to a user.",
        subcommands: [PolicyShowCommand.self, PolicyApplyCommand.self])
}
