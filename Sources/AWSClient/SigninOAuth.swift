import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// A `CreateOAuth2Token` answer: 15-minute credentials and the refresh token that replaces the old one.
public struct SigninOAuthToken: Sendable, Equatable, CustomStringConvertible {
    /// Temporary credentials; `expiration` is the local clock at receipt plus `expiresIn`.
    public var credentials: AWSCredentials
    public var expiresIn: Int
    public var refreshToken: String
    /// Only from the authorization-code exchange: a JWT whose `sub` is the signed-in identity.
    public var idToken: String?
    public var tokenType: String?

    public init(
        credentials: AWSCredentials, expiresIn: Int, refreshToken: String, idToken: String? = nil,
        tokenType: String? = nil
    ) {
        self.credentials = credentials
        self.expiresIn = expiresIn
        self.refreshToken = refreshToken
        self.idToken = idToken
        self.tokenType = tokenType
    }

    public var description: String {
        "SigninOAuthToken(\(credentials), refresh token: \(mask(refreshToken)), ID token: "
            + "\(idToken == nil ? "no" : "yes"))"
    }
}

/// The token endpoint's refusals, by the `error` member of its answer (model `OAuth2ErrorCode`).
public enum SigninTokenError: Error, CustomStringConvertible, Sendable, Equatable {
    /// `TOKEN_EXPIRED` (401): the refresh token is dead, e.g. the 12-hour session limit passed.
    case tokenExpired(message: String)
    /// `USER_CREDENTIALS_CHANGED` (403): the console password (or other credentials) changed.
    case userCredentialsChanged(message: String)
    /// `INSUFFICIENT_PERMISSIONS` (403): the identity may not call `signin:CreateOAuth2Token`.
    case insufficientPermissions(message: String)
    /// `AUTHCODE_EXPIRED` (401): the authorization code expired or was already used.
    case authorizationCodeExpired(message: String)
    /// Any other `AccessDeniedException`.
    case accessDenied(error: String?, message: String)
    /// `ValidationException` (400, `INVALID_REQUEST`): a malformed request, PKCE or DPoP proof.
    case invalidRequest(error: String?, message: String)
    /// `TooManyRequestsError` (429) on every attempt.
    case throttled(message: String)
    /// `InternalServerException` (500, `server_error`) or another 5xx on every attempt.
    case serverError(status: Int, message: String)

    /// True when only a new browser sign-in helps.
    public var needsNewSignin: Bool {
        switch self {
        case .tokenExpired, .userCredentialsChanged, .authorizationCodeExpired: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .tokenExpired:
            "The AWS sign-in session has expired (a session can be refreshed for at most 12 hours); "
                + "sign in again in the browser."
        case .userCredentialsChanged:
            "The AWS sign-in session ended because the identity's credentials (such as its console password) "
                + "changed; sign in again in the browser."
        case .insufficientPermissions:
            "AWS Sign-In refused to create or refresh the session's credentials: the signed-in identity lacks "
                + "permission for the 'signin:CreateOAuth2Token' action (and 'signin:AuthorizeOAuth2Access') on "
                + "arn:aws:signin:*:*:oauth2/public-client/*; attach the AWS managed policy "
                + "SignInLocalDevelopmentAccess to it, then sign in again."
        case .authorizationCodeExpired:
            "The authorization code from the browser expired or was already used; sign in again."
        case .accessDenied(let error, let message):
            "AWS Sign-In denied the token request (\(error ?? "AccessDeniedException"))"
                + (message.isEmpty ? "" : ": \(message)") + "; sign in again."
        case .invalidRequest(let error, let message):
            "AWS Sign-In rejected the token request as invalid (\(error ?? "ValidationException"))"
                + (message.isEmpty ? "" : ": \(message)") + "."
        case .throttled(let message):
            "AWS Sign-In is throttling token requests" + (message.isEmpty ? "" : " (\(message))")
                + "; wait a minute and try again."
        case .serverError(let status, let message):
            "AWS Sign-In failed with an internal error (HTTP \(status))"
                + (message.isEmpty ? "" : ": \(message)")
                + "; try again later."
        }
    }
}

/// The AWS Sign-In token endpoint (`signin` 2023-01-01 `CreateOAuth2Token`, `POST /v1/token`):
/// unsigned REST-JSON with a bare body, every request carrying a fresh DPoP proof.
public struct SigninOAuthClient: Sendable {
    public let baseURI: URL
    private let transport: any HTTPTransport
    private let retry: RetryPolicy
    private let timeout: Duration
    private let now: @Sendable () -> Date
    private let makeJTI: @Sendable () -> String

    static let service = "signin"
    static let operation = "CreateOAuth2Token"

    /// `baseURI` from `SigninOAuthEndpoint.baseURI`; `now` stamps proofs and expiries.
    public init(
        baseURI: URL, transport: any HTTPTransport, retry: RetryPolicy = .standard,
        timeout: Duration = .seconds(10), now: @escaping @Sendable () -> Date,
        makeJTI: @escaping @Sendable () -> String = { UUID().uuidString.lowercased() }
    ) {
        self.baseURI = baseURI
        self.transport = transport
        self.retry = retry
        self.timeout = timeout
        self.now = now
        self.makeJTI = makeJTI
    }

    /// `{base}/v1/token`: the request URL and the proofs' `htu`.
    public var tokenURL: URL { SigninOAuthEndpoint.url(baseURI, "/v1/token") }

    /// Redeems the code the browser brought back (single use), proving the PKCE verifier.
    public func exchangeCode(_ code: String, authorization: SigninAuthorization, key: DPoPKey) async throws
        -> SigninOAuthToken
    {
        try await createToken(
            [
                ("clientId", authorization.client.clientId), ("grantType", "authorization_code"),
                ("code", code),
                ("codeVerifier", authorization.pkce.verifier), ("redirectUri", authorization.redirectURI),
            ], key: key)
    }

