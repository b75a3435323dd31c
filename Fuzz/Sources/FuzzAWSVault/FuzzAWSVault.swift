import Foundation
import FuzzSupport
import Keyring

/// `latchkey import aws-vault`: each input is one file of aws-vault's file backend (a JWE token),
/// decrypted with the passphrase the seeds use, and also an aws-vault item's JSON as found inside.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAWSVault(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let data = Data(UnsafeBufferPointer(start: start, count: count))
    let token = String(decoding: data, as: UTF8.self)
    if iterations(token).map({ $0 <= maximumFuzzIterations }) ?? true {
        if let payload = try? JWE.decrypt(token, passphrase: "fuzz passphrase") {
            _ = AWSVault.credential(itemJSON: payload, fallbackName: "fuzz")
        }
    }
    _ = AWSVault.credential(itemJSON: data, fallbackName: "fuzz")
    _ = AWSVault.isSessionOrTokenName(token)
    return 0
}

/// PBKDF2 rounds (`p2c`) above which an input is not decrypted: the reader allows up to ten
/// million, which is seconds per input, so the fuzzer keeps to cheap ones.
let maximumFuzzIterations = 20_000

/// The token header's `p2c`, when the header decodes as JSON.
func iterations(_ token: String) -> Int? {
    var header = String(token.trimmingCharacters(in: .whitespacesAndNewlines).prefix { $0 != "." })
    header = header.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    header += String(repeating: "=", count: (4 - header.count % 4) % 4)
    guard let json = Data(base64Encoded: header),
        let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any]
    else { return nil }
    return (object["p2c"] as? NSNumber)?.intValue ?? 0
}

/// The executable's entry point under SwiftPM (see CFuzzDriver.h).
@_cdecl("FuzzAWSVault_main")
public func fuzzAWSVaultMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?)
    -> CInt
{
    runFuzzer(argc, argv, fuzzAWSVault)
}
