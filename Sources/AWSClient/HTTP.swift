#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

public struct HTTPRequest: Sendable, Equatable {
    public var method: String
    public var url: URL
    public var headers: [String: String]
    public var body: Data

    public init(method: String, url: URL, headers: [String: String] = [:], body: Data = Data()) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    /// Header names are lower-cased.
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { $1 })
        self.body = body
    }

    /// The server's clock from the `Date` header (IMF-fixdate), for clock-skew checks.
    public var serverDate: Date? {
        // A proxy may repeat the header ("date1, date2"): the first one is the origin's.
        guard let value = headers["date"], let end = value.firstRange(of: "GMT") else { return nil }
        return Timestamps.httpDate(String(value[..<end.upperBound]))
    }
}

public protocol HTTPTransport: Sendable {
    /// Sends one request. Implementations throw `HTTPTransportError.timedOut` when `timeout`
    /// passes and `HTTPTransportError.connection` when no response arrives.
    func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse
}

/// Failures below HTTP: the client retries both.
public enum HTTPTransportError: Error, CustomStringConvertible, Sendable, Equatable {
    case timedOut
    case connection(String)

    public var description: String {
        switch self {
        case .timedOut: "The request timed out."
        case .connection(let reason): "The connection failed: \(reason)"
        }
    }
}
