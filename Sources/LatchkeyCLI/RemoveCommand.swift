import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import LatchkeyCore

struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Delete a profile's stored key and its cached sessions.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The profile name.", completion: profileCompletion)
    var profile: String

    @Flag(name: [.short, .long], help: "Do not ask for confirmation.")
    var force = false

    func run() async throws {
        let runtime = try Runtime(options: global)
        let store = try runtime.openStore()
        if !force {
            try runtime.requireTerminal(
                for: .confirmation(question: "removing profile '\(profile)'", flag: "--force (-f)"))
            guard try runtime.terminal.confirm("Delete credentials for profile \"\(profile)\"?") else {
                runtime.print("Nothing removed.")
                return
            }
        }
        let sessions = try await store.removeSessions(profile: profile)
        let removed = try await store.removeLongLivedKey(profile: profile)
        guard removed || sessions > 0 else {
            throw CLIError("nothing is stored for profile \"\(profile)\"; `latchkey list` shows what is.")
        }
        runtime.print(
            "Removed \(removed ? "credentials" : "no credentials") and \(sessions) cached session(s) of profile \"\(profile)\"."
        )
    }
}
