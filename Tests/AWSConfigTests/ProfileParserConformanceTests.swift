import Foundation
import LatchkeyTestSupport
import Testing

@testable import AWSConfig

/// One case of `profile-file-parser/profile-parser-tests.json` (smithy-rs cross-SDK suite).
struct ParserCase: Decodable, Sendable, CustomTestStringConvertible {
    struct Input: Decodable, Sendable {
        var configFile: String?
        var credentialsFile: String?
    }
    struct Expected: Decodable, Sendable {
        var profiles: [String: [String: String]]
        var sso_sessions: [String: [String: String]]?
    }
    struct Output: Decodable, Sendable {
        var config: Expected?
        var errorContaining: String?
    }
    var name: String
    var input: Input
    var output: Output

    var testDescription: String { name }

    static let all: [ParserCase] =
        ConformanceData.load(
            "profile-file-parser/profile-parser-tests.json", as: ConformanceData.Tests<ParserCase>.self)?
        .tests
        ?? []
}

@Suite struct ProfileParserConformanceTests {
    @Test func suiteIsComplete() {
        #expect(ParserCase.all.count == 65)
    }

    @Test(arguments: ParserCase.all)
    func conformance(_ testCase: ParserCase) throws {
        let parse = {
            try AWSSharedConfig.parse(
                configText: testCase.input.configFile, credentialsText: testCase.input.credentialsFile)
        }
        if testCase.output.errorContaining != nil {
            // The expected wording is smithy-rs's own; only the failure is part of the contract.
            #expect(throws: ConfigError.self) { try parse() }
            return
        }
        let expected = try #require(testCase.output.config)
        let config = try parse()
        #expect(config.profiles.mapValues(\.properties) == expected.profiles)
        if let sessions = expected.sso_sessions {
            #expect(config.ssoSessions.mapValues(\.properties) == sessions)
        }
    }
}

/// One case of `profile-file-parser/file-location-tests.json`.
struct LocationCase: Decodable, Sendable, CustomTestStringConvertible {
    var name: String
    var environment: [String: String]
    var platform: String
    var profile: String?
    var configLocation: String
    var credentialsLocation: String

    var testDescription: String { "\(platform): \(name)" }

    static let all: [LocationCase] =
        ConformanceData.load(
            "profile-file-parser/file-location-tests.json", as: ConformanceData.Tests<LocationCase>.self)?
        .tests
        ?? []
}

@Suite struct FileLocationConformanceTests {
    @Test func suiteIsComplete() {
        #expect(LocationCase.all.count == 9)
        #expect(LocationCase.all.filter { $0.platform == "linux" }.count == 4)
    }

    // Skipped: the 5 "windows" cases. latchkey builds for Linux and macOS only; Windows paths
    // (`C:\users\...`, backslash joining) are not produced there.
    @Test(arguments: LocationCase.all.filter { $0.platform == "linux" })
    func linux(_ testCase: LocationCase) {
        let locations = ConfigLocations.resolve(environment: testCase.environment)
        #expect(locations.configFile == testCase.configLocation)
        #expect(locations.credentialsFile == testCase.credentialsLocation)
        if let profile = testCase.profile {
            #expect(locations.profileName == profile)
        }
    }
}
