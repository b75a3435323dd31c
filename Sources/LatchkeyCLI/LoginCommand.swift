import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import LatchkeyCore
import SystemSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Open the AWS console signed in with a profile's credentials.",
        discussion: """
            Roles, IAM Identity Center and web identity sessions are signed in as they are; an \
            IAM user's stored key gets GetFederationToken (with an allow-all session policy, so \
            the console has the user's own rights). An IAM user with mfa_serial, or credentials \
            that are a GetSessionToken session, cannot get a useful console session: latchkey \
            says so and names the account's sign-in page instead. The URL signs in once within \
            15 minutes; treat it as a secret. LATCHKEY_SIGNIN_ENDPOINT replaces the federation \
            endpoint (for tests).
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The profile name. (Default: $AWS_PROFILE, else default.)", completion: profileCompletion)
    var profile: String?

    @Flag(name: [.customShort("s"), .long], help: "Print the sign-in URL instead of opening a browser.")
    var stdout = false

    @Option(name: .long, help: "The console page to land on, such as ec2/home or s3/buckets.")
    var path: String?

    @Option(name: .long, help: "The console region (and the partition's sign-in host).")
    var region: String?

    @Option(
        name: [.customShort("d"), .long],
        help:
            "Console session length: seconds or 15m, 1h, 12h (roles 15m-12h, 1h when chained; users 15m-36h)."
    )
    var duration: String?

    @Option(
        name: [.customShort("t"), .customLong("mfa-token")], help: "The current MFA code, instead of asking.")
    var mfaToken: String?

    @OptionGroup var scope: ScopeOptions

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Open the console in this browser: chromium, chrome, brave, edge or firefox. (Default: latchkey_browser, else the desktop's opener.)",
            valueName: "name"))
    var browser: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The browser profile: Chromium family, its profile directory (Default, Profile 1, or a new name); Firefox, its profile name. (Default: latchkey_browser_profile.)",
            valueName: "name"))
    var browserProfile: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Open in this Firefox container (needs the Open external links in a container add-on). (Default: latchkey_firefox_container.)",
            valueName: "name"))
    var firefoxContainer: String?

    func run() async throws {
        let runtime = try Runtime(options: global)
        let name = profile ?? nonEmpty(runtime.environment["AWS_PROFILE"]) ?? "default"
        let seconds = try duration.map(parseDuration)
        let choice = try runtime.resolver().browserChoice(
            profile: name,
            flags: BrowserChoice(
                browser: browser, profile: browserProfile, firefoxContainer: firefoxContainer))
        let opensBrowser = !stdout && runtime.openBrowser
        if opensBrowser {
            // Checked before any credentials are fetched: an unknown or missing browser fails at once.
            _ = try Browser.launchPlan(
                choice, page: "", home: runtime.environment["HOME"],
                find: { findExecutable($0, environment: runtime.environment) })
        }
        let lookup = try await runtime.workspace.plan(
            // --region picks the console page (and its partition's hosts); STS keeps the profile's region.
            for: CredentialRequest(
                profile: name, durationSeconds: seconds, mfaToken: mfaToken, scope: scope.request),
            console: true)
        let login = ConsoleLogin(context: try runtime.coreContext(store: lookup.store))
        let result = try await login.loginURL(
            plan: lookup.plan,
            request: ConsoleLoginRequest(
                profile: name, path: path, region: region, durationSeconds: seconds, mfaToken: mfaToken))
        if !opensBrowser {
            runtime.print(result.url.absoluteString)
            return
        }
        let opened = try await openInBrowser(result.url, environment: runtime.environment, choice: choice)
        runtime.world.standardError("latchkey: opened the AWS console for '\(name)' in \(opened).\n")
    }
}

/// Opens a secret URL without putting it on any command line (argv is visible to every user):
/// the browser gets a 0600 page in a private folder that redirects to it. Pages older than the
/// URL's 15 minutes are swept on the next run. With a browser chosen, that browser gets the page
/// (with its profile or container); else the desktop's opener. Returns what opened it.
private func openInBrowser(_ url: URL, environment: [String: String], choice: BrowserChoice)
    async throws -> String
{
    guard !choice.isEmpty || Browser.isAvailable(environment: environment) else {
        throw CLIError(
            "\(Browser.opener) was not found to open a browser; run `latchkey login --stdout` and open the URL yourself."
        )
    }
    guard let runtime = privateRuntimeFolder else {
        throw CLIError(
            "there is no private folder for the sign-in page (see the warning above); use --stdout.")
    }
    let folder = URL(fileURLWithPath: runtime)
    sweep(folder, olderThan: 15 * 60)
    let page = folder.appendingPathComponent("login-\(UUID().uuidString).html")
    let target = url.absoluteString.replacing("&", with: "&amp;")
        .replacing("\"", with: "&quot;")
    let html = """
        <!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer">
        <meta http-equiv="refresh" content="0;url=\(target)"><title>latchkey: AWS console</title>
        <a href="\(target)">Continue to the AWS console</a>

        """
    do throws(FileOperationError) {
        try PrivateFile.create(Data(html.utf8), at: page.path)
    } catch {
        throw CLIError("", cause: error, "; use --stdout.")
    }
    if let plan = try Browser.launchPlan(
        choice, page: page.path, home: environment["HOME"],
        find: { findExecutable($0, environment: environment) })
    {
        try await Browser.launch(plan, environment: environment)
        return plan.browser.rawValue + (choice.profile.map { " (profile '\($0)')" } ?? "")
            + (choice.firefoxContainer.map { " (container '\($0)')" } ?? "")
    }
    do {
        try await Browser.open(page.path, environment: environment)
    } catch {
        throw CLIError("", cause: error, "; run `latchkey login --stdout` instead.")
    }
    return "your browser"
}

private func sweep(_ folder: URL, olderThan seconds: TimeInterval) {
    let manager = FileManager.default
    guard let names = try? manager.contentsOfDirectory(atPath: folder.path) else { return }
    // Old pages, and temp files a writer killed mid-write left in the runtime folder.
    for name in names
    where (name.hasPrefix("login-") && name.hasSuffix(".html")) || name.hasPrefix(PrivateFile.temporaryPrefix)
    {
        let path = folder.appendingPathComponent(name).path
        if let modified = (try? manager.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
            Date().timeIntervalSince(modified) > seconds
        {
            try? manager.removeItem(atPath: path)
        }
    }
}
