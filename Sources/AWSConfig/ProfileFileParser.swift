#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which of the two shared files a text came from; their section rules differ.
enum ProfileFileKind: Sendable {
    case config
    case credentials
}

/// One `[...]` section occurrence as written, before its name is validated.
struct RawSection {
    /// The text between the brackets, comments removed, not yet trimmed or split.
    /// Empty in the result of `ProfileFileParser.index()`: `headerBytes` says where it is.
    var header: String
    var headerBytes: Range<Int> = 0..<0
    /// 1-based line of the header.
    var line: Int
    /// The bytes of the lines after the header, up to the next header or the end of the file.
    var body: Range<Int> = 0..<0
    /// Keys lower-cased; a value continued over several lines is joined with `\n`.
    /// Empty in the result of `ProfileFileParser.index()`: `properties(of:)` reads them.
    var properties: [String: String]
}

/// What a section header means in a given file.
enum SectionKind: Hashable {
    case profile(String)
    /// `[default]` in the config file: dropped when a `[profile default]` exists.
    case unprefixedDefault
    case ssoSession(String)
    case services(String)
    case ignored
}

/// A header split into an optional prefix (`profile`, `sso-session`, ...) and a name.
struct SectionHeader {
    var prefix: Substring?
    var name: Substring

    init(_ header: Substring) {
        let text = header.trimmingBlanks()
        if let split = text.firstIndex(where: { $0 == " " || $0 == "\t" }) {
            prefix = text[..<split]
            name = text[split...].trimmingBlanks()
        } else {
            prefix = nil
            name = text
        }
    }

    func kind(in file: ProfileFileKind) -> SectionKind {
        switch file {
        case .credentials:
            // The credentials file has bare names only; `[profile x]` there is ignored.
            guard prefix == nil, ProfileName.isValid(name) else { return .ignored }
            return .profile(String(name))
        case .config:
            guard let prefix else { return name == "default" ? .unprefixedDefault : .ignored }
            guard ProfileName.isValid(name) else { return .ignored }
            switch prefix {
            case "profile": return .profile(String(name))
            case "sso-session": return .ssoSession(String(name))
            case "services": return .services(String(name))
            default: return .ignored
            }
        }
    }
}

extension Substring {
    /// Trims spaces and tabs only: the file format treats nothing else as blank.
    func trimmingBlanks() -> Substring {
        var start = startIndex
        var end = endIndex
        while start < end, self[start] == " " || self[start] == "\t" { start = index(after: start) }
        while end > start {
            let before = index(before: end)
            guard self[before] == " " || self[before] == "\t" else { break }
            end = before
        }
        return self[start..<end]
    }
}

/// The line-level grammar of the shared files (the smithy-rs / cross-SDK rules), on UTF-8 bytes.
struct ProfileFileParser: Sendable {
    private let bytes: [UInt8]
    private let path: String

    init(text: String, path: String) {
        self.init(utf8: Array(text.utf8), path: path)
    }

    /// `bytes` must be valid UTF-8 (`FileIO.readUTF8IfPresent` checks).
    init(utf8 bytes: [UInt8], path: String) {
        var bytes = bytes
        // A byte-order mark (Windows editors add one) is not part of the first line.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        self.bytes = bytes
        self.path = path
    }

    /// Every section occurrence in file order (repeats are kept apart; merging happens later).
    func sections() throws -> [RawSection] {
        try read { try $0.walk(0..<$0.bytes.count, firstLine: 1, sections: [], building: true) }
    }

    /// The same sections with their body ranges but no properties: one scan of the bytes that runs
    /// every check `sections()` runs (so it throws the same errors, at the same lines) but builds no
    /// strings for keys and values. `properties(of:)` then reads one section's body on demand.
    func index() throws -> [RawSection] {
        try read { try $0.walk(0..<$0.bytes.count, firstLine: 1, sections: [], building: false) }
    }

