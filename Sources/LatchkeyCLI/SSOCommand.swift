import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport
import LatchkeyCore

struct SSOCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sso",
        abstract: "Sign in to IAM Identity Center (SSO) for a profile, or sign out.",
        discussion: """
            `exec` and `export` sign in by themselves when an SSO profile's token has expired and \
            cannot be refreshed; these commands do it on purpose. The token is kept in the keyring \
            (and also in ~/.aws/sso/cache with LATCHKEY_SSO_SHARE_CLI_CACHE=1).
            """,
        subcommands: [Login.self, Logout.self, Populate.self])

    struct Login: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign in now with the device flow (the browser opens on the sign-in page).")

        @OptionGroup var global: GlobalOptions

        @Flag(name: .customLong("no-browser"), help: "Only print the URL and code; do not open a browser.")
        var noBrowser = false

        @Argument(help: "An SSO profile (or an sso-session's name).", completion: profileCompletion)
        var profile: String

        func run() async throws {
            var runtime = try Runtime(options: global)
            if noBrowser { runtime.openBrowser = false }
            let sso = try runtime.ssoSource(profile: profile)
            let service = CredentialService(
                context: try runtime.coreContext(store: try runtime.openStore()))
            let token = try await service.ssoToken(sso, forceLogin: true)
            runtime.print("Signed in to \(sso.startURL) until \(iso8601(token.expiresAt)).")
        }
    }

    struct Logout: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Forget the IAM Identity Center token of a profile (here and, when shared, in the AWS CLI's cache)."
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: "An SSO profile (or an sso-session's name).", completion: profileCompletion)
        var profile: String

        func run() async throws {
            let runtime = try Runtime(options: global)
            let sso = try runtime.ssoSource(profile: profile)
            let context = try runtime.coreContext(store: try runtime.openStore())
            let sessions = try await SSOSignIn(context: context).signOut(sso, profile: profile)
            runtime.print(
                sessions.map { "Signed out of \(sso.startURL) (\($0) cached session(s) removed)." }
                    ?? "Not signed in.")
        }
    }

    struct Populate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Write a profile for every account and role an sso-session can reach into ~/.aws/config.",
            discussion: """
                Signs in when needed, lists the accounts and roles (ListAccounts, ListAccountRoles), and \
                writes one profile each (sso_session, sso_account_id, sso_role_name, region) between \
                `# BEGIN latchkey sso populate: SSO_SESSION` and `# END ...` lines. Only that block is \
                changed (atomically, with a backup); a name a profile outside it already has is skipped. \
                Run again, it adds and updates profiles; profiles no longer assigned stay unless --prune.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The name of an [sso-session NAME] section.")
        var ssoSession: String

        @Option(
            help: """
                Profile names, from {account_name}, {account_id}, {role_name}, {sso_session}. Characters a \
                profile name cannot hold become '-'; names that clash get -ACCOUNT_ID.
                """)
        var template = SSOPopulate.defaultTemplate

        @Option(help: "The profiles' region. (Default: the sso-session's sso_region.)")
        var region: String?

        @Flag(help: "Remove the block's profiles that are no longer assigned.")
        var prune = false

        @Flag(name: .customLong("dry-run"), help: "Print the change to the block as a diff; write nothing.")
        var dryRun = false

        @Flag(
            name: .customLong("no-browser"),
            help: "Only print the sign-in URL and code; do not open a browser.")
        var noBrowser = false

        @Flag(help: "Print the result as JSON.")
        var json = false

        func run() async throws {
            var runtime = try Runtime(options: global)
            if noBrowser { runtime.openBrowser = false }
            let populate = SSOPopulate(
                context: try runtime.coreContext(store: try runtime.openStore()),
                resolver: try runtime.resolver())
            let report = try await populate.run(
                ssoSession: ssoSession,
                options: .init(template: template, region: region, prune: prune, dryRun: dryRun))
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                runtime.print(String(decoding: try encoder.encode(report), as: UTF8.self))
                return
            }
            let changes = report.changes
            if dryRun {
                for line in changes.diff { runtime.print(line) }
            }
            for (label, names) in [
                ("added", changes.added), ("updated", changes.updated), ("removed", changes.removed),
                ("kept", changes.gone), ("skipped", changes.skipped),
            ] {
                for name in names {
                    runtime.print("\(label.padded(to: 8)) \(name)")
                }
            }
            if !changes.gone.isEmpty {
                runtime.print(
                    "\(changes.gone.count) profile(s) are no longer assigned to you and were kept; --prune removes them."
                )
            }
            if !changes.skipped.isEmpty {
                runtime.print(
                    "\(changes.skipped.count) profile(s) are defined outside latchkey's block and were left alone."
                )
            }
            let summary =
                "\(changes.added.count) added, \(changes.updated.count) updated, \(changes.removed.count) removed, "
                + "\(changes.unchanged.count) unchanged (\(report.roles) roles in \(report.accounts) accounts)"
            if dryRun {
                runtime.print("Dry run: \(summary); nothing written to \(report.configFile).")
            } else if report.written {
                runtime.print(
                    "Wrote sso-session \(ssoSession)'s profiles to \(report.configFile): \(summary).")
            } else {
                runtime.print("\(report.configFile) is up to date: \(summary).")
            }
        }
    }
}

extension Runtime {
    func ssoSource(profile: String) throws -> CredentialSource.SSOSource {
        let resolver = try resolver()
        if resolver.namesOnlyAnSSOSession(profile) { return try resolver.ssoSessionSource(profile) }
        let plan = try resolver.plan(for: CredentialRequest(profile: profile, scope: .unscoped))
        guard case .sso(let sso) = plan.source else {
            throw CLIError(
                "profile '\(profile)' does not use IAM Identity Center (no sso_session or sso_start_url).")
        }
        return sso
    }
}

/// Shows the device code on the terminal (or stderr) and opens the browser on the sign-in page.
struct TerminalSSOPresenter: SSOLoginPresenter {
    var openBrowser: Bool
    var terminal: any TerminalIO
    /// The run's environment (the world's), which says how to open a browser.
    var environment: [String: String]

    func present(verificationURI: String, completeURI: String?, userCode: String, profile: String) async {
        let url = completeURI ?? verificationURI
        terminal.say(
            "latchkey: sign in to IAM Identity Center for profile '\(profile)': open \(url)\n"
                + "latchkey: and check that the page shows the code \(userCode). Waiting…\n")
        guard openBrowser else { return }
        do {
            try await Browser.open(url, environment: environment)
        } catch {
            // The page is printed above: the user can still open it.
            terminal.say("latchkey: \(error); open the page above yourself.\n")
        }
    }
}
