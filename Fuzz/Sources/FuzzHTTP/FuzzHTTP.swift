import FuzzSupport
import LatchkeyServer

/// The local credential servers' request parser, on whatever a client sends.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(UnsafeBufferPointer(start: start, count: count))
    // Default limits and small ones, so the "too large" branches are reached too.
    for parser in [HTTPRequestParser(), HTTPRequestParser(maxHeaderBytes: 64, maxBodyBytes: 8)] {
        if case .request(let request, let consumed) = parser.parse(bytes) {
            // The server drops `consumed` bytes from its buffer: it must lie inside what it was given.
            precondition(consumed > 0 && consumed <= bytes.count, "consumed \(consumed) of \(bytes.count)")
            _ = request.path
        }
    }
    return 0
}

/// The executable's entry point under SwiftPM (see CFuzzDriver.h).
@_cdecl("FuzzHTTP_main")
public func fuzzHTTPMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzHTTP)
}
