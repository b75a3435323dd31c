// Reading an existing aws-vault store so `latchkey import aws-vault` can take its long-lived keys.
//
// aws-vault (through 99designs/keyring) stores one item per name: the profile name for a key pair,
// `<type>,<base64 profile>,<base64 mfa>,<expiry>` (and older `session...` forms) for sessions,
// `oidc:<url>` for SSO tokens. An item is the JSON of {"Key", "Data" (base64), "Label", ...} and a
// key pair's Data is the JSON {"AccessKeyID", "SecretAccessKey", ...}. Its file backend keeps each
// item as a JWE compact token (PBES2-HS256+A128KW key wrapping, A256GCM content encryption) in a
// file of `~/.awsvault/keys/`; its pass backend as an entry; its Secret Service backend in the
// collection `awsvault`.

import Crypto
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport
import CryptoExtras

/// A long-lived key pair found in aws-vault's store.
public struct AWSVaultCredential: Sendable, Equatable, CustomStringConvertible {
    public var profile: String
    public var accessKeyId: String
    public var secretAccessKey: String

    public init(profile: String, accessKeyId: String, secretAccessKey: String) {
        self.profile = profile
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
    }

    public var description: String { "AWSVaultCredential(profile: \(profile), accessKeyId: \(accessKeyId))" }
}

public enum AWSVaultImportError: Error, Equatable, CustomStringConvertible {
    case notJWE(file: String)
    case unsupportedAlgorithm(file: String, algorithm: String)
    case wrongPassphrase(file: String)
    case folderMissing(path: String)

    public var description: String {
        switch self {
        case .notJWE(let file):
            return "The aws-vault file \(file) is not a JWE token; check that it is aws-vault's file backend."
        case .unsupportedAlgorithm(let file, let algorithm):
            return "The aws-vault file \(file) uses \(algorithm), which latchkey cannot read; "
                + "export the key with aws-vault and add it with `latchkey add`."
        case .wrongPassphrase(let file):
            return "The passphrase does not decrypt the aws-vault file \(file); "
                + "set AWS_VAULT_FILE_PASSPHRASE to aws-vault's file passphrase and try again."
        case .folderMissing(let path):
            return "There is no aws-vault file store at \(path); set AWS_VAULT_FILE_DIR or pass --dir."
        }
    }
}

public enum AWSVault {
    /// Names of items that are not long-lived keys: sessions (current and older forms) and SSO tokens.
    public static func isSessionOrTokenName(_ name: String) -> Bool {
        if name.hasPrefix("oidc:") || name.hasPrefix("session,") || name.hasPrefix("session:") { return true }
        if name.hasSuffix(")"), name.contains(" session (") { return true }
        // `<type>,<profile>,<mfa>,<unix expiry>`, e.g. `sts.GetSessionToken,ZG91Zw,,1700000000`.
        let fields = name.split(separator: ",", omittingEmptySubsequences: false)
        return fields.count == 4 && !fields[0].isEmpty && !fields[1].isEmpty && !fields[3].isEmpty
            && fields[3].allSatisfy(\.isNumber)
    }

    /// The key pair in an aws-vault item's JSON; nil for items that hold no long-lived key.
    public static func credential(itemJSON: Data, fallbackName: String) -> AWSVaultCredential? {
        struct Item: Decodable {
            var Key: String?
            var Data: Data?
        }
        struct Value: Decodable {
            var AccessKeyID: String
            var SecretAccessKey: String
            var SessionToken: String?
        }
        guard let item = try? JSONDecoder().decode(Item.self, from: itemJSON), let data = item.Data,
            let value = try? JSONDecoder().decode(Value.self, from: data)
        else { return nil }
        let name = item.Key ?? fallbackName
        guard !isSessionOrTokenName(name), (value.SessionToken ?? "").isEmpty, !value.AccessKeyID.isEmpty
        else {
            return nil
        }
        return AWSVaultCredential(
            profile: name, accessKeyId: value.AccessKeyID, secretAccessKey: value.SecretAccessKey)
    }

    /// Every long-lived key in aws-vault's file backend folder; `skipped` gets the name of every
    /// other item (sessions, SSO tokens).
    public static func fileStoreCredentials(
        directory: String, passphrase: String, skipped: (String) -> Void = { _ in }
    ) throws -> [AWSVaultCredential] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw AWSVaultImportError.folderMissing(path: directory)
        }
        var found: [AWSVaultCredential] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            guard !isSessionOrTokenName(name) else {
                skipped(name)
                continue
            }
            let path = directory + "/" + name
            guard let token = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            let payload = try JWE.decrypt(token, passphrase: passphrase, file: path)
            if let credential = credential(itemJSON: payload, fallbackName: name) {
                found.append(credential)
            } else {
                skipped(name)
            }
        }
        return found
    }
}

