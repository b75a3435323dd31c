import Foundation
import SystemSupport
import Testing

/// The FoundationEssentials stand-ins mean what Foundation's calls meant.
@Suite struct TextTests {
    @Test func trimmingWhitespaceMatchesFoundationsWhitespacesAndNewlines() {
        let samples = [
            "", " ", "\n\t \r\n", "  a b  ", "\u{00A0}x\u{3000}", "\u{2028}line\u{2029}", "\u{0085}x\u{000B}",
            "é\u{0301} ", " \r\nx\r\n ", "\u{FEFF}bom", "x",
        ]
        for sample in samples {
            #expect(sample.trimmingWhitespace() == sample.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(
                sample.trimmingBlanks() == sample.trimmingCharacters(in: .whitespaces),
                "\(sample.debugDescription)")
        }
        #expect("  a b \n".trimmingBlanks() == "a b \n")
        #expect("\t key = value \u{00A0}".trimmingBlanks() == "key = value")
        #expect(" \n a\n".trimmingWhitespace() == "a")
        #expect("   ".trimmingWhitespace() == "")
        #expect(" x "[...].trimmingBlanks() == "x", "works on substrings")
        // U+200B is no space in Unicode since 4.0.1 (Darwin's Foundation agrees; Linux's had it).
        #expect("\u{200B}x\u{200B}".trimmingWhitespace() == "\u{200B}x\u{200B}")
    }

    @Test func paddedToMatchesFoundationsPadding() {
        for (text, length) in [("", 3), ("ab", 5), ("abcdef", 4), ("exact", 5), ("list", 0)] {
            #expect(
                text.padded(to: length) == text.padding(toLength: length, withPad: " ", startingAt: 0),
                "\(text.debugDescription) to \(length)")
        }
    }

    @Test func writeAllSendsEveryByteThroughAPipe() {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        // 28 KB: within a pipe's 64 KiB buffer, so the write completes before anything reads.
        let text = String(repeating: "credential \u{00E9}\n", count: 2_000)
        writeAll(text, to: ends[1])
        close(ends[1])
        let read = FileHandle(fileDescriptor: ends[0], closeOnDealloc: true).readDataToEndOfFile()
        #expect(String(decoding: read, as: UTF8.self) == text)
    }

    @Test func trimmingOneCharacter() {
        #expect("//team/aws//".trimming("/") == "team/aws")
        #expect("///".trimming("/") == "")
        #expect("a/b".trimming("/") == "a/b")
    }

    @Test func hexEncodingMatchesFormat() {
        let bytes: [UInt8] = [0, 1, 0x0f, 0x10, 0x7f, 0xab, 0xff]
        #expect(hexEncoded(bytes) == bytes.map { String(format: "%02x", $0) }.joined())
        #expect(hexEncoded(bytes, uppercase: true) == "00010F107FABFF")
        #expect(hexEncoded([UInt8]()) == "")
        #expect(hexDigitValue(UInt8(ascii: "g")) == nil)
        #expect(hexDigitValue(UInt8(ascii: "F")) == 15)
    }

    @Test func percentEncodingKeepsTheUnreservedSet() {
        #expect("a-b_c.d~e".percentEncoded() == "a-b_c.d~e")
        #expect("a b/c+é".percentEncoded() == "a%20b%2Fc%2B%C3%A9")
        #expect(
            "a/b c".percentEncoded(keeping: { isUnreservedURLByte($0) || $0 == UInt8(ascii: "/") })
                == "a/b%20c")
        let unreserved = CharacterSet(
            charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        for sample in ["", "user@example.com", "Team: A/B?x=1&y=2", "日本", "100%"] {
            #expect(
                sample.percentEncoded() == sample.addingPercentEncoding(withAllowedCharacters: unreserved))
        }
    }

    @Test func percentDecodingRefusesWhatFoundationRefuses() {
        for sample in ["a%20b", "%2Fteam%2faws", "plus+stays", "%C3%A9", "", "none"] {
            #expect(sample.percentDecoded == sample.removingPercentEncoding, "\(sample)")
        }
        #expect("a%2".percentDecoded == nil, "a cut escape")
        #expect("a%zz".percentDecoded == nil, "not hex")
        #expect("%FF".percentDecoded == nil, "not UTF-8")
        #expect("%41%42"[...].percentDecoded == "AB")
    }

    @Test func lastPathComponentAsNSString() {
        for path in ["/usr/bin/pass", "pass", "/usr/bin/", "/", "", "a//b//"] {
            #expect(lastPathComponent(path) == (path as NSString).lastPathComponent, "\(path)")
        }
        #expect(lastPathComponent("//") == "/", "the root, as Darwin's NSString says")
    }
}

