import FuzzSupport
import AWSConfig

/// The shared config and credentials parser: the first input byte picks which file the rest is,
/// so both parse paths (and their merge) see arbitrary text, invalid UTF-8 included.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start, count > 0 else { return 0 }
    let bytes = UnsafeBufferPointer(start: start, count: count)
    let text = String(decoding: bytes.dropFirst(), as: UTF8.self)
    let asConfig = bytes[0] & 1 == 0
    guard
        let config = try? AWSSharedConfig.parse(
            configText: asConfig ? text : nil, credentialsText: asConfig ? nil : text)
    else { return 0 }
    // Touch the parsed model the way resolution does.
    for name in config.profileNames {
        _ = config.profile(name)
    }
    return 0
}

/// The executable's entry point under SwiftPM (see CFuzzDriver.h).
@_cdecl("FuzzConfig_main")
public func fuzzConfigMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt
{
    runFuzzer(argc, argv, fuzzConfig)
}
