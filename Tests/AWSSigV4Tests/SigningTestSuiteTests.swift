import AWSSigV4
import Foundation
import LatchkeyTestSupport
import Testing

// aws-c-auth's `aws-signing-test-suite/v4` (38 cases): every case signed in the header and in
// the query string. `v4a/` (ECDSA multi-region signing) is out of scope: latchkey never signs V4a.
// No case is skipped; `get-space-*` requests are parsed by splitting the request line on its
// first and last space, as the suite's SOURCE.md suggests.
@Suite("aws-signing-test-suite v4")
struct SigningTestSuiteTests {
    static let root = "aws-signing-test-suite/v4"
    static let cases = ConformanceData.caseDirectories(in: root, containing: "context.json")

    struct Context: Decodable {
        struct Credentials: Decodable {
            var access_key_id: String
            var secret_access_key: String
            var token: String?
        }
        var credentials: Credentials
        var expiration_in_seconds: Int
        var normalize: Bool
        var region: String
        var service: String
        var sign_body: Bool
        var timestamp: String
        var omit_session_token: Bool?
    }

    struct Case {
        var context: Context
        var request: RawRequest
        var signer: SigV4Signer
        var date: Date
        var options: SigV4Signer.Options
        var directory: String

        init(_ name: String) throws {
            try #require(
                name != ConformanceData.missingMarker, "No cases under \(ConformanceData.url(root).path)")
            directory = "\(root)/\(name)"
            let json = try Data(contentsOf: ConformanceData.url("\(directory)/context.json"))
            context = try JSONDecoder().decode(Context.self, from: json)
            request = try RawRequest(parsing: ConformanceData.text("\(directory)/request.txt"))
            let credentials = AWSCredentials(
                accessKeyId: context.credentials.access_key_id,
                secretAccessKey: context.credentials.secret_access_key,
                sessionToken: context.credentials.token)
            signer = SigV4Signer(credentials: credentials, region: context.region, service: context.service)
            date = try #require(ISO8601DateFormatter().date(from: context.timestamp))
            options = SigV4Signer.Options(
                normalizePath: context.normalize, addContentSHA256Header: context.sign_body,
                signSessionToken: !(context.omit_session_token ?? false))
        }

        func expected(_ file: String) throws -> String {
            try ConformanceData.text("\(directory)/\(file)")
        }
    }

    @Test func suiteHasEveryCase() {
        #expect(Self.cases.count == 38, "expected 38 v4 cases in \(ConformanceData.url(Self.root).path)")
    }

    @Test(arguments: cases)
    func headerSigning(_ name: String) throws {
        let test = try Case(name)
        let result = test.signer.sign(
            method: test.request.method, path: test.request.path, query: test.request.query,
            headers: test.request.headers, payload: .bytes(Data(test.request.body.utf8)), date: test.date,
            options: test.options)
        #expect(result.canonicalRequest == (try test.expected("header-canonical-request.txt")))
        #expect(result.stringToSign == (try test.expected("header-string-to-sign.txt")))
        #expect(result.signature == (try test.expected("header-signature.txt")))

        var signed = test.request
        signed.headers += result.headers
        #expect(signed == (try RawRequest(parsing: test.expected("header-signed-request.txt"))))
    }

    @Test(arguments: cases)
    func querySigning(_ name: String) throws {
        let test = try Case(name)
        let result = test.signer.presign(
            method: test.request.method, path: test.request.path, query: test.request.query,
            headers: test.request.headers, payload: .bytes(Data(test.request.body.utf8)), date: test.date,
            expires: test.context.expiration_in_seconds, options: test.options)
        #expect(result.canonicalRequest == (try test.expected("query-canonical-request.txt")))
        #expect(result.stringToSign == (try test.expected("query-string-to-sign.txt")))
        #expect(result.signature == (try test.expected("query-signature.txt")))

        var signed = test.request
        signed.target = test.request.path + "?" + result.query
        #expect(signed == (try RawRequest(parsing: test.expected("query-signed-request.txt"))))
    }
}
