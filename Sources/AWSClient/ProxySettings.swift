#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// Proxy variables as curl reads them: `https_proxy`/`HTTPS_PROXY` for https URLs, only the
/// lower-case `http_proxy` for http URLs, `all_proxy`/`ALL_PROXY` for both, and `no_proxy`/`NO_PROXY`
/// matched the way curl matches it (host names by domain, IP addresses exactly or by CIDR, `*`).
///
/// Loopback, link-local and the AWS container and instance metadata addresses never go through a
/// proxy, whatever the variables say: what travels there (the container authorization token,
/// instance credentials) must not pass through a third party, and a proxy cannot reach them anyway.
public struct ProxySettings: Sendable, Equatable {
    public var httpsProxy: URL?
    public var httpProxy: URL?
    public var noProxy: [String]

    public init(environment: [String: String]) {
        func proxyURL(_ names: String...) -> URL? {
            for name in names {
                guard let value = environment[name]?.trimmingBlanks(), !value.isEmpty
                else {
                    continue
                }
                return URL(string: value.contains("://") ? value : "http://" + value)
            }
            return nil
        }
        httpsProxy = proxyURL("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
        httpProxy = proxyURL("http_proxy", "all_proxy", "ALL_PROXY")
        // curl separates entries with commas and/or white space.
        noProxy = (environment["no_proxy"] ?? environment["NO_PROXY"] ?? "")
            .split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" })
            .map { $0.lowercased() }.filter { !$0.isEmpty }
    }

    /// The proxy to use for `url`, or nil to connect directly.
    public func proxy(for url: URL) -> URL? {
        guard let host = url.host?.lowercased() else { return nil }
        if Self.neverProxied(host) || bypasses(host) { return nil }
        return url.scheme?.lowercased() == "https" ? httpsProxy : httpProxy
    }

    /// True for hosts that are reached directly whatever the proxy variables say: loopback
    /// (`localhost`, 127.0.0.0/8, ::1), link-local (169.254.0.0/16, fe80::/10, which holds the ECS
    /// agent 169.254.170.2, EKS Pod Identity 169.254.170.23 and IMDS 169.254.169.254) and the IPv6
    /// container and IMDS addresses fd00:ec2::23 and fd00:ec2::254.
    public static func neverProxied(_ host: String) -> Bool {
        let name = normalized(host)
        if name == "localhost" || name.hasSuffix(".localhost") { return true }
        switch IPAddress(name) {
        case .v4(let bytes)?:
            return bytes[0] == 127 || (bytes[0] == 169 && bytes[1] == 254)
        case .v6(let bytes)?:
            if bytes == IPAddress.v6Loopback { return true }
            if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 { return true }  // fe80::/10
            return alwaysDirectV6.contains(bytes)
        case nil:
            return false
        }
    }

    private static let alwaysDirectV6: [[UInt8]] = ["fd00:ec2::23", "fd00:ec2::254"].compactMap {
        if case .v6(let bytes)? = IPAddress($0) { bytes } else { nil }
    }

    /// Without brackets (IPv6) and without a trailing dot (a fully qualified name).
    private static func normalized(_ host: String) -> String {
        var name = Substring(host.lowercased())
        if name.hasPrefix("["), name.hasSuffix("]") { name = name.dropFirst().dropLast() }
        if name.hasSuffix("."), name.count > 1 { name = name.dropLast() }
        return String(name)
    }

    /// curl's NO_PROXY rules: `*` matches everything; an IP host matches an entry that is the same
    /// address or a CIDR block holding it; a name matches an entry that is the name itself or one of
    /// its parent domains (a leading or trailing dot on the entry is ignored).
    private func bypasses(_ rawHost: String) -> Bool {
        let host = Self.normalized(rawHost)
        let address = IPAddress(host)
        return noProxy.contains { entry in
            if entry == "*" { return true }
            if let address { return address.matches(entry) }
            var domain = Substring(entry)
            if domain.hasSuffix(".") { domain = domain.dropLast() }
            if domain.hasPrefix(".") { domain = domain.dropFirst() }
            guard !domain.isEmpty else { return false }
            return host == domain || host.hasSuffix("." + domain)
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
            dictionary["ExceptionsList"] =
                noProxy.map { $0.hasPrefix(".") ? "*" + $0 : $0 } + [
                    "localhost", "*.localhost", "127.*", "::1", "169.254.*", "fe80::*", "fd00:ec2::23",
                    "fd00:ec2::254",
                ]
            return dictionary
        }
    #endif
}

/// An IPv4 or IPv6 address in network byte order (IPv4-mapped IPv6 addresses count as IPv4).
enum IPAddress: Equatable {
    case v4([UInt8])
    case v6([UInt8])

    static let v6Loopback: [UInt8] = Array(repeating: 0, count: 15) + [1]

    init?(_ text: some StringProtocol) {
        let text = String(text)
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self = .v4(withUnsafeBytes(of: &v4) { Array($0) })
            return
        }
        var v6 = in6_addr()
        guard !text.contains("%"), inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes.prefix(10).allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            self = .v4(Array(bytes.suffix(4)))
        } else {
            self = .v6(bytes)
        }
    }

    var bytes: [UInt8] {
        switch self {
        case .v4(let bytes), .v6(let bytes): bytes
        }
    }

    /// Whether a NO_PROXY entry (`10.1.2.3`, `10.0.0.0/8`, `::1`, `fd00::/8`) holds this address.
    /// A prefix length of 0 or none compares the whole address, as curl does.
    func matches(_ entry: String) -> Bool {
        let parts = entry.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let network = IPAddress(parts[0]) else { return false }
        let mine = bytes
        let theirs = network.bytes
        guard mine.count == theirs.count else { return false }
        var bits = mine.count * 8
        if parts.count == 2 {
            guard let length = Int(parts[1]), length >= 0, length <= bits else { return false }
            if length > 0 { bits = length }
        }
        for index in 0..<mine.count where bits > 0 {
            let mask: UInt8 = bits >= 8 ? 0xff : ~(0xff >> UInt8(bits))
            if mine[index] & mask != theirs[index] & mask { return false }
            bits -= 8
        }
        return true
    }
}
