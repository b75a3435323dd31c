import Foundation
import Testing

@testable import AWSConfig

/// `load` scans the files and builds a section only when asked; these compare that reader, section
/// by section, with the full parse (`parse`, which the conformance suite pins) on the same texts.
@Suite struct LazyReaderTests {
    /// Every conformance input, plus generated files with every feature the grammar has.
    static let inputs: [(config: String?, credentials: String?)] =
        ParserCase.all.map { ($0.input.configFile, $0.input.credentialsFile) }
        + (0..<40).map { seed in
            var random = SeededRandom(seed: UInt64(seed))
            return (
                generatedFile(&random, profiles: 60, kind: .config),
                seed % 3 == 0 ? nil : generatedFile(&random, profiles: 20, kind: .credentials)
            )
        }

    @Test func everySectionMatchesTheFullParse() throws {
        var read = 0
        for input in Self.inputs
        where try expectSameReading(config: input.config, credentials: input.credentials) {
            read += 1
        }
        // Most inputs must parse, or the comparison would be of errors only.
        #expect(read > Self.inputs.count * 2 / 3)
    }

    @Test func aMalformedLineAnywhereIsTheSameError() throws {
        let broken = ["oops", "  indented", "[profile x", "= value", "s3 =\n  no equals"]
        var failed = 0
        for seed in 0..<40 {
            var random = SeededRandom(seed: UInt64(seed) + 1000)
            var lines = generatedFile(&random, profiles: 30, kind: .config).split(
                separator: "\n", omittingEmptySubsequences: false)
            lines.insert(Substring(broken[seed % broken.count]), at: random.next(below: lines.count + 1))
            if try !expectSameReading(
                config: lines.joined(separator: "\n"), credentials: "[default]\nregion = x")
            {
                failed += 1
            }
        }
        #expect(failed > 20)
    }

    @Test func aChangedValueIsAPlainValue() throws {
        var config = try AWSSharedConfig.scan(configText: "[profile a]\nregion = x", credentialsText: nil)
        config.profiles["b"] = ProfileSection(name: "b", properties: ["region": "y"])
        #expect(config.profile("a")?.region == "x")
        #expect(config.profile("b")?.region == "y")
        #expect(config.profileNames == ["a", "b"])
    }

    /// Whether the texts parse; either way the lazy reader must agree with the full parse.
    private func expectSameReading(config: String?, credentials: String?) throws -> Bool {
        let full: AWSSharedConfig
        do {
            full = try AWSSharedConfig.parse(configText: config, credentialsText: credentials)
        } catch let error as ConfigError {
            #expect(throws: error) {
                try AWSSharedConfig.scan(configText: config, credentialsText: credentials)
            }
            return false
        }
        let lazy = try AWSSharedConfig.scan(configText: config, credentialsText: credentials)
        // Section by section first, before anything builds the whole of `lazy`.
        let absent = ["default", "nope", "team-00001", "a", "b"]
        for name in Set(full.profiles.keys).union(absent) {
            #expect(lazy.profile(name) == full.profiles[name], "profile \(name)")
        }
        for name in Set(full.ssoSessions.keys).union(absent) {
            #expect(lazy.ssoSession(name) == full.ssoSessions[name], "sso-session \(name)")
        }
        for name in Set(full.services.keys).union(absent) {
            #expect(lazy.servicesSection(name) == full.services[name], "services \(name)")
        }
        #expect(lazy.profileNames == full.profileNames)
        #expect(lazy.profiles == full.profiles)
        #expect(lazy.ssoSessions == full.ssoSessions)
        #expect(lazy.services == full.services)
        #expect(lazy == full)
        return true
    }
}

/// A small deterministic generator (SplitMix64), so a failure can be replayed.
struct SeededRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next(below bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        value ^= value >> 31
        return Int(value % UInt64(bound))
    }

    mutating func pick(_ choices: [String]) -> String { choices[next(below: choices.count)] }
}

