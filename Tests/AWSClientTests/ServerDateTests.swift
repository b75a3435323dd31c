import Foundation
import Testing

@testable import AWSClient

/// The `Date` header, which servers' clock-skew messages use.
@Suite struct ServerDateTests {
    @Test func serverDateReadsTheDateHeader() {
        let response = HTTPResponse(status: 200, headers: ["Date": "Sun, 06 Nov 1994 08:49:37 GMT"])
        #expect(response.serverDate == Date(timeIntervalSince1970: 784_111_777))
        #expect(response.headers["date"] != nil)
        #expect(HTTPResponse(status: 200, headers: ["Date": "yesterday"]).serverDate == nil)
        #expect(HTTPResponse(status: 200).serverDate == nil)
    }
}
