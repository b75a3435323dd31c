import ArgumentParser
import Foundation
import Keyring
import LatchkeyCore

/// The keyring backends latchkey knows, in auto-detection order.
enum KnownBackend: String, CaseIterable {
    case keychain
    case secretService = "secret-service"
    case keyctl
    case pass
    case file

    /// Nil when usable here, else why not (cheap: no prompt, no secret read).
    func unavailableReason(_ settings: BackendSettings, environment: [String: String]) -> String? {
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
    func open(_ settings: BackendSettings, environment: [String: String]) throws -> any Keyring {
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
                notice: { FileHandle.standardError.write(Data("latchkey: \($0)\n".utf8)) })
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
struct BackendSettings {
    var keyctlScope: KeyctlScope = .persistent
    var keyctlKeyring = "latchkey"
    var collection = "latchkey"
    /// Named by LATCHKEY_SECRET_SERVICE_COLLECTION: used or reported, never replaced by the default one.
    var collectionChosen = false
    var passCommand = "pass"
    var passDirectory: String?
    var passPrefix = "latchkey"

    init(environment: [String: String], options: GlobalChoices) {
        func value(_ flag: String?, _ variable: String) -> String? {
            flag ?? environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        }
        if let scope = value(nil, "LATCHKEY_KEYCTL_SCOPE").flatMap(KeyctlScope.init(rawValue:)) {
            keyctlScope = scope
        }
        keyctlKeyring = value(nil, "LATCHKEY_KEYCTL_KEYRING") ?? keyctlKeyring
        collectionChosen = value(nil, "LATCHKEY_SECRET_SERVICE_COLLECTION") != nil
        collection = value(nil, "LATCHKEY_SECRET_SERVICE_COLLECTION") ?? collection
        passCommand = value(options.passCmd, "LATCHKEY_PASS_CMD") ?? passCommand
        passDirectory = value(options.passDir, "LATCHKEY_PASS_DIR")
        passPrefix = value(options.passPrefix, "LATCHKEY_PASS_PREFIX") ?? passPrefix
    }
}

/// The backend when none is named: the Keychain on macOS; an existing file vault; the Secret
/// Service when a session bus answers; else a new file vault. Only cheap checks on the hot path.
func detectBackend(settings: LatchkeySettings, backends: BackendSettings) -> String {
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

struct BackendsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backends",
        abstract: "List the keyring backends, whether each is available here and why not.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Print JSON for scripts.")
    var json = false

    func run() async throws {
        let runtime = try Runtime(options: global)
        let rows = KnownBackend.allCases.map { backend in
            (backend.rawValue, backend.unavailableReason(runtime.backends, environment: runtime.environment))
        }
        if json {
            let objects = rows.map { name, reason -> [String: Any] in
                var object: [String: Any] = [
                    "name": name, "available": reason == nil, "selected": name == runtime.backendName,
                ]
                object["reason"] = reason
                return object
            }
            let data = try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        for (name, reason) in rows {
            let marker = name == runtime.backendName ? "*" : " "
            print(
                "\(marker) \(name.padding(toLength: 15, withPad: " ", startingAt: 0)) \(reason.map { "unavailable: \($0)" } ?? "available")"
            )
        }
        print("(* = the backend used now; choose with --backend or LATCHKEY_BACKEND)")
    }
}
