import Foundation
import FuzzSupport
import Keyring

/// A real vault (tiny scrypt, so set-up is instant) holding one item; each input replaces that
/// item's file, then `get` and `list` read it the way every command does.
struct Vault: Sendable {
    static let key = "fuzz-item"
    let keyring: FileKeyring
    let itemFile: URL

    static func make() -> Vault {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("latchkey-fuzz-vault-\(getpid())")
        try? FileManager.default.removeItem(at: folder)
        let keyring = FileKeyring(
            directory: folder, passphrase: { _ in "fuzz passphrase" }, unlockCacheTTL: 0,
            scrypt: ScryptParameters(n: 16, r: 1, p: 1))
        let stored: Bool = runBlocking {
            do {
                try await keyring.set(KeyringItem(key: key, label: "fuzz", secret: Data("secret".utf8)))
                return true
            } catch {
                return false
            }
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        guard stored, let name = names.first(where: { $0.hasPrefix("item-") }) else {
            fatalError("FuzzVault: could not create the vault in \(folder.path)")
        }
        return Vault(keyring: keyring, itemFile: folder.appendingPathComponent(name))
    }
}

let vault = Vault.make()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVault(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = start.map { Data(UnsafeBufferPointer(start: $0, count: count)) } ?? Data()
    guard (try? data.write(to: vault.itemFile)) != nil else {
        fatalError("FuzzVault: cannot write the item file")
    }
    let keyring = vault.keyring
    runBlocking {
        _ = try? await keyring.get(Vault.key)
        _ = try? await keyring.list()
    }
    return 0
}

/// The executable's entry point under SwiftPM (see CFuzzDriver.h).
@_cdecl("FuzzVault_main")
public func fuzzVaultMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    // Set the vault up (scrypt, first write) before the first input, so it is not timed as one.
    _ = vault
    return runFuzzer(argc, argv, fuzzVault)
}
