import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import LatchkeyCore

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy stored keys and sessions from one backend to another.",
        discussion: """
            Each item is copied, then read back from the destination and compared; only when every \
            copy is verified, and only with --delete-source, are the originals removed.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The backend to copy from.")
    var from: String

    @Option(name: .long, help: "The backend to copy to.")
    var to: String

    @Option(name: .long, help: "Only this profile's items.", completion: profileCompletion)
    var profile: String?

    @Flag(name: .customLong("dry-run"), help: "Show what would be copied; change nothing.")
    var dryRun = false

    @Flag(name: .customLong("delete-source"), help: "Remove the originals once every copy is verified.")
    var deleteSource = false

    func run() async throws {
        guard from != to else {
            throw CLIError("--from and --to name the same backend '\(from)'; nothing to do.")
        }
        let runtime = try Runtime(options: global)
        let migration = KeyMigration(
            from: from, to: to, profile: profile, dryRun: dryRun, deleteSource: deleteSource)
        try await migration.run(in: runtime.workspace) { step in
            switch step {
            case .nothingToMigrate:
                runtime.print(
                    "Nothing to migrate from \(from)\(profile.map { " for profile \"\($0)\"" } ?? "").")
            case .wouldCopy(let key): runtime.print("would copy \(key) from \(from) to \(to)")
            case .copied(let key): runtime.print("copied \(key) to \(to) (verified)")
            case .removed(let key): runtime.print("removed \(key) from \(from)")
            }
        }
    }
}
