#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport
import Keyring

/// The keyring backends latchkey knows, in auto-detection order.
public enum KnownBackend: String, CaseIterable, Sendable {
    case keychain
    case secretService = "secret-service"
    case keyctl
    case pass
    case file

    /// Nil when usable here, else why not (cheap: no prompt, no secret read).
    public func unavailableReason(_ settings: BackendSettings, environment: [String: String]) -> String? {
        switch self {
        case .keychain:
            #if canImport(Security)
                return nil
            #else
                return "macOS only"
            #endif
        case .secretService: return SecretServiceKeyring.unavailableReason(environment: environment)
        case .keyctl: return KernelKeyring.unavailableReason(scope: settings.keyctlScope)
        case .pass: return passKeyring(settings, environment: environment).unavailableReason
        case .file: return nil
        }
    }

    /// Every backend but `file` (which Runtime builds with its passphrase and unlock cache).
    public func open(_ settings: BackendSettings, environment: [String: String]) throws -> any Keyring {
        switch self {
        case .keychain:
            #if canImport(Security)
                return KeychainKeyring()
            #else
                throw BackendError.unavailable(backend: rawValue, reason: "the Keychain exists on macOS only")
            #endif
        case .secretService:
            if let reason = SecretServiceKeyring.unavailableReason(environment: environment) {
                throw BackendError.unavailable(backend: rawValue, reason: reason)
            }
            return SecretServiceKeyring(
                collection: settings.collection, environment: environment,
                fallbackToDefault: !settings.collectionChosen,
                notice: { writeToStandardError("latchkey: \($0)\n") })
        case .keyctl:
            return KernelKeyring(scope: settings.keyctlScope, keyringName: settings.keyctlKeyring)
        case .pass:
            let keyring = passKeyring(settings, environment: environment)
            if let reason = keyring.unavailableReason {
                throw BackendError.unavailable(backend: rawValue, reason: reason)
            }
            return keyring
        case .file:
            throw BackendError.unavailable(backend: rawValue, reason: "opened by the runtime")
        }
    }

    private func passKeyring(_ settings: BackendSettings, environment: [String: String]) -> PassKeyring {
        PassKeyring(
            passCommand: settings.passCommand, storeDirectory: settings.passDirectory,
            prefix: settings.passPrefix,
            environment: environment)
    }
}

/// Where each backend keeps its items: flags first, then `LATCHKEY_*` variables, then defaults.
public struct BackendSettings: Sendable {
    var keyctlScope: KeyctlScope = .persistent
    var keyctlKeyring = "latchkey"
    var collection = "latchkey"
    /// Named by LATCHKEY_SECRET_SERVICE_COLLECTION: used or reported, never replaced by the default one.
    var collectionChosen = false
    var passCommand = "pass"
    var passDirectory: String?
    var passPrefix = "latchkey"

    /// From the environment and the command's `--pass-cmd`, `--pass-dir`, `--pass-prefix`.
    public init(environment: [String: String], passCmd: String?, passDir: String?, passPrefix prefix: String?)
    {
        func value(_ flag: String?, _ variable: String) -> String? {
            flag ?? environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        }
        if let scope = value(nil, "LATCHKEY_KEYCTL_SCOPE").flatMap(KeyctlScope.init(rawValue:)) {
            keyctlScope = scope
        }
        keyctlKeyring = value(nil, "LATCHKEY_KEYCTL_KEYRING") ?? keyctlKeyring
        collectionChosen = value(nil, "LATCHKEY_SECRET_SERVICE_COLLECTION") != nil
        collection = value(nil, "LATCHKEY_SECRET_SERVICE_COLLECTION") ?? collection
        passCommand = value(passCmd, "LATCHKEY_PASS_CMD") ?? passCommand
        passDirectory = value(passDir, "LATCHKEY_PASS_DIR")
        passPrefix = value(prefix, "LATCHKEY_PASS_PREFIX") ?? passPrefix
    }
}

/// The backend when none is named: the Keychain on macOS; an existing file vault; the Secret
/// Service when a session bus answers; else a new file vault. Only cheap checks on the hot path.
public func detectBackend(settings: LatchkeySettings, backends: BackendSettings) -> String {
    #if canImport(Security)
        return KnownBackend.keychain.rawValue
    #else
        if FileManager.default.fileExists(atPath: settings.fileDirectory) {
            return KnownBackend.file.rawValue
        }
        let environment = ProcessInfo.processInfo.environment
        if KnownBackend.secretService.unavailableReason(backends, environment: environment) == nil {
            return KnownBackend.secretService.rawValue
        }
        return KnownBackend.file.rawValue
    #endif
}

/// Opens backend `name`: the file vault with `passphrase` (and the unlock cache when
/// `LATCHKEY_UNLOCK_TTL` allows it), any other backend from `backends`.
public func openKeyring(
    named name: String, backends: BackendSettings, settings: LatchkeySettings, environment: [String: String],
    passphrase: @escaping PassphraseProvider, allowWeakPassphrase: Bool
) throws -> any Keyring {
    switch KnownBackend(rawValue: name) {
    case .file:
        let cache: any UnlockCache = settings.unlockTTL > 0 ? KernelKeyringUnlockCache() : NoUnlockCache()
        return FileKeyring(
            directory: URL(fileURLWithPath: settings.fileDirectory), passphrase: passphrase,
            unlockCache: cache,
            unlockCacheTTL: settings.unlockTTL, allowWeakPassphrase: allowWeakPassphrase)
    case .some(let backend):
        return try backend.open(backends, environment: environment)
    case .none:
        throw BackendError.unknownBackend(name: name, known: KnownBackend.allCases.map(\.rawValue))
    }
}
