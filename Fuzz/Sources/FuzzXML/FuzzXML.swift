import AWSClient
import AWSSigV4
import Foundation
import FuzzSupport

/// The STS/IAM XML reader, then the same bytes as the body of every STS and IAM answer latchkey
/// decodes (a 200, and a 4xx for the error path), through clients whose transport answers with them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzXML(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let data = Data(UnsafeBufferPointer(start: start, count: count))
    if let root = try? XMLReader.parse(data) {
        _ = root.firstDescendant("Credentials")
    }
    _ = try? XMLReader.parse(data, limits: XMLReader.Limits(maxBytes: 512, maxDepth: 4, maxElements: 16))
    for status in [200, 403] {
        let transport = FixedResponse(status: status, body: data)
        runBlocking {
            await sts(transport)
            await iam(transport)
        }
    }
    return 0
}

let keys = AWSCredentials(accessKeyId: "AKIDFUZZ", secretAccessKey: "fuzz")
let fixedNow: @Sendable () -> Date = { Date(timeIntervalSince1970: 1_700_000_000) }

func sts(_ transport: FixedResponse) async {
    guard
        let client = try? STSClient(
            credentials: keys, region: "us-east-1", transport: transport, retry: .none, now: fixedNow)
    else { return }
    _ = try? await client.getSessionToken(durationSeconds: nil, serialNumber: nil, tokenCode: nil)
    _ = try? await client.getCallerIdentity()
}

/// Every IAM call latchkey makes; each reads a different part of the answer.
func iam(_ transport: FixedResponse) async {
    let iam = IAMClient(
        credentials: keys, region: "us-east-1", transport: transport, retry: .none, now: fixedNow)
    let arn = "arn:aws:iam::123456789012:policy/fuzz"
    _ = try? await iam.getUser(userName: nil)
    _ = try? await iam.listAccessKeys(userName: "doug")
    _ = try? await iam.createAccessKey(userName: nil)
    _ = try? await iam.deleteAccessKey(accessKeyId: "AKIAFUZZ", userName: nil)
    _ = try? await iam.updateAccessKey(accessKeyId: "AKIAFUZZ", status: .inactive, userName: "doug")
    _ = try? await iam.createVirtualMFADevice(name: "fuzz")
    _ = try? await iam.enableMFADevice(userName: "doug", serialNumber: "s", code1: "123456", code2: "654321")
    _ = try? await iam.listMFADevices(userName: nil)
    _ = try? await iam.listVirtualMFADevices()
    _ = try? await iam.deactivateMFADevice(userName: "doug", serialNumber: "s")
    _ = try? await iam.deleteVirtualMFADevice(serialNumber: "s")
    _ = try? await iam.createPolicy(name: "fuzz", document: "{}")
    _ = try? await iam.getPolicy(arn: arn)
    _ = try? await iam.getPolicyVersion(arn: arn, versionId: "v1")
    _ = try? await iam.createPolicyVersion(arn: arn, document: "{}", setAsDefault: true)
    _ = try? await iam.listPolicyVersions(arn: arn)
    _ = try? await iam.deletePolicyVersion(arn: arn, versionId: "v1")
    _ = try? await iam.putUserPermissionsBoundary(userName: "doug", policyArn: arn)
    _ = try? await iam.userPermissionsBoundary(userName: nil)
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
