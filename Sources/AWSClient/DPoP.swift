import AWSSigV4
import Crypto
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// The per-login P-256 key that binds a sign-in session's refresh token (RFC 9449 DPoP).
///
/// `description` shows only the public key's thumbprint.
public struct DPoPKey: Sendable, Equatable, CustomStringConvertible {
    /// The private scalar (32 bytes, big-endian): a secret. Kept as bytes because swift-crypto's key
    /// type is not `Sendable` on every platform.
    public let rawRepresentation: Data
    /// The public key as `0x04 || X || Y`.
    public let publicKeyX963: Data

    public init(privateKey: P256.Signing.PrivateKey = P256.Signing.PrivateKey()) {
        rawRepresentation = privateKey.rawRepresentation
        publicKeyX963 = privateKey.publicKey.x963Representation
    }

    /// The swift-crypto key, for signing.
    public func privateKey() throws -> P256.Signing.PrivateKey {
        try P256.Signing.PrivateKey(rawRepresentation: rawRepresentation)
    }

    public struct InvalidKey: Error, CustomStringConvertible, Sendable, Equatable {
        public var reason: String
        public var description: String { "The sign-in session's DPoP key is unusable: \(reason)." }
    }

    /// Reads a PEM P-256 private key: SEC1 `EC PRIVATE KEY` (what the AWS CLI writes) or PKCS#8.
    public init(pem: String) throws(InvalidKey) {
        let text = pem.trimmingWhitespace()
        guard
            text.hasPrefix("-----BEGIN EC PRIVATE KEY-----") || text.hasPrefix("-----BEGIN PRIVATE KEY-----")
        else { throw InvalidKey(reason: "not an `EC PRIVATE KEY` or `PRIVATE KEY` PEM block") }
        do {
            self.init(privateKey: try P256.Signing.PrivateKey(pemRepresentation: text))
        } catch {
            throw InvalidKey(reason: "the PEM block is not a P-256 private key")
        }
    }

    /// The 32-byte big-endian affine coordinates of the public key.
    var coordinates: (x: Data, y: Data) {
        (publicKeyX963.dropFirst().prefix(32), publicKeyX963.suffix(32))
    }

    /// The public JWK members in the order botocore writes them.
    var jwkJSON: String {
        let (x, y) = coordinates
        return #"{"kty":"EC","x":"\#(Base64URL.encode(x))","y":"\#(Base64URL.encode(y))","crv":"P-256"}"#
    }

    /// RFC 7638 thumbprint (SHA-256, base64url): what the service binds the refresh token to.
    public var thumbprint: String {
        let (x, y) = coordinates
        let canonical =
            #"{"crv":"P-256","kty":"EC","x":"\#(Base64URL.encode(x))","y":"\#(Base64URL.encode(y))"}"#
        return Base64URL.encode(Data(SHA256.hash(data: Data(canonical.utf8))))
    }

    /// SEC1 / RFC 5915 `ECPrivateKey` DER with the P-256 OID and the public key, as `aws login` writes it.
    public var sec1DER: Data {
        var der = Data([0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20])
        der += rawRepresentation
        der += Data([0xA0, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07])
        der += Data([0xA1, 0x44, 0x03, 0x42, 0x00])
        der += publicKeyX963
        return der
    }

    /// `-----BEGIN EC PRIVATE KEY-----`, base64 wrapped at 64 columns, trailing newline.
    public var sec1PEM: String {
        let body = sec1DER.base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN EC PRIVATE KEY-----\n\(body)\n-----END EC PRIVATE KEY-----\n"
    }

    public var description: String { "DPoPKey(P-256, thumbprint \(thumbprint))" }
}

/// DPoP proofs (RFC 9449) as AWS Sign-In's token endpoint takes them: ES256 JWS, compact form.
public enum DPoP {
    /// `<header>.<claims>.<signature>`: header `typ` dpop+jwt, `alg` ES256, the public `jwk`; claims
    /// `htm`, `htu` (the URL exactly as requested), `iat` (whole seconds) and a fresh `jti`; no nonce.
    /// The signature is the raw 64-byte `r||s`, not DER.
    public static func proof(
        key: DPoPKey, method: String, url: URL, issuedAt: Date, jti: String = UUID().uuidString.lowercased()
    ) throws -> String {
        let header = #"{"typ":"dpop+jwt","alg":"ES256","jwk":\#(key.jwkJSON)}"#
        let iat = Int64(issuedAt.timeIntervalSince1970.rounded(.down))
        let claims =
            #"{"htm":\#(try jsonString(method)),"htu":\#(try jsonString(url.absoluteString)),"#
            + #""iat":\#(iat),"jti":\#(try jsonString(jti))}"#
        let signingInput = Base64URL.encode(Data(header.utf8)) + "." + Base64URL.encode(Data(claims.utf8))
        let signature = try key.privateKey().signature(for: Data(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(signature.rawRepresentation)
    }

    private static func jsonString(_ text: String) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return String(decoding: try encoder.encode(text), as: UTF8.self)
    }
}
