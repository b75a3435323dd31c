import Crypto
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Signs HTTP requests with AWS Signature Version 4 (HMAC-SHA256), in the `Authorization`
/// header or in the query string (presigned URLs).
///
/// Paths and queries are given as they appear on the wire (the request target); the signer
/// canonicalises them itself. V4a (ECDSA, multi-region) is not implemented.
public struct SigV4Signer: Sendable {
    public static let algorithm = "AWS4-HMAC-SHA256"
    /// SHA-256 of the empty string, the payload hash of a request without a body.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    public typealias Header = (name: String, value: String)

    public var credentials: AWSCredentials
    public var region: String
    public var service: String

    public init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    public struct Options: Sendable, Equatable {
        /// Remove `.`/`..` segments and repeated slashes from the path (every service but S3).
        public var normalizePath: Bool
        /// Percent-encode the wire path once more (every service but S3, whose path is used as is).
        public var encodePath: Bool
        /// Add and sign `x-amz-content-sha256` (S3 and a few others require it).
        public var addContentSHA256Header: Bool
        /// Sign `X-Amz-Security-Token`; when false it is added after signing (outside SignedHeaders).
        public var signSessionToken: Bool

        public init(
            normalizePath: Bool = true, encodePath: Bool = true, addContentSHA256Header: Bool = false,
            signSessionToken: Bool = true
        ) {
            self.normalizePath = normalizePath
            self.encodePath = encodePath
            self.addContentSHA256Header = addContentSHA256Header
            self.signSessionToken = signSessionToken
        }
    }

    public enum Payload: Sendable {
        case bytes(Data)
        /// A hex SHA-256 computed by the caller (or `SigV4Signer.unsignedPayload`).
        case precomputedHash(String)

        public var hash: String {
            switch self {
            case .bytes(let data):
                data.isEmpty ? SigV4Signer.emptyPayloadHash : hexString(SHA256.hash(data: data))
            case .precomputedHash(let hash):
                hash
            }
        }
    }

    /// The result of header signing: the headers to add, plus the intermediates for tests and debugging.
    public struct HeaderSignature: Sendable {
        /// Headers to add to the request, in this order (`X-Amz-Date`, token, content hash, `Authorization`).
        public var headers: [Header]
        public var authorization: String
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
    }

    /// The result of query signing: the complete query string to send, plus the intermediates.
    public struct QuerySignature: Sendable {
        /// The original query followed by the `X-Amz-*` parameters, already percent-encoded.
        public var query: String
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
    }

