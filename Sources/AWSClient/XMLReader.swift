#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A small, strict XML reader for AWS Query-protocol responses.
///
/// It builds a tree of elements with their text; attributes are checked for syntax and dropped.
/// Supported: the XML declaration and processing instructions (skipped), comments, CDATA, the
/// five predefined entities and numeric character references. Refused: DOCTYPE (so no entity
/// expansion attacks), unknown entities, mismatched tags, invalid UTF-8. The work is linear in
/// the input and bounded by `Limits`, so hostile input cannot blow the stack or the clock.
public enum XMLReader {
    public struct Limits: Sendable {
        public var maxBytes: Int
        public var maxDepth: Int
        public var maxElements: Int

        public init(maxBytes: Int = 1 << 20, maxDepth: Int = 32, maxElements: Int = 10_000) {
            self.maxBytes = maxBytes
            self.maxDepth = maxDepth
            self.maxElements = maxElements
        }
    }

    public struct Element: Sendable, Equatable {
        /// The local name (any `prefix:` removed).
        public var name: String
        /// The element's own text (text and CDATA directly inside it, concatenated, untrimmed).
        public var text: String
        public var children: [Element]

        public init(name: String, text: String = "", children: [Element] = []) {
            self.name = name
            self.text = text
            self.children = children
        }

        /// The first child with this local name.
        public func child(_ name: String) -> Element? {
            children.first { $0.name == name }
        }

        /// Follows a path of child names, e.g. `element["Result", "Credentials"]`.
        public subscript(_ path: String...) -> Element? {
            var current: Element? = self
            for name in path { current = current?.child(name) }
            return current
        }

        /// Depth-first search for the first element with this local name (self included).
        public func firstDescendant(_ name: String) -> Element? {
            var stack: [Element] = [self]
            while let element = stack.popLast() {
                if element.name == name { return element }
                stack.append(contentsOf: element.children.reversed())
            }
            return nil
        }
    }

    public struct ParseError: Error, CustomStringConvertible, Sendable, Equatable {
        public var reason: String
        /// Byte offset in the document where the problem was found.
        public var offset: Int

        public var description: String {
            "The response is not well-formed XML (\(reason) at byte \(offset)); the server or a proxy sent something unexpected."
        }
    }

    public static func parse(_ data: Data, limits: Limits = Limits()) throws(ParseError) -> Element {
        guard data.count <= limits.maxBytes else {
            throw ParseError(reason: "document larger than \(limits.maxBytes) bytes", offset: 0)
        }
        var parser = Parser(bytes: [UInt8](data), limits: limits)
        return try parser.document()
    }

    public static func parse(_ text: String, limits: Limits = Limits()) throws(ParseError) -> Element {
        try parse(Data(text.utf8), limits: limits)
    }
}

private struct Parser {
    let bytes: [UInt8]
    let limits: XMLReader.Limits
    var position = 0
    var elementCount = 0

    init(bytes: [UInt8], limits: XMLReader.Limits) {
        self.bytes = bytes
        self.limits = limits
    }

    private struct Open {
        var rawName: ArraySlice<UInt8>
        var element: XMLReader.Element
        var text: [UInt8] = []
    }

