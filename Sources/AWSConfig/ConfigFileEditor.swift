#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Edits a config file the user owns: only the lines asked for change; comments, order, blank
/// lines and line endings stay. The previous content is kept in `PATH.latchkey-backup` and the
/// file is replaced atomically with its permissions kept (0600 in a 0700 folder when new).
/// Each edit reads and writes under a lock on the file's folder, so concurrent edits by several
/// processes all land; `lockTimeout` bounds the wait for it.
public enum ConfigFileEditor {
    /// How long an edit waits for another process's edit of the same folder to finish.
    public static let defaultLockTimeout: Duration = .seconds(10)

    /// Adds an empty `[profile NAME]` (or `[default]`) section at the end when the config file
    /// has no section for the profile. Returns whether it added one.
    @discardableResult
    public static func ensureProfile(
        _ name: String, inConfigAt path: String, lockTimeout: Duration = defaultLockTimeout
    ) throws -> Bool {
        try validateProfileName(name, path: path)
        return try editing(path, timeout: lockTimeout) { resolved in
            var document = try EditableConfig.load(resolved)
            guard document.lastSection(for: name) == nil else { return false }
            document.appendSection(for: name, properties: [])
            try document.save(verifying: name, key: nil, value: nil)
            return true
        }
    }

    /// Sets `key = value` in the profile's last section: in place when the key is there
    /// (keeping its spelling and spacing), else after the section's last property, else in a
    /// new section at the end.
    public static func setProperty(
        _ key: String, to value: String, profile: String, inConfigAt path: String,
        lockTimeout: Duration = defaultLockTimeout
    ) throws {
        try validateProfileName(profile, path: path)
        guard ProfileName.isValid(key) else {
            throw ConfigError(
                path: path,
                message:
                    "the key `\(key)` may only contain \(ProfileName.allowedDescription); check its spelling."
            )
        }
        try validateValue(value, key: key, path: path)
        try editing(path, timeout: lockTimeout) { resolved in
            var document = try EditableConfig.load(resolved)
            document.set(key: key, value: value, profile: profile)
            try document.save(verifying: profile, key: key, value: value)
        }
    }

    /// Removes `key` (and any indented continuation lines) from the profile's last section,
    /// keeping the section and everything else. Returns whether the key was there.
    @discardableResult
    public static func removeProperty(
        _ key: String, profile: String, inConfigAt path: String, lockTimeout: Duration = defaultLockTimeout
    ) throws -> Bool {
        try validateProfileName(profile, path: path)
        return try editing(path, timeout: lockTimeout, creatingFolder: false) { resolved in
            var document = try EditableConfig.load(resolved)
            guard document.remove(key: key, profile: profile) else { return false }
            try document.save(verifying: profile, key: nil, value: nil)
            return true
        }
    }

    /// Replaces the whole text in one read-modify-write under the lock: `transform` gets the
    /// current text ("" when there is no file) and returns the new one, or nil to leave the file
    /// as it is. The new text must parse; the old one becomes the backup, as with every edit.
    /// Returns whether the file changed.
    @discardableResult
    public static func rewrite(
        inConfigAt path: String, lockTimeout: Duration = defaultLockTimeout,
        _ transform: (String) throws -> String?
    ) throws -> Bool {
        try editing(path, timeout: lockTimeout) { resolved in
            let document = try EditableConfig.load(resolved)
            let current = document.original.map { String(decoding: $0, as: UTF8.self) } ?? ""
            guard let text = try transform(current), Array(text.utf8) != document.original ?? [] else {
                return false
            }
            guard
                (try? AWSSharedConfig.parse(configText: text, credentialsText: nil, configPath: resolved))
                    != nil
            else {
                throw ConfigError(
                    path: resolved,
                    message: "latchkey could not edit this file safely and left it unchanged; "
                        + "make the change with a text editor.")
            }
            try document.write(Array(text.utf8))
            return true
        }
    }

    /// Runs one read-modify-write of the file (symlinks resolved) under its folder's lock.
    private static func editing<Result>(
        _ path: String, timeout: Duration, creatingFolder: Bool = true, _ body: (String) throws -> Result
    ) throws -> Result {
        let resolved = FileIO.resolvingSymlinks(path)
        return try FolderLock.withLock(of: resolved, timeout: timeout, creating: creatingFolder) { locked in
            // Only with the lock held can no other writer still be filling one of them.
            if locked { FileIO.removeStaleTemporaries(of: resolved) }
            return try body(resolved)
        }
    }

    private static func validateProfileName(_ name: String, path: String) throws {
        guard ProfileName.isValid(name) else {
            throw ConfigError(
                path: path,
                message: "the profile name `\(name)` may only contain \(ProfileName.allowedDescription); "
                    + "choose another name.")
        }
    }

