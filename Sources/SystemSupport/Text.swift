// Small text helpers with the meaning Foundation's gave them, for code built on FoundationEssentials
// (which has no CharacterSet, no String(format:), no percent-encoding and no NSString path helpers).
// Everything here works on Unicode scalars or UTF-8 bytes: no locale, no ICU.

#if canImport(Darwin)
    import Foundation
#endif

extension Unicode.Scalar {
    /// Foundation's `CharacterSet.whitespacesAndNewlines`: Unicode's White_Space property (space,
    /// tab, the line breaks U+000A–U+000D, U+0085, U+2028, U+2029 and the other space separators).
    @inlinable
    public var isWhitespaceOrNewline: Bool { properties.isWhitespace }

    /// Foundation's `CharacterSet.whitespaces`: the space separators (general category Zs) and tab;
    /// no line breaks.
    @inlinable
    public var isBlank: Bool { value == 0x09 || properties.generalCategory == .spaceSeparator }
}

// Inlinable, so callers specialise them for String and Substring: generic over StringProtocol across
// a module boundary, each first call made the runtime look up the associated types' conformances
// (a few percent of a warm `latchkey export`, issue 16).
extension StringProtocol {
    /// The text without leading and trailing scalars for which `isTrimmed` holds (Foundation's
    /// `trimmingCharacters(in:)` with a set given as a test).
    @inlinable
    public func trimming(where isTrimmed: (Unicode.Scalar) -> Bool) -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !isTrimmed($0) }) else { return "" }
        guard let last = scalars.lastIndex(where: { !isTrimmed($0) }) else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }

    /// Without leading and trailing white space and line breaks
    /// (`trimmingCharacters(in: .whitespacesAndNewlines)`).
    @inlinable
    public func trimmingWhitespace() -> String { trimming(where: { $0.isWhitespaceOrNewline }) }

    /// Without leading and trailing spaces and tabs; line breaks stay
    /// (`trimmingCharacters(in: .whitespaces)`).
    @inlinable
    public func trimmingBlanks() -> String { trimming(where: { $0.isBlank }) }

    /// Without leading and trailing copies of `character`
    /// (`trimmingCharacters(in: CharacterSet(charactersIn: "/"))`).
    @inlinable
    public func trimming(_ character: Unicode.Scalar) -> String { trimming(where: { $0 == character }) }
}

/// Hex digits of bytes, two per byte, lower-case unless `uppercase` (`String(format: "%02x")` per byte).
public func hexEncoded(_ bytes: some Sequence<UInt8>, uppercase: Bool = false) -> String {
    let digits = uppercase ? upperHexDigits : lowerHexDigits
    var output: [UInt8] = []
    output.reserveCapacity(bytes.underestimatedCount * 2)
    for byte in bytes {
        output.append(digits[Int(byte >> 4)])
        output.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: output, as: UTF8.self)
}

private let lowerHexDigits = Array("0123456789abcdef".utf8)
private let upperHexDigits = Array("0123456789ABCDEF".utf8)

/// The value of one hex digit (either case), or nil.
public func hexDigitValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    default: nil
    }
}

/// RFC 3986's unreserved bytes: `A-Z a-z 0-9 - . _ ~`.
public func isUnreservedURLByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
        UInt8(ascii: "~"):
        true
    default: false
    }
}

extension StringProtocol {
    /// Every UTF-8 byte for which `keep` is false as `%XX` (upper-case hex), the others as they are
    /// (`addingPercentEncoding(withAllowedCharacters:)` with an ASCII set).
    public func percentEncoded(keeping keep: (UInt8) -> Bool = isUnreservedURLByte) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(utf8.count)
        for byte in utf8 {
            if keep(byte) {
                output.append(byte)
            } else {
                output.append(UInt8(ascii: "%"))
                output.append(upperHexDigits[Int(byte >> 4)])
                output.append(upperHexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// `%XX` escapes decoded (`+` stays a plus); nil when a `%` is not followed by two hex digits or
    /// the bytes are not UTF-8, as Foundation's `removingPercentEncoding`.
    public var percentDecoded: String? {
        var output: [UInt8] = []
        output.reserveCapacity(utf8.count)
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                output.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexDigitValue),
                let low = iterator.next().flatMap(hexDigitValue)
            else { return nil }
            output.append(high << 4 | low)
        }
        return String(validating: output, as: UTF8.self)
    }
}

/// The last component of a slash-separated path, as `NSString.lastPathComponent`: trailing slashes
/// ignored, `/` for the root, `""` for an empty path.
public func lastPathComponent(_ path: String) -> String {
    let parts = path.split(separator: "/")
    guard let last = parts.last else { return path.hasPrefix("/") ? "/" : "" }
    return String(last)
}

/// The UTF-8 of `text` in Unicode Normalization Form C, so the same text typed on different systems
/// gives the same bytes (Foundation's `precomposedStringWithCanonicalMapping`, without ICU).
public func nfcUTF8(_ text: String) -> [UInt8] {
    #if canImport(Darwin)
        Array(text.precomposedStringWithCanonicalMapping.utf8)
    #else
        text._nfcCodeUnits
    #endif
}

extension String {
    /// Exactly `length` characters: spaces added at the end, or cut there (Foundation's
    /// `padding(toLength:withPad: " ", startingAt: 0)`, counted in characters).
    public func padded(to length: Int) -> String {
        count >= length ? String(prefix(length)) : self + String(repeating: " ", count: length - count)
    }
}
