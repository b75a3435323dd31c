/// Percent-encoding as SigV4 defines it (RFC 3986: only `A-Z a-z 0-9 - _ . ~` stay as they are).
///
/// AWS Query-protocol bodies use the same rules, so the client encodes form fields with it too.
public enum AWSPercentEncoding {
    /// Encodes every byte of `text`'s UTF-8 except the unreserved set (and `/` if `keepSlash`).
    public static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        append(text.utf8, to: &bytes, keepSlash: keepSlash)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Decodes `%XX` escapes; a `%` not followed by two hex digits is kept literally, `+` is kept.
    public static func decode(_ text: String) -> String {
        String(decoding: decodedBytes(text.utf8), as: UTF8.self)
    }

    static func append(_ source: some Sequence<UInt8>, to output: inout [UInt8], keepSlash: Bool) {
        for byte in source {
            if isUnreserved(byte) || (keepSlash && byte == UInt8(ascii: "/")) {
                output.append(byte)
            } else {
                output.append(UInt8(ascii: "%"))
                output.append(hexDigitsUpper[Int(byte >> 4)])
                output.append(hexDigitsUpper[Int(byte & 0x0F)])
            }
        }
    }

    static func decodedBytes(_ source: some Collection<UInt8>) -> [UInt8] {
        let input = Array(source)
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == UInt8(ascii: "%"), index + 2 < input.count,
                let high = hexValue(input[index + 1]), let low = hexValue(input[index + 2])
            {
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(byte)
                index += 1
            }
        }
        return output
    }

    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
            UInt8(ascii: "."), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        default: return nil
        }
    }

    private static let hexDigitsUpper: [UInt8] = Array("0123456789ABCDEF".utf8)
}

/// Lower-case hex of a byte sequence (digests and signatures).
func hexString(_ bytes: some Sequence<UInt8>) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var output: [UInt8] = []
    output.reserveCapacity(64)
    for byte in bytes {
        output.append(digits[Int(byte >> 4)])
        output.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: output, as: UTF8.self)
}
