import ArgumentParser
import Foundation
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
        let source = try runtime.openKeyring(named: from)
        let destination = try runtime.openKeyring(named: to)
        let items = try await source.list().filter { info in
            profile.map { info.metadata["profile"] == $0 } ?? true
        }
        if items.isEmpty {
            print("Nothing to migrate from \(from)\(profile.map { " for profile \"\($0)\"" } ?? "").")
            return
        }
        var copied: [String] = []
        for info in items {
            if dryRun {
                print("would copy \(info.key) from \(from) to \(to)")
                continue
            }
            // Removed by another program since the listing: nothing to copy.
            guard let item = try await source.get(info.key) else { continue }
            try await destination.set(item)
            guard try await destination.get(item.key) == item else {
                throw CLIError(
                    "the copy of \(item.key) in \(to) does not read back the same; nothing was removed from \(from)."
                )
            }
            print("copied \(item.key) to \(to) (verified)")
            copied.append(item.key)
        }
        guard deleteSource, !dryRun else { return }
        for key in copied {
            try await source.remove(key)
            print("removed \(key) from \(from)")
        }
    }
}
