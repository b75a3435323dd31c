import Foundation
import Keyring

/// A `Keyring` in memory for tests; it counts calls so a test can assert what was read or written.
public final class InMemoryKeyring: Keyring, @unchecked Sendable {
    public let backendName: String
    private let lock = NSLock()
    private let now: @Sendable () -> Date
    private var items: [String: (item: KeyringItem, modified: Date)] = [:]
    private var counts = (get: 0, set: 0, remove: 0, list: 0)

    public init(
        items: [KeyringItem] = [], backendName: String = "memory",
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.backendName = backendName
        self.now = now
        let start = now()
        for item in items { self.items[item.key] = (item, start) }
    }

    /// Calls made so far.
    public var getCount: Int { locked { counts.get } }
    public var setCount: Int { locked { counts.set } }
    public var removeCount: Int { locked { counts.remove } }
    public var listCount: Int { locked { counts.list } }

    /// Every item held, without counting as a call.
    public var snapshot: [KeyringItem] {
        locked { items.values.map(\.item).sorted { $0.key < $1.key } }
    }

    public func get(_ key: String) async throws -> KeyringItem? {
        locked {
            counts.get += 1
            return items[key]?.item
        }
    }

    public func set(_ item: KeyringItem) async throws {
        let modified = now()
        locked {
            counts.set += 1
            items[item.key] = (item, modified)
        }
    }

    @discardableResult
    public func remove(_ key: String) async throws -> Bool {
        locked {
            counts.remove += 1
            return items.removeValue(forKey: key) != nil
        }
    }

    public func list() async throws -> [KeyringItemInfo] {
        locked {
            counts.list += 1
            return items.values.map {
                KeyringItemInfo(
                    key: $0.item.key, label: $0.item.label, metadata: $0.item.metadata, modified: $0.modified)
            }
            .sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        }
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
