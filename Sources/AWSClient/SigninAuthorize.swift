import AWSSigV4
import Crypto
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The AWS Sign-In base URI (`scheme://host[:port]`) that serves both the browser's authorize page
/// and the token endpoint, per the `signin` 2023-01-01 endpoint rule set.
public enum SigninOAuthEndpoint {
    public enum ResolutionError: Error, CustomStringConvertible, Sendable, Equatable {
        case missingRegion
        case invalidRegion(String)
        case fipsWithCustomEndpoint
        case dualStackWithCustomEndpoint
        case invalidCustomEndpoint(String)
        /// `feature` is "FIPS", "dual-stack" or "FIPS dual-stack".
        case unsupported(feature: String, partition: String)

        public var description: String {
            switch self {
            case .missingRegion:
                "No region is set for AWS Sign-In; set `region` in the profile or AWS_REGION."
            case .invalidRegion(let region):
                "The region '\(region)' is not a valid AWS region name; fix `region` in the profile or AWS_REGION."
            case .fipsWithCustomEndpoint:
                "FIPS cannot be combined with a custom Sign-In endpoint; unset one of use_fips_endpoint and "
                    + "AWS_ENDPOINT_URL_SIGNIN/endpoint_url."
            case .dualStackWithCustomEndpoint:
                "Dual-stack cannot be combined with a custom Sign-In endpoint; unset one of use_dualstack_endpoint "
                    + "and AWS_ENDPOINT_URL_SIGNIN/endpoint_url."
            case .invalidCustomEndpoint(let text):
                "The Sign-In endpoint '\(text)' is not an http(s) URL with a host; fix AWS_ENDPOINT_URL_SIGNIN or endpoint_url."
            case .unsupported(let feature, let partition):
                "The \(partition) partition has no \(feature) Sign-In endpoint; turn off use_fips_endpoint/"
                    + "use_dualstack_endpoint or set an endpoint URL."
            }
        }
    }

    /// The base URI. A configured endpoint (`AWS_ENDPOINT_URL_SIGNIN`, `endpoint_url`) wins and keeps
    /// only its scheme, host and port, as the AWS CLI does; FIPS or dual-stack with it is an error.
    public static func baseURI(
        region: String?, useFIPS: Bool = false, useDualStack: Bool = false, customEndpoint: URL? = nil
    ) throws(ResolutionError) -> URL {
        if let customEndpoint {
            if useFIPS { throw .fipsWithCustomEndpoint }
            if useDualStack { throw .dualStackWithCustomEndpoint }
            guard let scheme = customEndpoint.scheme?.lowercased(), scheme == "http" || scheme == "https",
                let host = customEndpoint.host, !host.isEmpty
            else { throw .invalidCustomEndpoint(customEndpoint.absoluteString) }
            let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
            let port = customEndpoint.port.map { ":\($0)" } ?? ""
            guard let url = URL(string: "\(scheme)://\(hostPart)\(port)") else {
                throw .invalidCustomEndpoint(customEndpoint.absoluteString)
            }
            return url
        }
        guard let region, !region.isEmpty else { throw .missingRegion }
        guard region.allSatisfy({ $0 == "-" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }) else {
            throw .invalidRegion(region)
        }
        let partition = Partition.of(region)
        let host: String
        switch (useFIPS, useDualStack) {
        case (false, false):
            switch partition.name {
            case "aws": host = "\(region).signin.aws.amazon.com"
            case "aws-cn": host = "\(region).signin.amazonaws.cn"
            case "aws-us-gov": host = "\(region).signin.amazonaws-us-gov.com"
            default: host = "signin.\(region).\(partition.dnsSuffix)"
            }
        case (true, true):
            guard partition.supportsFIPS && partition.supportsDualStack else {
                throw .unsupported(feature: "FIPS dual-stack", partition: partition.name)
            }
            host = "signin-fips.\(region).\(partition.dualStackDNSSuffix)"
        case (true, false):
            guard partition.supportsFIPS else {
                throw .unsupported(feature: "FIPS", partition: partition.name)
            }
            host = "signin-fips.\(region).\(partition.dnsSuffix)"
        case (false, true):
            guard partition.supportsDualStack else {
                throw .unsupported(feature: "dual-stack", partition: partition.name)
            }
            host = "signin.\(region).\(partition.dualStackDNSSuffix)"
        }
        guard let url = URL(string: "https://\(host)") else { throw .invalidRegion(region) }
        return url
    }

