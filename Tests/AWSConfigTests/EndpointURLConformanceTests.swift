import Foundation
import LatchkeyTestSupport
import Testing

@testable import AWSConfig

/// `configured-endpoint-urls/profile-tests.json` (botocore): endpoint precedence.
struct EndpointSuite: Decodable, Sendable {
    struct ClientConfig: Decodable, Sendable {
        var endpoint_url: String?
        var ignore_configured_endpoint_urls: Bool?
    }
    struct Case: Decodable, Sendable {
        var name: String
        var profile: String
        var client_config: String
        var environment: String
        var service: String
        var output: [String: String]
    }
    var profiles: [String: [String: String]]
    var services: [String: [String: [String: String]]]
    var client_configs: [String: ClientConfig]
    var environments: [String: [String: String]]
    var endpointUrlTests: [Case]
}

struct EndpointCase: Sendable, CustomTestStringConvertible {
    var suite: EndpointSuite
    var test: EndpointSuite.Case
    var testDescription: String { test.name }

    static let all: [EndpointCase] = {
        struct File: Decodable { var testSuites: [EndpointSuite] }
        let suites =
            ConformanceData.load("configured-endpoint-urls/profile-tests.json", as: File.self)?.testSuites
            ?? []
        return suites.flatMap { suite in suite.endpointUrlTests.map { EndpointCase(suite: suite, test: $0) } }
    }()
}

@Suite struct EndpointURLConformanceTests {
    @Test func suiteIsComplete() {
        #expect(EndpointCase.all.count == 39)
    }

    // The suite's "client_config" is passed as the optional client arguments (a CLI flag such as
    // `--endpoint-url` would be one). When nothing is configured the SDK falls back to its default
    // regional endpoint, which the suite spells out; nil from us means exactly that.
    @Test(arguments: EndpointCase.all)
    func precedence(_ testCase: EndpointCase) throws {
        let suite = testCase.suite
        let test = testCase.test
        let config = AWSSharedConfig(
            profiles: suite.profiles.reduce(into: [:]) {
                $0[$1.key] = ProfileSection(name: $1.key, properties: $1.value)
            },
            services: suite.services)
        let client = try #require(suite.client_configs[test.client_config])
        let environment = try #require(suite.environments[test.environment])
        let region = try #require(suite.profiles[test.profile]?["region"])
        let resolved = config.configuredEndpointURL(
            service: test.service, profile: test.profile, environment: environment,
            clientEndpointURL: client.endpoint_url,
            ignoreConfiguredEndpointURLs: client.ignore_configured_endpoint_urls ?? false)
        let endpoint = resolved ?? "https://\(test.service).\(region).amazonaws.com"
        #expect(endpoint == test.output["endpointUrl"])
    }
}
