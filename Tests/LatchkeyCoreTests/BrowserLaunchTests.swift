import AWSConfig
import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

/// `login --browser`: the program and argv each browser gets, the errors, and the profile keys.
@Suite struct BrowserLaunchTests {
    static let page = "/run/user/1000/latchkey/login-1234.html"
    static let secret = "https://signin.aws.amazon.com/federation?Action=login&SigninToken=SECRET"

    /// Every name on PATH "installed" in /opt/bin; on macOS nothing is in /Applications.
    static func installed(_ names: Set<String>) -> (String) -> String? {
        { names.contains($0) ? "/opt/bin/\($0)" : nil }
    }

    func plan(
        _ choice: BrowserChoice, platform: Browser.Platform = .linux, installed: Set<String>
    ) throws -> BrowserLaunchPlan? {
        try Browser.launchPlan(
            choice, page: Self.page, platform: platform, home: "/home/u", find: Self.installed(installed))
    }

    @Test func noChoiceMeansTheDesktopOpener() throws {
        #expect(try plan(BrowserChoice(), installed: ["chromium", "firefox"]) == nil)
    }

    @Test(arguments: [
        ("chromium", "chromium-browser"), ("chrome", "google-chrome-stable"), ("brave", "brave"),
        ("edge", "microsoft-edge-stable"),
    ])
    func chromiumFamilyGetsTheProfileDirectoryAndThePage(browser: String, program: String) throws {
        let launch = try #require(
            try plan(BrowserChoice(browser: browser, profile: "Profile 2"), installed: [program]))
        #expect(launch.executable == "/opt/bin/\(program)")
        #expect(launch.arguments == ["--profile-directory=Profile 2", Self.page])
        #expect(!launch.arguments.joined().contains("SigninToken"))
    }

    @Test func theFirstNameFoundWins() throws {
        let launch = try #require(
            try plan(BrowserChoice(browser: "Chrome"), installed: ["google-chrome", "google-chrome-stable"]))
        #expect(launch.executable == "/opt/bin/google-chrome")
        #expect(launch.arguments == [Self.page])
    }

    @Test func aBrowserThatFailsKeepsTheReason() async throws {
        let missing = BrowserLaunchPlan(browser: .firefox, executable: "/nonexistent/firefox", arguments: [])
        do {
            try await Browser.launch(missing, environment: [:])
            Issue.record("a missing program should fail")
        } catch {
            guard case .failed("/nonexistent/firefox", .couldNotRun) = error else {
                Issue.record("expected couldNotRun, got \(error)")
                return
            }
        }
        let failing = BrowserLaunchPlan(
            browser: .firefox, executable: "/bin/sh", arguments: ["-c", "exit 3"])
        do {
            try await Browser.launch(failing, environment: [:])
            Issue.record("a failing program should fail")
        } catch {
            #expect(error == .failed(program: "/bin/sh", reason: .exitStatus(3)))
            #expect("\(error)" == "/bin/sh failed: exit status 3; run `latchkey login --stdout` instead.")
        }
    }

    @Test func firefoxGetsItsProfileByName() throws {
        let launch = try #require(
            try plan(BrowserChoice(browser: "firefox", profile: "work"), installed: ["firefox"]))
        #expect(
            launch
                == BrowserLaunchPlan(
                    browser: .firefox, executable: "/opt/bin/firefox", arguments: ["-P", "work", Self.page]))
    }

    @Test func aFirefoxContainerGetsTheAddOnLinkToThePagesFileURL() throws {
        let launch = try #require(
            try plan(BrowserChoice(firefoxContainer: "Prod & Co", origin: "x"), installed: ["firefox"]))
        #expect(launch.browser == .firefox)
        #expect(
            launch.arguments == [
                "ext+container:name=Prod%20%26%20Co&url=file%3A%2F%2F%2Frun%2Fuser%2F1000%2Flatchkey%2Flogin-1234.html"
            ])
        let both = try #require(
            try plan(
                BrowserChoice(browser: "firefox", profile: "p", firefoxContainer: "c"), installed: ["firefox"]
            ))
        #expect(both.arguments.prefix(2) == ["-P", "p"])
        #expect(both.arguments[2].hasPrefix("ext+container:name=c&url=file%3A"))
    }

    @Test func onMacOSTheAppBinaryComesFirst() throws {
        let app = "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"
        let launch = try #require(
            try Browser.launchPlan(
                BrowserChoice(browser: "chrome", profile: "Default"), page: Self.page, platform: .macOS,
                home: "/Users/u", find: { $0 == app || $0 == "google-chrome" ? $0 : nil }))
        #expect(launch.executable == app)
        #expect(launch.arguments == ["--profile-directory=Default", Self.page])
        #expect(
            Browser.candidates(for: .firefox, platform: .macOS, home: "/Users/u") == [
                "/Applications/Firefox.app/Contents/MacOS/firefox",
                "/Users/u/Applications/Firefox.app/Contents/MacOS/firefox", "firefox",
            ])
    }

    @Test func errorsSayWhatWasLookedForAndWhatToDo() throws {
        #expect(throws: Browser.LaunchFailure.unknownBrowser(name: "safari", origin: "the command line")) {
            try plan(BrowserChoice(browser: "safari"), installed: [])
        }
        #expect(
            throws: Browser.LaunchFailure.notInstalled(
                browser: "brave", lookedFor: ["brave-browser", "brave"])
        ) {
            try plan(BrowserChoice(browser: "brave"), installed: ["chromium"])
        }
        let missing = Browser.LaunchFailure.notInstalled(
            browser: "brave", lookedFor: ["brave-browser", "brave"])
        #expect(missing.description.contains("--stdout") && missing.description.contains("--browser"))
        #expect(
            throws: Browser.LaunchFailure.needsBrowser(
                option: "--browser-profile", origin: "the command line")
        ) {
            try plan(BrowserChoice(profile: "work"), installed: ["chromium"])
        }
        #expect(
            throws: Browser.LaunchFailure.containerNeedsFirefox(
                browser: "chromium", origin: "the command line")
        ) {
            try plan(BrowserChoice(browser: "chromium", firefoxContainer: "c"), installed: ["chromium"])
        }
        #expect(
            throws: Browser.LaunchFailure.badName(
                option: "--browser-profile", value: "", origin: "the command line")
        ) {
            try plan(BrowserChoice(browser: "chromium", profile: ""), installed: ["chromium"])
        }
    }

    let configText = """
        [profile work]
        latchkey_browser = firefox
        latchkey_browser_profile = work
        latchkey_firefox_container = Work

        [profile child]
        include_profile = work

        [profile plain]
        region = us-east-1
        """

    func resolver() throws -> ProfileResolver {
        ProfileResolver(
            config: try AWSSharedConfig.parse(configText: configText, credentialsText: nil), environment: [:],
            configFile: "/home/u/.aws/config")
    }

    @Test func profileKeysAreReadAndFlagsWin() throws {
        let resolver = try resolver()
        #expect(
            try resolver.browserChoice(profile: "work", flags: BrowserChoice())
                == BrowserChoice(
                    browser: "firefox", profile: "work", firefoxContainer: "Work", origin: "profile 'work'"))
        #expect(try resolver.browserChoice(profile: "child", flags: BrowserChoice()).browser == "firefox")
        let override = try resolver.browserChoice(profile: "work", flags: BrowserChoice(profile: "other"))
        #expect(
            override.browser == "firefox" && override.profile == "other"
                && override.firefoxContainer == "Work")
        // --browser takes the flags alone: the profile's names belong to its own browser.
        let flags = BrowserChoice(browser: "chromium", profile: "Profile 1")
        #expect(try resolver.browserChoice(profile: "work", flags: flags) == flags)
        #expect(try resolver.browserChoice(profile: "plain", flags: BrowserChoice()).isEmpty)
    }
}

/// The browser opener is a program latchkey starts: the one spawner keeps the vault passphrase from it.
@Suite struct BrowserEnvironmentTests {
    @Test func theOpenerGetsNoPassphrase() async throws {
        #if os(Linux)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "latchkey-opener-\(UUID().uuidString)"
            ).path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try writeExecutableScript("#!/bin/sh\nenv > '\(folder)/env'\n", to: folder + "/xdg-open")
            try await Browser.open(
                "https://example.com/",
                environment: ["PATH": folder + ":/usr/bin:/bin", "LATCHKEY_FILE_PASSPHRASE": "hunter2"])
            let seen = try String(contentsOfFile: folder + "/env", encoding: .utf8)
            #expect(seen.contains("PATH="))
            #expect(!seen.contains("hunter2"))
        #endif
    }
}
