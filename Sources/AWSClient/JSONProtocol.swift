import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// The unsigned REST-JSON calls of IAM Identity Center (OIDC and portal), and the JSON decoding
/// shared with the metadata clients.
struct JSONProtocolClient: Sendable {
    var service: String
    var endpoint: URL
    var transport: any HTTPTransport
    var retry: RetryPolicy
    var timeout: Duration

    /// Sends `body` (JSON) or a bodiless request to `path` + `query` and decodes the answer.
    func call<Response: Decodable>(
        _ operation: String, method: String, path: String, query: [(String, String)] = [],
        headers: [String: String] = [:], body: (any Encodable & Sendable)? = nil, as type: Response.Type
    ) async throws -> Response {
        var requestHeaders = headers
        var data = Data()
        if let body {
            requestHeaders["Content-Type"] = "application/json"
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            data = try encoder.encode(body)
        }
        let request = HTTPRequest(
            method: method, url: Self.url(endpoint, path: path, query: query), headers: requestHeaders,
            body: data)
        let call = ServiceCall(
            service: service, operation: operation, endpoint: endpoint, transport: transport, retry: retry,
            timeout: timeout)
        return try await call.run {
            request
        } interpret: { response, _ in
            guard (200...299).contains(response.status) else {
                return try call.failure(serviceError(operation, response), status: response.status)
            }
            return .done(try decode(Response.self, response, service: service, operation: operation))
        }
    }

    /// The endpoint (which may carry a base path) joined with `path`, and an encoded query.
    static func url(_ endpoint: URL, path: String, query: [(String, String)]) -> URL {
        if path.isEmpty && query.isEmpty { return endpoint }
        var text = endpoint.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        text += path
        if !query.isEmpty {
            text +=
                "?"
                + query.map { AWSPercentEncoding.encode($0.0) + "=" + AWSPercentEncoding.encode($0.1) }
                .joined(separator: "&")
        }
        return URL(string: text) ?? endpoint
    }

    /// The error code from `x-amzn-errortype`, the body's `__type`/`code`, or the OAuth `error` field.
    func serviceError(_ operation: String, _ response: HTTPResponse) -> AWSClientError {
        let object = JSONValue(parsing: response.body)?.object
        var code = response.headers["x-amzn-errortype"].map { String($0.prefix { $0 != ":" }) }
        if code?.isEmpty ?? true,
            let type = (object?["__type"] ?? object?["code"] ?? object?["Code"])?.string
        {
            code = String(type.split(separator: "#").last ?? "")
        }
        if code?.isEmpty ?? true, let oauth = object?["error"]?.string {
            code = Self.oauthErrorCodes[oauth] ?? oauth
        }
        guard let code, !code.isEmpty else {
            let kind = response.headers["content-type"].map { " (\($0))" } ?? ""
            return .invalidResponse(
                service: service, operation: operation, httpStatus: response.status,
                reason: "the error body is not an AWS error document\(kind), \(response.body.count) bytes")
        }
        let message =
            (object?["message"] ?? object?["Message"] ?? object?["error_description"])?.string ?? ""
        return .service(
            AWSServiceError(
                service: service, operation: operation, httpStatus: response.status, code: code,
                message: message,
                requestId: response.headers["x-amzn-requestid"] ?? response.headers["requestid"]))
    }

    /// RFC 6749/8628 error names to the SSO OIDC model's exception shapes.
    static let oauthErrorCodes = [
        "authorization_pending": "AuthorizationPendingException", "slow_down": "SlowDownException",
        "expired_token": "ExpiredTokenException", "access_denied": "AccessDeniedException",
        "invalid_grant": "InvalidGrantException", "invalid_client": "InvalidClientException",
        "invalid_request": "InvalidRequestException", "invalid_scope": "InvalidScopeException",
        "unauthorized_client": "UnauthorizedClientException",
        "unsupported_grant_type": "UnsupportedGrantTypeException",
        "invalid_client_metadata": "InvalidClientMetadataException",
        "server_error": "InternalServerException",
    ]
}

/// Decodes a JSON answer; a missing or mistyped field becomes `invalidResponse` naming the field.
func decode<Value: Decodable>(
    _ type: Value.Type, _ response: HTTPResponse, service: String, operation: String
)
    throws -> Value
{
    func invalid(_ reason: String) -> AWSClientError {
        .invalidResponse(service: service, operation: operation, httpStatus: response.status, reason: reason)
    }
    func path(_ keys: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
        (keys + (last.map { [$0] } ?? [])).map(\.stringValue).joined(separator: "/")
    }
    do {
        return try JSONDecoder().decode(Value.self, from: response.body)
    } catch DecodingError.keyNotFound(let key, let context) {
        throw invalid("the field \(path(context.codingPath, key)) is missing")
    } catch DecodingError.valueNotFound(_, let context) {
        throw invalid("the field \(path(context.codingPath)) is null")
    } catch DecodingError.typeMismatch(_, let context) {
        throw invalid("the field \(path(context.codingPath)) has the wrong type")
    } catch DecodingError.dataCorrupted(let context) where !context.codingPath.isEmpty {
        throw invalid("the field \(path(context.codingPath)) is malformed")
    } catch {
        let kind = response.headers["content-type"].map { " (\($0))" } ?? ""
        throw invalid("the body is not the expected JSON\(kind), \(response.body.count) bytes")
    }
}
