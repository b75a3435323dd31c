import Foundation
import FuzzSupport
import Keyring

/// A real vault holding one item; each input replaces its `vault.json`, then `get` unlocks it the
/// way every command does: the unlock cache's key first, then the passphrase through scrypt.
struct Vault: Sendable {
    static let key = "fuzz-item"
    static let passphrase = "fuzz passphrase"
    let folder: URL
    let header: URL

    static func make() -> Vault {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("latchkey-fuzz-vault-header-\(getpid())")
        try? FileManager.default.removeItem(at: folder)
        let keyring = FileKeyring(
            directory: folder, passphrase: { _ in passphrase }, unlockCacheTTL: 0,
            scrypt: ScryptParameters(n: 16, r: 1, p: 1))
        let stored: Bool = runBlocking {
            (try? await keyring.set(KeyringItem(key: key, label: "fuzz", secret: Data("secret".utf8)))) != nil
        }
        let header = folder.appendingPathComponent("vault.json")
        guard stored, FileManager.default.fileExists(atPath: header.path) else {
            fatalError("FuzzVaultHeader: could not create the vault in \(folder.path)")
        }
        return Vault(folder: folder, header: header)
    }
}

let vault = Vault.make()

/// scrypt's memory (128 N r p bytes) above which the fuzzer declines to type the passphrase, so
/// each input stays fast; the header reader alone must refuse anything above its own bound.
let fuzzCostLimit = 1 << 20

/// The bound `vault.json` must enforce before a passphrase is asked for (FileKeyring's own limit).
func withinVaultBounds(n: Int, r: Int, p: Int) -> Bool {
    n >= 2 && n <= 1 << 22 && n & (n - 1) == 0 && (1...32).contains(r) && (1...16).contains(p)
        && 128 * n * r * p <= 1 << 30
}

/// The header's scrypt parameters as a plain JSON reader sees them, or nil when unreadable.
func costParameters(_ data: Data) -> (n: Int, r: Int, p: Int)? {
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        let kdf = object["kdf"] as? [String: Any],
        let n = (kdf["n"] as? NSNumber)?.intValue, let r = (kdf["r"] as? NSNumber)?.intValue,
        let p = (kdf["p"] as? NSNumber)?.intValue
    else { return nil }
    return (n, r, p)
}

struct TooCostlyForFuzzing: Error {}

/// Offers a wrong key, so the cached-key path runs before the passphrase one.
struct WrongKeyCache: UnlockCache {
    func load(id: String) -> [UInt8]? { [UInt8](repeating: 7, count: 32) }
    func store(id: String, key: [UInt8], ttl: Int) {}
    func forget(id: String) {}
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVaultHeader(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = start.map { Data(UnsafeBufferPointer(start: $0, count: count)) } ?? Data()
    guard (try? data.write(to: vault.header)) != nil else {
        fatalError("FuzzVaultHeader: cannot write vault.json")
    }
    let keyring = FileKeyring(
        directory: vault.folder,
        passphrase: { _ in
            guard let cost = costParameters(data) else { throw TooCostlyForFuzzing() }
            // Being asked at all means the header was accepted: its cost must be within bounds.
            guard withinVaultBounds(n: cost.n, r: cost.r, p: cost.p) else {
                fatalError(
                    "FuzzVaultHeader: a passphrase was asked for a header costing N=\(cost.n) r=\(cost.r) p=\(cost.p)"
                )
            }
            guard 128 * cost.n * cost.r * cost.p <= fuzzCostLimit else { throw TooCostlyForFuzzing() }
            return Vault.passphrase
        }, unlockCache: WrongKeyCache(), unlockCacheTTL: 900)
    runBlocking {
        _ = try? await keyring.get(Vault.key)
    }
    return 0
}

/// The executable's entry point under SwiftPM (see CFuzzDriver.h).
@_cdecl("FuzzVaultHeader_main")
public func fuzzVaultHeaderMain(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
    _ = vault
    return runFuzzer(argc, argv, fuzzVaultHeader)
}
