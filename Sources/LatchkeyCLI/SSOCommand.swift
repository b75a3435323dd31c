import ArgumentParser
import AWSClient
import Foundation
import Keyring
import LatchkeyCore
import SystemSupport

struct SSOCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sso",
        abstract: "Sign in to IAM Identity Center (SSO) for a profile, or sign out.",
        discussion: """
            `exec` and `export` sign in by themselves when an SSO profile's token has expired and \
            cannot be refreshed; these commands do it on purpose. The token is kept in the keyring \
            (and also in ~/.aws/sso/cache with LATCHKEY_SSO_SHARE_CLI_CACHE=1).
            """,
        subcommands: [Login.self, Logout.self])

    struct Login: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign in now with the device flow (the browser opens on the sign-in page).")

        @OptionGroup var global: GlobalOptions

        @Flag(name: .customLong("no-browser"), help: "Only print the URL and code; do not open a browser.")
        var noBrowser = false

        @Argument(help: "An SSO profile.", completion: profileCompletion)
        var profile: String

        func run() async throws {
            var runtime = try Runtime(options: global)
            if noBrowser { runtime.openBrowser = false }
            let sso = try runtime.ssoSource(profile: profile)
            let service = CredentialService(
                context: try runtime.coreContext(keyring: try runtime.openKeyring()))
            let token = try await service.ssoToken(sso, forceLogin: true)
            print("Signed in to \(sso.startURL) until \(iso8601(token.expiresAt)).")
        }
    }

    struct Logout: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Forget the IAM Identity Center token of a profile (here and, when shared, in the AWS CLI's cache)."
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: "An SSO profile.", completion: profileCompletion)
        var profile: String

        func run() async throws {
            let runtime = try Runtime(options: global)
            let sso = try runtime.ssoSource(profile: profile)
            let store = CredentialStore(keyring: try runtime.openKeyring())
            let removed = try await store.removeSSOToken(name: sso.tokenName)
            if runtime.settings.shareSSOCache {
                let cache = SSOTokenCache(
                    home: URL(fileURLWithPath: UserFolders(environment: runtime.environment).home))
                try cache.remove(sso.sessionName.map { .session($0) } ?? .startURL(sso.startURL))
            }
            let sessions = try await store.removeSessions(profile: profile)
            print(
                removed
                    ? "Signed out of \(sso.startURL) (\(sessions) cached session(s) removed)."
                    : "Not signed in.")
        }
    }
}

extension Runtime {
    func ssoSource(profile: String) throws -> CredentialSource.SSOSource {
        let plan = try resolver().plan(for: CredentialRequest(profile: profile, scope: .unscoped))
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

    func present(verificationURI: String, completeURI: String?, userCode: String, profile: String) async {
        let url = completeURI ?? verificationURI
        Terminal.say(
            "latchkey: sign in to IAM Identity Center for profile '\(profile)': open \(url)\n"
                + "latchkey: and check that the page shows the code \(userCode). Waiting…\n")
        guard openBrowser else { return }
        do {
            try await Browser.open(url, environment: ProcessInfo.processInfo.environment)
        } catch {
            // The page is printed above: the user can still open it.
            Terminal.say("latchkey: \(error); open the page above yourself.\n")
        }
    }
}
