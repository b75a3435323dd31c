import AWSClient
import AWSConfig
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// One account and role the signed-in IAM Identity Center user can reach.
public struct SSOAssignment: Sendable, Equatable {
    public var accountId: String
    /// The account's name in the portal; empty when it has none.
    public var accountName: String
    public var roleName: String

    public init(accountId: String, accountName: String, roleName: String) {
        self.accountId = accountId
        self.accountName = accountName
        self.roleName = roleName
    }
}

/// `latchkey sso populate SSO_SESSION`: one profile per account and role of an sso-session,
/// written into a block of `~/.aws/config` that latchkey owns, between two marker comments.
/// Everything outside the block stays as it was, byte for byte.
public struct SSOPopulate: Sendable {
    public var context: CoreContext
    public var resolver: ProfileResolver

    public init(context: CoreContext, resolver: ProfileResolver) {
        self.context = context
        self.resolver = resolver
    }

    public static let defaultTemplate = "{account_name}/{role_name}"

    public struct Options: Sendable {
        public var template: String
        /// The profiles' `region`; nil for the sso-session's `sso_region`.
        public var region: String?
        /// Remove the block's profiles that are no longer assigned.
        public var prune: Bool
        /// Compute the change and its diff, write nothing.
        public var dryRun: Bool

        public init(
            template: String = defaultTemplate, region: String? = nil, prune: Bool = false,
            dryRun: Bool = false
        ) {
            self.template = template
            self.region = region
            self.prune = prune
            self.dryRun = dryRun
        }
    }

    /// What a run changed (or, with `dryRun`, would change); names sorted.
    public struct Changes: Sendable, Equatable, Encodable {
        public var added: [String] = []
        public var updated: [String] = []
        public var removed: [String] = []
        public var unchanged: [String] = []
        /// In the block but no longer assigned, kept because `prune` was not asked for.
        public var gone: [String] = []
        /// Generated names that a profile outside the block already has: not written.
        public var skipped: [String] = []
        /// The block's lines removed (`-`) and added (`+`), unified-diff style with `@@` hunks.
        public var diff: [String] = []
    }

    public struct Outcome: Sendable {
        public var text: String
        public var changes: Changes
    }

    public struct Report: Sendable, Encodable {
        public var ssoSession: String
        public var configFile: String
        public var accounts: Int
        public var roles: Int
        public var dryRun: Bool
        public var written: Bool
        public var changes: Changes
    }

    // MARK: The use case

    /// Signs in when needed, lists every account and role, and applies the block to the config
    /// file (locked, atomic, backed up), or only computes it with `dryRun`.
    public func run(ssoSession name: String, options: Options) async throws -> Report {
        let template = try NameTemplate(options.template)
        let source = try resolver.ssoSessionSource(name)
        let region = options.region.flatMap(nonEmpty) ?? source.region
        let assignments = try await listAssignments(source)
        let configFile = resolver.configFile
        var changes = Changes()
        var written = false
        if options.dryRun {
            let current =
                FileManager.default.fileExists(atPath: configFile)
                ? try String(contentsOfFile: configFile, encoding: .utf8) : ""
            changes = try Self.apply(
                to: current, ssoSession: name, region: region, assignments: assignments, template: template,
                prune: options.prune
            ).changes
        } else {
            let prune = options.prune
            (written, changes) = try await onOwnThread(named: "latchkey-config") {
                // The block is computed from the text read under the lock, so no edit is lost.
                var changes = Changes()
                let written = try ConfigFileEditor.rewrite(inConfigAt: configFile) { current in
                    let outcome = try Self.apply(
                        to: current, ssoSession: name, region: region, assignments: assignments,
                        template: template, prune: prune)
                    changes = outcome.changes
                    return outcome.text
                }
                return (written, changes)
            }
        }
        return Report(
            ssoSession: name, configFile: configFile, accounts: Set(assignments.map(\.accountId)).count,
            roles: assignments.count, dryRun: options.dryRun, written: written, changes: changes)
    }