@Suite struct JSONValueTests {
    @Test func readsEveryKindOfValue() throws {
        let text =
            #"{"s":"x\/y","i":42,"big":9007199254740993,"d":1.5,"e":1e3,"t":true,"f":false,"n":null,"a":[1,"two",[]],"o":{"k":"v"}}"#
        let value = try #require(JSONValue(parsing: Data(text.utf8)))
        #expect(value["s"]?.string == "x/y")
        #expect(value["i"] == .integer(42))
        #expect(value["i"]?.int == 42)
        #expect(value["big"] == .integer(9_007_199_254_740_993), "integers keep every digit")
        #expect(value["d"] == .number(1.5))
        #expect(value["d"]?.int == nil)
        #expect(value["e"]?.int == 1000)
        #expect(value["t"] == .bool(true))
        #expect(value["t"]?.int == nil, "a boolean is not a number")
        #expect(value["f"]?.bool == false)
        #expect(value["n"] == .null)
        #expect(value["a"]?.array == [.integer(1), .string("two"), .array([])])
        #expect(value["o"]?["k"]?.string == "v")
        #expect(value["missing"] == nil)
        #expect(value["s"]?["k"] == nil, "a member of a non-object")
        #expect(value["i"]?.string == nil)
    }

    @Test func refusesWhatIsNotJSON() {
        for text in ["", "{", "{'a':1}", "[1,,2]", "nul", "{\"a\":1}}", "[\"\\x\"]"] {
            #expect(JSONValue(parsing: Data(text.utf8)) == nil, "\(text)")
        }
    }

    /// RFC 8259's edges: what the hand reader refuses (each a case JSONDecoder refuses too).
    @Test(arguments: [
        "01", "-", "-01", "+1", "1.", ".5", "1e", "1e+", "0x10", "NaN", "Infinity", "1e999", "tru", "nulll",
        "{\"a\" 1}", "{1:2}", "[1 2]", "\"\u{01}\"", "\"abc", "\"\\uD800\"",
        "\"\\uDC00\"", "\"\\uD800\\u0041\"", "\"\\u12G4\"", "\"\\a\"", "1 2", "[",
        String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
    ])
    func refusesEdges(_ text: String) {
        #expect(JSONValue(parsing: Data(text.utf8)) == nil)
        #expect(
            (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) == nil, "JSONDecoder agrees")
    }

    @Test func refusesTrailingCommasThatJSONDecoderLetsThrough() {
        for text in ["[1,]", "{\"a\":1,}"] {
            #expect(JSONValue(parsing: Data(text.utf8)) == nil, "\(text)")
        }
    }

    @Test func refusesBytesThatAreNotUTF8() {
        #expect(JSONValue(parsing: Data([0x22, 0xC3, 0x28, 0x22])) == nil)
        #expect(JSONValue(parsing: Data([0x22, 0xFF, 0x22])) == nil)
    }

    /// Every document here reads to the very value JSONDecoder (through `Decodable`) reads.
    @Test(arguments: [
        " \t\r\n{ \"a\" : [ 1 , -0 , 0.5e-3 , 1E+2 , -12.25 ] }\n",
        "\"\\u00e9\\uD83D\\uDE00 \\\" \\\\ \\/ \\b\\f\\n\\r\\t\"",
        "\"é😀 plain\"", "[]", "{}", "[[[]],{}]", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "{\"dup\":1,\"dup\":2}", "[true,false,null]", "123456789.125",
        "[2.0, 2.5e1, 1e18, -0.0, 1e19, 0.1]",
        String(repeating: "[", count: 500) + String(repeating: "]", count: 500),
    ])
    func readsAsJSONDecoderDoes(_ text: String) throws {
        let expected = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(JSONValue(parsing: Data(text.utf8)) == expected)
    }

    @Test func writesSortedAndReadsBack() throws {
        let value: JSONValue = [
            "z": "last", "a": .array([.integer(-3), .number(0.25), .bool(false), .null]),
            "url": "https://x/y",
        ]
        let compact = String(decoding: try value.encoded(), as: UTF8.self)
        #expect(compact == #"{"a":[-3,0.25,false,null],"url":"https:\/\/x\/y","z":"last"}"#)
        let plain = String(decoding: try value.encoded(escapingSlashes: false), as: UTF8.self)
        #expect(plain.contains(#""https://x/y""#))
        let pretty = try value.encoded(prettyPrinted: true)
        #expect(String(decoding: pretty, as: UTF8.self).contains("\n"))
        #expect(JSONValue(parsing: pretty) == value)
    }
}

