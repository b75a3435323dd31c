import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// Role credentials from the EC2 instance metadata service.
public struct IMDSCredentials: Sendable, Equatable {
    public var credentials: AWSCredentials
    /// The instance profile's role name.
    public var roleName: String
    public var lastUpdated: Date?
    /// Present when the service sends it (the newer `security-credentials-extended` documents).
    public var accountId: String?

    public init(
        credentials: AWSCredentials, roleName: String, lastUpdated: Date? = nil, accountId: String? = nil
    ) {
        self.credentials = credentials
        self.roleName = roleName
        self.lastUpdated = lastUpdated
        self.accountId = accountId
    }
}

public enum IMDSError: Error, CustomStringConvertible, Sendable, Equatable {
    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT` / `ec2_metadata_service_endpoint` is not an http(s) URL.
    case invalidEndpoint(String)
    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE` / `ec2_metadata_service_endpoint_mode` is not IPv4 or IPv6.
    case invalidEndpointMode(String)
    /// The token request was refused (403): IMDS is turned off for the instance or the hop limit is too low.
    case tokenForbidden(endpoint: String)
    /// The instance has no instance profile (404 on the role list, or an empty list).
    case noInstanceRole
    /// The role disappeared between the two requests (404 on the credentials document).
    case roleNotFound(String)
    /// The credentials document's `Code` is not `Success`.
    case unsuccessful(code: String, roleName: String)
    /// The service no longer accepts the session token (401).
    case tokenRejected

    public var description: String {
        switch self {
        case .invalidEndpoint(let value):
            "The instance metadata endpoint '\(value)' is not an http(s) URL; fix AWS_EC2_METADATA_SERVICE_ENDPOINT "
                + "or ec2_metadata_service_endpoint."
        case .invalidEndpointMode(let value):
            "`\(value)` is not a valid endpoint mode; set AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE or "
                + "ec2_metadata_service_endpoint_mode to IPv4 or IPv6."
        case .tokenForbidden(let endpoint):
            "The instance metadata service at \(endpoint) refused a session token (request forbidden: IMDS is "
                + "disabled or the hop limit is too low); enable IMDSv2 on the instance or use another credential_source."
        case .noInstanceRole:
            "This EC2 instance has no IAM role (no instance profile); attach one or use another credential_source."
        case .roleNotFound(let role):
            "The instance metadata service has no credentials for the role \(role); check the instance profile."
        case .unsuccessful(let code, let role):
            "The instance metadata service answered \(code) for the role \(role); check the instance profile."
        case .tokenRejected:
            "The instance metadata service rejected its own session token (HTTP 401); check the instance's clock "
                + "and IMDS settings."
        }
    }
}

/// The EC2 instance metadata service, IMDSv2 only: a session token (PUT), then the role name, then
/// its credentials. latchkey does not fall back to IMDSv1, like the newest SDKs.
public struct IMDSClient: Sendable {
    public enum EndpointMode: String, Sendable, CaseIterable {
        case ipv4 = "IPv4"
        case ipv6 = "IPv6"

        /// Case-insensitive, as the SDKs read it.
        public init?(configValue: String) {
            guard
                let mode = Self.allCases.first(where: { $0.rawValue.lowercased() == configValue.lowercased() }
                )
            else { return nil }
            self = mode
        }

        public var endpoint: URL {
            switch self {
            case .ipv4: URL(string: "http://169.254.169.254") ?? URL(fileURLWithPath: "/")
            case .ipv6: URL(string: "http://[fd00:ec2::254]") ?? URL(fileURLWithPath: "/")
            }
        }
    }

    /// `AWS_EC2_METADATA_DISABLED=true` (any case) turns the provider off.
    public static func isDisabled(environment: [String: String]) -> Bool {
        environment["AWS_EC2_METADATA_DISABLED"]?.trimmingBlanks().lowercased() == "true"
    }

