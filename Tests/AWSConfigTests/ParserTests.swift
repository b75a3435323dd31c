import Foundation
import Testing

@testable import AWSConfig

@Suite struct ParserErrorTests {
    struct Malformed: Sendable, CustomTestStringConvertible {
        var text: String
        var line: Int
        var mentions: String
        var testDescription: String { mentions }
    }

    @Test(arguments: [
        Malformed(text: "# header\n\nregion = x", line: 3, mentions: "must come after a [profile NAME]"),
        Malformed(text: "[profile a]\nregion = x\n[profile b", line: 3, mentions: "must end with ']'"),
        Malformed(text: "[profile a]\n = x", line: 2, mentions: "continues a property"),
        Malformed(text: "[profile a]\r\nregion = x\r\n= y", line: 3, mentions: "needs a name"),
        Malformed(text: "[profile a]\nkey : value", line: 2, mentions: "has no '='"),
        Malformed(text: "[profile a]\ns3 =\n  max = 1\n  oops", line: 4, mentions: "sub-property"),
        Malformed(text: "  indented", line: 1, mentions: "must come after a [profile NAME]"),
    ])
    func malformedFileNamesPathAndLine(_ testCase: Malformed) {
        do {
            _ = try AWSSharedConfig.parse(
                configText: testCase.text, credentialsText: nil, configPath: "~/.aws/config")
            Issue.record("parsing should have failed")
        } catch let error as ConfigError {
            #expect(error.path == "~/.aws/config")
            #expect(error.line == testCase.line)
            #expect(error.description.hasPrefix("~/.aws/config line \(testCase.line): "))
            #expect(error.description.contains(testCase.mentions))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func errorInCredentialsFileNamesThatFile() {
        #expect(throws: ConfigError(path: "/h/.aws/credentials", line: 2, message: "")) {
            do {
                _ = try AWSSharedConfig.parse(
                    configText: "[default]", credentialsText: "[default]\nnot a property",
                    configPath: "/h/.aws/config", credentialsPath: "/h/.aws/credentials")
            } catch var error as ConfigError {
                error.message = ""
                throw error
            }
        }
    }

    @Test func errorsNeverQuoteTheOffendingLine() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        #expect {
            _ = try AWSSharedConfig.parse(
                configText: nil, credentialsText: "[default]\naws_secret_access_key \(secret)")
        } throws: { error in
            !"\(error)".contains(secret) && !"\(error)".contains("wJalr")
        }
    }
}

@Suite struct ProfileModelTests {
    static let sample = """
        [default]
        region = us-east-1

        [profile dev]
        Region = eu-west-1   # Ireland
        mfa_serial = arn:aws:iam::123456789012:mfa/doug
        mfa_process = pass otp aws
        source_profile = default
        role_arn = arn:aws:iam::123456789012:role/Dev
        external_id = ext=1
        role_session_name = doug
        duration_seconds = 1800
        services = local
        endpoint_url = http://profile.example
        s3 =
          max_concurrent_requests = 20
          Addressing_Style = path
        blank =

        [services local]
        sts =
          endpoint_url = http://127.0.0.1:4566
        IAM =
          endpoint_url = http://127.0.0.1:4567

        [sso-session corp]
        sso_start_url = https://corp.awsapps.com/start
        sso_region = us-east-1
        """
    static let credentials = """
        [dev]
        aws_access_key_id = AKIAEXAMPLE
        aws_secret_access_key = secretsecretsecret
        [other]
        aws_access_key_id = AKIAOTHER
        aws_secret_access_key = othersecret
        aws_session_token = token
        """

    let config: AWSSharedConfig

    init() throws {
        config = try AWSSharedConfig.parse(configText: Self.sample, credentialsText: Self.credentials)
    }

