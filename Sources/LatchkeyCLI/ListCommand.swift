import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport
import LatchkeyCore

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Show profiles, stored keys and cached sessions with the time they have left.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Print JSON for scripts.")
    var json = false

    @Flag(name: .long, help: "Print only profile names, one a line.")
    var profiles = false

    func run() async throws {
        let runtime = try Runtime(options: global)
        let config = try runtime.workspace.loadConfig()
        if profiles {
            for name in config.profiles.keys.sorted() { runtime.print(name) }
            return
        }
        let store = try runtime.openStore()
        let inventory = try await store.inventory().listingLoginSessions(of: config)
        let now = runtime.world.now()
        let names = Set(config.profiles.keys).union(inventory.credentials.map(\.profile))
            .union(inventory.sessions.map(\.profile)).sorted()

        if json {
            runtime.print(listingJSON(names: names, inventory: inventory, now: now))
            return
        }
        var rows = [["Profile", "Credentials", "Sessions"]]
        for name in names {
            let key = inventory.credentials.first { $0.profile == name }
            let keyText = key.map { stored in
                var text = stored.accessKeyId.map(shortKeyId) ?? "stored"
                if let added = stored.added { text += ", \(age(since: added, now: now)) old" }
                return text
            }
            let sessions = inventory.sessions.filter { $0.profile == name }.map { session in
                "\(session.type): " + timeLeft(session.expiration, now: now)
            }
            rows.append([name, keyText ?? "-", sessions.isEmpty ? "-" : sessions.joined(separator: "; ")])
        }
        runtime.print(table(rows), terminator: "")
        if names.isEmpty {
            runtime.print("No profiles yet: `latchkey add NAME` stores a key and creates one.")
        }
    }
}

func shortKeyId(_ accessKeyId: String) -> String {
    accessKeyId.count > 8 ? String(accessKeyId.prefix(4)) + "…" + String(accessKeyId.suffix(4)) : accessKeyId
}

func timeLeft(_ expiration: Date?, now: Date) -> String {
    guard let expiration else { return "unknown expiry" }
    let left = Int(expiration.timeIntervalSince(now))
    return left > 0 ? "\(formatDuration(left)) left" : "expired"
}

func age(since date: Date, now: Date) -> String {
    KeyAge.text(since: date, now: now)
}

/// Left-aligned columns separated by two spaces.
func table(_ rows: [[String]]) -> String {
    var widths = [Int](repeating: 0, count: rows.first?.count ?? 0)
    for row in rows {
        for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
    }
    return rows.map { row in
        row.enumerated().map { index, cell in
            index == row.count - 1
                ? cell : cell.padded(to: widths[index] + 2)
        }.joined() + "\n"
    }.joined()
}

func listingJSON(names: [String], inventory: CredentialStore.Inventory, now: Date) -> String {
    struct Listing: Encodable {
        var profiles: [Profile]
    }
    struct Profile: Encodable {
        var name: String
        var credentials: Key?
        var sessions: [Session]

        // `"credentials": null` rather than a missing key, so scripts can test it directly.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(credentials, forKey: .credentials)
            try container.encode(sessions, forKey: .sessions)
        }

        enum CodingKeys: String, CodingKey { case name, credentials, sessions }
    }
    struct Key: Encodable {
        var access_key_id: String?
        var added: String?
        var age_days: Int?
    }
    struct Session: Encodable {
        var type: String
        var expiration: String?
        var seconds_left: Int?
        var mfa_serial: String?
    }
    let listing = Listing(
        profiles: names.map { name in
            Profile(
                name: name,
                credentials: inventory.credentials.first { $0.profile == name }.map {
                    Key(
                        access_key_id: $0.accessKeyId, added: $0.added.map(iso8601),
                        age_days: $0.ageInDays(now: now))
                },
                sessions: inventory.sessions.filter { $0.profile == name }.map {
                    Session(
                        type: $0.type, expiration: $0.expiration.map(iso8601),
                        seconds_left: $0.expiration.map { max(0, Int($0.timeIntervalSince(now))) },
                        mfa_serial: $0.mfaSerial)
                })
        })
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return (try? encoder.encode(listing)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
}