    /// `ListAccounts`, then `ListAccountRoles` of each (paged; throttling retried by the client).
    /// A token the portal no longer accepts leads to one new sign-in.
    func listAssignments(_ source: CredentialSource.SSOSource) async throws -> [SSOAssignment] {
        let signIn = SSOSignIn(context: context)
        let portal = try SSOPortalClient(
            region: source.region,
            endpoint: try configuredEndpoint(
                source.portalEndpoint, setting: "AWS_ENDPOINT_URL_SSO or AWS_ENDPOINT_URL"),
            transport: context.transport)
        func list(_ token: SSOToken) async throws -> [SSOAssignment] {
            var assignments: [SSOAssignment] = []
            for account in try await portal.allAccounts(accessToken: token.accessToken) {
                let roles = try await portal.allAccountRoles(
                    accountId: account.accountId, accessToken: token.accessToken)
                assignments += roles.map {
                    SSOAssignment(
                        accountId: account.accountId, accountName: account.accountName ?? "",
                        roleName: $0.roleName)
                }
            }
            return assignments
        }
        do {
            return try await list(try await signIn.token(source, forceLogin: false))
        } catch let error as AWSClientError where error.serviceError?.code == "UnauthorizedException" {
            return try await list(try await signIn.token(source, forceLogin: true))
        }
    }

    // MARK: The pure part

    public struct PopulateError: Error, CustomStringConvertible, Sendable, Equatable {
        public var description: String
    }

    static func beginMarker(_ session: String) -> String { "# BEGIN latchkey sso populate: \(session)" }
    static func endMarker(_ session: String) -> String { "# END latchkey sso populate: \(session)" }

    /// The config text with the sso-session's block made to hold one profile per assignment.
    /// Text outside the block is kept byte for byte; a missing block is appended at the end.
    public static func apply(
        to text: String, ssoSession session: String, region: String, assignments: [SSOAssignment],
        template: NameTemplate, prune: Bool
    ) throws -> Outcome {
        let file = try BlockedFile(text, session: session)
        let outside = try AWSSharedConfig.parse(configText: file.before + file.after, credentialsText: nil)
        let old = file.sections()
        let wanted = template.names(for: assignments, ssoSession: session)

        var changes = Changes()
        var sections: [String: [String]] = [:]
        for (name, assignment) in wanted {
            if outside.profiles[name] != nil {
                changes.skipped.append(name)
                continue
            }
            let lines = [
                "[profile \(name)]", "sso_session = \(session)", "sso_account_id = \(assignment.accountId)",
                "sso_role_name = \(assignment.roleName)", "region = \(region)",
            ]
            sections[name] = lines
            if old[name] == nil {
                changes.added.append(name)
            } else if old[name] == lines {
                changes.unchanged.append(name)
            } else {
                changes.updated.append(name)
            }
        }
        for (name, lines) in old where wanted[name] == nil {
            if outside.profiles[name] != nil {
                changes.skipped.append(name)
            } else if prune {
                changes.removed.append(name)
            } else {
                changes.gone.append(name)
                sections[name] = lines
            }
        }

        var block = [beginMarker(session)]
        block.append("# Written by `latchkey sso populate \(session)`: edits inside this block are replaced.")
        for name in sections.keys.sorted() {
            block.append("")
            block += sections[name] ?? []
        }
        block.append(endMarker(session))

        changes.diff = unifiedDiff(
            old: file.blockLines.map { String($0.trimmingNewline()) }, new: block,
            start: file.blockStartLine)
        for keyPath in [\Changes.added, \.updated, \.removed, \.unchanged, \.gone, \.skipped] {
            changes[keyPath: keyPath].sort()
        }
        let result = file.replacingBlock(with: block)
        // The SDKs must read back exactly what was written.
        let check = try AWSSharedConfig.parse(configText: result, credentialsText: nil)
        for (name, assignment) in wanted where sections[name] != nil {
            guard check.profiles[name]?["sso_account_id"] == assignment.accountId else {
                throw PopulateError(
                    description: "the generated profile '\(name)' would not read back as written; "
                        + "nothing was changed.")
            }
        }
        return Outcome(text: result, changes: changes)
    }

    /// Unified-diff hunks (2 lines of context) between the old and new block, numbered from the
    /// block's first line in the file.
    static func unifiedDiff(old: [String], new: [String], start: Int) -> [String] {
        let difference = new.difference(from: old)
        var removedAt = Set<Int>()
        var insertedAt = Set<Int>()
        for change in difference {
            switch change {
            case .remove(let offset, _, _): removedAt.insert(offset)
            case .insert(let offset, _, _): insertedAt.insert(offset)
            }
        }
        // The merged sequence: (marker, text, old line index, new line index).
        var rows: [(mark: Character, text: String, old: Int, new: Int)] = []
        var i = 0
        var j = 0
        while i < old.count || j < new.count {
            if i < old.count, removedAt.contains(i) {
                rows.append(("-", old[i], i, j))
                i += 1
            } else if j < new.count, insertedAt.contains(j) {
                rows.append(("+", new[j], i, j))
                j += 1
            } else {
                rows.append((" ", old[i], i, j))
                i += 1
                j += 1
            }
        }
        let context = 2
        var output: [String] = []
        var index = 0
        while let first = rows[index...].firstIndex(where: { $0.mark != " " }) {
            var end = first
            // Extend the hunk while the next change is within twice the context.
            while let next = rows[(end + 1)...].firstIndex(where: { $0.mark != " " }),
                next - end <= 2 * context
            {
                end = next
            }
            let low = max(first - context, index)
            let high = min(end + context, rows.count - 1)
            let hunk = rows[low...high]
            let oldCount = hunk.filter { $0.mark != "+" }.count
            let newCount = hunk.filter { $0.mark != "-" }.count
            let oldStart = (hunk.first?.old ?? 0) + start
            let newStart = (hunk.first?.new ?? 0) + start
            output.append("@@ -\(oldStart),\(oldCount) +\(newStart),\(newCount) @@")
            output += hunk.map { "\($0.mark)\($0.text)" }
            index = high + 1
        }
        return output
    }
}