    /// Trades the refresh token (bound to `key`) for new credentials and a new refresh token.
    public func refresh(clientId: String, refreshToken: String, key: DPoPKey) async throws -> SigninOAuthToken
    {
        try await createToken(
            [("clientId", clientId), ("refreshToken", refreshToken), ("grantType", "refresh_token")], key: key
        )
    }

    /// Refreshes a stored session: new credentials and the rotated refresh token, the rest kept.
    public func refresh(_ session: LoginSession) async throws -> LoginSession {
        session.refreshed(
            with: try await refresh(
                clientId: session.clientId, refreshToken: session.refreshToken, key: session.dpopKey))
    }

    private struct TokenAnswer: Decodable {
        struct AccessToken: Decodable {
            var accessKeyId: String
            var secretAccessKey: String
            var sessionToken: String
        }
        var accessToken: AccessToken
        var tokenType: String?
        var expiresIn: Int
        var refreshToken: String
        var idToken: String?
    }

    private func createToken(_ fields: [(String, String)], key: DPoPKey) async throws -> SigninOAuthToken {
        let body = try Self.jsonObject(fields)
        let url = tokenURL
        let call = ServiceCall(
            service: Self.service, operation: Self.operation, endpoint: baseURI, transport: transport,
            retry: retry, timeout: timeout)
        do {
            return try await call.run {
                // A new proof per attempt: fresh `jti` and `iat`.
                let proof = try DPoP.proof(
                    key: key, method: "POST", url: url, issuedAt: now(), jti: makeJTI())
                return HTTPRequest(
                    method: "POST", url: url, headers: ["Content-Type": "application/json", "DPoP": proof],
                    body: body)
            } interpret: { response, _ in
                guard (200...299).contains(response.status) else {
                    return try interpretFailure(response)
                }
                let answer = try decode(
                    TokenAnswer.self, response, service: Self.service, operation: Self.operation)
                let credentials = AWSCredentials(
                    accessKeyId: answer.accessToken.accessKeyId,
                    secretAccessKey: answer.accessToken.secretAccessKey,
                    sessionToken: answer.accessToken.sessionToken,
                    expiration: now().addingTimeInterval(TimeInterval(answer.expiresIn)))
                return .done(
                    SigninOAuthToken(
                        credentials: credentials, expiresIn: answer.expiresIn,
                        refreshToken: answer.refreshToken,
                        idToken: answer.idToken, tokenType: answer.tokenType))
            }
        } catch AWSClientError.service(let error) where error.code == Self.retriedThrottle {
            throw SigninTokenError.throttled(message: error.message)
        } catch AWSClientError.service(let error) where error.code == Self.retriedServerError {
            throw SigninTokenError.serverError(status: error.httpStatus, message: error.message)
        }
    }

    private static let retriedThrottle = "TooManyRequestsError"
    private static let retriedServerError = "InternalServerException"

    /// An error answer: 429 and 5xx are retried, the rest become `SigninTokenError` at once.
    private func interpretFailure(_ response: HTTPResponse) throws -> ServiceCall.Outcome<SigninOAuthToken> {
        let object = JSONValue(parsing: response.body)?.object
        var type = response.headers["x-amzn-errortype"].map { String($0.prefix { $0 != ":" }) }
        if type?.isEmpty ?? true, let named = (object?["__type"] ?? object?["code"])?.string {
            type = String(named.split(separator: "#").last ?? "")
        }
        let error = object?["error"]?.string
        let message = (object?["message"] ?? object?["Message"])?.string ?? ""
        let status = response.status
        if type == nil && object == nil {
            let retryable = status == 429 || (500...599).contains(status)
            let failure = AWSClientError.invalidResponse(
                service: Self.service, operation: Self.operation, httpStatus: status,
                reason: "the error body is not an AWS error document, \(response.body.count) bytes")
            guard retryable else { throw failure }
            return .retry(failure)
        }
        func retry(_ code: String) -> ServiceCall.Outcome<SigninOAuthToken> {
            .retry(
                .service(
                    AWSServiceError(
                        service: Self.service, operation: Self.operation, httpStatus: status, code: code,
                        message: message, requestId: response.headers["x-amzn-requestid"])))
        }
        if status == 429 || type == "TooManyRequestsError" { return retry(Self.retriedThrottle) }
        if (500...599).contains(status) || type == "InternalServerException" {
            return retry(Self.retriedServerError)
        }
        switch error {
        case "TOKEN_EXPIRED": throw SigninTokenError.tokenExpired(message: message)
        case "USER_CREDENTIALS_CHANGED": throw SigninTokenError.userCredentialsChanged(message: message)
        case "INSUFFICIENT_PERMISSIONS": throw SigninTokenError.insufficientPermissions(message: message)
        case "AUTHCODE_EXPIRED": throw SigninTokenError.authorizationCodeExpired(message: message)
        default: break
        }
        if type == "AccessDeniedException" || status == 401 || status == 403 {
            throw SigninTokenError.accessDenied(error: error, message: message)
        }
        throw SigninTokenError.invalidRequest(error: error ?? type, message: message)
    }

    /// A JSON object with the members in the given order (the model's bare `tokenInput` payload).
    static func jsonObject(_ fields: [(String, String)]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let members = try fields.map { name, value in
            "\"\(name)\":" + String(decoding: try encoder.encode(value), as: UTF8.self)
        }
        return Data(("{" + members.joined(separator: ",") + "}").utf8)
    }
}
