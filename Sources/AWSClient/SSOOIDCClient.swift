import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A client registered with IAM Identity Center OIDC (`RegisterClient`); reusable until it expires.
public struct SSOClientRegistration: Sendable, Equatable, Codable, CustomStringConvertible {
    public var clientId: String
    public var clientSecret: String
    public var clientIdIssuedAt: Date?
    public var clientSecretExpiresAt: Date?

    public init(
        clientId: String, clientSecret: String, clientIdIssuedAt: Date? = nil,
        clientSecretExpiresAt: Date? = nil
    ) {
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.clientIdIssuedAt = clientIdIssuedAt
        self.clientSecretExpiresAt = clientSecretExpiresAt
    }

    public var description: String {
        "SSOClientRegistration(\(clientId), secret: \(mask(clientSecret)), expires: "
            + "\(clientSecretExpiresAt.map { "\($0)" } ?? "unknown"))"
    }
}

/// What `StartDeviceAuthorization` returns: the code and page to show the user, and how to poll.
public struct SSODeviceAuthorization: Sendable, Equatable, CustomStringConvertible {
    public var deviceCode: String
    public var userCode: String
    public var verificationUri: String
    public var verificationUriComplete: String?
    /// Seconds the device code stays valid.
    public var expiresIn: Int
    /// Seconds between polls (RFC 8628 says 5 when the server does not say).
    public var interval: Int?

    public init(
        deviceCode: String, userCode: String, verificationUri: String, verificationUriComplete: String? = nil,
        expiresIn: Int, interval: Int? = nil
    ) {
        self.deviceCode = deviceCode
        self.userCode = userCode
        self.verificationUri = verificationUri
        self.verificationUriComplete = verificationUriComplete
        self.expiresIn = expiresIn
        self.interval = interval
    }

    public var description: String {
        "SSODeviceAuthorization(user code \(userCode), \(verificationUriComplete ?? verificationUri), "
            + "device code \(mask(deviceCode)), expires in \(expiresIn) s)"
    }
}

/// The grants latchkey uses with `CreateToken`.
public enum SSOTokenGrant: Sendable, Equatable, CustomStringConvertible {
    /// `urn:ietf:params:oauth:grant-type:device_code`, after the user approved the device code.
    case deviceCode(String)
    /// `refresh_token`: a new access token without asking the user.
    case refreshToken(String)

    public var grantType: String {
        switch self {
        case .deviceCode: "urn:ietf:params:oauth:grant-type:device_code"
        case .refreshToken: "refresh_token"
        }
    }

    public var description: String {
        switch self {
        case .deviceCode(let code): "device_code(\(mask(code)))"
        case .refreshToken(let token): "refresh_token(\(mask(token)))"
        }
    }
}

/// A `CreateToken` answer.
public struct SSOAccessToken: Sendable, Equatable, CustomStringConvertible {
    public var accessToken: String
    public var tokenType: String?
    /// Seconds the access token is valid from now.
    public var expiresIn: Int
    public var refreshToken: String?
    public var idToken: String?

    public init(
        accessToken: String, tokenType: String? = nil, expiresIn: Int, refreshToken: String? = nil,
        idToken: String? = nil
    ) {
        self.accessToken = accessToken
        self.tokenType = tokenType
        self.expiresIn = expiresIn
        self.refreshToken = refreshToken
        self.idToken = idToken
    }

    public var description: String {
        "SSOAccessToken(\(mask(accessToken)), expires in \(expiresIn) s, refresh token: "
            + "\(refreshToken.map(mask) ?? "none"))"
    }
}

/// How the device-authorization flow ended when no token came of it.
public enum SSODeviceAuthorizationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The user refused the request in the browser (`AccessDeniedException`).
    case denied
    /// The device code expired before the user approved it (`ExpiredTokenException` or the deadline).
    case expired(afterSeconds: Int)

    public var description: String {
        switch self {
        case .denied:
            "The IAM Identity Center sign-in was denied in the browser; run the login again and approve the request."
        case .expired(let seconds):
            "The IAM Identity Center sign-in was not approved within \(seconds) seconds; run the login again "
                + "and approve the code in the browser sooner."
        }
    }
}

/// IAM Identity Center OIDC (`sso-oidc`, 2019-06-10): REST-JSON, unsigned.
public struct SSOOIDCClient: Sendable {
    private let client: JSONProtocolClient

    public var endpoint: URL { client.endpoint }

    /// `endpoint` overrides the regional `https://oidc.REGION.amazonaws.com` (and FIPS/dual-stack).
    public init(
        region: String, endpoint: URL? = nil, useFIPS: Bool = false, useDualStack: Bool = false,
        transport: any HTTPTransport, retry: RetryPolicy = .standard, timeout: Duration = .seconds(10)
    ) throws(SSOEndpoint.ResolutionError) {
        let url = try SSOEndpoint.url(
            endpoint, prefix: "oidc", region: region, useFIPS: useFIPS, useDualStack: useDualStack)
        client = JSONProtocolClient(
            service: "sso-oidc", endpoint: url, transport: transport, retry: retry, timeout: timeout)
    }

    private struct RegisterClientBody: Encodable, Sendable {
        var clientName: String
        var clientType: String
        var scopes: [String]?
    }