@Suite struct LockTests {
    @Test func excludesOtherThreads() async throws {
        final class Counter: @unchecked Sendable {
            let lock = Lock()
            var value = 0
        }
        let counter = Counter()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<4 {
                group.addTask {
                    await onOwnThread(named: "latchkey-test-\(index)") {
                        for _ in 0..<10_000 { counter.lock.withLock { counter.value += 1 } }
                    }
                }
            }
            await group.waitForAll()
        }
        #expect(counter.value == 40_000)
    }

    @Test func ownThreadIsNamedAndPassesErrorsBack() async throws {
        let name = await onOwnThread(named: "latchkey-named-thread-long") { () -> String in
            (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
        }
        #expect(name == "latchkey-named-\n")
        struct Failed: Error {}
        await #expect(throws: Failed.self) { try await onOwnThread(named: "x") { throw Failed() } }
        // A typed failure comes back typed (`do throws(Failed)` compiles only if it does).
        do throws(Failed) {
            _ = try await onOwnThread(named: "y") { () throws(Failed) -> Int in throw Failed() }
            Issue.record("expected Failed")
        } catch {
            let failed: Failed = error
            _ = failed
        }
    }
}

@Suite struct NormalizationAndFolderTests {
    @Test func nfcMatchesFoundation() {
        for text in [
            "e\u{0301}", "\u{00E9}", "Å\u{030A}", "한국어", "\u{1100}\u{1161}\u{11A8}", "plain", "",
            "q\u{0307}\u{0323}",
        ] {
            #expect(
                nfcUTF8(text) == Array(text.precomposedStringWithCanonicalMapping.utf8),
                "\(text.unicodeScalars.map(\.value))")
        }
        #expect(nfcUTF8("e\u{0301}") == nfcUTF8("\u{00E9}"))
    }

    @Test func listsAFolderTreeWithoutFollowingLinks() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tree-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/b/c", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: root + "/a.gpg", contents: Data()))
        #expect(FileManager.default.createFile(atPath: root + "/b/c/d.gpg", contents: Data()))
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: root + "/b")
        #expect(folderEntries(under: root) == ["a.gpg", "b", "b/c", "b/c/d.gpg", "link"])
        #expect(
            Set(folderEntries(under: root) ?? []) == Set(FileManager.default.subpaths(atPath: root) ?? []))
        #expect(folderEntries(under: root + "/missing") == nil)
        #expect(folderEntries(under: root + "/a.gpg") == nil)
        #expect(isFolder(root + "/b") && isFolder(root + "/link") && !isFolder(root + "/a.gpg"))
    }
}
