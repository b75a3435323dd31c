import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import LatchkeyCore
import SystemSupport

struct SigninCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signin",
        abstract:
            "Sign in through the browser (console sign-in, as `aws login`) and keep the session in the keyring.",
        discussion: """
            Opens the AWS sign-in page (any console MFA works there, passkeys and security keys \
            included), receives the answer on a loopback port, and stores the 15-minute \
            credentials, the refresh token and the DPoP key as one keyring item. Writes \
            `login_session = ARN` into the profile. exec/export then refresh the session for up \
            to 12 hours. --remote prints the URL for another device and reads the code shown \
            there. AWS_ENDPOINT_URL_SIGNIN replaces the Sign-In endpoint.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The profile name. (Default: $AWS_PROFILE, else default.)", completion: profileCompletion)
    var profile: String?

    @Flag(name: .long, help: "Sign in on another device: print the URL, then paste the code it shows.")
    var remote = false

    @Option(name: .long, help: "The region to sign in to. (Default: the profile's region, else $AWS_REGION.)")
    var region: String?

    @Flag(
        name: .customLong("retire-key"),
        help: """
            Then delete the profile's stored IAM access key with the new session (after checking it is the same \
            user) and forget it; on any failure the key stays.
            """)
    var retireKey = false

    func run() async throws {
        let runtime = try Runtime(options: global)
        let name = profile ?? nonEmpty(runtime.environment["AWS_PROFILE"]) ?? "default"
        let account = LoginSessionAccount(
            context: try runtime.coreContext(store: try runtime.openStore()),
            resolver: try runtime.resolver())
        let mode: LoginSessionAccount.Mode
        if remote {
            let terminal = runtime.terminalAvailable && runtime.promptsOff == nil
            mode = .crossDevice { url in
                runtime.terminal.say(
                    "latchkey: open this URL on a device with a browser and sign in:\n\(url.absoluteString)\n"
                )
                if terminal {
                    return try runtime.terminal.readLine(
                        prompt: "Paste the code the browser shows: ", hidden: true)
                }
                return await runtime.world.standardInputLine() ?? ""
            }
        } else {
            let open = runtime.openBrowser
            let environment = runtime.environment
            mode = .sameDevice { url in
                runtime.terminal.say(
                    "latchkey: sign in for profile '\(name)' in your browser; if it does not open, visit:\n"
                        + "\(url.absoluteString)\n")
                guard open else { return }
                // The URL holds no secret (a PKCE challenge and a state), so the browser gets it directly.
                do {
                    try await Browser.open(url.absoluteString, environment: environment)
                } catch {
                    runtime.terminal.say("latchkey: \(error); open the URL above yourself. Waiting…\n")
                }
            }
        }
        let result = try await account.signin(
            profile: name, region: region, mode: mode, configFile: runtime.configFile,
            retireKey: retireKey)
        if retireKey {
            runtime.print(
                "Deleted the access key of profile '\(name)' in IAM and removed it from the keyring.")
        }
        if let replaced = result.replacedIdentity {
            runtime.print("Profile '\(name)' used the sign-in of \(replaced); it now uses the new one.")
        }
        runtime.print(
            "Signed in as \(result.session.identityArn) for profile '\(name)' (\(runtime.keyringDescription)); "
                + "refreshable until \(iso8601(result.session.sessionExpiry)).")
    }
}

struct SignoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signout",
        abstract:
            "Forget the console sign-in session of a profile (or --all); the profile keeps login_session.",
        discussion: """
            Deletes the keyring item (and the AWS CLI's cache file with LATCHKEY_SHARE_CLI_LOGIN_CACHE=1). \
            AWS has no revocation call: credentials already handed out stay valid until they expire (at most 15 minutes).
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The profile name. (Default: $AWS_PROFILE, else default.)", completion: profileCompletion)
    var profile: String?

    @Flag(name: .long, help: "Forget every stored console sign-in session.")
    var all = false

    func run() async throws {
        let runtime = try Runtime(options: global)
        let account = LoginSessionAccount(
            context: try runtime.coreContext(store: try runtime.openStore()),
            resolver: try runtime.resolver())
        if all {
            let forgotten = try await account.signoutAll()
            for arn in forgotten { runtime.print("Signed out \(arn).") }
            runtime.print("Forgot \(forgotten.count) sign-in session\(forgotten.count == 1 ? "" : "s").")
            return
        }
        let name = profile ?? nonEmpty(runtime.environment["AWS_PROFILE"]) ?? "default"
        if let arn = try await account.signout(profile: name) {
            runtime.print("Signed out \(arn) (profile '\(name)').")
        } else {
            runtime.print("Profile '\(name)' was not signed in.")
        }
    }
}

extension Runtime {
    var keyringDescription: String { "kept in the \(backendName) keyring" }
}