    private struct RegisterClientAnswer: Decodable {
        var clientId: String
        var clientSecret: String
        var clientIdIssuedAt: Int64?
        var clientSecretExpiresAt: Int64?
    }

    /// Registers a public client (`clientType` "public"); `scopes` such as `sso:account:access`.
    public func registerClient(clientName: String, clientType: String = "public", scopes: [String] = [])
        async throws -> SSOClientRegistration
    {
        let answer = try await client.call(
            "RegisterClient", method: "POST", path: "/client/register",
            body: RegisterClientBody(
                clientName: clientName, clientType: clientType, scopes: scopes.isEmpty ? nil : scopes),
            as: RegisterClientAnswer.self)
        return SSOClientRegistration(
            clientId: answer.clientId, clientSecret: answer.clientSecret,
            clientIdIssuedAt: answer.clientIdIssuedAt.map { Date(timeIntervalSince1970: Double($0)) },
            clientSecretExpiresAt: answer.clientSecretExpiresAt.map {
                Date(timeIntervalSince1970: Double($0))
            })
    }

    private struct StartDeviceAuthorizationBody: Encodable, Sendable {
        var clientId: String
        var clientSecret: String
        var startUrl: String
    }

    private struct StartDeviceAuthorizationAnswer: Decodable {
        var deviceCode: String
        var userCode: String
        var verificationUri: String
        var verificationUriComplete: String?
        var expiresIn: Int
        var interval: Int?
    }

    public func startDeviceAuthorization(clientId: String, clientSecret: String, startUrl: String)
        async throws
        -> SSODeviceAuthorization
    {
        let answer = try await client.call(
            "StartDeviceAuthorization", method: "POST", path: "/device_authorization",
            body: StartDeviceAuthorizationBody(
                clientId: clientId, clientSecret: clientSecret, startUrl: startUrl),
            as: StartDeviceAuthorizationAnswer.self)
        return SSODeviceAuthorization(
            deviceCode: answer.deviceCode, userCode: answer.userCode, verificationUri: answer.verificationUri,
            verificationUriComplete: answer.verificationUriComplete, expiresIn: answer.expiresIn,
            interval: answer.interval)
    }

    private struct CreateTokenBody: Encodable, Sendable {
        var clientId: String
        var clientSecret: String
        var grantType: String
        var deviceCode: String?
        var refreshToken: String?
        var scope: [String]?
    }

    private struct CreateTokenAnswer: Decodable {
        var accessToken: String
        var tokenType: String?
        var expiresIn: Int
        var refreshToken: String?
        var idToken: String?
    }

    /// `CreateToken`. Errors arrive as `AWSClientError.service` with the model's codes:
    /// `AuthorizationPendingException`, `SlowDownException`, `ExpiredTokenException`,
    /// `AccessDeniedException`, `InvalidGrantException` (e.g. a dead refresh token), `InvalidClientException`...
    public func createToken(
        clientId: String, clientSecret: String, grant: SSOTokenGrant, scopes: [String] = []
    )
        async throws -> SSOAccessToken
    {
        var body = CreateTokenBody(
            clientId: clientId, clientSecret: clientSecret, grantType: grant.grantType,
            scope: scopes.isEmpty ? nil : scopes)
        switch grant {
        case .deviceCode(let code): body.deviceCode = code
        case .refreshToken(let token): body.refreshToken = token
        }
        let answer = try await client.call(
            "CreateToken", method: "POST", path: "/token", body: body, as: CreateTokenAnswer.self)
        return SSOAccessToken(
            accessToken: answer.accessToken, tokenType: answer.tokenType, expiresIn: answer.expiresIn,
            refreshToken: answer.refreshToken, idToken: answer.idToken)
    }

    /// Extra wait after each `SlowDownException` (RFC 8628 section 3.5).
    public static let slowDownIncrement = 5

    /// The RFC 8628 polling loop: waits `interval` seconds (5 if unset) before each `CreateToken`,
    /// keeps going while authorization is pending, adds 5 s per slow-down, and stops with
    /// `SSODeviceAuthorizationError` on denial or once `startedAt + expiresIn` has passed.
    public func pollForToken(
        clientId: String, clientSecret: String, authorization: SSODeviceAuthorization, startedAt: Date,
        now: @Sendable () -> Date, sleep: @Sendable (Duration) async throws -> Void
    ) async throws -> SSOAccessToken {
        var interval = max(authorization.interval ?? 5, 1)
        let deadline = startedAt.addingTimeInterval(TimeInterval(authorization.expiresIn))
        let expired = SSODeviceAuthorizationError.expired(afterSeconds: authorization.expiresIn)
        while true {
            guard now().addingTimeInterval(TimeInterval(interval)) < deadline else { throw expired }
            try await sleep(.seconds(interval))
            do {
                return try await createToken(
                    clientId: clientId, clientSecret: clientSecret,
                    grant: .deviceCode(authorization.deviceCode))
            } catch let error as AWSClientError {
                switch error.serviceError?.code {
                case "AuthorizationPendingException": continue
                case "SlowDownException": interval += Self.slowDownIncrement
                case "ExpiredTokenException": throw expired
                case "AccessDeniedException": throw SSODeviceAuthorizationError.denied
                default: throw error
                }
            }
        }
    }
}
