import CCurlShim
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import SystemSupport

/// `HTTPTransport` over libcurl, loaded with `dlopen` on the first request (never linked), so a
/// run that makes no request does not load libcurl and its ~20 libraries at start-up.
///
/// Redirects are not followed, only http and https are allowed, TLS is verified with the system's
/// CA store. Proxies come from `environment` by curl's own rules (`ProxySettings`), so the process
/// environment is never read behind the caller's back.
public struct CurlTransport: HTTPTransport {
    public var userAgent: String
    public var proxySettings: ProxySettings
    /// Bounds DNS + TCP + TLS set-up; the whole exchange is bounded by `send`'s `timeout`.
    public var connectTimeout: Duration
    /// Larger answers fail: AWS answers are a few KiB, anything huge is not AWS.
    public var maxResponseBytes: Int

    public init(
        userAgent: String = "latchkey", environment: [String: String] = ProcessInfo.processInfo.environment,
        connectTimeout: Duration = .seconds(10), maxResponseBytes: Int = 8 << 20
    ) {
        self.userAgent = userAgent
        self.proxySettings = ProxySettings(environment: environment)
        self.connectTimeout = connectTimeout
        self.maxResponseBytes = maxResponseBytes
    }

    public func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse {
        let headerLines = try Self.headerLines(request.headers)
        let proxy = proxySettings.proxy(for: request.url)
        let exchange = Exchange(
            method: request.method, url: request.url.absoluteString, headerLines: headerLines,
            body: request.body, timeoutMilliseconds: Self.milliseconds(timeout),
            connectTimeoutMilliseconds: Self.milliseconds(min(connectTimeout, timeout)),
            userAgent: userAgent, proxy: proxy?.absoluteString ?? "", maxResponseBytes: maxResponseBytes)
        let outcome = try await withTaskCancellationHandler {
            try Task.checkCancellation()
            // curl_easy_perform blocks: a thread of its own, since Dispatch's global queues are only
            // as wide as the CPU count and the timeout must start now, not when a worker frees up.
            return await onOwnThread(named: "latchkey-curl") { exchange.perform() }
        } onCancel: {
            exchange.cancel()
        }
        switch outcome {
        case .response(let status, let rawHeaders, let body):
            return HTTPResponse(status: status, headers: Self.parseHeaders(rawHeaders), body: body)
        case .unavailable(let detail):
            throw CurlTransportError.libcurlUnavailable(detail: detail)
        case .failed(let code, let message):
            if code == Self.operationTimedOut { throw HTTPTransportError.timedOut }
            if code == Self.abortedByCallback && exchange.isCancelled { throw CancellationError() }
            var detail = message
            // A proxy URL may carry user:password; curl's message must not repeat it.
            if let password = proxy?.password, !password.isEmpty {
                detail = detail.replacing(password, with: "****")
            }
            throw HTTPTransportError.connection("\(Self.reason(code)) (curl \(code): \(detail))")
        }
    }

    // CURLcode values used below (stable ABI).
    static let operationTimedOut: Int32 = 28
    static let abortedByCallback: Int32 = 42

    static func reason(_ code: Int32) -> String {
        switch code {
        case 1: "the URL scheme is not http or https"
        case 3: "the URL is malformed"
        case 5: "the proxy host name could not be resolved"
        case 6: "the host name could not be resolved"
        case 7: "the connection was refused or the host is unreachable"
        case 23: "the answer was too large"
        case 35, 58, 59, 60, 66, 77, 80, 82, 83, 90, 91, 98:
            "the TLS handshake failed (certificate or proxy interception?)"
        case 52: "the server closed the connection without answering"
        case 55, 56: "the connection was lost"
        case 97: "the proxy failed the connection"
        default: "the transfer failed"
        }
    }

    /// Curl header lines; a value with a line break would smuggle a header, so it is refused.
    static func headerLines(_ headers: [String: String]) throws -> [String] {
        try headers.sorted { $0.key < $1.key }.map { name, value in
            // Bytes, not Characters: "\r\n" is a single Character.
            let breaks: (UInt8) -> Bool = { $0 == 13 || $0 == 10 || $0 == 0 }
            guard !name.isEmpty, !name.utf8.contains(where: { breaks($0) || $0 == 58 || $0 == 32 }) else {
                throw HTTPTransportError.connection("a request header name is empty or not a single token")
            }
            guard !value.utf8.contains(where: breaks) else {
                throw HTTPTransportError.connection(
                    "the request header '\(name)' has a line break in its value")
            }
            // "Name;" is curl's spelling of a header sent with an empty value ("Name:" removes it).
            return value.isEmpty ? "\(name);" : "\(name): \(value)"
        }
    }