    /// `base` + `path` (the base never has a path of its own).
    static func url(_ base: URL, _ path: String) -> URL {
        var text = base.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        return URL(string: text + path) ?? base
    }
}

/// The two public OAuth clients of AWS Sign-In for developer tools.
public enum SigninOAuthClientKind: String, Sendable, Equatable, CaseIterable, Codable {
    /// The browser runs on this machine and comes back to a loopback listener.
    case sameDevice = "arn:aws:signin:::devtools/same-device"
    /// `--remote`: the browser is elsewhere; the user pastes the code the confirmation page shows.
    case crossDevice = "arn:aws:signin:::devtools/cross-device"

    public var clientId: String { rawValue }
}

/// PKCE (RFC 7636) as AWS Sign-In uses it: S256 math, announced as `SHA-256`.
public struct PKCE: Sendable, Equatable, CustomStringConvertible {
    /// The `code_challenge_method` AWS Sign-In expects: the literal `SHA-256`, not RFC 7636's `S256`.
    public static let method = "SHA-256"
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    public struct InvalidVerifier: Error, CustomStringConvertible, Sendable, Equatable {
        public var description: String {
            "A PKCE code verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~."
        }
    }

    public let verifier: String

    public init(verifier: String) throws(InvalidVerifier) {
        guard (43...128).contains(verifier.count), verifier.allSatisfy(Self.alphabet.contains) else {
            throw InvalidVerifier()
        }
        self.verifier = verifier
    }

    /// A fresh verifier: 64 characters drawn uniformly from the unreserved set (as the AWS CLI does).
    public static func generate() -> PKCE {
        var generator = SystemRandomNumberGenerator()
        let verifier = String(
            (0..<64).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
        // The alphabet and length are valid by construction.
        return PKCE(unchecked: verifier)
    }

    private init(unchecked verifier: String) { self.verifier = verifier }

    /// base64url(SHA-256(ASCII verifier)) without padding: 43 characters.
    public var challenge: String { Base64URL.encode(Data(SHA256.hash(data: Data(verifier.utf8)))) }

    public var description: String { "PKCE(verifier: \(mask(verifier)), challenge: \(challenge))" }
}

/// One authorization request: the client, its `state`, its PKCE pair and its `redirect_uri`.
public struct SigninAuthorization: Sendable, Equatable, CustomStringConvertible {
    public var client: SigninOAuthClientKind
    public var baseURI: URL
    public var state: String
    public var pkce: PKCE
    public var redirectURI: String

    /// Same-device: the browser is sent back to `http://127.0.0.1:PORT/oauth/callback`.
    public static func sameDevice(
        baseURI: URL, callbackPort: Int, state: String = UUID().uuidString.lowercased(),
        pkce: PKCE = .generate()
    ) -> SigninAuthorization {
        SigninAuthorization(
            client: .sameDevice, baseURI: baseURI, state: state, pkce: pkce,
            redirectURI: "http://127.0.0.1:\(callbackPort)/oauth/callback")
    }

    /// Cross-device (`--remote`): the browser lands on the service's own confirmation page.
    public static func crossDevice(
        baseURI: URL, state: String = UUID().uuidString.lowercased(), pkce: PKCE = .generate()
    ) -> SigninAuthorization {
        SigninAuthorization(
            client: .crossDevice, baseURI: baseURI, state: state, pkce: pkce,
            redirectURI: SigninOAuthEndpoint.url(baseURI, "/v1/sessions/confirmation").absoluteString)
    }

    public init(client: SigninOAuthClientKind, baseURI: URL, state: String, pkce: PKCE, redirectURI: String) {
        self.client = client
        self.baseURI = baseURI
        self.state = state
        self.pkce = pkce
        self.redirectURI = redirectURI
    }

