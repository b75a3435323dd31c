import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import LatchkeyCore

struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Show how a profile gets its credentials, without any network call or prompt.",
        discussion: """
            The chain of profiles, which stored key, which STS calls in order, which MFA device and \
            where its code would come from, which cached sessions would be reused and until when, \
            the region and the STS endpoint. Answers "why is it asking me for MFA?".
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var credentialOptions: CredentialOptions

    @Flag(name: .long, help: "Print JSON for scripts.")
    var json = false

    @Argument(help: "The profile name.", completion: profileCompletion)
    var profile: String

    func run() async throws {
        let runtime = try Runtime(options: global)
        let store = try runtime.openStore()
        let inventory = try await store.inventory()
        let resolver = try runtime.resolver()
        // A key that is not stored yet is shown as such, not an error; a profile that exists only
        // in the keyring resolves from it.
        let plan = try await resolver.plan(for: try credentialOptions.request(profile: profile), store: store)
        let explanation = await Explanation.of(
            plan: plan, inventory: inventory, settings: runtime.settings, now: runtime.world.now(),
            mfaToken: credentialOptions.mfaToken, promptAvailable: runtime.promptsOff == nil,
            backendName: store.keyring.backendName)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            runtime.print(String(decoding: try encoder.encode(explanation), as: UTF8.self))
        } else {
            runtime.print(render(explanation), terminator: "")
        }
    }

    func render(_ explanation: Explanation) -> String {
        var text =
            "Profile \(explanation.profile): region \(explanation.region ?? "(none set; STS uses us-east-1)"), "
        text += "STS at \(explanation.stsEndpoint)\n"
        for step in explanation.steps {
            var line = "  \(step.number). "
            line +=
                step.number == 1
                ? "from \(step.detail)" : "\(step.operation) for '\(step.profile)': \(step.detail)"
            if let seconds = step.durationSeconds { line += ", \(formatDuration(seconds))" }
            if step.chained { line += " (chained: at most 1h)" }
            text += line + "\n"
            if let serial = step.mfaSerial {
                text +=
                    "     MFA \(serial), code from \(step.codeFrom ?? "(not needed: a cached session is reused)")\n"
            } else if let covered = step.mfaCoveredBy {
                text += "     MFA: none asked, the session already carries \(covered)\n"
            }
            switch step.action {
            case "reuse": text += "     cached until \(step.cachedUntil ?? "?"): reused, no call\n"
            case "skip": text += "     skipped: a later cached session covers it\n"
            case "call" where step.number > 1 || step.cacheKey != nil:
                text += "     not cached: STS is called\n"
            default: break
            }
        }
        if let scope = explanation.scope {
            var line = "  scope: \(scope.label) (from \(scope.origin))"
            if let file = scope.policyFile { line += ", policy \(file)" }
            if !scope.policyArns.isEmpty {
                line += ", policy ARNs \(scope.policyArns.joined(separator: " "))"
            }
            text += line + "\n"
        }
        for note in explanation.notes { text += "  note: \(note)\n" }
        text +=
            explanation.readyWithoutPrompt
            ? "Running it now needs no MFA code and no STS call.\n"
            : "Running it now calls AWS\(explanation.steps.contains { $0.codeFrom != nil } ? " and needs an MFA code" : "").\n"
        return text
    }
}
