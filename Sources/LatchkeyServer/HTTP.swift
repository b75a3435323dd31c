/// One HTTP/1.1 request, reduced to what the credential servers look at.
public struct HTTPRequest: Sendable, Equatable {
    public var method: String
    /// The request target as sent (path and query).
    public var target: String
    public var host: String?
    public var authorization: String?
    public var metadataToken: String?
    public var metadataTokenTTL: String?
    public var forwardedFor: String?
    public var keepAlive = true

    public init(
        method: String, target: String, host: String? = nil, authorization: String? = nil,
        metadataToken: String? = nil, metadataTokenTTL: String? = nil, forwardedFor: String? = nil
    ) {
        self.method = method
        self.target = target
        self.host = host
        self.authorization = authorization
        self.metadataToken = metadataToken
        self.metadataTokenTTL = metadataTokenTTL
        self.forwardedFor = forwardedFor
    }

    /// The path without the query string.
    public var path: Substring {
        // Searched as bytes: a Character search costs grapheme breaking on every request.
        target.utf8.firstIndex(of: UInt8(ascii: "?")).map { target[..<$0] } ?? target[...]
    }
}

public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String?
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// Close the connection after this response (refused or malformed requests).
    public var close: Bool
    /// The serialized form, computed once for responses served many times.
    var prebuiltBytes: [UInt8]?

    public init(
        status: Int, contentType: String? = nil, headers: [(String, String)] = [], body: [UInt8] = [],
        close: Bool = false
    ) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
        self.close = close
    }

    public static func text(_ status: Int, _ text: String, close: Bool = false) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/plain", body: Array(text.utf8), close: close)
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    func prebuilt() -> HTTPResponse {
        var copy = self
        copy.prebuiltBytes = serialized()
        return copy
    }

    /// The bytes on the wire.
    public func wireBytes() -> [UInt8] { prebuiltBytes ?? serialized() }

    func serialized() -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(reasonPhrase(status))\r\n"
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\n"
        if close { head += "Connection: close\r\n" }
        head += "\r\n"
        return Array(head.utf8) + body
    }

    public static func == (lhs: HTTPResponse, rhs: HTTPResponse) -> Bool {
        lhs.status == rhs.status && lhs.contentType == rhs.contentType && lhs.body == rhs.body
            && lhs.close == rhs.close
            && lhs.headers.map { "\($0.0):\($0.1)" } == rhs.headers.map { "\($0.0):\($0.1)" }
    }
}

func reasonPhrase(_ status: Int) -> String {
    switch status {
    case 200: return "OK"
    case 400: return "Bad Request"
    case 401: return "Unauthorized"
    case 403: return "Forbidden"
    case 404: return "Not Found"
    case 405: return "Method Not Allowed"
    case 413: return "Content Too Large"
    case 429: return "Too Many Requests"
    case 431: return "Request Header Fields Too Large"
    case 500: return "Internal Server Error"
    case 501: return "Not Implemented"
    case 503: return "Service Unavailable"
    case 505: return "HTTP Version Not Supported"
    default: return "Status"
    }
}

/// Parses HTTP/1.1 requests from a byte buffer, with hard limits: the credential servers take
/// no request bodies beyond a tiny one, so anything large is refused rather than buffered.
public struct HTTPRequestParser: Sendable {
    public enum Result: Sendable, Equatable {
        /// More bytes are needed (the buffer holds less than a whole request).
        case incomplete
        case request(HTTPRequest, consumed: Int)
        /// The request is refused with this status; the connection is then closed.
        case invalid(status: Int)
    }

    public var maxHeaderBytes: Int
    public var maxBodyBytes: Int