// MARK: Names from a template

/// `--template`: literal text and the placeholders `{account_name}`, `{account_id}`,
/// `{role_name}`, `{sso_session}`. Names are made valid profile names and unique.
public struct NameTemplate: Sendable, Equatable {
    enum Part: Equatable {
        case literal(String)
        case accountName, accountId, roleName, ssoSession
    }

    static let placeholders: [String: Part] = [
        "account_name": .accountName, "account_id": .accountId, "role_name": .roleName,
        "sso_session": .ssoSession,
    ]

    let parts: [Part]

    public init(_ template: String) throws {
        func refuse(_ problem: String) -> SSOPopulate.PopulateError {
            SSOPopulate.PopulateError(
                description: "the template `\(template)` \(problem); use {account_name}, {account_id}, "
                    + "{role_name} and {sso_session}, e.g. --template '\(SSOPopulate.defaultTemplate)'.")
        }
        var parts: [Part] = []
        var rest = Substring(template)
        while !rest.isEmpty {
            guard let brace = rest.firstIndex(where: { $0 == "{" || $0 == "}" }) else {
                parts.append(.literal(String(rest)))
                break
            }
            if brace > rest.startIndex { parts.append(.literal(String(rest[..<brace]))) }
            guard rest[brace] == "{" else { throw refuse("has a `}` that closes nothing") }
            guard let close = rest[brace...].firstIndex(of: "}") else {
                throw refuse("has a `{` that is never closed")
            }
            let name = rest[rest.index(after: brace)..<close]
            guard let part = Self.placeholders[String(name)] else {
                throw refuse("has an unknown placeholder {\(name)}")
            }
            parts.append(part)
            rest = rest[rest.index(after: close)...]
        }
        guard parts.contains(where: { $0 != .ssoSession && $0.isPlaceholder }) else {
            throw refuse("names no account or role, so every profile would get the same name")
        }
        self.parts = parts
    }

    /// The name of one assignment, before clashes are resolved.
    func name(for assignment: SSOAssignment, ssoSession: String) -> String {
        let accountName = Self.sanitised(assignment.accountName)
        return parts.map { part in
            switch part {
            case .literal(let text): return Self.sanitised(text, trimming: false)
            case .accountName: return accountName.isEmpty ? assignment.accountId : accountName
            case .accountId: return Self.sanitised(assignment.accountId)
            case .roleName: return Self.sanitised(assignment.roleName)
            case .ssoSession: return Self.sanitised(ssoSession)
            }
        }.joined()
    }

    /// Every assignment's unique name, whatever order they were listed in: names that clash get
    /// `-ACCOUNT_ID`, then `-ROLE`, then a number, in the order of (account id, role name).
    func names(for assignments: [SSOAssignment], ssoSession: String) -> [String: SSOAssignment] {
        var seen = Set<String>()
        let sorted = assignments.sorted { ($0.accountId, $0.roleName) < ($1.accountId, $1.roleName) }
            .filter { seen.insert($0.accountId + "\u{0}" + $0.roleName).inserted }
        var names = sorted.map { name(for: $0, ssoSession: ssoSession) }
        let suffixes: [(SSOAssignment) -> String] = [
            { "-" + Self.sanitised($0.accountId) }, { "-" + Self.sanitised($0.roleName) },
        ]
        for suffix in suffixes {
            let counts = Dictionary(names.map { ($0, 1) }, uniquingKeysWith: +)
            for index in names.indices where counts[names[index], default: 0] > 1 {
                names[index] += suffix(sorted[index])
            }
        }
        var used = Set<String>()
        for index in names.indices {
            var candidate = names[index]
            var number = 2
            while !used.insert(candidate).inserted {
                candidate = "\(names[index])-\(number)"
                number += 1
            }
            names[index] = candidate
        }
        return Dictionary(uniqueKeysWithValues: zip(names, sorted))
    }

