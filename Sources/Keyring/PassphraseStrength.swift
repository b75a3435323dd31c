#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A rough, offline judgement of a new vault passphrase, with no dependency: its length, the kinds
/// of characters it mixes, how much of it is repetition or a run (`aaa`, `abc`, `321`, `qwerty`), and
/// a short built-in list of the most common passwords. It only catches the obviously weak; it is
/// asked when a vault is created, never when one is opened.
public struct PassphraseStrength: Sendable, Equatable {
    /// What makes the passphrase weak, each as a short clause ("it has only 5 characters"); empty when
    /// it is acceptable.
    public let weaknesses: [String]
    /// Bits of guessing work the passphrase is estimated to need.
    public let estimatedBits: Double

    public var isWeak: Bool { !weaknesses.isEmpty }

    /// Fewer characters than this are always refused.
    public static let minimumLength = 8
    /// Below this estimate a passphrase is refused (10 random lowercase letters give about 47).
    public static let minimumBits = 45.0

    public init(_ passphrase: String) {
        let characters = Array(passphrase)
        let effective = Self.effectiveLength(characters)
        let pool = Self.poolSize(characters)
        estimatedBits = Double(effective) * log2(Double(max(pool, 1)))
        var found: [String] = []
        if characters.count < Self.minimumLength {
            found.append(
                "it has only \(characters.count) character\(characters.count == 1 ? "" : "s") "
                    + "(at least \(Self.minimumLength) are needed; 12 or more, or a few unrelated words, are better)"
            )
        }
        if Self.isCommon(passphrase) {
            found.append("it is one of the most common passwords, which are tried first")
        }
        if estimatedBits < Self.minimumBits && found.isEmpty {
            if Set(characters).count <= 2 {
                found.append("it repeats one or two characters")
            } else if effective * 2 <= characters.count {
                found.append(
                    "it is mostly repetition or a run of neighbouring characters (like aaa, abc, 123, qwerty)"
                )
            } else {
                found.append(
                    "it is too easy to guess (\(Self.kinds(characters)) only, \(characters.count) characters)"
                )
            }
        }
        weaknesses = found
    }

    // MARK: Estimate

    /// Characters that add guessing work: one that repeats the previous one, or continues a run
    /// (the next or previous letter or digit, or the neighbouring key on a keyboard row), adds none.
    static func effectiveLength(_ characters: [Character]) -> Int {
        var count = 0
        for (index, character) in characters.enumerated() {
            guard index > 0 else {
                count += 1
                continue
            }
            let previous = characters[index - 1]
            if !(character == previous || areNeighbours(previous, character)) { count += 1 }
        }
        return count
    }

    private static let keyboardRows = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"].map(Array.init)

    private static func areNeighbours(_ a: Character, _ b: Character) -> Bool {
        let a = Character(a.lowercased())
        let b = Character(b.lowercased())
        if let x = a.asciiValue, let y = b.asciiValue, a.isLetter == b.isLetter, a.isNumber == b.isNumber,
            a.isLetter || a.isNumber, abs(Int(x) - Int(y)) == 1
        {
            return true
        }
        for row in keyboardRows {
            if let i = row.firstIndex(of: a), let j = row.firstIndex(of: b), abs(i - j) == 1 { return true }
        }
        return false
    }

    /// How many symbols an attacker must try per character, from the kinds of characters present.
    static func poolSize(_ characters: [Character]) -> Int {
        var pool = 0
        if characters.contains(where: { $0.isASCII && $0.isLowercase }) { pool += 26 }
        if characters.contains(where: { $0.isASCII && $0.isUppercase }) { pool += 26 }
        if characters.contains(where: { $0.isASCII && $0.isNumber }) { pool += 10 }
        if characters.contains(where: { $0.isASCII && !$0.isLetter && !$0.isNumber }) { pool += 33 }
        if characters.contains(where: { !$0.isASCII }) { pool += 100 }
        return pool
    }

    private static func kinds(_ characters: [Character]) -> String {
        var names: [String] = []
        if characters.contains(where: { $0.isASCII && $0.isLowercase }) { names.append("lower-case letters") }
        if characters.contains(where: { $0.isASCII && $0.isUppercase }) { names.append("capitals") }
        if characters.contains(where: { $0.isASCII && $0.isNumber }) { names.append("digits") }
        if characters.contains(where: { !($0.isASCII && ($0.isLetter || $0.isNumber)) }) {
            names.append("other characters")
        }
        return names.joined(separator: " and ")
    }

    // MARK: Common passwords

    /// True when the passphrase, ignoring case and a short tail of digits or symbols (`Password1!`),
    /// is on the list.
    static func isCommon(_ passphrase: String) -> Bool {
        let lower = passphrase.lowercased()
        if commonPasswords.contains(lower) { return true }
        var base = Substring(lower)
        while let last = base.last, !last.isLetter, lower.count - base.count < 4 { base = base.dropLast() }
        return base.count >= 3 && commonPasswords.contains(String(base))
    }

    /// The most common passwords of public breach lists (only the ones that matter: they are
    /// always tried first).
    static let commonPasswords: Set<String> = [
        "123456", "123456789", "12345678", "12345", "1234567", "1234567890", "123123", "111111", "000000",
        "654321", "666666", "121212", "112233", "123321", "987654321", "159753", "147258369", "1q2w3e4r",
        "1q2w3e4r5t", "1qaz2wsx", "qwerty", "qwertyuiop", "qwerty123", "asdfgh", "asdfghjkl", "zxcvbnm",
        "password", "passw0rd", "p@ssw0rd", "p@ssword", "pass", "passwort", "motdepasse", "contraseña",
        "secret", "letmein", "welcome", "admin", "administrator", "root", "login", "changeme", "default",
        "master", "hello", "iloveyou", "love", "monkey", "dragon", "shadow", "sunshine", "princess",
        "football", "baseball", "soccer", "superman", "batman", "trustno1", "michael", "jennifer", "jordan",
        "hunter", "freedom", "whatever", "qazwsx", "starwars", "computer", "abc123", "abcdef", "abcd1234",
        "aa123456", "charlie", "donald", "mustang", "access", "flower", "cheese", "summer", "winter",
        "ninja", "azerty", "solo", "loveme", "killer", "pepper", "ginger", "hannah", "joshua", "maggie",
        "test", "testing", "guest", "user", "latchkey", "aws", "amazon", "vault", "awsvault", "aws-vault",
        "correcthorsebatterystaple",
    ]
}
