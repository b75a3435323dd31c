import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// Credentials from the ECS / EKS Pod Identity container endpoint.
public struct ContainerCredentials: Sendable, Equatable {
    public var credentials: AWSCredentials
    public var accountId: String?
    public var roleArn: String?

    public init(credentials: AWSCredentials, accountId: String? = nil, roleArn: String? = nil) {
        self.credentials = credentials
        self.accountId = accountId
        self.roleArn = roleArn
    }
}

public enum ContainerCredentialsError: Error, CustomStringConvertible, Sendable, Equatable {
    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI` does not parse or has no host.
    case invalidURI(String, reason: String)
    /// An `http` FULL_URI whose host is not loopback or a container-agent address.
    case hostNotAllowed(String)
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` cannot be read.
    case tokenFileUnreadable(path: String, reason: String)
    /// The token (from the variable or the file) contains a line break, which would split the header.
    case tokenHasLineBreak(source: String)

    public var description: String {
        switch self {
        case .invalidURI(let uri, let reason):
            "AWS_CONTAINER_CREDENTIALS_FULL_URI '\(uri)' is not usable: \(reason); set a full http(s) URL."
        case .hostNotAllowed(let host):
            "AWS_CONTAINER_CREDENTIALS_FULL_URI uses plain http to '\(host)', which is only allowed for loopback "
                + "addresses, 169.254.170.2, 169.254.170.23 and fd00:ec2::23; use https or one of those hosts."
        case .tokenFileUnreadable(let path, let reason):
            "The container authorization token file \(path) cannot be read (\(reason)); fix "
                + "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE."
        case .tokenHasLineBreak(let source):
            "The container authorization token from \(source) contains a line break; remove it."
        }
    }
}

/// The container credential provider (ECS task roles, EKS Pod Identity): one GET returning JSON.
public struct ContainerCredentialsClient: Sendable {
    public enum Authorization: Sendable, Equatable, CustomStringConvertible {
        /// `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
        case token(String)
        /// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, read on every request (EKS rotates it).
        case tokenFile(String)

        public var description: String {
            switch self {
            case .token(let token): "token \(mask(token))"
            case .tokenFile(let path): "token file \(path)"
            }
        }
    }

    public struct Configuration: Sendable, Equatable {
        public var url: URL
        public var authorization: Authorization?

        public init(url: URL, authorization: Authorization? = nil) {
            self.url = url
            self.authorization = authorization
        }
    }

    /// The ECS agent's address for `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`.
    public static let ecsEndpoint = "http://169.254.170.2"
    static let containerHosts: Set<String> = ["169.254.170.2", "169.254.170.23", "fd00:ec2::23"]

    /// The configuration the SDKs derive from the environment, or nil when neither URI variable is set.
    /// RELATIVE_URI wins over FULL_URI; the token file wins over the token variable.
    public static func configuration(environment: [String: String]) throws(ContainerCredentialsError)
        -> Configuration?
    {
        let authorization: Authorization? =
            nonEmpty(environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]).map { .tokenFile($0) }
            ?? nonEmpty(environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"]).map { .token($0) }
        if let relative = nonEmpty(environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]) {
            let path = relative.hasPrefix("/") ? relative : "/" + relative
            guard let url = URL(string: ecsEndpoint + path) else {
                throw .invalidURI(relative, reason: "the relative URI is not a valid path")
            }
            return Configuration(url: url, authorization: authorization)
        }
        guard let full = nonEmpty(environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"]) else { return nil }
        guard let url = URL(string: full), let scheme = url.scheme?.lowercased() else {
            throw .invalidURI(full, reason: "URI did not specify a host")
        }
        guard let host = url.host, !host.isEmpty else {
            throw .invalidURI(full, reason: "URI did not specify a host")
        }
        switch scheme {
        case "https": break
        case "http": guard isAllowedPlainHost(host) else { throw .hostNotAllowed(host) }
        default: throw .invalidURI(full, reason: "the scheme must be http or https")
        }
        return Configuration(url: url, authorization: authorization)
    }

    /// Loopback (127.0.0.0/8, ::1, `localhost`) or a container-agent address. Names other than
    /// `localhost` are not resolved, so they are refused (use an IP literal).
    static func isAllowedPlainHost(_ rawHost: String) -> Bool {
        var host = rawHost.lowercased()
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" || containerHosts.contains(host)
        {
            return true
        }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ UInt8($0) != nil && $0.count <= 3 }) else {
            return false
        }
        return octets[0] == "127"
    }

    private static func nonEmpty(_ text: String?) -> String? {
        guard let text = text?.trimmingBlanks(), !text.isEmpty else { return nil }
        return text
    }

    public let configuration: Configuration
    private let client: JSONProtocolClient
    private let readFile: @Sendable (String) throws -> Data

    /// `readFile` reads the token file (injected by tests).
    public init(
        configuration: Configuration, transport: any HTTPTransport,
        retry: RetryPolicy = RetryPolicy(
            maxAttempts: 3, baseDelay: .milliseconds(100), maxBackoff: .seconds(1)),
        timeout: Duration = .seconds(2),
        readFile: @escaping @Sendable (String) throws -> Data = {
            try Data(contentsOf: URL(fileURLWithPath: $0))
        }
    ) {
        self.configuration = configuration
        client = JSONProtocolClient(
            service: "container-credentials", endpoint: configuration.url, transport: transport, retry: retry,
            timeout: timeout)
        self.readFile = readFile
    }

    private struct Document: Decodable {
        var AccessKeyId: String
        var SecretAccessKey: String
        var Token: String?
        var Expiration: String?
        var AccountId: String?
        var RoleArn: String?
    }

    public func credentials() async throws -> ContainerCredentials {
        var headers = ["Accept": "application/json"]
        if let token = try authorizationToken() { headers["Authorization"] = token }
        let document = try await client.call(
            "GetCredentials", method: "GET", path: "", headers: headers, as: Document.self)
        var expiration: Date?
        if let text = document.Expiration {
            guard let date = Timestamps.iso8601(text) else {
                throw AWSClientError.invalidResponse(
                    service: "container-credentials", operation: "GetCredentials", httpStatus: 200,
                    reason: "the field Expiration is not an RFC 3339 timestamp")
            }
            expiration = date
        }
        return ContainerCredentials(
            credentials: AWSCredentials(
                accessKeyId: document.AccessKeyId, secretAccessKey: document.SecretAccessKey,
                sessionToken: document.Token, expiration: expiration),
            accountId: document.AccountId, roleArn: document.RoleArn)
    }

    private func authorizationToken() throws(ContainerCredentialsError) -> String? {
        let token: String
        let source: String
        switch configuration.authorization {
        case nil:
            return nil
        case .token(let value):
            (token, source) = (value, "AWS_CONTAINER_AUTHORIZATION_TOKEN")
        case .tokenFile(let path):
            do {
                let data = try readFile(path)
                // A trailing newline from `echo` or an editor is not part of the token.
                token = String(decoding: data, as: UTF8.self).trimmingWhitespace()
            } catch {
                let reason =
                    FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
                throw .tokenFileUnreadable(path: path, reason: reason)
            }
            source = path
        }
        guard !token.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) else {
            throw .tokenHasLineBreak(source: source)
        }
        return token
    }
}
