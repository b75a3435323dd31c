#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Keyring

/// `migrate`: copies stored keys and sessions from one backend to another. Each item is copied,
/// then read back from the destination and compared; only when every copy is verified, and only
/// with `deleteSource`, are the originals removed.
public struct KeyMigration: Sendable {
    public var from: String
    public var to: String
    /// Only this profile's items.
    public var profile: String?
    public var dryRun = false
    public var deleteSource = false

    public init(from: String, to: String, profile: String?, dryRun: Bool, deleteSource: Bool) {
        self.from = from
        self.to = to
        self.profile = profile
        self.dryRun = dryRun
        self.deleteSource = deleteSource
    }

    public enum Step: Sendable, Equatable {
        case nothingToMigrate
        case wouldCopy(key: String)
        case copied(key: String)
        case removed(key: String)
    }

    public struct CopyDiffers: Error, CustomStringConvertible, Equatable {
        public var key: String
        public var from: String
        public var to: String
        public var description: String {
            "the copy of \(key) in \(to) does not read back the same; nothing was removed from \(from)."
        }
    }

    public func run(in workspace: Workspace, report: (Step) -> Void) async throws {
        let source = try workspace.openKeyring(named: from)
        let destination = try workspace.openKeyring(named: to)
        let items = try await source.list().filter { info in
            profile.map { info.metadata["profile"] == $0 } ?? true
        }
        if items.isEmpty {
            report(.nothingToMigrate)
            return
        }
        var copied: [String] = []
        for info in items {
            if dryRun {
                report(.wouldCopy(key: info.key))
                continue
            }
            // Removed by another program since the listing: nothing to copy.
            guard let item = try await source.get(info.key) else { continue }
            try await destination.set(item)
            guard try await destination.get(item.key) == item else {
                throw CopyDiffers(key: item.key, from: from, to: to)
            }
            report(.copied(key: item.key))
            copied.append(item.key)
        }
        guard deleteSource, !dryRun else { return }
        for key in copied {
            try await source.remove(key)
            report(.removed(key: key))
        }
    }
}
