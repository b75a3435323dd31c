#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// The browser `login` opens the console in, when one is chosen (`--browser`, `--browser-profile`,
/// `--firefox-container`, or the profile's `latchkey_browser`, `latchkey_browser_profile`,
/// `latchkey_firefox_container`): a named browser started with its own profile, so two accounts
/// stay signed in side by side. Without a choice, the desktop's opener is used as before.
public struct BrowserChoice: Sendable, Equatable {
    /// The browser's name as written (`chromium`, `chrome`, `brave`, `edge`, `firefox`).
    public var browser: String?
    /// Chromium family: the profile directory (`Default`, `Profile 1`, or a new name); Firefox: the profile name.
    public var profile: String?
    /// Firefox: the container (needs the "Open external links in a container" add-on).
    public var firefoxContainer: String?
    /// Where the choice came from, for messages.
    public var origin: String

    public init(
        browser: String? = nil, profile: String? = nil, firefoxContainer: String? = nil,
        origin: String = "the command line"
    ) {
        self.browser = browser
        self.profile = profile
        self.firefoxContainer = firefoxContainer
        self.origin = origin
    }

    public var isEmpty: Bool { browser == nil && profile == nil && firefoxContainer == nil }
}

/// The browsers `login` can start itself.
public enum BrowserKind: String, CaseIterable, Sendable {
    case chromium, chrome, brave, edge, firefox

    public var isChromiumFamily: Bool { self != .firefox }

    /// Program names looked up on PATH, first found wins.
    public var linuxNames: [String] {
        switch self {
        case .chromium: ["chromium", "chromium-browser"]
        case .chrome: ["google-chrome", "google-chrome-stable"]
        case .brave: ["brave-browser", "brave"]
        case .edge: ["microsoft-edge", "microsoft-edge-stable"]
        case .firefox: ["firefox"]
        }
    }

    /// The macOS app and the program inside it.
    public var macApp: (app: String, binary: String) {
        switch self {
        case .chromium: ("Chromium.app", "Chromium")
        case .chrome: ("Google Chrome.app", "Google Chrome")
        case .brave: ("Brave Browser.app", "Brave Browser")
        case .edge: ("Microsoft Edge.app", "Microsoft Edge")
        case .firefox: ("Firefox.app", "firefox")
        }
    }
}

/// What to start: a program and its arguments. The arguments hold the private page's path (or
/// its file URL), never the sign-in URL.
public struct BrowserLaunchPlan: Sendable, Equatable {
    public var browser: BrowserKind
    public var executable: String
    public var arguments: [String]
}

extension Browser {
    public enum Platform: Sendable { case linux, macOS }

    #if os(macOS)
        public static let platform = Platform.macOS
    #else
        public static let platform = Platform.linux
    #endif

    public enum LaunchFailure: Error, Equatable, CustomStringConvertible {
        case unknownBrowser(name: String, origin: String)
        case needsBrowser(option: String, origin: String)
        case containerNeedsFirefox(browser: String, origin: String)
        case badName(option: String, value: String, origin: String)
        case notInstalled(browser: String, lookedFor: [String])
        case failed(program: String, reason: ProgramFailure)

        public var description: String {
            let names = BrowserKind.allCases.map(\.rawValue).joined(separator: ", ")
            switch self {
            case .unknownBrowser(let name, let origin):
                return "'\(name)' (from \(origin)) is not a browser latchkey can start; pick one of \(names)."
            case .needsBrowser(let option, let origin):
                return
                    "\(option) (from \(origin)) names a browser profile, so it needs a browser: add --browser "
                    + "(one of \(names)) or set latchkey_browser in the profile."
            case .containerNeedsFirefox(let browser, let origin):
                return
                    "a Firefox container (from \(origin)) needs --browser firefox, not \(browser); drop "
                    + "--firefox-container or pick firefox."
            case .badName(let option, let value, let origin):
                return "\(option) '\(value)' (from \(origin)) must be a non-empty name on one line."
            case .notInstalled(let browser, let lookedFor):
                return
                    "\(browser) was not found (looked for \(lookedFor.joined(separator: ", "))); install it, "
                    + "pick another with --browser, or run `latchkey login --stdout` and open the URL yourself."
            case .failed(let program, let reason):
                return "\(program) failed: \(reason); run `latchkey login --stdout` instead."
            }
        }
    }

