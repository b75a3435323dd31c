import Crypto
import Foundation
import Testing

@testable import LatchkeyCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A value refused as an access key id may be a secret pasted in the wrong place: none of it is echoed.
@Suite struct RejectedKeyIdTests {
    @Test(arguments: [
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",  // the secret where the id goes
        "AKIAIOSFODNN7EXAMPLEwJalrXUtnFEMI/K7MDENG",  // id and secret pasted together
        "akiaiosfodnn7example",
    ])
    func theRejectedValueIsNotInTheMessage(pasted: String) {
        let error = #expect(throws: LatchkeyError.self) {
            try validateKeyPair(
                accessKeyId: pasted, secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        }
        let message = error.map { "\($0)" } ?? ""
        #expect(message.contains("access key id is not valid (it has \(pasted.count) characters"))
        let windows = (0...(pasted.count - 6)).map { pasted.dropFirst($0).prefix(6) }
        #expect(!windows.contains { message.contains($0) }, "\(message)")
    }

    @Test func aSecretSizedIdSuggestsTheTwoWereSwapped() {
        #expect("\(LatchkeyError.invalidAccessKeyId(characters: 40))".contains("were the two swapped?"))
        #expect(!"\(LatchkeyError.invalidAccessKeyId(characters: 7))".contains("swapped"))
    }
}

/// The spent-code log keeps codes only as a keyed hash, the key random per user and private.
@Suite struct UsedCodeLogTests {
    let serial = "arn:aws:iam::111122223333:mfa/doug"

    func folder() throws -> String {
        let path = NSTemporaryDirectory() + "/latchkey-used-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func sha256(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    @Test func theLogHoldsNoPlainHashOfTheCodeOrTheDevice() throws {
        let directory = try folder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = UsedCodeLog(directory: directory)
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        log.record(serial: serial, code: "123456", at: now)
        let text = try String(contentsOfFile: log.path, encoding: .utf8)
        for plain in ["123456", serial, serial + "\u{1F}123456"] {
            #expect(!text.contains(sha256(plain)), "plain SHA-256 of \(plain) in \(text)")
        }
        #expect(!text.contains("123456"))
        #expect(log.wasUsed(serial: serial, code: "123456", at: now))
        #expect(!log.wasUsed(serial: serial, code: "654321", at: now))
        let key = try FileManager.default.attributesOfItem(atPath: log.keyPath)
        #expect((key[.posixPermissions] as? Int) == 0o600)
        #expect((key[.size] as? Int) == 32)
        let logFile = try FileManager.default.attributesOfItem(atPath: log.path)
        #expect((logFile[.posixPermissions] as? Int) == 0o600)
    }

    @Test func eachUserHasItsOwnKeySoTheSameCodeHashesDifferently() throws {
        let (first, second) = (try folder(), try folder())
        defer {
            try? FileManager.default.removeItem(atPath: first)
            try? FileManager.default.removeItem(atPath: second)
        }
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        UsedCodeLog(directory: first).record(serial: serial, code: "123456", at: now)
        UsedCodeLog(directory: second).record(serial: serial, code: "123456", at: now)
        let one = try String(contentsOfFile: UsedCodeLog(directory: first).path, encoding: .utf8)
        let two = try String(contentsOfFile: UsedCodeLog(directory: second).path, encoding: .utf8)
        #expect(one != two)
        // The key stays: a second process finds what the first recorded.
        #expect(UsedCodeLog(directory: first).wasUsed(serial: serial, code: "123456", at: now))
    }

    @Test func aDamagedKeyIsReplacedAndNothingIsFoundWithoutOne() throws {
        let directory = try folder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = UsedCodeLog(directory: directory)
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        #expect(!log.wasUsed(serial: serial, code: "123456", at: now))
        #expect(!FileManager.default.fileExists(atPath: log.keyPath))
        try FileManager.default.createDirectory(
            atPath: directory + "/mfa-used", withIntermediateDirectories: true)
        #expect(chmod(directory + "/mfa-used", 0o700) == 0)
        _ = FileManager.default.createFile(atPath: log.keyPath, contents: Data("short".utf8))
        // A writer killed mid-write left a temp file: the next writer removes it.
        _ = FileManager.default.createFile(
            atPath: directory + "/mfa-used/.tmp-0123456789abcdef", contents: Data())
        log.record(serial: serial, code: "123456", at: now)
        #expect(log.wasUsed(serial: serial, code: "123456", at: now))
        #expect(try Data(contentsOf: URL(fileURLWithPath: log.keyPath)).count == 32)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory + "/mfa-used").sorted() == [
                ".lock", "key", "log.json",
            ])
    }
}

/// The osascript prompt puts `mfa_serial` (from the config file) into a script: it must stay text.
@Suite struct AppleScriptStringTests {
    @Test(arguments: [
        ("arn:aws:iam::111122223333:mfa/doug", #""arn:aws:iam::111122223333:mfa/doug""#),
        (#"x" & (do shell script "id") & ""#, #""x\" & (do shell script \"id\") & \"""#),
        (#"back\slash\"#, #""back\\slash\\""#),
        (#"\""#, #""\\\"""#),
        ("two\nlines\ttab\r", #""two\nlines\ttab\r""#),
        ("bell\u{7}del\u{7F}", #""bell?del?""#),
        ("", #""""#),
    ])
    func quotesAndBackslashesAreEscaped(value: String, literal: String) {
        #expect(appleScriptString(value) == literal)
    }

    /// Whatever the value, the literal ends only at its last character: every inner quote is escaped.
    @Test(arguments: [#"a"b"#, #"a\"b"#, #"a\\"b"#, #"\\\""#, #"""""#])
    func theLiteralCannotBeEndedEarly(value: String) {
        let literal = Array(appleScriptString(value).dropFirst().dropLast())
        var escaped = false
        for character in literal {
            if escaped {
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                #expect(character != "\"", "an unescaped quote in \(String(literal))")
            }
        }
        #expect(!escaped)
    }
}
