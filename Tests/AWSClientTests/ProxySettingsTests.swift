import AWSClient
import Foundation
import Testing

// How proxy variables are read (curl's rules). CurlTransport (Linux) and URLSessionTransport
// (macOS) both apply them from these settings; CurlTransportProxyTests checks it on the wire.
@Suite("ProxySettings")
struct ProxySettingsTests {
    @Test(
        arguments: [
            (["HTTPS_PROXY": "http://proxy:3128"], "https://sts.amazonaws.com", "http://proxy:3128"),
            (["https_proxy": "proxy:8080"], "https://sts.amazonaws.com", "http://proxy:8080"),
            (["HTTPS_PROXY": "http://p:1", "NO_PROXY": "amazonaws.com"], "https://sts.amazonaws.com", nil),
            (
                ["HTTPS_PROXY": "http://p:1", "no_proxy": ".amazonaws.com"],
                "https://sts.eu-west-1.amazonaws.com", nil
            ),
            (
                ["HTTPS_PROXY": "http://p:1", "NO_PROXY": "example.com"], "https://sts.amazonaws.com",
                "http://p:1"
            ),
            (["HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"], "https://sts.amazonaws.com", nil),
            // curl ignores upper-case HTTP_PROXY.
            (["HTTP_PROXY": "http://p:1"], "http://sts.amazonaws.com", nil),
            (["http_proxy": "http://p:1"], "http://sts.amazonaws.com", "http://p:1"),
            (["ALL_PROXY": "socks5h://p:1"], "http://sts.amazonaws.com", "socks5h://p:1"),
            ([:], "https://sts.amazonaws.com", nil),
        ] as [([String: String], String, String?)])
    func choosesTheProxy(environment: [String: String], target: String, expected: String?) throws {
        let url = try #require(URL(string: target))
        #expect(ProxySettings(environment: environment).proxy(for: url)?.absoluteString == expected)
    }

    /// Loopback, link-local and the AWS container / IMDS addresses: direct whatever is set.
    @Test(
        arguments: [
            "http://127.0.0.1:8080/creds", "http://127.1.2.3/", "http://localhost:9911/",
            "http://LOCALHOST./",
            "http://api.localhost/", "http://[::1]:8080/", "http://[::ffff:127.0.0.1]/",
            "http://169.254.170.2/v2/credentials/x", "http://169.254.170.23/v1/credentials",
            "http://169.254.169.254/latest/api/token", "http://169.254.1.1/",
            "http://[fd00:ec2::23]/v1/credentials",
            "http://[fd00:ec2::254]/latest/api/token", "http://[fe80::1]/", "http://[febf::1]/",
        ])
    func neverProxied(target: String) throws {
        let url = try #require(URL(string: target))
        let everything = [
            "http_proxy": "http://p:1", "https_proxy": "http://p:1", "all_proxy": "http://p:1",
            "NO_PROXY": "",
        ]
        #expect(ProxySettings(environment: everything).proxy(for: url) == nil)
        #expect(
            ProxySettings(environment: everything).proxy(
                for: try #require(URL(string: "http://example.com/"))) != nil)
    }

    /// NO_PROXY as curl matches it (CURLOPT_NOPROXY): `*`; names by domain (leading or trailing dot
    /// ignored, never a bare suffix); IP addresses exactly or by CIDR; entries split by commas or spaces.
    @Test(
        arguments: [
            ("*", "sts.amazonaws.com", true),
            ("example.com,*", "sts.amazonaws.com", true),
            ("amazonaws.com", "sts.amazonaws.com", true),
            ("amazonaws.com", "amazonaws.com", true),
            (".amazonaws.com", "amazonaws.com", true),
            (".amazonaws.com", "sts.amazonaws.com", true),
            ("amazonaws.com.", "sts.amazonaws.com", true),
            ("AmazonAWS.com", "sts.amazonaws.com", true),
            ("amazonaws.com", "sts.amazonaws.com.", true),
            ("ws.com", "sts.amazonaws.com", false),
            ("amazonaws.com", "amazonaws.com.evil.example", false),
            ("example.com amazonaws.com", "sts.amazonaws.com", true),
            (" example.com , amazonaws.com ", "sts.amazonaws.com", true),
            ("10.0.0.0/8", "10.20.30.40", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("192.168.0.0/16", "192.168.7.1", true),
            ("10.1.2.3", "10.1.2.3", true),
            ("10.1.2.3", "10.1.2.4", false),
            ("10.1.2.3/0", "10.1.2.4", false),
            ("10.1.2.3/33", "10.1.2.3", false),
            ("10.1.2.0/23", "10.1.3.9", true),
            ("10.1.2.0/23", "10.1.4.9", false),
            ("10.0.0.0/8", "ten.example.com", false),
            ("2001:db8::/32", "[2001:db8:1::7]", true),
            ("2001:db8::/32", "[2001:db9::7]", false),
            ("2001:db8::1", "[2001:db8:0::1]", true),
            ("10.1.2.3", "10.1.2.3.nip.io", false),
            ("", "sts.amazonaws.com", false),
        ] as [(String, String, Bool)])
    func noProxyMatchesLikeCurl(noProxy: String, host: String, bypassed: Bool) throws {
        let url = try #require(URL(string: "https://\(host)/"))
        let settings = ProxySettings(environment: ["https_proxy": "http://p:1", "no_proxy": noProxy])
        #expect((settings.proxy(for: url) == nil) == bypassed)
    }
}