/// JWE compact tokens with PBES2-HS256+A128KW and A256GCM (RFC 7516, RFC 7518 4.8 and 5.3).
public enum JWE {
    public static func decrypt(_ token: String, passphrase: String, file: String = "token") throws -> Data {
        let parts = token.trimmingWhitespace().split(
            separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 5, let headerData = Data(base64URL: String(parts[0])),
            let wrappedKey = Data(base64URL: String(parts[1])), let iv = Data(base64URL: String(parts[2])),
            let ciphertext = Data(base64URL: String(parts[3])), let tag = Data(base64URL: String(parts[4])),
            let header = JSONValue(parsing: headerData), header.object != nil
        else { throw AWSVaultImportError.notJWE(file: file) }
        let algorithm = header["alg"]?.string ?? "?"
        let encryption = header["enc"]?.string ?? "?"
        guard algorithm == "PBES2-HS256+A128KW", encryption == "A256GCM" else {
            throw AWSVaultImportError.unsupportedAlgorithm(
                file: file, algorithm: "\(algorithm) / \(encryption)")
        }
        guard let count = header["p2c"]?.int, count > 0, count <= 10_000_000,
            let saltInput = header["p2s"]?.string.flatMap({ Data(base64URL: $0) })
        else { throw AWSVaultImportError.notJWE(file: file) }
        // The PBKDF2 salt is the algorithm name, a zero byte, then p2s (RFC 7518 4.8.1.1).
        let salt = Data(algorithm.utf8) + [0] + saltInput
        let kek = try KDF.Insecure.PBKDF2.deriveKey(
            from: Data(passphrase.utf8), salt: salt, using: .sha256, outputByteCount: 16,
            unsafeUncheckedRounds: count)
        guard let cek = try? aesKeyUnwrap(wrappedKey, kek: kek), cek.count == 32,
            let nonce = try? AES.GCM.Nonce(data: iv),
            let box = try? AES.GCM.SealedBox(nonce: nonce, ciphertext: ciphertext, tag: tag),
            let plaintext = try? AES.GCM.open(
                box, using: SymmetricKey(data: cek), authenticating: Data(parts[0].utf8))
        else { throw AWSVaultImportError.wrongPassphrase(file: file) }
        return plaintext
    }

    struct IntegrityCheckFailed: Error {}

    /// AES key unwrap (RFC 3394 section 2.2.2), built on single-block AES decryption.
    static func aesKeyUnwrap(_ wrapped: Data, kek: SymmetricKey) throws -> Data {
        let bytes = [UInt8](wrapped)
        guard bytes.count >= 24, bytes.count % 8 == 0 else { throw IntegrityCheckFailed() }
        let n = bytes.count / 8 - 1
        var a = Array(bytes[0..<8])
        var r = (1...n).map { Array(bytes[($0 * 8)..<($0 * 8 + 8)]) }
        let zeroIV = try AES._CBC.IV(ivBytes: [UInt8](repeating: 0, count: 16))
        for j in stride(from: 5, through: 0, by: -1) {
            for i in stride(from: n, through: 1, by: -1) {
                let t = UInt64(n * j + i)
                for index in 0..<8 { a[index] ^= UInt8(truncatingIfNeeded: t >> (8 * (7 - index))) }
                // CBC with a zero IV over one block is the raw AES block decryption.
                let block = try AES._CBC.decrypt(a + r[i - 1], using: kek, iv: zeroIV, noPadding: true)
                a = Array(block.prefix(8))
                r[i - 1] = Array(block.suffix(8))
            }
        }
        guard a == [UInt8](repeating: 0xA6, count: 8) else { throw IntegrityCheckFailed() }
        return Data(r.joined())
    }
}

extension JWE {
    /// The RFC 3394 unwrap, for its test vector.
    public static func unwrapForTests(_ wrapped: Data, kek: Data) throws -> Data {
        try aesKeyUnwrap(wrapped, kek: SymmetricKey(data: kek))
    }
}

extension AWSVault {
    /// Every long-lived key among aws-vault's pass entries (`<prefix>/<profile>`); runs `pass show`
    /// only for entries whose names are not sessions or tokens; `skipped` gets every other name.
    public static func passCredentials(
        passCommand: String = "pass", storeDirectory: String, prefix: String,
        environment: [String: String], skipped: (String) -> Void = { _ in }
    ) throws -> [AWSVaultCredential] {
        let trimmed = prefix.trimming("/")
        let root = trimmed.isEmpty ? storeDirectory : storeDirectory + "/" + trimmed
        guard let executable = findExecutable(passCommand, environment: environment) else {
            throw BackendError.unavailable(backend: "pass", reason: "`\(passCommand)` is not installed")
        }
        guard let entries = folderEntries(under: root) else {
            throw AWSVaultImportError.folderMissing(path: root)
        }
        var childEnvironment = environment
        childEnvironment["PASSWORD_STORE_DIR"] = storeDirectory
        var found: [AWSVaultCredential] = []
        for relative in entries {
            guard relative.hasSuffix(".gpg") else { continue }
            let name = String(relative.dropLast(4))
            guard !isSessionOrTokenName(name) else {
                skipped(name)
                continue
            }
            let entry = trimmed.isEmpty ? name : trimmed + "/" + name
            let output = try runHelper(executable, ["show", entry], environment: childEnvironment)
            guard output.status == 0 else {
                throw BackendError.commandFailed(
                    backend: "pass", command: "pass show", status: output.status,
                    message: oneLine(output.stderrText))
            }
            if let credential = credential(itemJSON: output.stdout, fallbackName: name) {
                found.append(credential)
            } else {
                skipped(name)
            }
        }
        return found.sorted { $0.profile < $1.profile }
    }

    /// Every long-lived key in aws-vault's Secret Service collection (`awsvault` by default);
    /// `skipped` gets the label of every other item.
    public static func secretServiceCredentials(
        collection: String = "awsvault", skipped: (String) -> Void = { _ in }
    ) async throws -> [AWSVaultCredential] {
        let keyring = SecretServiceKeyring(collection: collection)
        var found: [AWSVaultCredential] = []
        for item in try await keyring.allItems() {
            let name = item.attributes["profile"] ?? item.label
            if let credential = item.secret.flatMap({ credential(itemJSON: $0, fallbackName: name) }) {
                found.append(credential)
            } else {
                skipped(name)
            }
        }
        return found.sorted { $0.profile < $1.profile }
    }
}
