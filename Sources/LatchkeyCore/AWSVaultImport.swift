import AWSConfig
import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Keyring
import SystemSupport

/// `import aws-vault`: reads aws-vault's file, pass or Secret Service store and stores each
/// profile's long-lived key in latchkey's keyring (sessions and SSO tokens are skipped).
public struct AWSVaultImport: Sendable {
    /// aws-vault's store: `file`, `pass` or `secret-service`, with its settings (nil: aws-vault's
    /// own variables, else its defaults).
    public var source: String
    public var fileDirectory: String?
    public var passDirectory: String?
    public var passCommand: String?
    public var passPrefix: String?
    public var collection: String?
    public var dryRun = false
    public var overwrite = false

    public init(
        source: String, fileDirectory: String?, passDirectory: String?, passCommand: String?,
        passPrefix: String?, collection: String?, dryRun: Bool, overwrite: Bool
    ) {
        self.source = source
        self.fileDirectory = fileDirectory
        self.passDirectory = passDirectory
        self.passCommand = passCommand
        self.passPrefix = passPrefix
        self.collection = collection
        self.dryRun = dryRun
        self.overwrite = overwrite
    }

    /// What happened, in order.
    public enum Step: Sendable, Equatable {
        /// Items that are not long-lived keys (sessions, SSO tokens).
        case skippedShortLived(count: Int)
        case nothingFound(source: String)
        case skippedExisting(profile: String)
        case wouldImport(profile: String, accessKeyId: String)
        case imported(profile: String, accessKeyId: String, backend: String)
        /// The end of a real import (not a dry run, not an empty store).
        case finished(count: Int)
    }

    public struct UnknownSource: Error, CustomStringConvertible, Equatable {
        public var source: String
        public var description: String {
            "unknown aws-vault backend '\(source)'; use file, pass or secret-service."
        }
    }

    public func run(in workspace: Workspace, report: (Step) -> Void) async throws {
        let environment = workspace.environment
        let home = UserFolders(environment: environment).home
        func nonEmpty(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let found: [AWSVaultCredential]
        var skipped = 0
        switch source {
        case "file":
            let folder = ConfigLocations.expandTilde(
                fileDirectory ?? nonEmpty("AWS_VAULT_FILE_DIR") ?? "~/.awsvault/keys", home: home)
            let passphrase: String
            if let given = nonEmpty("AWS_VAULT_FILE_PASSPHRASE") {
                passphrase = given
            } else {
                try workspace.requireTerminal(for: .awsVaultPassphrase(folder: folder))
                passphrase = try workspace.world.terminal.readLine(
                    prompt: "aws-vault passphrase for \(folder): ", hidden: true)
            }
            found = try AWSVault.fileStoreCredentials(directory: folder, passphrase: passphrase) { _ in
                skipped += 1
            }
        case "pass":
            // aws-vault expands a leading ~ in its pass folder.
            let store = ConfigLocations.expandTilde(
                passDirectory ?? nonEmpty("AWS_VAULT_PASS_PASSWORD_STORE_DIR")
                    ?? environment["PASSWORD_STORE_DIR"] ?? home + "/.password-store", home: home)
            found = try AWSVault.passCredentials(
                passCommand: passCommand ?? environment["AWS_VAULT_PASS_CMD"] ?? "pass",
                storeDirectory: store,
                prefix: passPrefix ?? environment["AWS_VAULT_PASS_PREFIX"] ?? "",
                environment: environment
            ) { _ in skipped += 1 }
        case "secret-service":
            let name = collection ?? nonEmpty("AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME") ?? "awsvault"
            found = try await AWSVault.secretServiceCredentials(collection: name) { _ in skipped += 1 }
        default:
            throw UnknownSource(source: source)
        }
        if skipped > 0 { report(.skippedShortLived(count: skipped)) }
        if found.isEmpty {
            report(.nothingFound(source: source))
            return
        }
        let store = try workspace.openStore()
        let existing = Set(try await store.inventory().credentials.map(\.profile))
        var imported = 0
        for credential in found {
            if existing.contains(credential.profile), !overwrite {
                report(.skippedExisting(profile: credential.profile))
                continue
            }
            if dryRun {
                report(.wouldImport(profile: credential.profile, accessKeyId: credential.accessKeyId))
                continue
            }
            try await store.storeLongLivedKey(
                AWSCredentials(
                    accessKeyId: credential.accessKeyId, secretAccessKey: credential.secretAccessKey),
                profile: credential.profile, now: workspace.world.now())
            report(
                .imported(
                    profile: credential.profile, accessKeyId: credential.accessKeyId,
                    backend: store.keyring.backendName))
            imported += 1
        }
        if !dryRun { report(.finished(count: imported)) }
    }
}

extension Workspace {
    /// Fails at once, saying what works instead, unless someone can be asked on the terminal.
    public func requireTerminal(for need: PromptRefused.Need) throws {
        if let promptsOff { throw PromptRefused(need, why: promptsOff) }
        if !terminalAvailable { throw PromptRefused(need, why: .noTerminal) }
    }
}