    /// `GET {base}/v1/authorize?...` with the parameters in the AWS CLI's order.
    public var url: URL {
        let query: [(String, String)] = [
            ("response_type", "code"), ("client_id", client.clientId), ("state", state),
            ("code_challenge_method", PKCE.method), ("scope", "openid"), ("redirect_uri", redirectURI),
        ]
        let encoded = query.map { "\($0.0)=\(AWSPercentEncoding.encode($0.1))" }.joined(separator: "&")
        let text = SigninOAuthEndpoint.url(baseURI, "/v1/authorize").absoluteString
        return URL(string: "\(text)?\(encoded)&code_challenge=\(pkce.challenge)") ?? baseURI
    }

    /// What the loopback listener makes of one callback request's query.
    public enum Callback: Sendable, Equatable {
        case code(String)
        /// The service (or the user) refused: `error` and its description, if any.
        case error(String, description: String?)
        /// Neither an error nor both `code` and `state`: keep waiting (browsers also fetch /favicon.ico).
        case ignore
    }

    /// Interprets `?code=..&state=..` or `?error=..`; a `state` that is not ours is an error.
    public func callback(query: [URLQueryItem]) throws(SigninAuthorizationError) -> Callback {
        func value(_ name: String) -> String? { query.first { $0.name == name }?.value }
        if let error = value("error") { return .error(error, description: value("error_description")) }
        guard let code = value("code"), let state = value("state"), !code.isEmpty else { return .ignore }
        guard state == self.state else { throw .stateMismatch }
        return .code(code)
    }

    /// Decodes what the confirmation page shows for `--remote`: base64 of `state=S&code=C`.
    public func pastedCode(_ text: String) throws(SigninAuthorizationError) -> String {
        guard let data = Base64URL.decode(text.filter { !$0.isWhitespace }),
            let decoded = String(data: data, encoding: .utf8),
            let items = URLComponents(string: "?" + decoded)?.queryItems
        else { throw .malformedPastedCode }
        guard let code = items.first(where: { $0.name == "code" })?.value, !code.isEmpty,
            let state = items.first(where: { $0.name == "state" })?.value
        else { throw .malformedPastedCode }
        guard state == self.state else { throw .pastedCodeOfAnotherSignIn }
        return code
    }

    public var description: String {
        "SigninAuthorization(\(client.clientId), state \(state), redirect \(redirectURI), \(pkce))"
    }
}

public enum SigninAuthorizationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The callback's `state` is not the one this login sent: a stale tab or a forged redirect.
    case stateMismatch
    /// The pasted code's `state` is not this sign-in's: a code from an earlier URL, or someone else's.
    case pastedCodeOfAnotherSignIn
    case malformedPastedCode
    /// The browser came back with `?error=`.
    case denied(error: String, description: String?)
    /// No callback arrived in time.
    case timedOut(seconds: Int)

    public var description: String {
        switch self {
        case .stateMismatch:
            "The sign-in answer belongs to a different login request (state mismatch); start the sign-in again "
                + "and finish it in the browser tab it opens."
        case .pastedCodeOfAnotherSignIn:
            "That code belongs to a different sign-in (state mismatch); open the URL latchkey printed this time "
                + "and paste the code its page shows."
        case .malformedPastedCode:
            "That is not the authorization code the AWS sign-in page shows; copy the whole code and paste it again."
        case .denied(let code, let description):  // `code`: the OAuth `error` parameter, not a Swift error
            "The browser sign-in was refused (\(code)\(description.map { ": \($0)" } ?? "")); sign in again."
        case .timedOut(let seconds):
            "No answer came from the browser within \(seconds) seconds; start the sign-in again."
        }
    }
}

/// base64url without padding (RFC 4648 section 5), as JOSE and PKCE use it.
enum Base64URL {
    static func encode(_ data: Data) -> String {
        String(
            data.base64EncodedString().compactMap { character -> Character? in
                switch character {
                case "+": "-"
                case "/": "_"
                case "=": nil
                default: character
                }
            })
    }

    static func decode(_ text: String) -> Data? {
        var standard = String(text.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        while standard.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard)
    }
}
