import Foundation
import Keyring
import LatchkeyTestSupport

/// scrypt cost small enough for tests (about a millisecond).
let fastScrypt = ScryptParameters(n: 1 << 10, r: 8, p: 1)

/// A private folder under the system temp folder, deleted by `delete()`.
struct TemporaryFolder {
    let url: URL
    var path: String { url.path }
    /// The vault folder inside it (not created).
    var vault: URL { url.appendingPathComponent("keyring") }

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("latchkey-keyring-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func delete() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// A passphrase provider that answers from a script and records every request.
final class PassphraseScript: @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [String]
    private var recorded: [PassphrasePurpose] = []

    /// Answers each request with the next passphrase; the last one repeats.
    init(_ answers: String...) {
        self.answers = answers
    }

    var requests: [PassphrasePurpose] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }

    var provider: PassphraseProvider {
        { [self] purpose in
            lock.withLock {
                recorded.append(purpose)
                return answers.count > 1 ? answers.removeFirst() : answers.first ?? ""
            }
        }
    }
}

struct UnexpectedPassphraseRequest: Error {}

/// A provider that fails the operation: proves no passphrase was needed.
let noPassphraseExpected: PassphraseProvider = { _ in throw UnexpectedPassphraseRequest() }

/// An `UnlockCache` in memory that records calls.
final class RecordingUnlockCache: UnlockCache, @unchecked Sendable {
    private let lock = NSLock()
    private var keys: [String: [UInt8]] = [:]
    private(set) var stores: [(id: String, ttl: Int)] = []
    private(set) var forgets: [String] = []

    func load(id: String) -> [UInt8]? {
        lock.lock()
        defer { lock.unlock() }
        return keys[id]
    }

    func store(id: String, key: [UInt8], ttl: Int) {
        lock.lock()
        defer { lock.unlock() }
        stores.append((id, ttl))
        if ttl > 0 { keys[id] = key }
    }

    func forget(id: String) {
        lock.lock()
        defer { lock.unlock() }
        forgets.append(id)
        keys[id] = nil
    }
}

/// Every file in a folder with its bytes and permission bits, to prove nothing changed.
struct FolderSnapshot: Equatable {
    var files: [String: Data]
    var modes: [String: Int]

    init(_ path: String) throws {
        files = [:]
        modes = [:]
        let manager = FileManager.default
        guard manager.fileExists(atPath: path) else { return }
        for name in try manager.contentsOfDirectory(atPath: path) {
            let filePath = path + "/" + name
            files[name] = try Data(contentsOf: URL(fileURLWithPath: filePath))
            modes[name] = try permissions(filePath)
        }
    }
}

func permissions(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
}

func item(_ key: String, secret: String = "s3cr3t", metadata: [String: String] = [:]) -> KeyringItem {
    KeyringItem(key: key, label: "latchkey: \(key)", metadata: metadata, secret: Data(secret.utf8))
}

/// Does `haystack` contain `needle` anywhere?
func contains(_ haystack: Data, _ needle: Data) -> Bool {
    haystack.range(of: needle) != nil
}
