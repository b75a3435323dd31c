import Crypto
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport
import CryptoExtras

/// scrypt cost parameters (N, r, p); memory used is 128 * N * r * p bytes.
public struct ScryptParameters: Sendable, Equatable, Codable {
    public var n: Int
    public var r: Int
    public var p: Int

    public init(n: Int, r: Int, p: Int) {
        self.n = n
        self.r = r
        self.p = p
    }

    /// N = 2^17, r = 8, p = 1 (128 MiB): unlocks in 0.32-0.38 s (release build, busy 2-core machine;
    /// 2^16 took 0.16-0.19 s, 2^15 0.09 s). The unlock cache keeps this off the hot path.
    public static let standard = ScryptParameters(n: 1 << 17, r: 8, p: 1)

    /// Bounds that refuse a header forged to make unlocking take forever or exhaust memory.
    var isReasonable: Bool {
        n >= 2 && n <= 1 << 22 && n & (n - 1) == 0 && (1...32).contains(r) && (1...16).contains(p)
            && 128 * n * r * p <= 1 << 30
    }

    func deriveKey(passphrase: String, salt: Data) throws -> SymmetricKey {
        // NFC so the same passphrase typed on different systems gives the same bytes.
        let bytes = Data(nfcUTF8(passphrase))
        return try KDF.Scrypt.deriveKey(
            from: bytes, salt: salt, outputByteCount: 32, rounds: n, blockSize: r, parallelism: p)
    }
}

/// `vault.json`: how to derive the master key, and a value that proves a derived key is the right one.
struct VaultHeader: Encodable, Equatable {
    static let formatName = "latchkey-file-vault"
    static let currentVersion = 1
    private static let checkLabel = Data("latchkey vault key check v1".utf8)

    struct KDFParameters: Encodable, Equatable {
        var name: String
        var n: Int
        var r: Int
        var p: Int
        var salt: Data
    }

    var format: String
    var version: Int
    var kdf: KDFParameters
    var checkNonce: Data
    /// AES-256-GCM of a fixed label (ciphertext followed by the 16-byte tag).
    var check: Data

    var scrypt: ScryptParameters { ScryptParameters(n: kdf.n, r: kdf.r, p: kdf.p) }

    /// A new header for `masterKey`, which was derived with `scrypt` and `salt`.
    static func make(masterKey: SymmetricKey, scrypt: ScryptParameters, salt: Data) throws -> VaultHeader {
        var header = VaultHeader(
            format: formatName, version: currentVersion,
            kdf: KDFParameters(name: "scrypt", n: scrypt.n, r: scrypt.r, p: scrypt.p, salt: salt),
            checkNonce: Data(), check: Data())
        let box = try AES.GCM.seal(
            checkLabel, using: header.checkKey(masterKey), authenticating: header.associatedData)
        header.checkNonce = Data(box.nonce)
        header.check = box.ciphertext + box.tag
        return header
    }

    /// Parses and validates a header file; `file` names it in errors.
    static func decode(_ data: Data, file: String) throws -> VaultHeader {
        guard let header = VaultHeader(json: JSONValue(parsing: data)) else {
            throw KeyringError.corruptVault(file: file, reason: "it is not a complete latchkey vault header")
        }
        guard header.format == formatName else {
            throw KeyringError.corruptVault(file: file, reason: "it is not a latchkey vault header")
        }
        guard header.version == currentVersion else {
            throw KeyringError.unsupportedVersion(file: file, version: header.version)
        }
        guard header.kdf.name == "scrypt", header.scrypt.isReasonable, header.kdf.salt.count >= 16 else {
            throw KeyringError.corruptVault(file: file, reason: "its key derivation parameters are invalid")
        }
        guard header.checkNonce.count == 12, header.check.count > 16 else {
            throw KeyringError.corruptVault(file: file, reason: "its key check value is malformed")
        }
        return header
    }