    /// Runs of characters a profile name cannot hold become one `-` (trimmed from a value's ends).
    static func sanitised(_ text: String, trimming: Bool = true) -> String {
        var result = ""
        var replacing = false
        for scalar in text.unicodeScalars {
            if scalar.isASCII, ProfileName.isAllowed(UInt8(scalar.value)) {
                result.unicodeScalars.append(scalar)
                replacing = false
            } else if !replacing {
                result += "-"
                replacing = true
            }
        }
        guard trimming else { return result }
        return String(result.drop(while: { $0 == "-" }).reversed().drop(while: { $0 == "-" }).reversed())
    }
}

extension NameTemplate.Part {
    var isPlaceholder: Bool {
        if case .literal = self { return false }
        return true
    }
}

// MARK: The file around the block

/// The config text split at the sso-session's markers: the text before, the block's lines
/// (markers included), the text after. With no block, everything is `before`.
struct BlockedFile {
    var byteOrderMark: String
    var before: String
    var blockLines: [Substring]
    var after: String
    var newline: String
    /// The 1-based line of the block's first line (or where a new block will start).
    var blockStartLine: Int
    var hasBlock: Bool

    init(_ text: String, session: String) throws {
        var body = Substring(text)
        byteOrderMark = body.hasPrefix("\u{FEFF}") ? "\u{FEFF}" : ""
        if !byteOrderMark.isEmpty { body.removeFirst() }
        newline = body.contains("\r\n") ? "\r\n" : "\n"
        // Each line keeps its terminator, so joining them gives the text back exactly.
        var lines: [Substring] = []
        var start = body.startIndex
        for index in body.indices where body[index] == "\n" || body[index] == "\r\n" {
            lines.append(body[start...index])
            start = body.index(after: index)
        }
        if start < body.endIndex { lines.append(body[start...]) }

        func isMarker(_ line: Substring, _ marker: String) -> Bool {
            line.trimmingWhitespace() == marker
        }
        let begin = lines.firstIndex { isMarker($0, SSOPopulate.beginMarker(session)) }
        let end = lines.firstIndex { isMarker($0, SSOPopulate.endMarker(session)) }
        switch (begin, end) {
        case (nil, nil):
            before = String(body)
            blockLines = []
            after = ""
            hasBlock = false
            blockStartLine = lines.count + (body.isEmpty ? 1 : 2)
        case (let begin?, let end?) where begin < end:
            before = lines[..<begin].joined()
            blockLines = Array(lines[begin...end])
            after = lines[(end + 1)...].joined()
            hasBlock = true
            blockStartLine = begin + 1
        default:
            throw SSOPopulate.PopulateError(
                description:
                    "the config file has a broken block for sso-session \(session): it needs the line "
                    + "`\(SSOPopulate.beginMarker(session))` and, after it, `\(SSOPopulate.endMarker(session))`; "
                    + "fix or remove them.")
        }
    }

    /// The block's profile sections: name -> lines (header first, no blank or comment lines).
    func sections() -> [String: [String]] {
        var sections: [String: [String]] = [:]
        var current: String?
        for raw in blockLines {
            let line = raw.trimmingNewline()
            let trimmed = line.trimmingBlanks()
            if trimmed.hasPrefix("[") {
                let inner = trimmed.dropFirst().prefix(while: { $0 != "]" })
                let words = inner.split(separator: " ", omittingEmptySubsequences: true)
                current = words.count == 2 && words[0] == "profile" ? String(words[1]) : nil
                if let current { sections[current] = [String(line)] }
            } else if let current, !trimmed.isEmpty, !trimmed.hasPrefix("#"), !trimmed.hasPrefix(";") {
                sections[current, default: []].append(String(line))
            }
        }
        return sections
    }

    func replacingBlock(with block: [String]) -> String {
        let rendered = block.map { $0 + newline }.joined()
        if hasBlock { return byteOrderMark + before + rendered + after }
        var separator = ""
        if !before.isEmpty {
            if !before.hasSuffix("\n") { separator += newline }
            separator += newline
        }
        return byteOrderMark + before + separator + rendered
    }
}

extension Substring {
    func trimmingNewline() -> Substring {
        var line = self
        while line.last == "\n" || line.last == "\r\n" || line.last == "\r" { line.removeLast() }
        return line
    }
}
