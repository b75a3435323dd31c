import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import LatchkeyCore

struct ClearCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clear",
        abstract: "Remove cached sessions (all, or one profile's); stored keys stay.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Only this profile's sessions.", completion: profileCompletion)
    var profile: String?

    func run() async throws {
        let runtime = try Runtime(options: global)
        let store = try runtime.openStore()
        let count = try await store.removeSessions(profile: profile)
        runtime.print("Cleared \(count) session\(count == 1 ? "" : "s").")
    }
}