    /// True when `masterKey` opens the check value.
    func accepts(_ masterKey: SymmetricKey) -> Bool {
        guard
            let nonce = try? AES.GCM.Nonce(data: checkNonce),
            let box = try? AES.GCM.SealedBox(
                nonce: nonce, ciphertext: check.dropLast(16), tag: check.suffix(16)),
            let opened = try? AES.GCM.open(box, using: checkKey(masterKey), authenticating: associatedData)
        else { return false }
        return opened == Self.checkLabel
    }

    private func checkKey(_ masterKey: SymmetricKey) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: masterKey, salt: kdf.salt, info: Data("latchkey key check v1".utf8),
            outputByteCount: 32)
    }

    private var associatedData: Data {
        var encoder = FieldEncoder(tag: "latchkey vault v1")
        encoder.append(format)
        encoder.append(String(version))
        encoder.append(kdf.name)
        encoder.append(String(kdf.n))
        encoder.append(String(kdf.r))
        encoder.append(String(kdf.p))
        encoder.append(kdf.salt)
        return encoder.data
    }
}

/// One item file: the plaintext facts `list()` shows, and the sealed secret.
struct ItemFile: Encodable, Equatable {
    static let currentVersion = 1

    var version: Int
    var key: String
    var label: String
    var metadata: [String: String]
    /// Whole seconds, so the value in the AAD survives the ISO 8601 round trip.
    var modified: Date
    var salt: Data
    var nonce: Data
    /// AES-256-GCM ciphertext followed by the 16-byte tag.
    var ciphertext: Data

    /// Seals `item` under a fresh item key (fresh salt) and a fresh nonce.
    static func seal(_ item: KeyringItem, masterKey: SymmetricKey, modified: Date) throws -> ItemFile {
        let wholeSeconds = Date(timeIntervalSince1970: modified.timeIntervalSince1970.rounded(.down))
        var file = ItemFile(
            version: currentVersion, key: item.key, label: item.label, metadata: item.metadata,
            modified: wholeSeconds, salt: Data(randomBytes(32)), nonce: Data(), ciphertext: Data())
        let box = try AES.GCM.seal(
            item.secret, using: file.itemKey(masterKey), authenticating: file.associatedData)
        file.nonce = Data(box.nonce)
        file.ciphertext = box.ciphertext + box.tag
        return file
    }

    /// Parses an item file; `file` names it in errors.
    static func decode(_ data: Data, file: String) throws -> ItemFile {
        guard let item = ItemFile(json: JSONValue(parsing: data)) else {
            throw KeyringError.corruptItem(file: file, reason: "it is not a complete latchkey item")
        }
        guard item.version == currentVersion else {
            throw KeyringError.unsupportedVersion(file: file, version: item.version)
        }
        return item
    }

    func encoded() throws -> Data {
        try Self.encoder.encode(self)
    }

    /// Verifies everything in the file and returns the item; `file` names it in errors.
    func open(masterKey: SymmetricKey, file: String) throws -> KeyringItem {
        guard
            ciphertext.count >= 16,
            let nonce = try? AES.GCM.Nonce(data: nonce),
            let box = try? AES.GCM.SealedBox(
                nonce: nonce, ciphertext: ciphertext.dropLast(16), tag: ciphertext.suffix(16)),
            let secret = try? AES.GCM.open(box, using: itemKey(masterKey), authenticating: associatedData)
        else { throw KeyringError.tamperedItem(file: file) }
        return KeyringItem(key: key, label: label, metadata: metadata, secret: secret)
    }

    var info: KeyringItemInfo {
        KeyringItemInfo(key: key, label: label, metadata: metadata, modified: modified)
    }

    private func itemKey(_ masterKey: SymmetricKey) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: masterKey, salt: salt, info: Data("latchkey item v1|".utf8) + Data(key.utf8),
            outputByteCount: 32)
    }

    /// Binds the version, key, label, metadata and time to the ciphertext.
    private var associatedData: Data {
        var encoder = FieldEncoder(tag: "latchkey item v1")
        encoder.append(String(version))
        encoder.append(key)
        encoder.append(label)
        encoder.append(String(Int64(modified.timeIntervalSince1970.rounded(.down))))
        encoder.append(String(metadata.count))
        for (name, value) in metadata.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            encoder.append(name)
            encoder.append(value)
        }
        return encoder.data
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

}

