// The floor for `latchkey export --format json`: a static Swift program that prints the same
// credential_process JSON and does nothing else. scripts/bench builds it twice, with
// `-D FLOOR_ESSENTIALS` (FoundationEssentials only) and without (full Foundation, with ICU), and
// times both in the same run as latchkey, checking that each prints exactly latchkey's bytes.
// Not part of the product.
//
// Usage: floor ACCESS_KEY_ID SECRET_ACCESS_KEY SESSION_TOKEN EXPIRATION_EPOCH_SECONDS

#if FLOOR_ESSENTIALS
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A JSON string literal, escaping what JSON requires.
func jsonString(_ value: String) -> String {
    let hex: [Character] = Array("0123456789abcdef")
    var out = "\""
    for scalar in value.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            out += "\\u00"
            out.append(hex[Int(scalar.value >> 4)])
            out.append(hex[Int(scalar.value & 0xF)])
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

let arguments = CommandLine.arguments
guard arguments.count == 5, let epoch = Double(arguments[4]) else {
    print("usage: floor ACCESS_KEY_ID SECRET_ACCESS_KEY SESSION_TOKEN EXPIRATION_EPOCH_SECONDS")
    exit(2)
}
#if FLOOR_ESSENTIALS
    // FoundationEssentials: Date and its ISO 8601 format style; the standard library's print.
    let expiration = Date(timeIntervalSince1970: epoch).formatted(.iso8601)
#else
    // Full Foundation, as a Foundation-based tool would write it: ISO8601DateFormatter and
    // FileHandle (both outside FoundationEssentials, so libFoundation is linked, not only re-exported).
    let expiration = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: epoch))
#endif
let fields = [
    "\"Version\":1", "\"AccessKeyId\":\(jsonString(arguments[1]))",
    "\"SecretAccessKey\":\(jsonString(arguments[2]))", "\"SessionToken\":\(jsonString(arguments[3]))",
    "\"Expiration\":\(jsonString(expiration))",
]
let line = "{" + fields.joined(separator: ",") + "}\n"
#if FLOOR_ESSENTIALS
    print(line, terminator: "")
#else
    FileHandle.standardOutput.write(Data(line.utf8))
#endif