    /// Signs with the `Authorization` header. `headers` must include `Host`; any `Authorization`,
    /// `X-Amz-Date` or `X-Amz-Security-Token` passed in is ignored and replaced.
    public func sign(
        method: String, path: String, query: String = "", headers: [Header], payload: Payload,
        date: Date, options: Options = Options()
    ) -> HeaderSignature {
        let stamp = AMZDate(date)
        let payloadHash = payload.hash
        var owned: Set<String> = ["authorization", "x-amz-date", "x-amz-security-token"]
        var added: [Header] = [("X-Amz-Date", stamp.dateTime)]
        var signedExtra: [Header] = [("x-amz-date", stamp.dateTime)]
        if let token = credentials.sessionToken {
            added.append(("X-Amz-Security-Token", token))
            if options.signSessionToken { signedExtra.append(("x-amz-security-token", token)) }
        }
        if options.addContentSHA256Header {
            owned.insert("x-amz-content-sha256")
            added.append(("x-amz-content-sha256", payloadHash))
            signedExtra.append(("x-amz-content-sha256", payloadHash))
        }
        let canonical = Self.canonicalHeaders(headers, excluding: owned, adding: signedExtra)
        let canonicalRequest = [
            method,
            Self.canonicalPath(path, options: options),
            Self.canonicalQuery(query, extra: []),
            canonical.block,
            canonical.signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
        let (stringToSign, signature) = sign(canonicalRequest: canonicalRequest, stamp: stamp)
        let authorization =
            "\(Self.algorithm) Credential=\(credentials.accessKeyId)/\(scope(stamp)), "
            + "SignedHeaders=\(canonical.signedHeaders), Signature=\(signature)"
        added.append(("Authorization", authorization))
        return HeaderSignature(
            headers: added, authorization: authorization, canonicalRequest: canonicalRequest,
            stringToSign: stringToSign, signature: signature)
    }

    /// Signs in the query string, valid for `expires` seconds. `headers` (with `Host`) are signed
    /// as given; the payload hash is taken from `payload` (use `unsignedPayload` for S3 URLs).
    public func presign(
        method: String, path: String, query: String = "", headers: [Header], payload: Payload,
        date: Date, expires: Int, options: Options = Options()
    ) -> QuerySignature {
        let stamp = AMZDate(date)
        let owned: Set<String> = ["authorization", "x-amz-date", "x-amz-security-token"]
        let canonical = Self.canonicalHeaders(headers, excluding: owned, adding: [])
        var parameters: [Header] = [
            ("X-Amz-Algorithm", Self.algorithm),
            ("X-Amz-Credential", "\(credentials.accessKeyId)/\(scope(stamp))"),
            ("X-Amz-Date", stamp.dateTime),
            ("X-Amz-SignedHeaders", canonical.signedHeaders),
            ("X-Amz-Expires", String(expires)),
        ]
        let token = credentials.sessionToken.map { ("X-Amz-Security-Token", $0) }
        if let token, options.signSessionToken { parameters.append(token) }
        let canonicalRequest = [
            method,
            Self.canonicalPath(path, options: options),
            Self.canonicalQuery(query, extra: parameters),
            canonical.block,
            canonical.signedHeaders,
            payload.hash,
        ].joined(separator: "\n")
        let (stringToSign, signature) = sign(canonicalRequest: canonicalRequest, stamp: stamp)
        if let token, !options.signSessionToken { parameters.append(token) }
        parameters.append(("X-Amz-Signature", signature))
        var pieces = query.isEmpty ? [] : [query]
        for (name, value) in parameters {
            pieces.append(name + "=" + AWSPercentEncoding.encode(value))
        }
        return QuerySignature(
            query: pieces.joined(separator: "&"), canonicalRequest: canonicalRequest,
            stringToSign: stringToSign, signature: signature)
    }

    // MARK: - Signature

    private func scope(_ stamp: AMZDate) -> String {
        "\(stamp.date)/\(region)/\(service)/aws4_request"
    }

    private func sign(canonicalRequest: String, stamp: AMZDate) -> (stringToSign: String, signature: String) {
        let requestHash = hexString(SHA256.hash(data: Array(canonicalRequest.utf8)))
        let stringToSign = "\(Self.algorithm)\n\(stamp.dateTime)\n\(scope(stamp))\n\(requestHash)"
        var key = SymmetricKey(data: Array(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [stamp.date, region, service, "aws4_request"] {
            key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key))
        }
        let mac = HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key)
        return (stringToSign, hexString(mac))
    }

    // MARK: - Canonical parts

    static func canonicalPath(_ path: String, options: Options) -> String {
        var path = path.isEmpty ? "/" : path
        if options.normalizePath { path = normalizedPath(path) }
        return options.encodePath ? AWSPercentEncoding.encode(path, keepSlash: true) : path
    }

    /// RFC 3986 dot-segment removal plus collapsing of empty segments, keeping a trailing slash.
    static func normalizedPath(_ path: String) -> String {
        var segments: [Substring] = []
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        for part in parts {
            switch part {
            case "", ".": continue
            case "..": _ = segments.popLast()
            default: segments.append(part)
            }
        }
        guard !segments.isEmpty else { return "/" }
        let last = parts.last ?? ""
        let trailingSlash = last.isEmpty || last == "." || last == ".."
        return "/" + segments.joined(separator: "/") + (trailingSlash ? "/" : "")
    }