    /// The properties of a section from `index()`, exactly as `sections()` gives them.
    func properties(of section: RawSection) -> [String: String] {
        var empty = section
        empty.properties = [:]
        // The lines after a header start with no current property, as in `sections()`; `index()`
        // has already run every check on them, so this cannot throw.
        let parsed = try? read {
            try $0.walk(section.body, firstLine: section.line + 1, sections: [empty], building: true)
        }
        return parsed?.first?.properties ?? [:]
    }

    /// The text of a header from `index()`.
    func headerText(_ section: RawSection) -> String { read { $0.string(section.headerBytes) } }

    /// The kind of a header from `index()`; see `Reader.kind(ofHeader:in:)`.
    func kind(ofHeader range: Range<Int>, in file: ProfileFileKind) -> SectionKind {
        read { $0.kind(ofHeader: range, in: file) }
    }

    /// The fingerprint of that kind (`SectionKind.fingerprint`), read from the bytes alone.
    func fingerprint(ofHeader range: Range<Int>, in file: ProfileFileKind) -> UInt64 {
        read { $0.fingerprint(ofHeader: range, in: file) }
    }

    /// Reads the bytes in place: no bounds checks on each byte, no copies.
    private func read<Result>(_ body: (Reader) throws -> Result) rethrows -> Result {
        try bytes.withUnsafeBufferPointer { try body(Reader(bytes: $0, path: path)) }
    }

    /// The grammar itself, over the bytes of one file; every range it is given lies inside them.
    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        let path: String

        private static let space = UInt8(ascii: " ")
        private static let tab = UInt8(ascii: "\t")
        private static let newline = UInt8(ascii: "\n")
        private static let carriageReturn = UInt8(ascii: "\r")
        private static let hash = UInt8(ascii: "#")
        private static let semicolon = UInt8(ascii: ";")
        private static let equals = UInt8(ascii: "=")
        private static let openBracket = UInt8(ascii: "[")
        private static let closeBracket = UInt8(ascii: "]")

        /// `SectionHeader(header).kind(in: file)` for a header from `index()`, read from the bytes. The
        /// answers agree: they differ only on where a blank followed by a combining mark splits a
        /// header, and a header with a non-ASCII byte is ignored both ways.
        func kind(ofHeader range: Range<Int>, in file: ProfileFileKind) -> SectionKind {
            let (tag, name) = classify(header: range, in: file)
            switch tag {
            case .profile: return .profile(string(name))
            case .unprefixedDefault: return .unprefixedDefault
            case .ssoSession: return .ssoSession(string(name))
            case .services: return .services(string(name))
            case .ignored: return .ignored
            }
        }

        /// `kind(ofHeader:in:).fingerprint`, without making a string.
        func fingerprint(ofHeader range: Range<Int>, in file: ProfileFileKind) -> UInt64 {
            let (tag, name) = classify(header: range, in: file)
            return SectionKind.fingerprint(tag, name: bytes[name])
        }

        /// The case of `SectionKind` a header is, and where its name is (empty for the cases with none).
        private func classify(header range: Range<Int>, in file: ProfileFileKind) -> (
            SectionKind.Tag, Range<Int>
        ) {
            let text = trim(range)
            var split = text.lowerBound
            while split < text.upperBound, bytes[split] != Self.space, bytes[split] != Self.tab { split += 1 }
            let prefix = split < text.upperBound ? text.lowerBound..<split : nil
            let name = prefix == nil ? text : trim(split..<text.upperBound)
            let isValid = !name.isEmpty && bytes[name].allSatisfy(ProfileName.isAllowed)
            let none = name.lowerBound..<name.lowerBound
            switch file {
            case .credentials:
                guard prefix == nil, isValid else { return (.ignored, none) }
                return (.profile, name)
            case .config:
                guard let prefix else {
                    return (spells(name, "default") ? .unprefixedDefault : .ignored, none)
                }
                guard isValid else { return (.ignored, none) }
                if spells(prefix, "profile") { return (.profile, name) }
                if spells(prefix, "sso-session") { return (.ssoSession, name) }
                if spells(prefix, "services") { return (.services, name) }
                return (.ignored, none)
            }
        }