    @Test func typedAccessors() throws {
        let dev = try #require(config.profile("dev"))
        #expect(dev.region == "eu-west-1")
        #expect(dev.mfaSerial == "arn:aws:iam::123456789012:mfa/doug")
        #expect(dev.mfaProcess == "pass otp aws")
        #expect(dev.sourceProfile == "default")
        #expect(dev.roleArn == "arn:aws:iam::123456789012:role/Dev")
        #expect(dev.externalId == "ext=1")
        #expect(dev.roleSessionName == "doug")
        #expect(dev.servicesName == "local")
        #expect(dev.endpointURL == "http://profile.example")
        #expect(dev.accessKeyId == "AKIAEXAMPLE")
        #expect(dev.secretAccessKey == "secretsecretsecret")
        #expect(dev.sessionToken == nil)
        #expect(try dev.durationSeconds() == 1800)
        #expect(dev["REGION"] == "eu-west-1")
        #expect(dev["blank"] == "")
        #expect(dev.credentialSource == nil)
        #expect(config.profile("other")?.sessionToken == "token")
        #expect(config.profile("missing") == nil)
    }

    @Test func subPropertiesAreStructuredAndRawValueKept() throws {
        let dev = try #require(config.profile("dev"))
        #expect(dev.subProperties["s3"] == ["max_concurrent_requests": "20", "addressing_style": "path"])
        #expect(dev.properties["s3"] == "\nmax_concurrent_requests = 20\nAddressing_Style = path")
        #expect(dev.subProperties["region"] == nil)
    }

    @Test func servicesAndSsoSessions() {
        #expect(config.services["local"]?["sts"] == ["endpoint_url": "http://127.0.0.1:4566"])
        #expect(config.services["local"]?["iam"]?["endpoint_url"] == "http://127.0.0.1:4567")
        #expect(config.ssoSessions["corp"]?["sso_region"] == "us-east-1")
        #expect(config.profiles["corp"] == nil)
    }

    @Test func profileNamesFromBothFilesSorted() {
        #expect(config.profileNames == ["default", "dev", "other"])
    }

    @Test func descriptionMasksSecrets() throws {
        let other = try #require(config.profile("other"))
        for text in ["\(other)", String(reflecting: other), "\(config)"] {
            #expect(!text.contains("othersecret"))
            #expect(!text.contains("secretsecretsecret"))
            #expect(!text.contains("token,") && !text.hasSuffix("token)"))
        }
        #expect("\(other)".contains("AKIAOTHER"))
    }

    @Test(arguments: ["abc", "12.5", "-5", "0"])
    func durationSecondsRejectsNonPositiveIntegers(_ value: String) {
        let section = ProfileSection(name: "dev", properties: ["duration_seconds": value])
        #expect {
            _ = try section.durationSeconds()
        } throws: { error in
            let text = "\(error)"
            return error is ConfigError && text.contains("[profile dev]") && text.contains("duration_seconds")
        }
    }

    @Test func blankValuesReadAsAbsent() throws {
        let section = ProfileSection(name: "x", properties: ["region": "", "duration_seconds": " "])
        #expect(section.region == nil)
        #expect(try section.durationSeconds() == nil)
    }

    @Test func byteOrderMarkAndCRLFAreAccepted() throws {
        let parsed = try AWSSharedConfig.parse(
            configText: "\u{FEFF}[profile a]\r\nregion = x\r\n", credentialsText: nil)
        #expect(parsed.profile("a")?.region == "x")
    }

    @Test func endpointForStsFromServicesSection() {
        let empty: [String: String] = [:]
        #expect(
            config.configuredEndpointURL(service: "STS", profile: "dev", environment: empty)
                == "http://127.0.0.1:4566")
        #expect(
            config.configuredEndpointURL(service: "sso", profile: "dev", environment: empty)
                == "http://profile.example")
        #expect(config.configuredEndpointURL(service: "sts", profile: "default", environment: empty) == nil)
        #expect(
            config.configuredEndpointURL(
                service: "SSO OIDC", profile: "default",
                environment: ["AWS_ENDPOINT_URL_SSO_OIDC": "http://oidc"]) == "http://oidc")
        // The environment's ignore flag is read before the profile's.
        #expect(
            config.configuredEndpointURL(
                service: "sts", profile: "dev", environment: ["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "TRUE"])
                == nil)
    }

    /// Speed is measured by scripts/bench, never by a timed test.
    @Test func parsesAHundredProfiles() throws {
        var text = ""
        for index in 0..<100 {
            text += "# profile \(index)\n[profile p\(index)]\nregion = us-east-1\n"
            text += "mfa_serial = arn:aws:iam::123456789012:mfa/user\(index)\n"
            text += "role_arn = arn:aws:iam::123456789012:role/R\(index)\nsource_profile = default\n\n"
        }
        let parsed = try AWSSharedConfig.parse(configText: text, credentialsText: nil)
        #expect(parsed.profiles.count == 100)
        #expect(parsed.profile("p42")?.roleArn == "arn:aws:iam::123456789012:role/R42")
        #expect(parsed.profile("p99")?.mfaSerial == "arn:aws:iam::123456789012:mfa/user99")
    }
}