    /// Header lines of the final response: curl also reports interim responses (100 Continue, a
    /// proxy's CONNECT answer), each starting with a status line. Repeated names join with ", ".
    public static func parseHeaders(_ raw: String) -> [String: String] {
        var headers: [String: String] = [:]
        var last: String?
        // "\r\n" is one Character in Swift.
        for line in raw.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" }) {
            if line.hasPrefix("HTTP/") {
                headers = [:]
                last = nil
            } else if line.first == " " || line.first == "\t", let name = last {
                headers[name, default: ""] += " " + line.trimmingBlanks()  // obs-fold
            } else if let colon = line.firstIndex(of: ":") {
                let name = line[..<colon].trimmingBlanks().lowercased()
                let value = line[line.index(after: colon)...].trimmingBlanks()
                headers[name] = headers[name].map { "\($0), \(value)" } ?? value
                last = name
            }
        }
        return headers
    }

    /// Whole milliseconds rounded up, at least 1 (curl reads 0 as "no timeout").
    public static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        guard seconds < 1_000_000_000 else { return 1_000_000_000_000 }  // decades: no overflow
        return max(1, Int(seconds) * 1000 + Int((attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000))
    }
}

public enum CurlTransportError: Error, CustomStringConvertible, Sendable, Equatable {
    /// libcurl could not be loaded; `detail` is the loader's message.
    case libcurlUnavailable(detail: String)

    public var description: String {
        switch self {
        case .libcurlUnavailable(let detail):
            "latchkey needs libcurl to call AWS: install it (Debian: apt install libcurl4) (\(detail))."
        }
    }
}

/// The transport the CLI uses: URLSession on Darwin (part of the OS, free at start-up), libcurl
/// loaded on demand elsewhere.
public func defaultHTTPTransport(
    userAgent: String, environment: [String: String] = ProcessInfo.processInfo.environment
) -> any HTTPTransport {
    #if canImport(Darwin)
        URLSessionTransport(userAgent: userAgent, environment: environment)
    #else
        CurlTransport(userAgent: userAgent, environment: environment)
    #endif
}

/// One request's inputs and its cancel flag, shared between the caller and the blocking thread.
private final class Exchange: @unchecked Sendable {
    enum Outcome {
        case response(status: Int, headers: String, body: Data)
        case failed(code: Int32, message: String)
        case unavailable(String)
    }

    // Immutable after init; the flag is only touched through the C atomics.
    let method: String
    let url: String
    let headerLines: [String]
    let body: Data
    let timeoutMilliseconds: Int
    let connectTimeoutMilliseconds: Int
    let userAgent: String
    let proxy: String
    let maxResponseBytes: Int
    private let flag: UnsafeMutablePointer<latchkey_curl_cancel_flag>

    init(
        method: String, url: String, headerLines: [String], body: Data, timeoutMilliseconds: Int,
        connectTimeoutMilliseconds: Int, userAgent: String, proxy: String, maxResponseBytes: Int
    ) {
        self.method = method
        self.url = url
        self.headerLines = headerLines
        self.body = body
        self.timeoutMilliseconds = timeoutMilliseconds
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.userAgent = userAgent
        self.proxy = proxy
        self.maxResponseBytes = maxResponseBytes
        flag = .allocate(capacity: 1)
        flag.initialize(to: latchkey_curl_cancel_flag(cancelled: 0))
    }

    deinit { flag.deallocate() }

    func cancel() { latchkey_curl_cancel(flag) }

    var isCancelled: Bool { latchkey_curl_cancel_flag_is_set(flag) != 0 }

    func perform() -> Outcome {
        var result = latchkey_curl_result()
        defer { latchkey_curl_result_free(&result) }
        let lines = headerLines.map { strdup($0) }
        defer { lines.forEach { free($0) } }
        let constLines = lines.map { UnsafePointer($0) }
        constLines.withUnsafeBufferPointer { lineBuffer in
            body.withUnsafeBytes { bodyBytes in
                latchkey_curl_perform(
                    method, url, lineBuffer.baseAddress, lineBuffer.count, bodyBytes.baseAddress,
                    bodyBytes.count,
                    timeoutMilliseconds, connectTimeoutMilliseconds, userAgent, proxy, maxResponseBytes, flag,
                    &result)
            }
        }
        let message = withUnsafeBytes(of: result.error) {
            String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
        }
        if result.code == LATCHKEY_CURL_UNAVAILABLE { return .unavailable(message) }
        if result.code != 0 { return .failed(code: result.code, message: message) }
        let headers = result.headers.map { Data(bytes: $0, count: result.headers_length) } ?? Data()
        let answer = result.body.map { Data(bytes: $0, count: result.body_length) } ?? Data()
        return .response(
            status: result.status, headers: String(decoding: headers, as: UTF8.self), body: answer)
    }
}
