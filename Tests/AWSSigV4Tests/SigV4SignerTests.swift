import AWSSigV4
import Foundation
import Testing

@Suite("SigV4Signer")
struct SigV4SignerTests {
    static let credentials = AWSCredentials(
        accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        sessionToken: "TOKEN-SECRET-VALUE")
    static let signer = SigV4Signer(credentials: credentials, region: "eu-west-1", service: "sts")

    @Test(arguments: [
        (0.0, "19700101T000000Z"),
        (1_440_938_160.0, "20150830T123600Z"),
        (951_825_599.9, "20000229T115959Z"),  // leap day, fraction dropped
        (4_102_444_800.0, "21000101T000000Z"),
        (-1.0, "19691231T235959Z"),
    ])
    func xAmzDateIsUTCBasicFormat(seconds: Double, expected: String) {
        let result = Self.signer.sign(
            method: "GET", path: "/", headers: [("Host", "h")], payload: .bytes(Data()),
            date: Date(timeIntervalSince1970: seconds))
        #expect(result.headers.first { $0.name == "X-Amz-Date" }?.value == expected)
        #expect(result.stringToSign.contains("\n\(expected.prefix(8))/eu-west-1/sts/aws4_request\n"))
    }

    @Test(arguments: [
        ("a b&c=d/é~", false, "a%20b%26c%3Dd%2F%C3%A9~"),
        ("/a b/c", true, "/a%20b/c"),
        ("+*%", false, "%2B%2A%25"),
    ])
    func percentEncoding(input: String, keepSlash: Bool, expected: String) {
        #expect(AWSPercentEncoding.encode(input, keepSlash: keepSlash) == expected)
    }

    @Test func percentDecodingKeepsMalformedEscapes() {
        #expect(AWSPercentEncoding.decode("%41%zz%4") == "A%zz%4")
        #expect(AWSPercentEncoding.decode("a+b%2B") == "a+b+")
    }

    @Test func precomputedHashMatchesBytes() {
        let body = Data("Action=GetCallerIdentity&Version=2011-06-15".utf8)
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        let fromBytes = Self.signer.sign(
            method: "POST", path: "/", headers: [("Host", "sts.amazonaws.com")], payload: .bytes(body),
            date: date)
        let hash = SigV4Signer.Payload.bytes(body).hash
        let fromHash = Self.signer.sign(
            method: "POST", path: "/", headers: [("Host", "sts.amazonaws.com")],
            payload: .precomputedHash(hash), date: date)
        #expect(fromBytes.signature == fromHash.signature)
        #expect(hash.count == 64)
        #expect(SigV4Signer.Payload.bytes(Data()).hash == SigV4Signer.emptyPayloadHash)
    }

    @Test func unencodedPathIsUsedVerbatimForS3Style() {
        let options = SigV4Signer.Options(normalizePath: false, encodePath: false)
        let result = Self.signer.sign(
            method: "GET", path: "/my-object//example//photo%20x", headers: [("Host", "h")],
            payload: .precomputedHash(SigV4Signer.unsignedPayload), date: Date(timeIntervalSince1970: 0),
            options: options)
        #expect(result.canonicalRequest.split(separator: "\n")[1] == "/my-object//example//photo%20x")
        #expect(result.canonicalRequest.hasSuffix("\nUNSIGNED-PAYLOAD"))
    }

    @Test func signingChangesWithEveryInput() {
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        func signature(_ signer: SigV4Signer, body: String = "x", at instant: Date = date) -> String {
            signer.sign(
                method: "POST", path: "/", headers: [("Host", "h")], payload: .bytes(Data(body.utf8)),
                date: instant
            )
            .signature
        }
        let base = signature(Self.signer)
        var otherKey = Self.credentials
        otherKey.secretAccessKey = "another-secret"
        #expect(signature(SigV4Signer(credentials: otherKey, region: "eu-west-1", service: "sts")) != base)
        #expect(
            signature(SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "sts")) != base
        )
        #expect(
            signature(SigV4Signer(credentials: Self.credentials, region: "eu-west-1", service: "iam")) != base
        )
        #expect(signature(Self.signer, body: "y") != base)
        #expect(signature(Self.signer, at: date.addingTimeInterval(1)) != base)
    }

    @Test func secretNeverAppearsInOutputs() {
        let result = Self.signer.sign(
            method: "POST", path: "/", headers: [("Host", "h")], payload: .bytes(Data()), date: Date())
        let presigned = Self.signer.presign(
            method: "GET", path: "/", headers: [("Host", "h")], payload: .bytes(Data()), date: Date(),
            expires: 60)
        let everything =
            [result.canonicalRequest, result.stringToSign, result.authorization, presigned.query]
            + result.headers.map(\.value)
        #expect(!everything.contains { $0.contains(Self.credentials.secretAccessKey) })
    }

    @Test func tokenAddedAfterSigningIsNotInSignedHeaders() {
        let date = Date(timeIntervalSince1970: 0)
        let after = Self.signer.sign(
            method: "POST", path: "/", headers: [("Host", "h")], payload: .bytes(Data()), date: date,
            options: SigV4Signer.Options(signSessionToken: false))
        #expect(after.headers.contains { $0 == ("X-Amz-Security-Token", "TOKEN-SECRET-VALUE") })
        #expect(after.authorization.contains("SignedHeaders=host;x-amz-date,"))
        let before = Self.signer.sign(
            method: "POST", path: "/", headers: [("Host", "h")], payload: .bytes(Data()), date: date)
        #expect(before.authorization.contains("SignedHeaders=host;x-amz-date;x-amz-security-token,"))
    }

    @Test func callerSuppliedSigningHeadersAreReplaced() {
        let result = Self.signer.sign(
            method: "POST", path: "/",
            headers: [("Host", "h"), ("Authorization", "stale"), ("X-Amz-Date", "19990101T000000Z")],
            payload: .bytes(Data()), date: Date(timeIntervalSince1970: 0))
        #expect(!result.canonicalRequest.contains("stale"))
        #expect(!result.canonicalRequest.contains("1999"))
    }
}