    /// The service endpoint: an explicit endpoint, else `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else the
    /// profile's `ec2_metadata_service_endpoint`, else the address of the mode (explicit, environment
    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE`, profile `ec2_metadata_service_endpoint_mode`, IPv4).
    public static func resolveEndpoint(
        environment: [String: String], profileEndpoint: String? = nil, profileMode: String? = nil,
        endpointOverride: URL? = nil, modeOverride: EndpointMode? = nil
    ) throws(IMDSError) -> URL {
        if let endpointOverride { return endpointOverride }
        if let text = nonEmpty(environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"]) ?? nonEmpty(profileEndpoint)
        {
            guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
                url.host?.isEmpty == false, !text.contains(where: \.isWhitespace)
            else { throw .invalidEndpoint(text) }
            return url
        }
        if let modeOverride { return modeOverride.endpoint }
        if let text = nonEmpty(environment["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"]) ?? nonEmpty(profileMode)
        {
            guard let mode = EndpointMode(configValue: text) else { throw .invalidEndpointMode(text) }
            return mode.endpoint
        }
        return EndpointMode.ipv4.endpoint
    }

    private static func nonEmpty(_ text: String?) -> String? {
        guard let text = text?.trimmingBlanks(), !text.isEmpty else { return nil }
        return text
    }

    /// The SDKs' IMDS defaults: 1 s per attempt, a few quick retries.
    public static var defaultRetry: RetryPolicy {
        RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(100), maxBackoff: .seconds(1))
    }

    public static let tokenPath = "/latest/api/token"
    public static let credentialsPath = "/latest/meta-data/iam/security-credentials/"

    public let endpoint: URL
    private let transport: any HTTPTransport
    private let retry: RetryPolicy
    private let timeout: Duration
    private let tokenTTL: Int

    /// `tokenTTL` is what the token PUT asks for (1...21600 seconds; the SDKs ask for 21600).
    public init(
        endpoint: URL, transport: any HTTPTransport, retry: RetryPolicy = IMDSClient.defaultRetry,
        timeout: Duration = .seconds(1), tokenTTL: Int = 21600
    ) {
        self.endpoint = endpoint
        self.transport = transport
        self.retry = retry
        self.timeout = timeout
        self.tokenTTL = min(max(tokenTTL, 1), 21600)
    }

    /// Token, role name, credentials; a token the service no longer accepts (401) is fetched again once.
    public func credentials() async throws -> IMDSCredentials {
        var token = try await fetchToken()
        var refreshed = false
        while true {
            do {
                let role = try await roleName(token: token)
                return try await credentials(roleName: role, token: token)
            } catch IMDSError.tokenRejected where !refreshed {
                refreshed = true
                token = try await fetchToken()
            }
        }
    }

    /// `PUT /latest/api/token`.
    public func fetchToken() async throws -> String {
        let request = HTTPRequest(
            method: "PUT", url: url(Self.tokenPath),
            headers: ["x-aws-ec2-metadata-token-ttl-seconds": String(tokenTTL)])
        let text = try await send("GetToken", request) { status in
            status == 403 ? IMDSError.tokenForbidden(endpoint: endpointDescription) : nil
        }
        let token = text.trimmingWhitespace()
        guard !token.isEmpty else {
            throw AWSClientError.invalidResponse(
                service: "imds", operation: "GetToken", httpStatus: 200, reason: "the token is empty")
        }
        return token
    }

    /// The instance profile's role name (the first line of the listing).
    public func roleName(token: String) async throws -> String {
        let request = HTTPRequest(
            method: "GET", url: url(Self.credentialsPath), headers: ["x-aws-ec2-metadata-token": token])
        let text = try await send("GetRoleName", request) { status in
            status == 404 ? IMDSError.noInstanceRole : nil
        }
        guard let role = text.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else {
            throw IMDSError.noInstanceRole
        }
        return role.trimmingBlanks()
    }

    private struct Document: Decodable {
        var Code: String?
        var AccessKeyId: String?
        var SecretAccessKey: String?
        var Token: String?
        var Expiration: String?
        var LastUpdated: String?
        var AccountId: String?
    }

    /// `GET /latest/meta-data/iam/security-credentials/ROLE`.
    public func credentials(roleName: String, token: String) async throws -> IMDSCredentials {
        let operation = "GetCredentials"
        let request = HTTPRequest(
            method: "GET", url: url(Self.credentialsPath + AWSPercentEncoding.encode(roleName)),
            headers: ["x-aws-ec2-metadata-token": token])
        let text = try await send(operation, request) { status in
            status == 404 ? IMDSError.roleNotFound(roleName) : nil
        }
        let document = try decode(
            Document.self, HTTPResponse(status: 200, body: Data(text.utf8)), service: "imds",
            operation: operation)
        if let code = document.Code, code != "Success" {
            throw IMDSError.unsuccessful(code: code, roleName: roleName)
        }
        func invalid(_ field: String) -> AWSClientError {
            .invalidResponse(
                service: "imds", operation: operation, httpStatus: 200,
                reason: "the field \(field) is missing or malformed")
        }
        guard let accessKeyId = document.AccessKeyId, !accessKeyId.isEmpty else {
            throw invalid("AccessKeyId")
        }
        guard let secret = document.SecretAccessKey, !secret.isEmpty else { throw invalid("SecretAccessKey") }
        guard let sessionToken = document.Token, !sessionToken.isEmpty else { throw invalid("Token") }
        guard let expiration = document.Expiration.flatMap(Timestamps.iso8601) else {
            throw invalid("Expiration")
        }
        return IMDSCredentials(
            credentials: AWSCredentials(
                accessKeyId: accessKeyId, secretAccessKey: secret, sessionToken: sessionToken,
                expiration: expiration),
            roleName: roleName, lastUpdated: document.LastUpdated.flatMap(Timestamps.iso8601),
            accountId: document.AccountId)
    }

    /// Sends with retries on 5xx and transport failures; `specific` maps a status to an IMDS error.
    private func send(_ operation: String, _ request: HTTPRequest, specific: (Int) -> IMDSError?) async throws
        -> String
    {
        let call = ServiceCall(
            service: "imds", operation: operation, endpoint: endpoint, transport: transport, retry: retry,
            timeout: timeout)
        return try await call.run {
            request
        } interpret: { response, _ in
            if (200...299).contains(response.status) {
                return .done(String(decoding: response.body, as: UTF8.self))
            }
            if let error = specific(response.status) { throw error }
            if response.status == 401 && operation != "GetToken" { throw IMDSError.tokenRejected }
            return try call.failure(
                .invalidResponse(
                    service: "imds", operation: operation, httpStatus: response.status,
                    reason: "the instance metadata service answered HTTP \(response.status)"),
                status: response.status)
        }
    }

    private func url(_ path: String) -> URL {
        JSONProtocolClient.url(endpoint, path: path, query: [])
    }

    private var endpointDescription: String {
        endpoint.host.map { host in endpoint.port.map { "\(host):\($0)" } ?? host } ?? endpoint.absoluteString
    }
}