// The two files are read by hand from a `JSONValue` (the hot path's `JSONDecoder` cost more than the
// rest of a warm `latchkey export`, issue 16); they are written with `JSONEncoder`. Both readers take
// what `JSONDecoder` took: every member present with its type (data in base64, the time in ISO 8601),
// members they do not know ignored.
extension VaultHeader {
    init?(json: JSONValue?) {
        guard let json, let kdf = json["kdf"], let name = kdf["name"]?.string, let n = kdf["n"]?.int,
            let r = kdf["r"]?.int, let p = kdf["p"]?.int, let salt = kdf["salt"]?.base64Data,
            let format = json["format"]?.string, let version = json["version"]?.int,
            let checkNonce = json["checkNonce"]?.base64Data, let check = json["check"]?.base64Data
        else { return nil }
        self.init(
            format: format, version: version, kdf: KDFParameters(name: name, n: n, r: r, p: p, salt: salt),
            checkNonce: checkNonce, check: check)
    }
}

extension ItemFile {
    init?(json: JSONValue?) {
        guard let json, let version = json["version"]?.int, let key = json["key"]?.string,
            let label = json["label"]?.string, let metadata = json["metadata"]?.object,
            let modified = json["modified"]?.string.flatMap(Timestamps.iso8601),
            let salt = json["salt"]?.base64Data, let nonce = json["nonce"]?.base64Data,
            let ciphertext = json["ciphertext"]?.base64Data
        else { return nil }
        var names: [String: String] = [:]
        for (name, value) in metadata {
            guard let value = value.string else { return nil }
            names[name] = value
        }
        self.init(
            version: version, key: key, label: label, metadata: names, modified: modified, salt: salt,
            nonce: nonce, ciphertext: ciphertext)
    }
}

extension JSONValue {
    fileprivate var base64Data: Data? { string.flatMap { Data(base64Encoded: $0) } }
}

/// Unambiguous byte encoding of a list of fields: each is a 4-byte big-endian length then its bytes.
private struct FieldEncoder {
    private(set) var data = Data()

    init(tag: String) {
        append(tag)
    }

    mutating func append(_ text: String) {
        append(Data(text.utf8))
    }

    mutating func append(_ bytes: Data) {
        withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { data.append(contentsOf: $0) }
        data.append(bytes)
    }
}

/// File names for item keys: lowercase RFC 4648 base32 (no padding) of the NFC UTF-8 key,
/// so any profile name is safe and no name can climb out of the folder.
enum ItemFileName {
    static let prefix = "item-"
    static let suffix = ".json"
    /// Keeps the whole file name within the common 255-byte limit.
    static let maximumKeyBytes = (255 - prefix.count - suffix.count) * 5 / 8

    static func make(for key: String) throws -> String {
        let bytes = nfcUTF8(key)
        guard !bytes.isEmpty else { throw KeyringError.invalidKey(key: key, reason: "the key is empty") }
        guard bytes.count <= maximumKeyBytes else {
            throw KeyringError.invalidKey(
                key: key, reason: "it is longer than \(maximumKeyBytes) bytes in UTF-8")
        }
        return prefix + base32(bytes) + suffix
    }

    static func isItemFile(_ name: String) -> Bool {
        name.hasPrefix(prefix) && name.hasSuffix(suffix)
    }

    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    static func base32(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bitCount = 0
        for byte in bytes {
            buffer = (buffer << 8 | UInt32(byte)) & 0xFFFF
            bitCount += 8
            while bitCount >= 5 {
                bitCount -= 5
                output.append(alphabet[Int(buffer >> UInt32(bitCount) & 31)])
            }
        }
        if bitCount > 0 {
            output.append(alphabet[Int(buffer << UInt32(5 - bitCount) & 31)])
        }
        return String(decoding: output, as: UTF8.self)
    }
}
