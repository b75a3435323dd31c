import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `HTTPTransport` over an ephemeral `URLSession` (no cookies, no cache, no credential storage).
///
/// Proxies: on Linux, URLSession is libcurl, which itself reads `HTTPS_PROXY`/`https_proxy`,
/// `http_proxy`, `ALL_PROXY` and `NO_PROXY`/`no_proxy` from the process environment on every
/// request. On macOS, URLSession ignores those variables, so they are applied explicitly from
/// `environment`.
public struct URLSessionTransport: HTTPTransport {
    private let session: URLSession

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let configuration = URLSessionConfiguration.ephemeral
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

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// Proxy variables as curl reads them: `https_proxy`/`HTTPS_PROXY` for https URLs, only the
/// lower-case `http_proxy` for http URLs, `NO_PROXY` a comma list of host suffixes or `*`.
public struct ProxySettings: Sendable, Equatable {
    public var httpsProxy: URL?
    public var httpProxy: URL?
    public var noProxy: [String]

    public init(environment: [String: String]) {
        func proxyURL(_ names: String...) -> URL? {
            for name in names {
                guard let value = environment[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty
                else {
                    continue
                }
                return URL(string: value.contains("://") ? value : "http://" + value)
            }
            return nil
        }
        httpsProxy = proxyURL("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
        httpProxy = proxyURL("http_proxy", "all_proxy", "ALL_PROXY")
        noProxy = (environment["no_proxy"] ?? environment["NO_PROXY"] ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
    }

    /// The proxy to use for `url`, or nil to connect directly.
    public func proxy(for url: URL) -> URL? {
        guard let host = url.host?.lowercased() else { return nil }
        if bypasses(host) { return nil }
        return url.scheme?.lowercased() == "https" ? httpsProxy : httpProxy
    }

    private func bypasses(_ host: String) -> Bool {
        noProxy.contains { entry in
            if entry == "*" { return true }
            let suffix = entry.hasPrefix(".") ? String(entry.dropFirst()) : entry
            return host == suffix || host.hasSuffix("." + suffix)
        }
    }

    #if os(macOS)
        /// CFNetwork proxy keys; exceptions use its own wildcard syntax.
        var connectionProxyDictionary: [AnyHashable: Any]? {
            guard httpsProxy != nil || httpProxy != nil else { return nil }
            var dictionary: [AnyHashable: Any] = [:]
            if let httpsProxy, let host = httpsProxy.host {
                dictionary["HTTPSEnable"] = 1
                dictionary["HTTPSProxy"] = host
                dictionary["HTTPSPort"] = httpsProxy.port ?? 80
            }
            if let httpProxy, let host = httpProxy.host {
                dictionary["HTTPEnable"] = 1
                dictionary["HTTPProxy"] = host
                dictionary["HTTPPort"] = httpProxy.port ?? 80
            }
            dictionary["ExceptionsList"] = noProxy.map { $0.hasPrefix(".") ? "*" + $0 : $0 }
            return dictionary
        }
    #endif
}