        /// Reads the lines of `range` (the first one numbered `firstLine`) after `sections`; builds the
        /// properties only when `building`, but checks every line either way.
        func walk(
            _ range: Range<Int>, firstLine: Int, sections start: [RawSection], building: Bool
        ) throws -> [RawSection] {
            var sections = start
            // Every header starts with `[`: room for that many sections up front spares the array's
            // doublings (each a fresh buffer of pages to fault in, and a copy) on a large file.
            sections.reserveCapacity(start.count + occurrences(of: Self.openBracket, in: range))
            var currentKey: String?
            /// What follows the `=` of the section's last property (nil before its first one).
            var currentValue: Range<Int>?
            var lineNumber = firstLine - 1
            var lineStart = range.lowerBound
            // The empty text after a final newline is a blank line, so `<` loses nothing.
            while lineStart < range.upperBound {
                lineNumber += 1
                var lineEnd = firstNewline(in: lineStart..<range.upperBound)
                let nextStart = min(lineEnd + 1, range.upperBound)
                if lineEnd > lineStart, bytes[lineEnd - 1] == Self.carriageReturn { lineEnd -= 1 }
                defer { lineStart = nextStart }
                let line = lineStart..<lineEnd
                let trimmed = trim(line)
                if trimmed.isEmpty || bytes[line.lowerBound] == Self.hash
                    || bytes[line.lowerBound] == Self.semicolon
                {
                    continue
                }
                let first = bytes[line.lowerBound]
                if first == Self.openBracket {
                    let header = stripComment(trimmed, needsBlankBefore: false)
                    guard header.count >= 2, bytes[header.upperBound - 1] == Self.closeBracket else {
                        throw error(
                            lineNumber,
                            "a section header must end with ']', as in [profile NAME]; add the missing bracket."
                        )
                    }
                    if let last = sections.indices.last {
                        sections[last].body = sections[last].body.lowerBound..<lineStart
                    }
                    let name = header.lowerBound + 1..<header.upperBound - 1
                    sections.append(
                        RawSection(
                            header: building ? string(name) : "", headerBytes: name, line: lineNumber,
                            body: nextStart..<range.upperBound, properties: [:]))
                    currentKey = nil
                    currentValue = nil
                } else if first == Self.space || first == Self.tab {
                    guard !sections.isEmpty else {
                        throw error(
                            lineNumber,
                            "an indented line must come after a [profile NAME] section header and a property; "
                                + "remove the leading whitespace or move the line into a section.")
                    }
                    guard let rest = currentValue else {
                        throw error(
                            lineNumber,
                            "an indented line continues a property, but no property comes before it in this "
                                + "section; remove the leading whitespace or add `name = value` above it.")
                    }
                    // A property with an empty value starts a block of sub-properties.
                    if value(rest).isEmpty {
                        _ = try property(in: trimmed, lineNumber: lineNumber, what: "sub-property")
                    }
                    if building, let key = currentKey {
                        sections[sections.count - 1].properties[key, default: ""] += "\n" + string(trimmed)
                    }
                } else {
                    guard !sections.isEmpty else {
                        throw error(
                            lineNumber, "a property must come after a [profile NAME] section header.")
                    }
                    let (key, rest) = try property(in: trimmed, lineNumber: lineNumber, what: "property")
                    if building {
                        let name = lowercasedString(key)
                        sections[sections.count - 1].properties[name] = string(value(rest))
                        currentKey = name
                    }
                    currentValue = rest
                }
            }
            return sections
        }

