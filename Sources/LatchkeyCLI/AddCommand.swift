import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import LatchkeyCore

struct AddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Store a profile's long-lived access key in the keyring.",
        discussion: """
            Asks for the access key id and (hidden) the secret access key, checks their shape, \
            stores them encrypted, and adds an empty [profile NAME] section to ~/.aws/config if \
            there is none. Cached sessions of the profile are removed.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The profile name.", completion: profileCompletion)
    var profile: String

    @Flag(name: .long, help: "Read AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment.")
    var env = false

    @Flag(name: .long, help: "Do not add a [profile NAME] section to the config file.")
    var noConfig = false

    func run() async throws {
        let runtime = try Runtime(options: global)
        let id: String
        let secret: String
        if env {
            guard let envId = nonEmpty(runtime.environment["AWS_ACCESS_KEY_ID"]),
                let envSecret = nonEmpty(runtime.environment["AWS_SECRET_ACCESS_KEY"])
            else { throw LatchkeyError.missingEnvironmentCredentials }
            (id, secret) = (envId, envSecret)
        } else {
            try runtime.requireTerminal(for: .accessKey(profile: profile))
            id = try runtime.terminal.readLine(prompt: "Enter Access Key ID: ", hidden: false)
            secret = try runtime.terminal.readLine(prompt: "Enter Secret Access Key: ", hidden: true)
        }
        let outcome = try await AddKey.run(
            accessKeyId: id, secretAccessKey: secret, profile: profile,
            configFile: noConfig ? nil : runtime.configFile, now: runtime.world.now()
        ) { try runtime.openStore() }
        runtime.print("Added credentials to profile \"\(profile)\" in the \(outcome.backendName) backend.")
        if outcome.addedProfile {
            runtime.print("Added [\(sectionName(profile))] to \(runtime.configFile).")
        }
    }
}

func sectionName(_ profile: String) -> String {
    profile == "default" ? "default" : "profile \(profile)"
}

func nonEmpty(_ value: String?) -> String? {
    guard let value, !value.isEmpty else { return nil }
    return value
}
