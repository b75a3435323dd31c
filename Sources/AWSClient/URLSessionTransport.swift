// Darwin only: on Linux URLSession lives in FoundationNetworking, whose libcurl and ~20 shared
// libraries cost ~8 ms at every start; CurlTransport loads libcurl only when a request is made.
#if canImport(Darwin)
    import Foundation

    /// `HTTPTransport` over an ephemeral `URLSession` (no cookies, no cache, no credential storage).
    ///
    /// Proxies: URLSession on macOS ignores `HTTPS_PROXY`/`https_proxy`, `http_proxy`, `ALL_PROXY`
    /// and `NO_PROXY`/`no_proxy`, so they are applied explicitly from `environment`.
    public struct URLSessionTransport: HTTPTransport {
        private let session: URLSession

        public init(
            userAgent: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment
        ) {
            let configuration = URLSessionConfiguration.ephemeral
            if let userAgent { configuration.httpAdditionalHeaders = ["User-Agent": userAgent] }
            configuration.httpCookieStorage = nil
            configuration.urlCache = nil
            configuration.urlCredentialStorage = nil
            #if os(macOS)
                if let proxies = ProxySettings(environment: environment).connectionProxyDictionary {
                    configuration.connectionProxyDictionary = proxies
                }
            #endif
            session = URLSession(configuration: configuration)
        }

        public func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse {
            var urlRequest = URLRequest(url: request.url)
            urlRequest.httpMethod = request.method
            urlRequest.httpBody = request.body.isEmpty ? nil : request.body
            urlRequest.timeoutInterval = timeout.seconds
            for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }
            let session = session
            let prepared = urlRequest
            // URLSession's timeout is an idle timeout; the race makes it a hard limit for the whole exchange.
            return try await withThrowingTaskGroup(of: HTTPResponse.self) { group in
                group.addTask {
                    let (data, response): (Data, URLResponse)
                    do {
                        (data, response) = try await session.data(for: prepared)
                    } catch let error as URLError {
                        throw error.code == .timedOut
                            ? HTTPTransportError.timedOut : .connection(Self.reason(error))
                    }
                    guard let http = response as? HTTPURLResponse else {
                        throw HTTPTransportError.connection("the answer was not HTTP")
                    }
                    var headers: [String: String] = [:]
                    for (name, value) in http.allHeaderFields {
                        headers[String(describing: name).lowercased()] = String(describing: value)
                    }
                    return HTTPResponse(status: http.statusCode, headers: headers, body: data)
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw HTTPTransportError.timedOut
                }
                defer { group.cancelAll() }
                guard let first = try await group.next() else { throw HTTPTransportError.timedOut }
                return first
            }
        }

        private static func reason(_ error: URLError) -> String {
            switch error.code {
            case .cannotFindHost, .dnsLookupFailed: "the host name could not be resolved"
            case .cannotConnectToHost: "the connection was refused"
            case .networkConnectionLost: "the connection was lost"
            case .notConnectedToInternet: "there is no network connection"
            case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
                .serverCertificateHasUnknownRoot, .serverCertificateNotYetValid:
                "the TLS handshake failed (certificate or proxy interception?)"
            default: "URL error \(error.code.rawValue)"
            }
        }
    }
#endif
