import AWSClient
import AWSSigV4
import Foundation
import FuzzSupport

/// The STS/IAM XML reader, then the same bytes as an STS response body (success and error paths)
/// decoded by `STSClient` through a transport that answers with them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzXML(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let data = Data(UnsafeBufferPointer(start: start, count: count))
    if let root = try? XMLReader.parse(data) {
        _ = root.firstDescendant("Credentials")
    }
    _ = try? XMLReader.parse(data, limits: XMLReader.Limits(maxBytes: 512, maxDepth: 4, maxElements: 16))
    for status in [200, 403] {
        runBlocking {
            let client = try? STSClient(
                credentials: AWSCredentials(accessKeyId: "AKIDFUZZ", secretAccessKey: "fuzz"),
                region: "us-east-1", transport: FixedResponse(status: status, body: data), retry: .none,
                now: { Date(timeIntervalSince1970: 1_700_000_000) })
            _ = try? await client?.getSessionToken(durationSeconds: nil, serialNumber: nil, tokenCode: nil)
            _ = try? await client?.getCallerIdentity()
        }
    }
    return 0
}

/// Answers every request with the fuzzed body.
struct FixedResponse: HTTPTransport {
    let status: Int
    let body: Data
    func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse {
        HTTPResponse(status: status, headers: ["content-type": "text/xml"], body: body)
    }
}

/// The executable's entry point under SwiftPM (see CFuzzDriver.h).
@_cdecl("FuzzXML_main")
public func fuzzXMLMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzXML)
}
