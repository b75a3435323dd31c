import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// The AWS Query protocol shared by STS and IAM: a signed form POST answered with XML.
struct QueryProtocolClient: Sendable {
    var service: String
    var apiVersion: String
    var credentials: AWSCredentials?
    var endpoint: URL
    var signingRegion: String
    var transport: any HTTPTransport
    var retry: RetryPolicy
    var timeout: Duration
    var now: @Sendable () -> Date

    static let contentType = "application/x-www-form-urlencoded; charset=utf-8"

    /// Calls `action` and returns its `<ActionResult>` element. Unsigned calls (or a client
    /// without credentials) send no Authorization header, as for AssumeRoleWithWebIdentity.
    func call(_ action: String, _ parameters: [(String, String)], signed: Bool = true) async throws
        -> XMLReader.Element
    {
        let body = Self.formBody([("Action", action), ("Version", apiVersion)] + parameters)
        let call = ServiceCall(
            service: service, operation: action, endpoint: endpoint, transport: transport, retry: retry,
            timeout: timeout)
        return try await call.run {
            signed ? signedRequest(body: body) : unsignedRequest(body: body)
        } interpret: { response, _ in
            if (200...299).contains(response.status) {
                return .done(try result(of: action, in: response))
            }
            return try call.failure(serviceError(action, response), status: response.status)
        }
    }

    /// `name=value` pairs joined with `&`, both sides percent-encoded the SigV4 way.
    static func formBody(_ parameters: [(String, String)]) -> Data {
        let pairs = parameters.map { AWSPercentEncoding.encode($0.0) + "=" + AWSPercentEncoding.encode($0.1) }
        return Data(pairs.joined(separator: "&").utf8)
    }

    func unsignedRequest(body: Data) -> HTTPRequest {
        HTTPRequest(method: "POST", url: endpoint, headers: ["Content-Type": Self.contentType], body: body)
    }

    func signedRequest(body: Data) -> HTTPRequest {
        guard let credentials else { return unsignedRequest(body: body) }
        let signer = SigV4Signer(credentials: credentials, region: signingRegion, service: service)
        var path = endpoint.path
        if path.isEmpty { path = "/" }
        let signature = signer.sign(
            method: "POST", path: path, query: endpoint.query ?? "",
            headers: [("Host", hostHeader), ("Content-Type", Self.contentType)], payload: .bytes(body),
            date: now())
        var headers = ["Content-Type": Self.contentType]
        for header in signature.headers { headers[header.name] = header.value }
        return HTTPRequest(method: "POST", url: endpoint, headers: headers, body: body)
    }

    /// `host[:port]`, with the port only when it is not the scheme's default (as HTTP clients send it).
    private var hostHeader: String {
        let host = endpoint.host ?? ""
        guard let port = endpoint.port else { return host }
        let defaultPort = endpoint.scheme?.lowercased() == "http" ? 80 : 443
        return port == defaultPort ? host : "\(host):\(port)"
    }

    private func result(of action: String, in response: HTTPResponse) throws -> XMLReader.Element {
        let root: XMLReader.Element
        do {
            root = try XMLReader.parse(response.body)
        } catch {
            throw AWSClientError.invalidResponse(
                service: service, operation: action, httpStatus: response.status,
                reason: "the body is not XML (\(error.reason))")
        }
        guard root.name == action + "Response" else {
            throw AWSClientError.invalidResponse(
                service: service, operation: action, httpStatus: response.status,
                reason: "expected <\(action)Response><\(action)Result>, got <\(root.name)>")
        }
        // Actions with nothing to return (EnableMFADevice, PutUserPermissionsBoundary) send no Result.
        return root.child(action + "Result") ?? XMLReader.Element(name: action + "Result")
    }

    /// Reads `<ErrorResponse><Error>`, `<ErrorResponse><Errors><Error>` or `<Response><Errors><Error>`.
    func serviceError(_ action: String, _ response: HTTPResponse) -> AWSClientError {
        let headerRequestId = response.headers["x-amzn-requestid"] ?? response.headers["x-amz-request-id"]
        guard let root = try? XMLReader.parse(response.body), let error = root.firstDescendant("Error"),
            let code = error.child("Code")?.trimmedText, !code.isEmpty
        else {
            let kind = response.headers["content-type"].map { " (\($0))" } ?? ""
            return .invalidResponse(
                service: service, operation: action, httpStatus: response.status,
                reason: "the error body is not an AWS error document\(kind), \(response.body.count) bytes")
        }
        let requestId =
            root.firstDescendant("RequestId")?.trimmedText ?? root.firstDescendant("RequestID")?.trimmedText
        return .service(
            AWSServiceError(
                service: service, operation: action, httpStatus: response.status, code: code,
                message: error.child("Message")?.trimmedText ?? "", type: error.child("Type")?.trimmedText,
                requestId: requestId ?? headerRequestId))
    }
}

extension XMLReader.Element {
    var trimmedText: String { text.trimmingWhitespace() }
}

/// Reads required and optional fields of a result element, reporting what is missing.
struct ResultReader {
    var service: String
    var operation: String
    var status = 200

    func string(_ element: XMLReader.Element, _ path: String...) throws -> String {
        var current: XMLReader.Element? = element
        for name in path { current = current?.child(name) }
        guard let value = current?.trimmedText, !value.isEmpty else { throw missing(path) }
        return value
    }

    func optionalString(_ element: XMLReader.Element, _ path: String...) -> String? {
        var current: XMLReader.Element? = element
        for name in path { current = current?.child(name) }
        return current?.trimmedText
    }

    func date(_ element: XMLReader.Element, _ path: String...) throws -> Date {
        var current: XMLReader.Element? = element
        for name in path { current = current?.child(name) }
        guard let text = current?.trimmedText, let date = Timestamps.iso8601(text) else {
            throw missing(path)
        }
        return date
    }

    func credentials(_ result: XMLReader.Element) throws -> AWSCredentials {
        AWSCredentials(
            accessKeyId: try string(result, "Credentials", "AccessKeyId"),
            secretAccessKey: try string(result, "Credentials", "SecretAccessKey"),
            sessionToken: try string(result, "Credentials", "SessionToken"),
            expiration: try date(result, "Credentials", "Expiration"))
    }

    private func missing(_ path: [String]) -> AWSClientError {
        .invalidResponse(
            service: service, operation: operation, httpStatus: status,
            reason: "the field \(path.joined(separator: "/")) is missing or malformed")
    }
}