        /// Splits `key = value` on the first `=` that comes before any comment (a `#` or `;` that
        /// follows a blank); returns the key and the bytes after the `=`, for `value(_:)`.
        func property(
            in range: Range<Int>, lineNumber: Int, what: String
        ) throws -> (key: Range<Int>, rest: Range<Int>) {
            var previousIsBlank = false
            var index = range.lowerBound
            while index < range.upperBound {
                let byte = bytes[index]
                // Letters and `_` (most of a key) are above every byte this loop looks for.
                if byte > Self.equals {
                    previousIsBlank = false
                    index += 1
                    continue
                }
                if byte == Self.equals || previousIsBlank && (byte == Self.hash || byte == Self.semicolon) {
                    break
                }
                previousIsBlank = isBlank(byte)
                index += 1
            }
            guard index < range.upperBound, bytes[index] == Self.equals else {
                throw error(
                    lineNumber, "a \(what) must have the form `name = value`, but this line has no '='.")
            }
            let key = trim(range.lowerBound..<index)
            guard !key.isEmpty else {
                throw error(
                    lineNumber, "a \(what) needs a name before its '='; add the name or remove the line.")
            }
            return (key, index + 1..<range.upperBound)
        }

        /// Whether the bytes of `range` are exactly `word` (`memcmp`: the generic comparison of a
        /// slice with a string's UTF-8 view cost more than the rest of reading a header).
        func spells(_ range: Range<Int>, _ word: StaticString) -> Bool {
            guard range.count == word.utf8CodeUnitCount, let base = bytes.baseAddress else { return false }
            return memcmp(base + range.lowerBound, word.utf8Start, range.count) == 0
        }

        /// The index of the first `\n` in `range`, else its end.
        func firstNewline(in range: Range<Int>) -> Int {
            first(Self.newline, in: range) ?? range.upperBound
        }

        /// The index of the first `byte` in `range` (`memchr`: this scan reads every byte).
        func first(_ byte: UInt8, in range: Range<Int>) -> Int? {
            guard let start = bytes.baseAddress.map({ $0 + range.lowerBound }), !range.isEmpty,
                let found = memchr(start, Int32(byte), range.count)
            else { return nil }
            return range.lowerBound + start.distance(to: found.assumingMemoryBound(to: UInt8.self))
        }

        /// How often `byte` occurs in `range`.
        func occurrences(of byte: UInt8, in range: Range<Int>) -> Int {
            var count = 0
            var rest = range
            while let found = first(byte, in: rest) {
                count += 1
                rest = found + 1..<rest.upperBound
            }
            return count
        }

        /// The value in what follows a property's `=`: up to a comment, trimmed. The `=` before it is
        /// not a blank, so a comment here needs a blank inside `rest`.
        func value(_ rest: Range<Int>) -> Range<Int> {
            trim(stripComment(rest, needsBlankBefore: true))
        }

        /// Cuts the line at the first `#` or `;` (only one preceded by whitespace when asked), then trims.
        func stripComment(_ range: Range<Int>, needsBlankBefore: Bool) -> Range<Int> {
            var previousIsBlank = false
            for index in range {
                let byte = bytes[index]
                if (byte == Self.hash || byte == Self.semicolon) && (previousIsBlank || !needsBlankBefore) {
                    return trim(range.lowerBound..<index)
                }
                previousIsBlank = isBlank(byte)
            }
            return range
        }

        /// What counts as whitespace before a comment: spaces, tabs and the bytes `\n` to `\r`.
        func isBlank(_ byte: UInt8) -> Bool {
            byte == Self.space || byte == Self.tab || (0x0A...0x0D).contains(byte)
        }

        func trim(_ range: Range<Int>) -> Range<Int> {
            var lower = range.lowerBound
            var upper = range.upperBound
            while lower < upper, bytes[lower] == Self.space || bytes[lower] == Self.tab { lower += 1 }
            while upper > lower, bytes[upper - 1] == Self.space || bytes[upper - 1] == Self.tab { upper -= 1 }
            return lower..<upper
        }

        func string(_ range: Range<Int>) -> String {
            String(decoding: bytes[range], as: UTF8.self)
        }

        func lowercasedString(_ range: Range<Int>) -> String {
            let lowered = bytes[range].map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }
            return String(decoding: lowered, as: UTF8.self)
        }

        func error(_ line: Int, _ message: String) -> ConfigError {
            ConfigError(path: path, line: line, message: message)
        }
    }
}