    /// Where `browser` is looked for, in order.
    public static func candidates(for browser: BrowserKind, platform: Platform, home: String?) -> [String] {
        switch platform {
        case .linux:
            return browser.linuxNames
        case .macOS:
            let (app, binary) = browser.macApp
            var folders = ["/Applications"]
            if let home, !home.isEmpty { folders.append(home + "/Applications") }
            return folders.map { "\($0)/\(app)/Contents/MacOS/\(binary)" } + browser.linuxNames
        }
    }

    /// The program and arguments that open `page` (the private redirect page's path) as `choice`
    /// says; nil when nothing is chosen (the desktop's opener then). `find` resolves a candidate
    /// (a name on PATH or a path) to a program, or nil.
    public static func launchPlan(
        _ choice: BrowserChoice, page: String, platform: Platform = Browser.platform, home: String?,
        find: (String) -> String?
    ) throws(LaunchFailure) -> BrowserLaunchPlan? {
        if choice.isEmpty { return nil }
        for (option, value) in [
            ("--browser-profile", choice.profile), ("--firefox-container", choice.firefoxContainer),
        ] {
            if let value, value.isEmpty || value.contains(where: \.isNewline) {
                throw .badName(option: option, value: value, origin: choice.origin)
            }
        }
        let kind: BrowserKind
        if let name = choice.browser {
            guard let known = BrowserKind(rawValue: name.lowercased()) else {
                throw .unknownBrowser(name: name, origin: choice.origin)
            }
            kind = known
        } else if choice.firefoxContainer != nil {
            kind = .firefox
        } else {
            throw .needsBrowser(option: "--browser-profile", origin: choice.origin)
        }
        if choice.firefoxContainer != nil, kind != .firefox {
            throw .containerNeedsFirefox(browser: kind.rawValue, origin: choice.origin)
        }
        let looked = candidates(for: kind, platform: platform, home: home)
        guard let executable = looked.lazy.compactMap(find).first else {
            throw .notInstalled(browser: kind.rawValue, lookedFor: looked)
        }
        var arguments: [String] = []
        if kind.isChromiumFamily {
            if let profile = choice.profile { arguments.append("--profile-directory=\(profile)") }
            arguments.append(page)
        } else {
            if let profile = choice.profile { arguments += ["-P", profile] }
            if let container = choice.firefoxContainer {
                arguments.append(containerURL(container, page: page))
            } else {
                arguments.append(page)
            }
        }
        return BrowserLaunchPlan(browser: kind, executable: executable, arguments: arguments)
    }

    /// The "Open external links in a container" add-on's link: the container and the page's file URL.
    static func containerURL(_ container: String, page: String) -> String {
        // Unreserved ASCII stays; everything else, non-ASCII letters too, is percent-encoded.
        func encode(_ text: String) -> String { text.percentEncoded() }
        let file = URL(fileURLWithPath: page).absoluteString
        return "ext+container:name=\(encode(container))&url=\(encode(file))"
    }

    /// Starts the plan's browser and waits for it a moment: a browser that hands the page to its
    /// running instance exits (non-zero is a failure); one starting its first window keeps running.
    public static func launch(_ plan: BrowserLaunchPlan, environment: [String: String])
        async throws(LaunchFailure)
    {
        let status: Int32?
        do {
            status = try await onOwnThread(named: "latchkey-browser") { () throws(Subprocess.Failure) in
                try Subprocess.launch(plan.executable, plan.arguments, environment: environment)
            }
        } catch {
            throw .failed(program: plan.executable, reason: .couldNotRun(error))
        }
        if let status, status != 0 {
            throw .failed(program: plan.executable, reason: .exitStatus(status))
        }
    }
}

extension ProfileResolver {
    /// Latchkey's own profile keys for the browser `login` opens.
    static let browserKeys = ["latchkey_browser", "latchkey_browser_profile", "latchkey_firefox_container"]

    /// The browser choice for `profile`: with `--browser`, the flags alone (a profile's browser
    /// profile names belong to its browser); else the profile's keys, each replaced by its flag.
    public func browserChoice(profile: String, flags: BrowserChoice) throws -> BrowserChoice {
        if flags.browser != nil { return flags }
        let section = try settings(profile, isTarget: true)
        let browser = section["latchkey_browser"].flatMap(nonEmpty)
        let browserProfile = section["latchkey_browser_profile"].flatMap(nonEmpty)
        let container = section["latchkey_firefox_container"].flatMap(nonEmpty)
        if browser == nil, browserProfile == nil, container == nil { return flags }
        return BrowserChoice(
            browser: browser, profile: flags.profile ?? browserProfile,
            firefoxContainer: flags.firefoxContainer ?? container,
            origin: flags.isEmpty ? "profile '\(profile)'" : "profile '\(profile)' and the command line")
    }
}