    /// Rejects values that would not read back the same (the value itself is never echoed).
    private static func validateValue(_ value: String, key: String, path: String) throws {
        let problem: String?
        if value.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" }) {
            problem = "must be on one line"
        } else if value.first == " " || value.first == "\t" || value.last == " " || value.last == "\t" {
            problem = "must not start or end with whitespace"
        } else if zip(value, value.dropFirst()).contains(where: {
            ($0 == " " || $0 == "\t") && ($1 == "#" || $1 == ";")
        }) {
            problem = "must not contain a '#' or ';' after a space (the SDKs read it as a comment)"
        } else {
            problem = nil
        }
        if let problem {
            throw ConfigError(
                path: path, message: "the value for `\(key)` \(problem); correct it and try again.")
        }
    }
}

/// A config file as lines with their own terminators, so untouched lines are written back as read.
private struct EditableConfig {
    struct Line {
        var text: Substring
        var terminator: String
    }

    let path: String
    let original: [UInt8]?
    let attributes: (mode: mode_t, owner: uid_t, group: gid_t)?
    var hasByteOrderMark: Bool
    var lines: [Line]
    var newline: String

    static func load(_ requestedPath: String) throws -> EditableConfig {
        let path = FileIO.resolvingSymlinks(requestedPath)
        let bytes = try FileIO.readUTF8IfPresent(at: path)
        var text = ""
        if let bytes {
            text = String(decoding: bytes, as: UTF8.self)
            // A file the SDKs cannot read must be fixed by the user, not rewritten by us.
            _ = try AWSSharedConfig.parse(configText: text, credentialsText: nil, configPath: path)
        }
        let hasByteOrderMark = text.hasPrefix("\u{FEFF}")
        if hasByteOrderMark { text.removeFirst() }
        // Split on scalars: "\r\n" is a single Character, so Character-based splitting misses it.
        var pieces = Substring(text).unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        let unterminated = pieces.removeLast()  // empty when the text ends with a newline
        var lines: [Line] = pieces.map { piece in
            piece.last == "\r"
                ? Line(text: Substring(piece.dropLast()), terminator: "\r\n")
                : Line(text: Substring(piece), terminator: "\n")
        }
        if !unterminated.isEmpty { lines.append(Line(text: Substring(unterminated), terminator: "")) }
        let newline = lines.first(where: { !$0.terminator.isEmpty })?.terminator ?? "\n"
        return EditableConfig(
            path: path, original: bytes, attributes: try FileIO.attributes(of: path),
            hasByteOrderMark: hasByteOrderMark, lines: lines, newline: newline)
    }

    // MARK: Reading the structure

    private enum Kind {
        case blank
        case comment
        case header(SectionKind)
        case continuation
        case property(key: String)
    }

    private func kind(of line: Substring) -> Kind {
        guard let first = line.first, !line.trimmingBlanks().isEmpty else { return .blank }
        switch first {
        case "#", ";":
            return .comment
        case "[":
            var header = line.trimmingBlanks()
            if let comment = header.firstIndex(where: { $0 == "#" || $0 == ";" }) {
                header = header[..<comment].trimmingBlanks()
            }
            let inner = header.dropFirst().dropLast()
            return .header(SectionHeader(inner).kind(in: .config))
        case " ", "\t":
            return .continuation
        default:
            let key = line.prefix(while: { $0 != "=" }).trimmingBlanks()
            return .property(key: key.lowercased())
        }
    }

    /// The header line index of the section the SDKs would read last for `profile`.
    func lastSection(for profile: String) -> Int? {
        var lastPrefixed: Int?
        var lastDefault: Int?
        for (index, line) in lines.enumerated() {
            guard case .header(let section) = kind(of: line.text) else { continue }
            if section == .profile(profile) { lastPrefixed = index }
            if profile == "default", section == .unprefixedDefault { lastDefault = index }
        }
        // `[profile default]` hides `[default]`, so edit the former when both exist.
        return lastPrefixed ?? lastDefault
    }

    private func sectionEnd(after header: Int) -> Int {
        var index = header + 1
        while index < lines.count {
            if case .header = kind(of: lines[index].text) { break }
            index += 1
        }
        return index
    }

    // MARK: Editing

    mutating func set(key: String, value: String, profile: String) {
        guard let header = lastSection(for: profile) else {
            appendSection(for: profile, properties: [(key, value)])
            return
        }
        let end = sectionEnd(after: header)
        let wanted = key.lowercased()
        var lastContent = header
        var match: Int?
        for index in header + 1..<end {
            switch kind(of: lines[index].text) {
            case .property(let found):
                lastContent = index
                if found == wanted { match = index }
            case .continuation:
                lastContent = index
            case .blank, .comment, .header:
                continue
            }
        }
        if let match {
            lines[match].text = Substring(replacingValue(of: lines[match].text, with: value))
            removeContinuations(after: match, before: end)
        } else {
            insert([Line(text: Substring("\(key) = \(value)"), terminator: newline)], after: lastContent)
        }
    }

