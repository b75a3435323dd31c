import Foundation
import Keyring
import LatchkeyTestSupport
import Testing

/// The pass backend's layout against a real pass store and gpg (BackendFixtures): entry names say
/// nothing about the items, a store of the first layout is read as it is and moved on the first
/// write, and listing costs one gpg call however many items there are.
@Suite(.serialized) struct PassKeyringLayoutTests {
    static let profile = "doug-the-admin"
    static let keyID = "AKIAIOSFODNN7EXAMPLE"
    static let mfaARN = "arn:aws:iam::123456789012:mfa/doug-phone"

    /// What a profile's items carry: the profile in key and label, the key id and MFA ARN in metadata.
    static func items() -> [KeyringItem] {
        [
            KeyringItem(
                key: "credentials:\(profile)", label: "latchkey: \(profile)",
                metadata: ["profile": profile, "accessKeyId": keyID, "mfaSerial": mfaARN],
                secret: Data(#"{"AccessKeyId":"AKIAIOSFODNN7EXAMPLE","SecretAccessKey":"wJalr"}"#.utf8)),
            KeyringItem(
                key: "session:\(profile):GetSessionToken:\(mfaARN)", label: "latchkey session: \(profile)",
                metadata: ["profile": profile, "expiration": "2030-01-01T00:00:00Z", "mfaSerial": mfaARN],
                secret: Data("line one\nline two\n\u{0}binary".utf8)),
        ]
    }

    /// A pass store whose gpg is a wrapper that logs every run, so tests can count them.
    struct CountingStore {
        let directory: String
        let environment: [String: String]
        let log: String

        init() throws {
            let (directory, storeEnvironment) = try BackendFixtures.passStore()
            self.directory = directory
            let bin = directory + "-bin"
            log = bin + "/gpg.log"
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            let real = try BackendFixtures.run("/usr/bin/env", ["sh", "-c", "command -v gpg"])
            // pass prefers gpg2 when there is one: both names lead to the wrapper.
            for name in ["gpg", "gpg2"] {
                try writeExecutableScript(
                    "#!/bin/sh\necho \"$*\" >> '\(log)'\nexec '\(real)' \"$@\"\n", to: bin + "/" + name)
            }
            var wrapped = storeEnvironment
            wrapped["PATH"] = bin + ":" + (storeEnvironment["PATH"] ?? "/usr/bin:/bin")
            environment = wrapped
        }

        var keyring: PassKeyring { PassKeyring(storeDirectory: directory, environment: environment) }

        var gpgRuns: Int {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").count
        }

        /// Every path in the store, as `find` would print it (relative).
        var paths: [String] {
            let found = try? BackendFixtures.run("/usr/bin/env", ["find", directory, "-mindepth", "1"])
            return (found ?? "").split(separator: "\n").map { String($0.dropFirst(directory.count + 1)) }
        }

        func delete() {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: directory + "-bin")
        }
    }

    /// Strings that must appear in no path: each secretive value, plain and as base64url.
    static var revealing: [String] {
        let values = [profile, keyID, mfaARN, "doug", "123456789012", "credentials", "session"]
        return values
            + values.map { Data($0.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "") }
            + values.map { Data($0.utf8).base64EncodedString().prefix(8).description }
    }

    @Test func entryNamesRevealNoProfileKeyIdOrARN() async throws {
        let store = try CountingStore()
        defer { store.delete() }
        let keyring = store.keyring
        for item in Self.items() { try await keyring.set(item) }
        try await keyring.set(Self.items()[0])  // a replacement too
        let paths = store.paths
        #expect(!paths.isEmpty)
        for path in paths {
            for value in Self.revealing { #expect(!path.contains(value), "\(path) reveals \(value)") }
        }
        // Only the index and one opaque entry per item remain.
        let entries = paths.filter { $0.hasPrefix("latchkey/") }.sorted()
        #expect(entries.count == 3)
        #expect(entries.contains("latchkey/index.gpg"))
        for item in Self.items() { #expect(try await keyring.get(item.key) == item) }
    }

    @Test func listingCostsOneGpgCallHoweverManyItems() async throws {
        let store = try CountingStore()
        defer { store.delete() }
        let keyring = store.keyring
        for number in 0..<6 {
            try await keyring.set(
                KeyringItem(key: "credentials:p\(number)", label: "p\(number)", secret: Data("s".utf8)))
        }
        let before = store.gpgRuns
        #expect(before > 0)  // the wrapper does see pass's gpg runs
        let listed = try await keyring.list()
        #expect(listed.map(\.key) == (0..<6).map { "credentials:p\($0)" })
        #expect(store.gpgRuns - before == 1)
    }

    /// The first layout: `latchkey/<key percent-encoded>/i<base64url of label, metadata, modified>`.
    static func insertOldLayout(_ item: KeyringItem, modified: Double, store: CountingStore) throws {
        let info = try JSONSerialization.data(
            withJSONObject: ["label": item.label, "metadata": item.metadata, "modified": modified],
            options: [.sortedKeys])
        let encodedInfo = info.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        var parts: [String] = []
        var rest = Substring(encodedInfo)
        while !rest.isEmpty {
            parts.append("i" + rest.prefix(200))
            rest = rest.dropFirst(200)
        }
        let allowed = CharacterSet(
            charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:@+,=")
        let key = try #require(item.key.addingPercentEncoding(withAllowedCharacters: allowed))
        let name = (["latchkey", key] + parts).joined(separator: "/")
        try BackendFixtures.run(
            "/usr/bin/env", ["pass", "insert", "--multiline", "--force", name],
            environment: store.environment,
            stdin: String(decoding: item.secret, as: UTF8.self))
    }

    @Test func anOldLayoutStoreIsReadAsItIsThenMovedOnTheFirstWrite() async throws {
        let store = try CountingStore()
        defer { store.delete() }
        let old = Self.items()
        for item in old { try Self.insertOldLayout(item, modified: 1_700_000_000, store: store) }
        #expect(store.paths.contains { $0.contains(Self.profile) })  // the old names do reveal it

        // Before any write: everything readable, and listing the old names needs no gpg at all.
        let keyring = store.keyring
        let before = store.gpgRuns
        #expect(try await keyring.list().map(\.key).sorted() == old.map(\.key).sorted())
        #expect(store.gpgRuns == before)
        for item in old { #expect(try await keyring.get(item.key) == item) }

        // The first write moves every item; the old names are gone.
        let new = KeyringItem(key: "credentials:other", label: "latchkey: other", secret: Data("x".utf8))
        try await keyring.set(new)
        for path in store.paths {
            for value in Self.revealing { #expect(!path.contains(value), "\(path) reveals \(value)") }
        }
        #expect(try await keyring.list().map(\.key).sorted() == (old + [new]).map(\.key).sorted())
        for item in old + [new] { #expect(try await keyring.get(item.key) == item) }
        #expect(try await keyring.remove(old[1].key))
        #expect(try await keyring.get(old[1].key) == nil)
        #expect(try await keyring.list().count == 2)
    }
}