@Suite struct LocationTests {
    @Test(arguments: [
        (["HOME": "/home/u"], "/home/u/.aws/config", "/home/u/.aws/credentials", "default"),
        (["HOME": "/home/u/"], "/home/u/.aws/config", "/home/u/.aws/credentials", "default"),
        (
            [
                "HOME": "/home/u", "AWS_CONFIG_FILE": "~/cfg", "AWS_SHARED_CREDENTIALS_FILE": "~",
                "AWS_PROFILE": "p",
            ],
            "/home/u/cfg", "/home/u", "p"
        ),
        (
            ["HOME": "/home/u", "AWS_CONFIG_FILE": "~bob/cfg", "AWS_PROFILE": ""], "~bob/cfg",
            "/home/u/.aws/credentials", "default"
        ),
        (["HOME": "/"], "/.aws/config", "/.aws/credentials", "default"),
    ])
    func resolvesFromEnvironmentOnly(
        environment: [String: String], config: String, credentials: String, profile: String
    ) {
        let locations = ConfigLocations.resolve(environment: environment)
        #expect(
            locations
                == ConfigLocations(configFile: config, credentialsFile: credentials, profileName: profile))
    }

    @Test func loadTreatsMissingFilesAsEmpty() throws {
        let folder = try TemporaryFolder()
        let locations = ConfigLocations.resolve(environment: ["HOME": folder.path])
        #expect(try AWSSharedConfig.load(locations) == AWSSharedConfig())
    }

    @Test func loadReadsBothFilesAndLabelsErrorsWithTheirPaths() throws {
        let folder = try TemporaryFolder()
        try folder.write("[profile a]\nregion = r\n", to: ".aws/config")
        try folder.write("[a]\naws_access_key_id = AKIA\n", to: ".aws/credentials")
        let locations = ConfigLocations.resolve(environment: ["HOME": folder.path])
        let loaded = try AWSSharedConfig.load(locations)
        #expect(loaded.profile("a")?.properties == ["region": "r", "aws_access_key_id": "AKIA"])

        try folder.write("[profile a]\nregion = r\n[broken\n", to: ".aws/config")
        #expect(throws: ConfigError(path: locations.configFile, line: 3, message: "")) {
            do { _ = try AWSSharedConfig.load(locations) } catch var error as ConfigError {
                error.message = ""
                throw error
            }
        }
    }

    @Test func loadFailsOnAnUnreadableFile() throws {
        let folder = try TemporaryFolder()
        // A folder where the file should be cannot be read, even by root.
        try FileManager.default.createDirectory(
            atPath: folder.path + "/.aws/credentials", withIntermediateDirectories: true)
        let locations = ConfigLocations.resolve(environment: ["HOME": folder.path])
        #expect {
            _ = try AWSSharedConfig.load(locations)
        } throws: { error in
            (error as? ConfigError)?.path == locations.credentialsFile
        }
    }
}
