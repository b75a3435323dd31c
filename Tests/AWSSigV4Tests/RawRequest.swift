import Foundation

/// A raw HTTP/1.1 request as written in the suites' `.req` / `request.txt` files.
struct RawRequest: Equatable {
    var method: String
    var target: String
    var headers: [(name: String, value: String)]
    var body: String

    var path: String { target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? target }
    var query: String {
        guard let mark = target.firstIndex(of: "?") else { return "" }
        return String(target[target.index(after: mark)...])
    }

    /// Parses a request line split on the first and the *last* space (targets may hold a raw space),
    /// header lines with folded continuations, a blank line, then the body.
    init(parsing text: String) throws {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)[...]
        guard let requestLine = lines.popFirst(), let first = requestLine.firstIndex(of: " "),
            let last = requestLine.lastIndex(of: " "), first < last
        else { throw ParseError(line: String(text.prefix(80))) }
        method = String(requestLine[..<first])
        target = String(requestLine[requestLine.index(after: first)..<last])
        headers = []
        while let line = lines.popFirst() {
            if line.isEmpty { break }
            if line.first == " " || line.first == "\t", let previous = headers.popLast() {
                headers.append((previous.name, previous.value + "\n" + line))
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { throw ParseError(line: String(line)) }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
        }
        body = lines.joined(separator: "\n")
    }

    /// Headers compared order-free, names lower-cased and values whitespace-collapsed.
    var normalizedHeaders: [String] {
        headers.map { header in
            let value = header.value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
                .joined(separator: " ")
            return header.name.lowercased() + ":" + value
        }.sorted()
    }

    static func == (lhs: RawRequest, rhs: RawRequest) -> Bool {
        lhs.method == rhs.method && lhs.target == rhs.target && lhs.body == rhs.body
            && lhs.normalizedHeaders == rhs.normalizedHeaders
    }

    struct ParseError: Error, CustomStringConvertible {
        var line: String
        var description: String { "Cannot parse the raw request line '\(line)'; check the conformance file." }
    }
}