    mutating func document() throws(XMLReader.ParseError) -> XMLReader.Element {
        guard String(validating: bytes, as: UTF8.self) != nil else { throw fail("invalid UTF-8") }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }  // byte order mark
        try skipMisc()
        guard peek(0) == UInt8(ascii: "<") else { throw fail("expected the root element") }
        let root = try element()
        try skipMisc()
        guard position == bytes.count else { throw fail("content after the root element") }
        return root
    }

    /// Whitespace, comments and processing instructions outside the root element.
    private mutating func skipMisc() throws(XMLReader.ParseError) {
        while position < bytes.count {
            if isWhitespace(bytes[position]) {
                position += 1
            } else if matches("<?") {
                try skip(past: "?>", what: "processing instruction")
            } else if matches("<!--") {
                try skipComment()
            } else if matches("<!") {
                throw fail("DOCTYPE and markup declarations are not accepted")
            } else {
                return
            }
        }
    }

    /// Parses one element iteratively (an explicit stack, so depth never touches the call stack).
    private mutating func element() throws(XMLReader.ParseError) -> XMLReader.Element {
        var stack: [Open] = []
        while true {
            guard position < bytes.count else { throw fail("unexpected end of document") }
            if bytes[position] != UInt8(ascii: "<") {
                guard !stack.isEmpty else { throw fail("text outside the root element") }
                try readText(into: &stack[stack.count - 1].text)
                continue
            }
            if matches("</") {
                position += 2
                let name = try readName()
                skipWhitespace()
                try expect(">")
                guard var open = stack.popLast() else { throw fail("unexpected closing tag") }
                guard open.rawName == name else { throw fail("closing tag does not match its opening tag") }
                open.element.text = String(decoding: open.text, as: UTF8.self)
                if stack.isEmpty { return open.element }
                stack[stack.count - 1].element.children.append(open.element)
            } else if matches("<!--") {
                guard !stack.isEmpty else { throw fail("comment outside the root element") }
                try skipComment()
            } else if matches("<![CDATA[") {
                guard !stack.isEmpty else { throw fail("CDATA outside the root element") }
                position += 9
                let start = position
                try skip(past: "]]>", what: "CDATA section")
                stack[stack.count - 1].text += bytes[start..<(position - 3)]
            } else if matches("<?") {
                try skip(past: "?>", what: "processing instruction")
            } else if matches("<!") {
                throw fail("DOCTYPE and markup declarations are not accepted")
            } else {
                position += 1
                let name = try readName()
                elementCount += 1
                guard elementCount <= limits.maxElements else {
                    throw fail("more than \(limits.maxElements) elements")
                }
                guard stack.count < limits.maxDepth else {
                    throw fail("nesting deeper than \(limits.maxDepth)")
                }
                let selfClosing = try skipAttributes()
                let element = XMLReader.Element(name: localName(name))
                if selfClosing {
                    if stack.isEmpty { return element }
                    stack[stack.count - 1].element.children.append(element)
                } else {
                    stack.append(Open(rawName: name, element: element))
                }
            }
        }
    }

    /// Reads character data up to the next `<`, decoding entity and character references.
    private mutating func readText(into text: inout [UInt8]) throws(XMLReader.ParseError) {
        while position < bytes.count, bytes[position] != UInt8(ascii: "<") {
            let byte = bytes[position]
            if byte == UInt8(ascii: "&") {
                try readReference(into: &text)
            } else if byte == UInt8(ascii: ">"), text.count >= 2, text.suffix(2) == [93, 93] {
                throw fail("']]>' is not allowed in text")
            } else {
                text.append(byte)
                position += 1
            }
        }
    }

    private mutating func readReference(into text: inout [UInt8]) throws(XMLReader.ParseError) {
        let start = position
        position += 1
        // References are short; looking at most 12 bytes ahead keeps this linear.
        var end = position
        while end < bytes.count, end - position < 12, bytes[end] != UInt8(ascii: ";") { end += 1 }
        guard end < bytes.count, bytes[end] == UInt8(ascii: ";") else {
            position = start
            throw fail("unterminated entity reference")
        }
        let body = bytes[position..<end]
        position = end + 1
        switch Array(body) {
        case Array("amp".utf8): text.append(UInt8(ascii: "&"))
        case Array("lt".utf8): text.append(UInt8(ascii: "<"))
        case Array("gt".utf8): text.append(UInt8(ascii: ">"))
        case Array("quot".utf8): text.append(UInt8(ascii: "\""))
        case Array("apos".utf8): text.append(UInt8(ascii: "'"))
        default:
            guard body.first == UInt8(ascii: "#"), let scalar = characterReference(body.dropFirst()) else {
                position = start
                throw fail("unknown or invalid entity reference")
            }
            text.append(contentsOf: Array(String(Character(scalar)).utf8))
        }
    }

    private func characterReference(_ digits: ArraySlice<UInt8>) -> Unicode.Scalar? {
        var digits = digits
        var radix: UInt32 = 10
        if digits.first == UInt8(ascii: "x") {
            radix = 16
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.count <= 8 else { return nil }
        var value: UInt32 = 0
        for digit in digits {
            guard let number = hexDigitValue(digit), number < radix else { return nil }
            value = value * radix + number
        }
        // XML 1.0 Char production: no NUL or other C0 controls except tab, LF, CR.
        guard value >= 0x20 || value == 0x9 || value == 0xA || value == 0xD else { return nil }
        guard value != 0xFFFE, value != 0xFFFF else { return nil }
        return Unicode.Scalar(value)
    }

    /// Skips attributes (checking their syntax); returns true for `/>`.
    private mutating func skipAttributes() throws(XMLReader.ParseError) -> Bool {
        while true {
            let hadSpace = skipWhitespace()
            guard position < bytes.count else { throw fail("unterminated start tag") }
            if matches("/>") {
                position += 2
                return true
            }
            if bytes[position] == UInt8(ascii: ">") {
                position += 1
                return false
            }
            guard hadSpace else { throw fail("expected whitespace before an attribute") }
            _ = try readName()
            skipWhitespace()
            try expect("=")
            skipWhitespace()
            guard let quote = peek(0), quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
                throw fail("attribute value must be quoted")
            }
            position += 1
            var ignored: [UInt8] = []
            while position < bytes.count, bytes[position] != quote {
                if bytes[position] == UInt8(ascii: "<") { throw fail("'<' in an attribute value") }
                if bytes[position] == UInt8(ascii: "&") {
                    try readReference(into: &ignored)
                    ignored.removeAll(keepingCapacity: true)
                } else {
                    position += 1
                }
            }
            try expect(quote == UInt8(ascii: "\"") ? "\"" : "'")
        }
    }

    private mutating func readName() throws(XMLReader.ParseError) -> ArraySlice<UInt8> {
        let start = position
        while position < bytes.count, isNameByte(bytes[position], first: position == start) { position += 1 }
        guard position > start else { throw fail("expected a name") }
        return bytes[start..<position]
    }

    private func localName(_ name: ArraySlice<UInt8>) -> String {
        let local = name.lastIndex(of: UInt8(ascii: ":")).map { name[(name.index(after: $0))...] } ?? name
        return String(decoding: local, as: UTF8.self)
    }

    private mutating func skipComment() throws(XMLReader.ParseError) {
        position += 4
        try skip(past: "-->", what: "comment")
    }

    /// Moves past the next occurrence of `terminator` (a single forward scan).
    private mutating func skip(past terminator: StaticString, what: String) throws(XMLReader.ParseError) {
        let pattern = terminator.withUTF8Buffer { Array($0) }
        while position + pattern.count <= bytes.count {
            if bytes[position] == pattern[0],
                bytes[position..<(position + pattern.count)].elementsEqual(pattern)
            {
                position += pattern.count
                return
            }
            position += 1
        }
        throw fail("unterminated \(what)")
    }

    @discardableResult
    private mutating func skipWhitespace() -> Bool {
        let start = position
        while position < bytes.count, isWhitespace(bytes[position]) { position += 1 }
        return position > start
    }

    private mutating func expect(_ character: Unicode.Scalar) throws(XMLReader.ParseError) {
        guard peek(0) == UInt8(ascii: character) else { throw fail("expected '\(character)'") }
        position += 1
    }

    private func matches(_ prefix: StaticString) -> Bool {
        prefix.withUTF8Buffer { pattern in
            position + pattern.count <= bytes.count
                && bytes[position..<(position + pattern.count)].elementsEqual(pattern)
        }
    }

    private func peek(_ offset: Int) -> UInt8? {
        position + offset < bytes.count ? bytes[position + offset] : nil
    }

    private func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private func isNameByte(_ byte: UInt8, first: Bool) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"),
            UInt8(ascii: ":"), 0x80...0xFF:
            return true
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."):
            return !first
        default:
            return false
        }
    }

    private func hexDigitValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    private func fail(_ reason: String) -> XMLReader.ParseError {
        XMLReader.ParseError(reason: reason, offset: position)
    }
}
