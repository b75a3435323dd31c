import Foundation
import Testing

@testable import LatchkeyCore

/// The secret of a stored key or cached session, read by hand on the hot path: it reads what
/// latchkey writes, and refuses what `JSONDecoder` refused.
@Suite struct StoredSecretTests {
    @Test func readsWhatItWrites() throws {
        let session = StoredSecret(
            accessKeyId: "ASIAEXAMPLE", secretAccessKey: "secret/+=", sessionToken: "token",
            expiration: 1_900_000_000)
        let read = try #require(StoredSecret(json: JSONEncoder().encode(session)))
        #expect(read.accessKeyId == "ASIAEXAMPLE")
        #expect(read.secretAccessKey == "secret/+=")
        #expect(read.sessionToken == "token")
        #expect(read.expiration == 1_900_000_000)

        let key = try #require(
            StoredSecret(json: JSONEncoder().encode(StoredSecret(accessKeyId: "AKIA", secretAccessKey: "s"))))
        #expect(key.sessionToken == nil && key.expiration == nil)
        let nulls = try #require(
            StoredSecret(
                json: Data(
                    #"{"accessKeyId":"A","secretAccessKey":"s","sessionToken":null,"expiration":null}"#.utf8))
        )
        #expect(nulls.sessionToken == nil && nulls.expiration == nil)
    }

    @Test(arguments: [
        #"{"secretAccessKey":"s"}"#, #"{"accessKeyId":1,"secretAccessKey":"s"}"#,
        #"{"accessKeyId":"A","secretAccessKey":"s","sessionToken":5}"#,
        #"{"accessKeyId":"A","secretAccessKey":"s","expiration":"soon"}"#,
        #"{"accessKeyId":"A","secretAccessKey":"s","expiration":1.5}"#, "[]", "not json",
    ])
    func refusesWhatIsNotASecret(_ text: String) {
        #expect(StoredSecret(json: Data(text.utf8)) == nil)
        #expect((try? JSONDecoder().decode(Decoded.self, from: Data(text.utf8))) == nil, "JSONDecoder agrees")
    }

    /// The shape `JSONDecoder` read before the hand reader.
    struct Decoded: Decodable {
        var accessKeyId: String
        var secretAccessKey: String
        var sessionToken: String?
        var expiration: Int64?
    }
}
