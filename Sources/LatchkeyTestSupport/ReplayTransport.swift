import AWSClient
import AWSSigV4
import Foundation

/// An `HTTPTransport` that answers from a recorded `http-traffic.json` (the cross-SDK
/// credential-provider cases, format in `conformance/credential-provider-tests/SOURCE.md`).
///
/// A request is matched to the first unused recorded exchange with the same method and URL (the
/// query compared as a set of pairs) and, when the recording has a form body, the same form
/// parameters (order ignored). Recorded headers such as `authorization` and `user-agent` belong to
/// the recording SDK and are not matched. A request nothing matches is answered with
/// `ReplayTransport.Unexpected` and remembered, so `verify()` fails the test.
public actor ReplayTransport: HTTPTransport {
    public struct Exchange: Sendable, Equatable {
        public var method: String
        public var uri: String
        public var requestHeaders: [String: String]
        public var requestBody: Data
        public var response: HTTPResponse
    }

    public struct Unexpected: Error, CustomStringConvertible, Sendable {
        public var method: String
        public var url: String
        public var body: String
        public var description: String {
            "ReplayTransport: no recorded exchange matches \(method) \(url)"
                + (body.isEmpty ? "" : " with body \(body)")
        }
    }

    public struct Unused: Error, CustomStringConvertible, Sendable {
        public var exchanges: [String]
        public var description: String {
            "ReplayTransport: recorded exchanges never requested: \(exchanges.joined(separator: ", "))"
        }
    }

    public struct FormatError: Error, CustomStringConvertible, Sendable {
        public var reason: String
        public var description: String { "http-traffic.json is not in the expected format: \(reason)" }
    }

    public let exchanges: [Exchange]
    private var used: [Bool]
    private let matchBodies: Bool
    public private(set) var requests: [HTTPRequest] = []
    public private(set) var unexpected: [Unexpected] = []

    /// `matchBodies: false` matches form posts on method and URL only (for recordings whose bodies
    /// were made from other inputs than the case's files).
    public init(exchanges: [Exchange], matchBodies: Bool = true) {
        self.exchanges = exchanges
        self.used = Array(repeating: false, count: exchanges.count)
        self.matchBodies = matchBodies
    }

    public init(contentsOf url: URL, matchBodies: Bool = true) throws {
        self.init(exchanges: try Self.exchanges(from: Data(contentsOf: url)), matchBodies: matchBodies)
    }

    public func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse {
        requests.append(request)
        for index in exchanges.indices where !used[index] && matches(exchanges[index], request) {
            used[index] = true
            return exchanges[index].response
        }
        let miss = Unexpected(
            method: request.method, url: request.url.absoluteString,
            body: String(decoding: request.body, as: UTF8.self))
        unexpected.append(miss)
        throw miss
    }

    /// Throws when a request was not in the recording or a recorded exchange was never requested.
    public func verify(allowUnused: Bool = false) throws {
        if let first = unexpected.first { throw first }
        let unused = exchanges.indices.filter { !used[$0] }.map {
            "\(exchanges[$0].method) \(exchanges[$0].uri)"
        }
        if !allowUnused && !unused.isEmpty { throw Unused(exchanges: unused) }
    }

    private func matches(_ exchange: Exchange, _ request: HTTPRequest) -> Bool {
        guard exchange.method.uppercased() == request.method.uppercased(),
            let recorded = URL(string: exchange.uri), Self.sameTarget(recorded, request.url)
        else { return false }
        guard matchBodies, !exchange.requestBody.isEmpty else { return true }
        let isForm =
            exchange.requestHeaders["content-type"]?.hasPrefix("application/x-www-form-urlencoded") ?? false
        if isForm {
            return Self.formPairs(exchange.requestBody) == Self.formPairs(request.body)
        }
        return exchange.requestBody == request.body
    }

    static func sameTarget(_ left: URL, _ right: URL) -> Bool {
        func port(_ url: URL) -> Int? { url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80) }
        func path(_ url: URL) -> String { url.path.isEmpty ? "/" : url.path }
        return left.scheme?.lowercased() == right.scheme?.lowercased()
            && left.host?.lowercased() == right.host?.lowercased() && port(left) == port(right)
            && path(left) == path(right)
            && formPairs(Data((left.query ?? "").utf8)) == formPairs(Data((right.query ?? "").utf8))
    }

    /// `a=1&b=2` as sorted, decoded pairs.
    static func formPairs(_ data: Data) -> [String] {
        String(decoding: data, as: UTF8.self).split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = AWSPercentEncoding.decode(String(parts[0]).replacingOccurrences(of: "+", with: " "))
            let value =
                parts.count > 1
                ? AWSPercentEncoding.decode(String(parts[1]).replacingOccurrences(of: "+", with: " ")) : ""
            return name + "=" + value
        }.sorted()
    }

    /// Groups the recorded events by connection: one request (and its body) and one response per connection.
    public static func exchanges(from data: Data) throws -> [Exchange] {
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let events = root["events"] as? [[String: Any]]
        else { throw FormatError(reason: "no events list") }
        var order: [Int] = []
        var requests: [Int: (method: String, uri: String, headers: [String: String])] = [:]
        var requestBodies: [Int: Data] = [:]
        var responses: [Int: (status: Int, headers: [String: String])] = [:]
        var responseBodies: [Int: Data] = [:]
        for event in events {
            guard let connection = event["connection_id"] as? Int,
                let action = event["action"] as? [String: Any]
            else { throw FormatError(reason: "an event without connection_id or action") }
            if let request = (action["Request"] as? [String: Any])?["request"] as? [String: Any] {
                guard let method = request["method"] as? String, let uri = request["uri"] as? String else {
                    throw FormatError(reason: "a request without method or uri")
                }
                order.append(connection)
                requests[connection] = (method, uri, headers(request["headers"]))
            } else if let response = (action["Response"] as? [String: Any])?["response"] as? [String: Any] {
                guard let ok = response["Ok"] as? [String: Any], let status = ok["status"] as? Int else {
                    throw FormatError(reason: "a response without Ok.status")
                }
                responses[connection] = (status, headers(ok["headers"]))
            } else if let chunk = action["Data"] as? [String: Any] {
                let payload = chunk["data"] as? [String: Any]
                let bytes = Data(((payload?["Utf8"] as? String) ?? "").utf8)
                if chunk["direction"] as? String == "Request" {
                    requestBodies[connection, default: Data()].append(bytes)
                } else {
                    responseBodies[connection, default: Data()].append(bytes)
                }
            }
        }
        return try order.map { connection in
            guard let request = requests[connection], let response = responses[connection] else {
                throw FormatError(reason: "connection \(connection) has no response")
            }
            return Exchange(
                method: request.method, uri: request.uri, requestHeaders: request.headers,
                requestBody: requestBodies[connection] ?? Data(),
                response: HTTPResponse(
                    status: response.status, headers: response.headers,
                    body: responseBodies[connection] ?? Data()))
        }
    }

    /// `{"name": ["value", ...]}` as lower-cased names with the values joined by commas.
    private static func headers(_ value: Any?) -> [String: String] {
        var result: [String: String] = [:]
        for (name, values) in (value as? [String: [String]]) ?? [:] {
            result[name.lowercased()] = values.joined(separator: ",")
        }
        return result
    }
}