/// A file with repeated sections, comments, blank and CRLF lines, continuations and sub-properties.
func generatedFile(_ random: inout SeededRandom, profiles: Int, kind: ProfileFileKind) -> String {
    let names = ["default", "team-00001", "a", "b", "Dev.EU", "bad name", "x!"]
    let headers: [String] =
        kind == .config
        ? [
            "[profile NAME]", "[NAME]", "[default]", "[ profile  NAME ] # note", "[sso-session NAME]",
            "[services NAME]", "[profile NAME];c", "[unknown NAME]", "[profile default]",
            // A blank before a combining mark is no blank to `Character`, but is one to the bytes.
            "[profile \u{301}NAME]", "[default \u{301}]", "[profile\u{A0}NAME]", "[\u{212A}NAME]",
        ]
        : ["[NAME]", "[default]", "[profile NAME]", "[NAME] ; c", "[NAME \u{301}]"]
    let keys = ["region", "Region", "role_arn", "sso_session", "services", "s3", "sts", "bad key!", "x"]
    let values = ["us-east-1", "", "arn:aws:iam::1:role/r # tail", "v;not-comment", "a =b", "  spaced  "]
    let newline = random.next(below: 4) == 0 ? "\r\n" : "\n"
    var lines: [String] = random.next(below: 3) == 0 ? ["\u{FEFF}# a byte-order mark first"] : []
    for _ in 0..<profiles {
        let name = random.pick(names)
        lines.append(random.pick(headers).replacingAll("NAME", with: name))
        var hasProperty = false
        var inBlock = false
        for _ in 0..<random.next(below: 6) {
            switch random.next(below: 8) {
            case 0: lines.append(random.pick(["# comment", "; comment", "", "   "]))
            case 1 where hasProperty:
                lines.append(inBlock ? "  k = " + random.pick(values) : "  continued " + random.pick(values))
            case 2:
                lines.append(random.pick(keys) + " =" + random.pick(["", " ", " # empty"]))
                for _ in 0..<random.next(below: 3) {
                    lines.append(random.pick(["  endpoint_url = https://x", "\tmax = 2", "  Key=V ; c"]))
                }
                hasProperty = true
                inBlock = true
            default:
                let value = random.pick(values.filter { !$0.isEmpty })
                lines.append(random.pick(keys) + random.pick([" = ", "=", "\t=  "]) + value)
                hasProperty = true
                inBlock = false
            }
        }
    }
    return lines.joined(separator: newline) + random.pick(["", newline, newline + newline])
}

extension String {
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// One loaded config is shared by every copy of it (the scanned files and the full merge are one
/// object), and copies are read from several threads: a resolver in each task, the servers.
/// Look-ups compare fingerprints first: equal kinds must have equal ones, and the kinds a look-up
/// must tell apart (same name, another kind) different ones.
@Suite struct SectionFingerprintTests {
    @Test func kindsThatDifferHaveDifferentFingerprints() {
        let kinds: [SectionKind] = [
            .profile("x"), .ssoSession("x"), .services("x"), .profile(""), .unprefixedDefault, .ignored,
            .profile("default"), .profile("X"), .profile("xx"), .profile("team-00001"),
            .profile("team-00010"),
        ]
        #expect(Set(kinds.map(\.fingerprint)).count == kinds.count)
        #expect(
            SectionKind.profile("bench").fingerprint
                == SectionKind.profile(String("bench".reversed().reversed())).fingerprint)
    }

    /// The index fingerprints headers from their bytes, without making their kinds: the two must agree
    /// on every header, or a look-up would miss its section.
    @Test func aHeaderFingerprintedFromItsBytesIsItsKindsFingerprint() throws {
        var checked = 0
        for seed in 0..<20 {
            var random = SeededRandom(seed: UInt64(seed) + 2000)
            for file in [ProfileFileKind.config, .credentials] {
                let parser = ProfileFileParser(
                    text: generatedFile(&random, profiles: 40, kind: file), path: "generated")
                for section in try parser.index() {
                    let kind = parser.kind(ofHeader: section.headerBytes, in: file)
                    #expect(
                        parser.fingerprint(ofHeader: section.headerBytes, in: file) == kind.fingerprint,
                        "\(parser.headerText(section)) (\(kind))")
                    checked += 1
                }
            }
        }
        #expect(checked > 1000)
    }
}

@Suite struct LazyReaderSharingTests {
    @Test func manyThreadsReadOneLoadedConfig() throws {
        let folder = try TemporaryFolder()
        var random = SeededRandom(seed: 77)
        let configText = generatedFile(&random, profiles: 400, kind: .config)
        let credentialsText = generatedFile(&random, profiles: 50, kind: .credentials)
        try folder.write(configText, to: "config")
        try folder.write(credentialsText, to: "credentials")
        let expected = try AWSSharedConfig.parse(configText: configText, credentialsText: credentialsText)
        let loaded = try AWSSharedConfig.load(
            ConfigLocations(configFile: folder.url("config"), credentialsFile: folder.url("credentials")))
        let names = Array(Set(expected.profiles.keys).union(["default", "nope", "a", "b"]))
        let mismatches = Counter()
        DispatchQueue.concurrentPerform(iterations: 16) { worker in
            // Every worker has its own copy; half of them build the full merge while the rest read
            // single sections, and one changes its copy (which must not reach the others).
            var copy = loaded
            for (index, name) in names.enumerated() where index % 4 == worker % 4 {
                var same = copy.profile(name) == expected.profiles[name]
                same = same && copy.ssoSession(name) == expected.ssoSessions[name]
                same = same && copy.servicesSection(name) == expected.services[name]
                if worker % 2 == 0 { same = same && copy.profiles == expected.profiles }
                if !same { mismatches.add() }
            }
            if worker == 5 { copy.profiles["only-in-a-copy"] = ProfileSection(name: "only-in-a-copy") }
        }
        #expect(mismatches.value == 0)
        #expect(loaded == expected)
        #expect(loaded.profile("only-in-a-copy") == nil)
    }
}

/// A count several threads add to.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func add() {
        lock.lock()
        count += 1
        lock.unlock()
    }

    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}
