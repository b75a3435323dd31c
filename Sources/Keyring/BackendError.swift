#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// What went wrong in an OS keyring backend (Secret Service, keyctl, pass, Keychain); `description`
/// names the backend, says what to do, and never holds a secret.
public enum BackendError: Error, Equatable, CustomStringConvertible {
    /// The backend cannot be used on this machine (library, daemon, command or bus missing).
    case unavailable(backend: String, reason: String)
    /// No backend of that name exists.
    case unknownBackend(name: String, known: [String])
    /// The kernel refused a new key: the per-user key quota is full.
    case quotaExceeded(backend: String, maxKeys: Int?, maxBytes: Int?)
    /// The item is larger than the backend can hold.
    case itemTooLarge(backend: String, key: String, bytes: Int, limit: Int)
    /// The Secret Service collection is locked and could not be unlocked.
    case locked(backend: String, collection: String, reason: String)
    /// A helper command (pass, gpg) failed.
    case commandFailed(backend: String, command: String, status: Int32, message: String)
    /// The gpg key the pass store encrypts to (or decrypts with) is not in the keyring.
    case gpgKeyMissing(store: String, message: String)
    /// An item's stored bytes cannot be parsed.
    case corruptItem(backend: String, key: String, reason: String)
    /// A call into the OS failed.
    case system(backend: String, operation: String, message: String)

    public var description: String {
        switch self {
        case .unavailable(let backend, let reason):
            return "The \(backend) backend is not available: \(reason)."
        case .unknownBackend(let name, let known):
            return
                "There is no keyring backend named '\(name)'; use one of: \(known.joined(separator: ", "))."
        case .quotaExceeded(let backend, let maxKeys, let maxBytes):
            let limits = [maxKeys.map { "\($0) keys" }, maxBytes.map { "\($0) bytes" }].compactMap { $0 }
            let limitText = limits.isEmpty ? "" : " (\(limits.joined(separator: " / ")) per user)"
            return "The kernel key quota\(limitText) is full, so the \(backend) backend cannot store more; "
                + "run `latchkey clear` to drop cached sessions, raise /proc/sys/kernel/keys/maxkeys and "
                + "maxbytes, or use another backend (`latchkey migrate --from keyctl --to file`)."
        case .itemTooLarge(let backend, let key, let bytes, let limit):
            return "The item \"\(key)\" (\(bytes) bytes) is larger than the \(backend) backend allows "
                + "(\(limit) bytes); store it in another backend."
        case .locked(let backend, let collection, let reason):
            return "The \(backend) collection '\(collection)' is locked (\(reason)); unlock it in your "
                + "desktop's keyring manager (Seahorse, KeePassXC) or, without a desktop, with "
                + "`gnome-keyring-daemon --unlock` reading the password on stdin, then try again."
        case .commandFailed(let backend, let command, let status, let message):
            return "`\(command)` failed for the \(backend) backend (exit \(status)): \(message); "
                + "run it yourself to see what it needs."
        case .gpgKeyMissing(let store, let message):
            return "The pass store \(store) needs a gpg key this machine does not have (\(message)); "
                + "import the key (`gpg --import`) or re-initialise the store with `pass init YOUR-KEY-ID`."
        case .corruptItem(let backend, let key, let reason):
            return "The \(backend) item \"\(key)\" is damaged (\(reason)); remove it with "
                + "`latchkey remove` and add it again."
        case .system(let backend, let operation, let message):
            return "The \(backend) backend could not \(operation): \(message)."
        }
    }
}

/// Keeps an external program's message short and on one line for an error description.
func oneLine(_ text: String, limit: Int = 200) -> String {
    let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingBlanks() }
    let joined = lines.filter { !$0.isEmpty }.joined(separator: " / ")
    return joined.count > limit ? String(joined.prefix(limit)) + "…" : joined
}
