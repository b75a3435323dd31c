import AWSClient
import Foundation
import LatchkeyTestSupport
import Testing

// All 69 cases of botocore's `sts/endpoint-rules/endpoint-tests-1.json`, one row each.
@Suite("STSEndpoint")
struct STSEndpointTests {
    struct Case: Decodable, CustomTestStringConvertible, Sendable {
        struct Params: Decodable, Sendable {
            var Region: String?
            var UseFIPS: Bool?
            var UseDualStack: Bool?
            var UseGlobalEndpoint: Bool?
            var Endpoint: String?
        }
        struct Expect: Decodable, Sendable {
            struct Endpoint: Decodable, Sendable {
                struct Properties: Decodable, Sendable {
                    struct AuthScheme: Decodable, Sendable { var signingRegion: String? }
                    var authSchemes: [AuthScheme]?
                }
                var url: String
                var properties: Properties?
            }
            var endpoint: Endpoint?
            var error: String?
        }
        var documentation: String
        var params: Params?
        var expect: Expect

        var testDescription: String { documentation }
    }

    struct File: Decodable { var testCases: [Case] }

    static let cases: [Case] = {
        do {
            return try JSONDecoder().decode(
                File.self, from: ConformanceData.data("sts/endpoint-rules/endpoint-tests-1.json")
            )
            .testCases
        } catch {
            // A single failing row instead of an empty (silently passing) table.
            return [
                Case(documentation: "MISSING endpoint-tests-1.json: \(error)", params: nil, expect: .init())
            ]
        }
    }()

    static let expectedErrors: [String: STSEndpoint.ResolutionError] = [
        "Invalid Configuration: FIPS and custom endpoint are not supported": .fipsWithCustomEndpoint,
        "Invalid Configuration: Dualstack and custom endpoint are not supported":
            .dualStackWithCustomEndpoint,
        "Invalid Configuration: Missing Region": .missingRegion,
    ]

    @Test func fileHasAllCases() {
        #expect(Self.cases.count == 69)
    }

    @Test(arguments: cases)
    func resolves(_ test: Case) throws {
        let params = test.params
        let resolve = {
            try STSEndpoint.resolve(
                region: params?.Region, useFIPS: params?.UseFIPS ?? false,
                useDualStack: params?.UseDualStack ?? false,
                useGlobalEndpoint: params?.UseGlobalEndpoint ?? false,
                customEndpoint: params?.Endpoint.flatMap(URL.init(string:)))
        }
        if let message = test.expect.error {
            let expected = try #require(Self.expectedErrors[message], "unmapped error '\(message)'")
            #expect(throws: expected) { try resolve() }
            return
        }
        let endpoint = try #require(test.expect.endpoint, "\(test.documentation)")
        let resolved = try resolve()
        #expect(resolved.url.absoluteString == endpoint.url)
        let signingRegion = endpoint.properties?.authSchemes?.first?.signingRegion ?? params?.Region
        #expect(resolved.signingRegion == signingRegion)
    }

    @Test func simpleOverloadSignsGlobalForUSEast1() throws {
        let resolved = try STSEndpoint.resolve(region: "eu-west-1", useGlobalEndpoint: true)
        #expect(resolved.url.absoluteString == "https://sts.amazonaws.com")
        #expect(resolved.signingRegion == "us-east-1")
        #expect(throws: STSEndpoint.ResolutionError.invalidRegion("eu west")) {
            try STSEndpoint.resolve(region: "eu west")
        }
        #expect(throws: STSEndpoint.ResolutionError.dualStackUnsupported(partition: "aws-iso")) {
            try STSEndpoint.resolve(region: "us-iso-east-1", useDualStack: true)
        }
    }
}