    mutating func remove(key: String, profile: String) -> Bool {
        guard let header = lastSection(for: profile) else { return false }
        var end = sectionEnd(after: header)
        let wanted = key.lowercased()
        var removed = false
        var index = header + 1
        while index < end {
            if case .property(let found) = kind(of: lines[index].text), found == wanted {
                removeContinuations(after: index, before: end)
                end = sectionEnd(after: header)
                lines.remove(at: index)
                end -= 1
                removed = true
            } else {
                index += 1
            }
        }
        return removed
    }

    mutating func appendSection(for profile: String, properties: [(String, String)]) {
        var added: [Line] = []
        if let last = lines.last, !last.text.trimmingBlanks().isEmpty {
            added.append(Line(text: "", terminator: newline))
        }
        let header = profile == "default" ? "[default]" : "[profile \(profile)]"
        added.append(Line(text: Substring(header), terminator: newline))
        for (key, value) in properties {
            added.append(Line(text: Substring("\(key) = \(value)"), terminator: newline))
        }
        insert(added, after: lines.count - 1)
    }

    private mutating func insert(_ newLines: [Line], after index: Int) {
        if index >= 0, lines[index].terminator.isEmpty { lines[index].terminator = newline }
        lines.insert(contentsOf: newLines, at: index + 1)
    }

    /// Keeps everything up to the value (key spelling, spacing) and any trailing comment.
    private func replacingValue(of line: Substring, with value: String) -> String {
        guard let equals = line.firstIndex(of: "=") else { return "\(line) = \(value)" }
        let afterEquals = line[line.index(after: equals)...]
        let valueStart = afterEquals.firstIndex(where: { $0 != " " && $0 != "\t" }) ?? afterEquals.endIndex
        var spacing = String(afterEquals[..<valueStart])
        if spacing.isEmpty, !value.isEmpty {
            // `key =` had no value: mirror the spacing before '='.
            spacing = String(line[..<equals].reversed().prefix(while: { $0 == " " || $0 == "\t" }))
        }
        var commentStart = afterEquals.endIndex
        var previous: Character = "="
        var index = valueStart
        while index < afterEquals.endIndex {
            let character = afterEquals[index]
            if (character == "#" || character == ";") && (previous == " " || previous == "\t") {
                commentStart = index
                break
            }
            previous = character
            index = afterEquals.index(after: index)
        }
        var comment = ""
        if commentStart < afterEquals.endIndex {
            let valueAndBlanks = afterEquals[valueStart..<commentStart]
            let blanks = valueAndBlanks.reversed().prefix(while: { $0 == " " || $0 == "\t" })
            comment = String(blanks.reversed()) + afterEquals[commentStart...]
        }
        return line[...equals] + spacing + value + comment
    }

    /// Drops indented lines that continued the old value; comments and blank lines stay.
    private mutating func removeContinuations(after index: Int, before end: Int) {
        var cursor = index + 1
        var remaining = end
        while cursor < remaining {
            switch kind(of: lines[cursor].text) {
            case .continuation:
                lines.remove(at: cursor)
                remaining -= 1
            case .blank, .comment:
                cursor += 1
            case .property, .header:
                return
            }
        }
    }

    // MARK: Writing

    func rendered() -> [UInt8] {
        var text = hasByteOrderMark ? "\u{FEFF}" : ""
        for line in lines {
            text += line.text
            text += line.terminator
        }
        return Array(text.utf8)
    }

    /// Checks the result reads back as intended, then keeps a backup and replaces the file.
    func save(verifying profile: String, key: String?, value: String?) throws {
        let bytes = rendered()
        guard bytes != original else { return }
        let text = String(decoding: bytes, as: UTF8.self)
        let check = try? AWSSharedConfig.parse(configText: text, credentialsText: nil, configPath: path)
        let section = check?.profiles[profile]
        guard section != nil, key.map({ section?[$0] == value }) ?? true else {
            throw ConfigError(
                path: path,
                message: "latchkey could not edit this file safely and left it unchanged; "
                    + "make the change with a text editor.")
        }
        try write(bytes)
    }

    /// Keeps the previous content as the backup and replaces the file atomically.
    func write(_ bytes: [UInt8]) throws {
        let folder = path.split(separator: "/", omittingEmptySubsequences: false).dropLast()
            .joined(separator: "/")
        if let original, let attributes {
            try FileIO.writeAtomically(
                original, to: path + ".latchkey-backup", mode: attributes.mode & 0o600,
                owner: (attributes.owner, attributes.group))
            try FileIO.writeAtomically(
                bytes, to: path, mode: attributes.mode, owner: (attributes.owner, attributes.group))
        } else {
            try FileIO.makeDirectories(folder)
            try FileIO.writeAtomically(bytes, to: path, mode: 0o600)
        }
    }
}
