import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import LatchkeyCore

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract:
            "Import long-lived keys from aws-vault, or the AWS CLI's console sign-in sessions (aws-login).",
        discussion: """
            `latchkey import aws-vault` reads aws-vault's store and stores each profile's key pair \
            in latchkey's keyring. Sessions and SSO tokens are not imported. The file store's \
            passphrase comes from AWS_VAULT_FILE_PASSPHRASE, else a hidden prompt.

            `latchkey import aws-login` moves every session `aws login` left in clear in \
            $AWS_LOGIN_CACHE_DIRECTORY (else ~/.aws/login/cache) into the keyring. Each file is \
            deleted after its session is stored when --delete is given, or when you say yes on a \
            terminal; otherwise it stays (and the AWS CLI keeps using its own copy).
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The tool to import from: aws-vault or aws-login.")
    var tool: String

    @Option(
        name: .customLong("from"), help: "aws-vault's backend: file, pass or secret-service. (Default: file.)"
    )
    var source: String = "file"

    @Option(
        name: .long, help: "aws-vault's file folder. (Default: $AWS_VAULT_FILE_DIR, else ~/.awsvault/keys.)")
    var dir: String?

    @Option(
        name: .customLong("aws-vault-pass-prefix"),
        help: "aws-vault's pass prefix. (Default: $AWS_VAULT_PASS_PREFIX.)")
    var awsVaultPassPrefix: String?

    @Option(
        name: .long,
        help:
            "aws-vault's Secret Service collection. (Default: $AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME, else awsvault.)"
    )
    var collection: String?

    @Flag(name: .customLong("dry-run"), help: "Show what would be imported; store nothing.")
    var dryRun = false

    @Flag(name: .long, help: "Replace keys latchkey already has for the same profile.")
    var overwrite = false

    @Flag(name: .long, help: "aws-login: delete each plaintext cache file once its session is stored.")
    var delete = false

    func run() async throws {
        if tool == "aws-login" { return try await importAWSLogin() }
        guard tool == "aws-vault" else {
            throw CLIError("latchkey imports from aws-vault or aws-login, not '\(tool)'.")
        }
        let runtime = try Runtime(options: global)
        let importer = AWSVaultImport(
            source: source, fileDirectory: dir, passDirectory: global.passDir, passCommand: global.passCmd,
            passPrefix: awsVaultPassPrefix, collection: collection, dryRun: dryRun, overwrite: overwrite)
        try await importer.run(in: runtime.workspace) { step in
            switch step {
            case .skippedShortLived(let skipped):
                // Sessions and SSO tokens are short-lived; latchkey makes its own from the imported keys.
                runtime.print(
                    skipped == 1
                        ? "skipped 1 aws-vault item that is not a long-lived key (a session or SSO token)"
                        : "skipped \(skipped) aws-vault items that are not long-lived keys (sessions and SSO tokens)"
                )
            case .nothingFound(let source):
                runtime.print("No long-lived keys found in aws-vault's \(source) store.")
            case .skippedExisting(let profile):
                runtime.print(
                    "skipped \(profile): latchkey already has a key for it (--overwrite replaces it)")
            case .wouldImport(let profile, let accessKeyId):
                runtime.print("would import \(profile) (\(shortKeyId(accessKeyId)))")
            case .imported(let profile, let accessKeyId, let backend):
                runtime.print("imported \(profile) (\(shortKeyId(accessKeyId))) into \(backend)")
            case .finished(let imported):
                runtime.print("Imported \(imported) key\(imported == 1 ? "" : "s") from aws-vault.")
            }
        }
    }
}

extension ImportCommand {
    func importAWSLogin() async throws {
        let runtime = try Runtime(options: global)
        let account = LoginSessionAccount(
            context: try runtime.coreContext(store: try runtime.openStore()),
            resolver: try runtime.resolver())
        let always = delete
        let ask = !delete && runtime.terminalAvailable && runtime.promptsOff == nil
        let report = try await account.importAWSLogin { path in
            if always { return true }
            guard ask else { return false }
            return try runtime.terminal.confirm("Delete the plaintext copy \(path)?")
        }
        for file in report.skipped { runtime.print("skipped \(file.file): \(file.reason)") }
        for session in report.imported {
            runtime.print(
                "imported \(session.identityArn) into \(runtime.backendName)"
                    + (session.deleted ? " and deleted \(session.file)" : "; \(session.file) is still there"))
        }
        let count = report.imported.count
        runtime.print(
            "Imported \(count) sign-in session\(count == 1 ? "" : "s") from \(AWSLoginCache(environment: runtime.environment).directory)."
        )
        if !always, report.imported.contains(where: { !$0.deleted }) {
            runtime.print(
                "The AWS CLI's plaintext copies remain; `latchkey import aws-login --delete` removes them.")
        }
    }
}
