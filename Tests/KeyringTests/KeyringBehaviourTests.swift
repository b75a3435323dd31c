import Foundation
import Keyring
import LatchkeyTestSupport
import Testing

/// Makes an empty keyring; the behaviour suite runs against any backend through this.
typealias KeyringFactory = @Sendable () async throws -> any Keyring

/// What every `Keyring` backend must do. Later backends (Secret Service, keyctl, pass) add a
/// `TestBackend` case and get the whole suite.
enum KeyringBehaviour: String, CaseIterable, Sendable {
    case setThenGet
    case getMissing
    case overwrite
    case listWithMetadata
    case remove
    case removeMissing
    case unicodeKeys
    case largeItem
    case concurrentWriters

    func check(_ make: KeyringFactory) async throws {
        let keyring = try await make()
        switch self {
        case .setThenGet:
            let stored = item("credentials:doug", metadata: ["profile": "doug", "kind": "credentials"])
            try await keyring.set(stored)
            #expect(try await keyring.get("credentials:doug") == stored)

        case .getMissing:
            try await keyring.set(item("credentials:doug"))
            #expect(try await keyring.get("credentials:nobody") == nil)

        case .overwrite:
            try await keyring.set(item("credentials:doug", secret: "first", metadata: ["n": "1"]))
            let second = item("credentials:doug", secret: "second", metadata: ["n": "2"])
            try await keyring.set(second)
            #expect(try await keyring.get("credentials:doug") == second)
            #expect(try await keyring.list().map(\.key) == ["credentials:doug"])

        case .listWithMetadata:
            let session = item(
                "session:doug:GetSessionToken:ab12",
                metadata: ["profile": "doug", "kind": "session", "expiration": "2026-01-01T00:00:00Z"])
            try await keyring.set(item("credentials:doug", metadata: ["profile": "doug"]))
            try await keyring.set(session)
            let infos = try await keyring.list()
            #expect(infos.map(\.key) == ["credentials:doug", "session:doug:GetSessionToken:ab12"])
            #expect(infos.last?.label == session.label)
            #expect(infos.last?.metadata == session.metadata)

        case .remove:
            try await keyring.set(item("credentials:doug"))
            try await keyring.set(item("credentials:ann"))
            #expect(try await keyring.remove("credentials:doug"))
            #expect(try await keyring.get("credentials:doug") == nil)
            #expect(try await keyring.list().map(\.key) == ["credentials:ann"])

        case .removeMissing:
            #expect(try await keyring.remove("credentials:nobody") == false)
            try await keyring.set(item("credentials:doug"))
            #expect(try await keyring.remove("credentials:nobody") == false)
            #expect(try await keyring.get("credentials:doug") != nil)

        case .unicodeKeys:
            let keys = [
                "credentials:zoë", "credentials:日本語", "credentials:🙂 smile", "credentials:../../etc/passwd",
                "credentials:a/b\\c", "credentials:.hidden", "credentials:Doug", "credentials:doug",
            ]
            for key in keys { try await keyring.set(item(key, secret: "secret of \(key)")) }
            for key in keys { #expect(try await keyring.get(key)?.secret == Data("secret of \(key)".utf8)) }
            #expect(Set(try await keyring.list().map(\.key)) == Set(keys))

        case .largeItem:
            var generator = SystemRandomNumberGenerator()
            let secret = Data((0..<(64 << 10)).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let large = KeyringItem(key: "blob", label: "large", metadata: [:], secret: secret)
            try await keyring.set(large)
            #expect(try await keyring.get("blob") == large)

        case .concurrentWriters:
            let writers = 24
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<writers {
                    group.addTask {
                        try await keyring.set(item("item:\(index)", secret: "secret \(index)"))
                        try await keyring.set(item("shared", secret: "writer \(index)"))
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await keyring.list().count == writers + 1)
            for index in 0..<writers {
                #expect(try await keyring.get("item:\(index)")?.secret == Data("secret \(index)".utf8))
            }
            let shared = try #require(try await keyring.get("shared"))
            #expect((0..<writers).map { Data("writer \($0)".utf8) }.contains(shared.secret))
        }
    }
}

enum TestBackend: String, CaseIterable, Sendable {
    case file
    case memory
    case keyctl
    case pass
    case secretService

    /// Every backend, or those named in `LATCHKEY_TEST_BACKENDS` (comma-separated) to debug one.
    static var selected: [TestBackend] {
        let names = ProcessInfo.processInfo.environment["LATCHKEY_TEST_BACKENDS"]?.split(separator: ",")
        return names.map { $0.compactMap { TestBackend(rawValue: String($0)) } } ?? allCases
    }

    /// An empty keyring of this backend, and what removes everything it made.
    func make(in folder: TemporaryFolder) throws -> (
        factory: KeyringFactory, cleanup: @Sendable () async -> Void
    ) {
        let unique = "latchkey-test-\(UUID().uuidString.prefix(8))"
        switch self {
        case .file:
            let script = PassphraseScript("correct horse")
            let factory: KeyringFactory = {
                FileKeyring(directory: folder.vault, passphrase: script.provider, scrypt: fastScrypt)
            }
            return (factory, {})
        case .memory:
            return ({ InMemoryKeyring() }, {})
        case .keyctl:
            let keyring = KernelKeyring(scope: .persistent, keyringName: unique)
            return ({ keyring }, { try? await keyring.removeAll() })
        case .pass:
            let store = try BackendFixtures.passStore()
            let factory: KeyringFactory = {
                PassKeyring(storeDirectory: store.directory, environment: store.environment)
            }
            return (factory, { try? FileManager.default.removeItem(atPath: store.directory) })
        case .secretService:
            _ = try BackendFixtures.secretService.get()
            let keyring = SecretServiceKeyring(collection: "default", application: unique)
            return ({ keyring }, { try? await keyring.removeAll() })
        }
    }
}

@Suite struct KeyringBehaviourTests {
    @Test(arguments: TestBackend.selected, KeyringBehaviour.allCases)
    func behaves(backend: TestBackend, behaviour: KeyringBehaviour) async throws {
        let folder = try TemporaryFolder()
        defer { folder.delete() }
        let (factory, cleanup) = try backend.make(in: folder)
        if backend == .keyctl, behaviour == .largeItem {
            // Skipped as a success case: a kernel `user` key holds at most 32767 bytes; the
            // backend must refuse the 64 KiB item with a clear error and store nothing.
            let keyring = try await factory()
            let large = KeyringItem(key: "blob", label: "large", secret: Data(count: 64 << 10))
            await #expect(throws: BackendError.self) { try await keyring.set(large) }
            #expect(try await keyring.get("blob") == nil)
            await cleanup()
            return
        }
        do {
            try await behaviour.check(factory)
        } catch {
            await cleanup()
            throw error
        }
        await cleanup()
    }

    @Test func backendNames() throws {
        let folder = try TemporaryFolder()
        defer { folder.delete() }
        #expect(FileKeyring(directory: folder.vault, passphrase: noPassphraseExpected).backendName == "file")
        #expect(InMemoryKeyring().backendName == "memory")
    }

    @Test func inMemoryKeyringCountsCalls() async throws {
        let keyring = InMemoryKeyring(items: [item("credentials:doug")])
        _ = try await keyring.get("credentials:doug")
        _ = try await keyring.get("credentials:ann")
        try await keyring.set(item("credentials:ann"))
        try await keyring.remove("credentials:doug")
        _ = try await keyring.list()
        #expect(keyring.getCount == 2)
        #expect(keyring.setCount == 1)
        #expect(keyring.removeCount == 1)
        #expect(keyring.listCount == 1)
        #expect(keyring.snapshot.map(\.key) == ["credentials:ann"])
    }

    @Test func itemDescriptionHidesSecret() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        let text = item("credentials:doug", secret: secret).description
        #expect(!text.contains(secret))
        #expect(text.contains("credentials:doug"))
        #expect(text.contains("\(secret.utf8.count) bytes"))
    }
}
