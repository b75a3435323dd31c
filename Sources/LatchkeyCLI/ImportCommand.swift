import AWSConfig
import AWSSigV4
import ArgumentParser
import Foundation
import Keyring
import LatchkeyCore
import SystemSupport

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
        let environment = runtime.environment
        let home = UserFolders(environment: environment).home
        let found: [AWSVaultCredential]
        var skipped = 0
        switch source {
        case "file":
            let folder = ConfigLocations.expandTilde(
                dir ?? nonEmpty(environment["AWS_VAULT_FILE_DIR"]) ?? "~/.awsvault/keys", home: home)
            let passphrase: String
            if let given = environment["AWS_VAULT_FILE_PASSPHRASE"], !given.isEmpty {
                passphrase = given
            } else {
                try runtime.requireTerminal(for: .awsVaultPassphrase(folder: folder))
                passphrase = try Terminal.readLine(
                    prompt: "aws-vault passphrase for \(folder): ", hidden: true)
            }
            found = try AWSVault.fileStoreCredentials(directory: folder, passphrase: passphrase) { _ in
                skipped += 1
            }
        case "pass":
            // aws-vault expands a leading ~ in its pass folder.
            let store = ConfigLocations.expandTilde(
                global.passDir ?? nonEmpty(environment["AWS_VAULT_PASS_PASSWORD_STORE_DIR"])
                    ?? environment["PASSWORD_STORE_DIR"] ?? home + "/.password-store", home: home)
            found = try AWSVault.passCredentials(
                passCommand: global.passCmd ?? environment["AWS_VAULT_PASS_CMD"] ?? "pass",
                storeDirectory: store,
                prefix: awsVaultPassPrefix ?? environment["AWS_VAULT_PASS_PREFIX"] ?? "",
                environment: environment
            ) { _ in skipped += 1 }
        case "secret-service":
            let name =
                collection ?? nonEmpty(environment["AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME"]) ?? "awsvault"
            found = try await AWSVault.secretServiceCredentials(collection: name) { _ in skipped += 1 }
        default:
            throw CLIError("unknown aws-vault backend '\(source)'; use file, pass or secret-service.")
        }
        if skipped > 0 {
            // Sessions and SSO tokens are short-lived; latchkey makes its own from the imported keys.
            print(
                skipped == 1
                    ? "skipped 1 aws-vault item that is not a long-lived key (a session or SSO token)"
                    : "skipped \(skipped) aws-vault items that are not long-lived keys (sessions and SSO tokens)"
            )
        }
        if found.isEmpty {
            print("No long-lived keys found in aws-vault's \(source) store.")
            return
        }
        let store = CredentialStore(keyring: try runtime.openKeyring())
        let existing = Set(try await store.inventory().credentials.map(\.profile))
        var imported = 0
        for credential in found {
            if existing.contains(credential.profile), !overwrite {
                print(
                    "skipped \(credential.profile): latchkey already has a key for it (--overwrite replaces it)"
                )
                continue
            }
            if dryRun {
                print("would import \(credential.profile) (\(shortKeyId(credential.accessKeyId)))")
                continue
            }
            try await store.storeLongLivedKey(
                AWSCredentials(
                    accessKeyId: credential.accessKeyId, secretAccessKey: credential.secretAccessKey),
                profile: credential.profile, now: Date())
            print(
                "imported \(credential.profile) (\(shortKeyId(credential.accessKeyId))) into \(store.keyring.backendName)"
            )
            imported += 1
        }
        if !dryRun { print("Imported \(imported) key\(imported == 1 ? "" : "s") from aws-vault.") }
    }
}

extension ImportCommand {
    func importAWSLogin() async throws {
        let runtime = try Runtime(options: global)
        let account = LoginSessionAccount(
            context: try runtime.coreContext(keyring: try runtime.openKeyring()),
            resolver: try runtime.resolver())
        let always = delete
        let ask = !delete && runtime.terminalAvailable && runtime.promptsOff == nil
        let report = try await account.importAWSLogin { path in
            if always { return true }
            guard ask else { return false }
            return try Terminal.confirm("Delete the plaintext copy \(path)?")
        }
        for file in report.skipped { print("skipped \(file.file): \(file.reason)") }
        for session in report.imported {
            print(
                "imported \(session.identityArn) into \(runtime.backendName)"
                    + (session.deleted ? " and deleted \(session.file)" : "; \(session.file) is still there"))
        }
        let count = report.imported.count
        print(
            "Imported \(count) sign-in session\(count == 1 ? "" : "s") from \(AWSLoginCache(environment: runtime.environment).directory)."
        )
        if !always, report.imported.contains(where: { !$0.deleted }) {
            print("The AWS CLI's plaintext copies remain; `latchkey import aws-login --delete` removes them.")
        }
    }
}