    /// Decodes the wire query, re-encodes each name and value strictly, sorts by name then value.
    static func canonicalQuery(_ query: String, extra: [Header]) -> String {
        var pairs: [(name: [UInt8], value: [UInt8])] = []
        for piece in query.utf8.split(separator: UInt8(ascii: "&")) {
            let equals = piece.firstIndex(of: UInt8(ascii: "="))
            let rawName = equals.map { piece[..<$0] } ?? piece[...]
            let rawValue = equals.map { piece[piece.index(after: $0)...] } ?? piece[piece.endIndex...]
            pairs.append(
                (
                    encoded(AWSPercentEncoding.decodedBytes(rawName)),
                    encoded(AWSPercentEncoding.decodedBytes(rawValue))
                ))
        }
        for (name, value) in extra {
            pairs.append((encoded(Array(name.utf8)), encoded(Array(value.utf8))))
        }
        pairs.sort {
            $0.name == $1.name
                ? $0.value.lexicographicallyPrecedes($1.value) : $0.name.lexicographicallyPrecedes($1.name)
        }
        var output: [UInt8] = []
        for (index, pair) in pairs.enumerated() {
            if index > 0 { output.append(UInt8(ascii: "&")) }
            output += pair.name
            output.append(UInt8(ascii: "="))
            output += pair.value
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func encoded(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        AWSPercentEncoding.append(bytes, to: &output, keepSlash: false)
        return output
    }

    /// Lower-cased names, whitespace-collapsed values, repeated names joined with commas in order.
    static func canonicalHeaders(
        _ headers: [Header], excluding owned: Set<String>, adding extra: [Header]
    ) -> (block: String, signedHeaders: String) {
        var entries: [(name: String, value: String, order: Int)] = []
        entries.reserveCapacity(headers.count + extra.count)
        for (name, value) in headers where !owned.contains(name.lowercased()) {
            entries.append((name.lowercased(), collapsedWhitespace(value), entries.count))
        }
        for (name, value) in extra {
            entries.append((name, value, entries.count))
        }
        entries.sort { $0.name == $1.name ? $0.order < $1.order : $0.name < $1.name }
        var block = ""
        var names: [String] = []
        for entry in entries {
            if names.last == entry.name {
                block += "," + entry.value
            } else {
                if !names.isEmpty { block += "\n" }
                block += entry.name + ":" + entry.value
                names.append(entry.name)
            }
        }
        return (block + "\n", names.joined(separator: ";"))
    }

    private static func collapsedWhitespace(_ value: String) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(value.utf8.count)
        var pendingSpace = false
        for byte in value.utf8 {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
                || byte == UInt8(ascii: "\r")
            {
                pendingSpace = !output.isEmpty
            } else {
                if pendingSpace { output.append(UInt8(ascii: " ")) }
                pendingSpace = false
                output.append(byte)
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}

/// The two UTC time stamps SigV4 uses: `20150830T123600Z` and `20150830`.
struct AMZDate {
    let dateTime: String
    let date: String

    init(_ instant: Date) {
        let utc = UTCDate(instant)
        date = pad(utc.year, 4) + pad(utc.month, 2) + pad(utc.day, 2)
        dateTime = date + "T" + pad(utc.hour, 2) + pad(utc.minute, 2) + pad(utc.second, 2) + "Z"
    }
}

/// A moment's calendar fields in UTC, without Foundation's calendars (fast, locale-free).
public struct UTCDate: Sendable, Equatable {
    public let year, month, day, hour, minute, second: Int

    public init(_ instant: Date) {
        let seconds = Int(instant.timeIntervalSince1970.rounded(.down))
        let (days, secondOfDay) = seconds.quotientAndRemainder(dividingBy: 86_400)
        let (dayNumber, secondInDay) =
            secondOfDay < 0 ? (days - 1, secondOfDay + 86_400) : (days, secondOfDay)
        // Days-to-civil conversion (proleptic Gregorian), valid for any Int day count.
        let shifted = dayNumber + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        hour = secondInDay / 3600
        minute = secondInDay / 60 % 60
        second = secondInDay % 60
    }

    /// `2026-11-29T06:37:43Z`: RFC 3339 in UTC with whole seconds, the form AWS tools read.
    public var iso8601: String {
        "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))Z"
    }
}

private func pad(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return String(repeating: "0", count: max(0, width - text.count)) + text
}
