import Foundation

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
