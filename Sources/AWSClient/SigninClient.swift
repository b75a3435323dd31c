import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// The console sign-in hosts of a partition: the federation endpoint that turns temporary
/// credentials into a sign-in token, and the console a login lands on.
public struct SigninEndpoint: Sendable, Equatable {
    /// `https://signin.aws.amazon.com/federation` or the partition's equivalent (or a test's own).
    public var federation: URL
    /// `https://console.aws.amazon.com` without a trailing slash.
    public var console: String
    /// The partition's name: `aws`, `aws-cn`, `aws-us-gov`.
    public var partition: String

    public init(federation: URL, console: String, partition: String) {
        self.federation = federation
        self.console = console
        self.partition = partition
    }

    /// The hosts for `region`'s partition (commercial when nil or unknown). `override` replaces
    /// only the federation endpoint; a URL without a path gets `/federation`.
    public static func resolve(region: String?, override: URL? = nil) -> SigninEndpoint {
        let partition = Partition.of(region ?? "us-east-1").name
        let signin: String
        let console: String
        switch partition {
        case "aws-cn": (signin, console) = ("https://signin.amazonaws.cn", "https://console.amazonaws.cn")
        case "aws-us-gov":
            (signin, console) = (
                "https://signin.amazonaws-us-gov.com", "https://console.amazonaws-us-gov.com"
            )
        default: (signin, console) = ("https://signin.aws.amazon.com", "https://console.aws.amazon.com")
        }
        var federation = URL(string: signin + "/federation") ?? URL(fileURLWithPath: "/")
        if let override {
            federation =
                override.path.isEmpty || override.path == "/"
                ? override.appendingPathComponent("federation") : override
        }
        return SigninEndpoint(federation: federation, console: console, partition: partition)
    }

    /// The console page a login lands on: `path` (default `console/home`) on the regional console
    /// when a region is known (commercial partition), with `region=` in the query.
    public func destination(path: String?, region: String?) -> URL {
        var base = console
        if partition == "aws", let region {
            base = "https://\(region).console.aws.amazon.com"
        }
        var page = (path ?? "").trimmingBlanks()
        while page.hasPrefix("/") { page.removeFirst() }
        if page.isEmpty { page = "console/home" }
        var text = base + "/" + page
        if let region, !page.contains("region=") {
            text += (page.contains("?") ? "&" : "?") + "region=" + AWSPercentEncoding.encode(region)
        }
        return URL(string: text) ?? URL(fileURLWithPath: "/")
    }

    /// The account's own sign-in page, for when no console session can be federated.
    public func accountSigninPage(accountId: String) -> URL {
        let host: String
        switch partition {
        case "aws-cn": host = "\(accountId).signin.amazonaws.cn"
        case "aws-us-gov": host = "\(accountId).signin.amazonaws-us-gov.com"
        default: host = "\(accountId).signin.aws.amazon.com"
        }
        return URL(string: "https://\(host)/console") ?? URL(fileURLWithPath: "/")
    }
}

/// The console federation endpoint (`Action=getSigninToken`, `Action=login`): unsigned GETs,
/// answered with JSON. The session credentials travel in the query, so never log the URL.
public struct SigninClient: Sendable {
    public let endpoint: URL
    private let transport: any HTTPTransport
    private let retry: RetryPolicy
    private let timeout: Duration

    public init(
        endpoint: URL, transport: any HTTPTransport, retry: RetryPolicy = .standard,
        timeout: Duration = .seconds(10)
    ) {
        self.endpoint = endpoint
        self.transport = transport
        self.retry = retry
        self.timeout = timeout
    }

    private struct SessionJSON: Encodable {
        var sessionId: String
        var sessionKey: String
        var sessionToken: String
    }

    private struct TokenAnswer: Decodable {
        var SigninToken: String
    }

    /// `{"sessionId","sessionKey","sessionToken"}` of temporary credentials, as the endpoint reads it.
    public static func sessionJSON(_ credentials: AWSCredentials) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(
            SessionJSON(
                sessionId: credentials.accessKeyId, sessionKey: credentials.secretAccessKey,
                sessionToken: credentials.sessionToken ?? ""))
        return String(decoding: data, as: UTF8.self)
    }

    /// Exchanges temporary credentials for a sign-in token (valid 15 minutes). `sessionDuration`
    /// is sent only when given: AWS rejects it for GetFederationToken credentials.
    public func getSigninToken(credentials: AWSCredentials, sessionDuration: Int?) async throws -> String {
        var query = [("Action", "getSigninToken")]
        if let sessionDuration { query.append(("SessionDuration", String(sessionDuration))) }
        query.append(("Session", try Self.sessionJSON(credentials)))
        let request = HTTPRequest(
            method: "GET", url: JSONProtocolClient.url(endpoint, path: "", query: query),
            headers: ["Accept": "application/json"])
        let call = ServiceCall(
            service: "signin", operation: "GetSigninToken", endpoint: endpoint, transport: transport,
            retry: retry, timeout: timeout)
        let answer: TokenAnswer = try await call.run {
            request
        } interpret: { response, _ -> ServiceCall.Outcome<TokenAnswer> in
            guard (200...299).contains(response.status) else {
                return try call.failure(rejection(response, credentials), status: response.status)
            }
            return .done(
                try decode(TokenAnswer.self, response, service: "signin", operation: "GetSigninToken"))
        }
        return answer.SigninToken
    }

    /// The URL that signs the browser in and lands on `destination` (single use, 15 minutes: a secret).
    public func loginURL(signinToken: String, destination: URL, issuer: String?) -> URL {
        var query = [("Action", "login")]
        if let issuer { query.append(("Issuer", issuer)) }
        query.append(("Destination", destination.absoluteString))
        query.append(("SigninToken", signinToken))
        return JSONProtocolClient.url(endpoint, path: "", query: query)
    }

    /// The endpoint answers errors as short text (or HTML); keep a snippet unless it echoes a secret.
    private func rejection(_ response: HTTPResponse, _ credentials: AWSCredentials) -> AWSClientError {
        var text = String(decoding: response.body.prefix(300), as: UTF8.self)
            .trimmingWhitespace()
        let secrets = [credentials.secretAccessKey, credentials.sessionToken ?? ""].filter { !$0.isEmpty }
        if text.contains("<") || secrets.contains(where: { text.contains($0) }) {
            text = "\(response.body.count) bytes of \(response.headers["content-type"] ?? "unknown content")"
        }
        return .service(
            AWSServiceError(
                service: "signin", operation: "GetSigninToken", httpStatus: response.status,
                code: "SigninTokenRefused", message: text))
    }
}
