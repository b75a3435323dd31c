import FuzzSupport
import AWSClient
import Foundation

/// The JSON latchkey reads from other programs: credential_process output and the SSO token cache.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let data = Data(UnsafeBufferPointer(start: start, count: count))
    _ = try? CredentialProcessOutput.parse(data, now: Date(timeIntervalSince1970: 1_700_000_000))
    if let token = try? JSONDecoder().decode(SSOToken.self, from: data) {
        _ = token.description
    }
    return 0
}

/// The executable's entry point under SwiftPM (see CFuzzDriver.h).
@_cdecl("FuzzJSON_main")
public func fuzzJSONMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzJSON)
}
