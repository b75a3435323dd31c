import LatchkeyServer

/// The local credential servers' request parser, on whatever a client sends.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
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
