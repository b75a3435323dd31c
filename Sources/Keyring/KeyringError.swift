#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What went wrong with a keyring; `description` says where and what to do, and never holds a secret.
public enum KeyringError: Error, Equatable, CustomStringConvertible {
    /// The passphrase does not derive the vault's master key.
    case wrongPassphrase(vault: String)
    /// A new vault was refused an empty passphrase.
    case emptyPassphrase(vault: String)
    /// A new vault was refused an obviously weak passphrase; `reasons` say why (see `PassphraseStrength`).
    case weakPassphrase(vault: String, reasons: [String])
    /// The vault header (`vault.json`) is missing while items exist, unreadable, or malformed.
    case corruptVault(file: String, reason: String)
    /// An item file cannot be parsed (truncated, not JSON, missing fields).
    case corruptItem(file: String, reason: String)
    /// An item file parses but fails authentication: edited, swapped or forged.
    case tamperedItem(file: String)
    /// A file was written by a newer latchkey.
    case unsupportedVersion(file: String, version: Int)
    /// The keyring folder can be read or entered by other users.
    case insecurePermissions(path: String, mode: UInt32)
    /// The keyring folder belongs to another user.
    case wrongOwner(path: String, owner: UInt32)
    /// Another latchkey held the keyring lock for too long.
    case lockTimeout(path: String, seconds: Double)
    /// The key cannot name an item (empty, or too long for a file name).
    case invalidKey(key: String, reason: String)
    /// A system call failed.
    case io(operation: String, path: String, errno: Int32)

    public var description: String {
        switch self {
        case .wrongPassphrase(let vault):
            return "The passphrase does not open the vault at \(vault); try again with the right passphrase."
        case .emptyPassphrase(let vault):
            return "An empty passphrase cannot protect the new vault at \(vault); choose a non-empty one."
        case .weakPassphrase(let vault, let reasons):
            return
                "The passphrase chosen for the new vault at \(vault) is weak: \(reasons.joined(separator: "; ")). "
                + "Nothing was created. Choose a longer one (a few unrelated words work well), or, to keep this one "
                + "anyway, run again with --allow-weak-passphrase or LATCHKEY_ALLOW_WEAK_PASSPHRASE=1."
        case .corruptVault(let file, let reason):
            return "The vault header \(file) is damaged (\(reason)); restore it from a backup, "
                + "or move the folder away to start a new vault."
        case .corruptItem(let file, let reason):
            return
                "The keyring item file \(file) is damaged (\(reason)); restore it from a backup or delete it "
                + "and add the item again."
        case .tamperedItem(let file):
            return "The keyring item file \(file) fails authentication (it was edited, swapped or forged); "
                + "delete it and add the item again."
        case .unsupportedVersion(let file, let version):
            return "The file \(file) has format version \(version), which this latchkey does not know; "
                + "upgrade latchkey."
        case .insecurePermissions(let path, let mode):
            return
                "The keyring folder \(path) is accessible to other users (mode \(String(mode, radix: 8))); "
                + "run `chmod 700 \(path)` and try again."
        case .wrongOwner(let path, let owner):
            return "The keyring folder \(path) belongs to user id \(owner), not to you; "
                + "use your own folder or fix its owner with chown."
        case .lockTimeout(let path, let seconds):
            return "Another latchkey held the keyring lock \(path) for more than \(seconds) s; "
                + "wait for it to finish, or stop it, and try again."
        case .invalidKey(let key, let reason):
            return "The keyring key \"\(key)\" cannot be stored: \(reason)."
        case .io(let operation, let path, let code):
            return "Could not \(operation) \(path): \(String(cString: strerror(code))); "
                + "check that the path exists and is yours."
        }
    }
}