/// One case folder of the credential-provider suites: `env.json`, `fs/`, `http-traffic.json`, `test-case.json`.
public struct CredentialProviderCase: Sendable {
    public enum Expected: Sendable, Equatable {
        case credentials(
            accessKeyId: String, secretAccessKey: String, sessionToken: String?, accountId: String?,
            expiry: Date?)
        case token(String, expiration: Date?)
        case error(contains: String)
    }

    public var directory: URL
    public var name: String
    public var environment: [String: String]
    public var expected: Expected

    /// The case's virtual file system root (`fs/`): map `/home/...` paths under it.
    public var fileSystemRoot: URL { directory.appendingPathComponent("fs", isDirectory: true) }
    public var trafficURL: URL { directory.appendingPathComponent("http-traffic.json") }

    public init(directory: URL) throws {
        self.directory = directory
        name = directory.lastPathComponent
        let env = try? Data(contentsOf: directory.appendingPathComponent("env.json"))
        environment =
            (env.flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: String]) ?? [:]
        let testCase = try JSONSerialization.jsonObject(
            with: Data(contentsOf: directory.appendingPathComponent("test-case.json")))
        guard let result = (testCase as? [String: Any])?["result"] as? [String: Any] else {
            throw ReplayTransport.FormatError(reason: "test-case.json has no result")
        }
        if let message = result["ErrorContains"] as? String {
            expected = .error(contains: message)
        } else if let ok = result["Ok"] as? [String: Any], let token = ok["token"] as? String {
            expected = .token(token, expiration: (ok["expiration"] as? String).flatMap(Self.rfc3339))
        } else if let ok = result["Ok"] as? [String: Any], let key = ok["access_key_id"] as? String,
            let secret = ok["secret_access_key"] as? String
        {
            expected = .credentials(
                accessKeyId: key, secretAccessKey: secret, sessionToken: ok["session_token"] as? String,
                accountId: ok["account_id"] as? String,
                expiry: (ok["expiry"] as? Double).map { Date(timeIntervalSince1970: $0) })
        } else {
            throw ReplayTransport.FormatError(reason: "test-case.json result is neither Ok nor ErrorContains")
        }
    }

    /// A replay of this case's recorded traffic.
    public func replay(matchBodies: Bool = true) throws -> ReplayTransport {
        try ReplayTransport(contentsOf: trafficURL, matchBodies: matchBodies)
    }

    private static func rfc3339(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        return formatter.date(from: text)
    }
}