    public init(maxHeaderBytes: Int = 8192, maxBodyBytes: Int = 1024) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
    }

    public func parse(_ bytes: UnsafeRawBufferPointer) -> Result {
        guard let headEnd = findHeaderEnd(bytes) else {
            return bytes.count > maxHeaderBytes ? .invalid(status: 431) : .incomplete
        }
        guard headEnd <= maxHeaderBytes else { return .invalid(status: 431) }
        var lines = LineIterator(bytes: bytes, end: headEnd)
        guard let requestLine = lines.next(), !lines.malformed else { return .invalid(status: 400) }
        // METHOD SP TARGET SP VERSION, found without allocating: the target may hold no space.
        guard let firstSpace = requestLine.firstIndex(of: 32), let lastSpace = requestLine.lastIndex(of: 32),
            firstSpace > requestLine.startIndex, lastSpace > firstSpace + 1
        else { return .invalid(status: 400) }
        let method = requestLine[..<firstSpace]
        let target = requestLine[(firstSpace + 1)..<lastSpace]
        let version = requestLine[(lastSpace + 1)...]
        guard target.first == UInt8(ascii: "/"), !target.contains(32) else { return .invalid(status: 400) }
        guard version.elementsEqual("HTTP/1.1".utf8) || version.elementsEqual("HTTP/1.0".utf8) else {
            return .invalid(status: 505)
        }
        var request = HTTPRequest(method: string(method), target: string(target))
        request.keepAlive = version.elementsEqual("HTTP/1.1".utf8)
        var contentLength: Int?
        var sawHost = false
        while let line = lines.next() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
                return .invalid(status: 400)
            }
            let name = line[..<colon]
            // No whitespace before the colon (RFC 9112 §5.1) nor a folded line: how smuggling starts.
            guard name.last != 32, name.last != 9, name.first != 32, name.first != 9 else {
                return .invalid(status: 400)
            }
            let value = trimmed(line[(colon + 1)...])
            switch name.count {
            case 4 where equalsIgnoringCase(name, "host"):
                guard !sawHost else { return .invalid(status: 400) }
                sawHost = true
                request.host = string(value)
            case 10 where equalsIgnoringCase(name, "connection"):
                if equalsIgnoringCase(value, "close") { request.keepAlive = false }
                if equalsIgnoringCase(value, "keep-alive") { request.keepAlive = true }
            case 13 where equalsIgnoringCase(name, "authorization"):
                request.authorization = string(value)
            case 14 where equalsIgnoringCase(name, "content-length"):
                // Digits only (no sign, no list), and once: two lengths are two ways to read it.
                guard contentLength == nil, !value.isEmpty, value.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                    return .invalid(status: 400)
                }
                guard let length = Int(string(value)), length <= maxBodyBytes else {
                    return .invalid(status: 413)
                }
                contentLength = length
            case 15 where equalsIgnoringCase(name, "x-forwarded-for"):
                request.forwardedFor = string(value)
            case 17 where equalsIgnoringCase(name, "transfer-encoding"):
                // Chunked bodies are never needed here; refusing them closes a smuggling door.
                return .invalid(status: 501)
            case 24 where equalsIgnoringCase(name, "x-aws-ec2-metadata-token"):
                request.metadataToken = string(value)
            case 36 where equalsIgnoringCase(name, "x-aws-ec2-metadata-token-ttl-seconds"):
                request.metadataTokenTTL = string(value)
            default:
                break
            }
        }
        // A bare CR or LF ends lines differently for different readers: refused.
        guard !lines.malformed else { return .invalid(status: 400) }
        let total = headEnd + 4 + (contentLength ?? 0)
        guard bytes.count >= total else { return .incomplete }
        return .request(request, consumed: total)
    }

    public func parse(_ bytes: [UInt8]) -> Result {
        bytes.withUnsafeBytes { parse($0) }
    }

    /// Offset of the `\r\n\r\n` that ends the head, if present.
    func findHeaderEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let count = bytes.count
        guard count >= 4 else { return nil }
        var index = 0
        while index <= count - 4 {
            if bytes[index] == 13, bytes[index + 1] == 10, bytes[index + 2] == 13, bytes[index + 3] == 10 {
                return index
            }
            index += 1
        }
        return nil
    }
}

/// Lines of the head, split on CRLF only: a bare LF or CR sets `malformed` and ends the lines.
struct LineIterator {
    let bytes: UnsafeRawBufferPointer
    let end: Int
    var position = 0
    private(set) var malformed = false

    init(bytes: UnsafeRawBufferPointer, end: Int) {
        self.bytes = bytes
        self.end = end
    }

    mutating func next() -> Slice<UnsafeRawBufferPointer>? {
        guard position < end, !malformed else { return nil }
        var stop = position
        // The last line runs up to `end`, where the head's closing CRLF CRLF begins.
        while stop < end, bytes[stop] != 10, bytes[stop] != 13 { stop += 1 }
        if stop < end {
            // Only CR LF ends a line here.
            if bytes[stop] == 13, stop + 1 < end, bytes[stop + 1] == 10 {
                let line = bytes[position..<stop]
                position = stop + 2
                return line
            }
            malformed = true
            return nil
        }
        let line = bytes[position..<stop]
        position = end
        return line
    }
}

private func string(_ bytes: Slice<UnsafeRawBufferPointer>) -> String {
    String(decoding: bytes, as: UTF8.self)
}

private func trimmed(_ bytes: Slice<UnsafeRawBufferPointer>) -> Slice<UnsafeRawBufferPointer> {
    var start = bytes.startIndex
    var end = bytes.endIndex
    while start < end, bytes[start] == 32 || bytes[start] == 9 { start += 1 }
    while end > start, bytes[end - 1] == 32 || bytes[end - 1] == 9 { end -= 1 }
    return bytes[start..<end]
}

/// ASCII case-insensitive comparison with a lower-case literal.
private func equalsIgnoringCase<C: Collection<UInt8>>(_ bytes: C, _ lower: StaticString) -> Bool {
    guard bytes.count == lower.utf8CodeUnitCount else { return false }
    return lower.withUTF8Buffer { expected in
        var index = 0
        for byte in bytes {
            let folded = byte >= 65 && byte <= 90 ? byte | 0x20 : byte
            if folded != expected[index] { return false }
            index += 1
        }
        return true
    }
}
