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
            (
                ["HTTPS_PROXY": "http://p:1", "NO_PROXY": "127.0.0.1,localhost"], "https://127.0.0.1:4566",
                nil
            ),
            // curl ignores upper-case HTTP_PROXY.
            (["HTTP_PROXY": "http://p:1"], "http://127.0.0.1:4566", nil),
            (["http_proxy": "http://p:1"], "http://127.0.0.1:4566", "http://p:1"),
            ([:], "https://sts.amazonaws.com", nil),
        ] as [([String: String], String, String?)])
    func choosesTheProxy(environment: [String: String], target: String, expected: String?) throws {
        let url = try #require(URL(string: target))
        #expect(ProxySettings(environment: environment).proxy(for: url)?.absoluteString == expected)
    }
}
