import AWSClient
import Foundation
import Testing

@Suite("XMLReader")
struct XMLReaderTests {
    @Test func readsElementsTextAndNamespaces() throws {
        let root = try XMLReader.parse(
            """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- leading comment -->
            <a:Root xmlns:a="urn:x" xmlns='urn:y'>
              <Child id="1">one</Child>
              <a:Child>two<!-- inner --> halves</a:Child>
              <Empty/>
              <Nested><Leaf>deep</Leaf></Nested>
            </a:Root>
            """)
        #expect(root.name == "Root")
        #expect(root.children.map(\.name) == ["Child", "Child", "Empty", "Nested"])
        #expect(root.children[0].text == "one")
        #expect(root.children[1].text == "two halves")
        #expect(root["Nested", "Leaf"]?.text == "deep")
        #expect(root.firstDescendant("Leaf")?.text == "deep")
        #expect(root.child("Missing") == nil)
    }

    @Test func decodesEntitiesCharacterReferencesAndCDATA() throws {
        let root = try XMLReader.parse(
            "<r>&amp;&lt;&gt;&quot;&apos;&#65;&#x42;&#x1F600;<![CDATA[<raw & ]]>!</r>")
        #expect(root.text == "&<>\"'AB\u{1F600}<raw & !")
    }

    @Test(arguments: [
        ("", "empty document"),
        ("<!DOCTYPE r [<!ENTITY x \"y\">]><r>&x;</r>", "DOCTYPE"),
        ("<r>&x;</r>", "unknown entity"),
        ("<r>&#0;</r>", "NUL character reference"),
        ("<r>&#xD800;</r>", "surrogate character reference"),
        ("<r>&#x110000;</r>", "out-of-range character reference"),
        ("<r>a & b</r>", "bare ampersand"),
        ("<r><a></b></r>", "mismatched tags"),
        ("<r>", "unclosed root"),
        ("<r/><r/>", "two roots"),
        ("<r/>text", "text after the root"),
        ("text<r/>", "text before the root"),
        ("<r><!-- never closed </r>", "unterminated comment"),
        ("<r><![CDATA[ never closed</r>", "unterminated CDATA"),
        ("<r a=b/>", "unquoted attribute"),
        ("<r a=\"<\"/>", "'<' in an attribute"),
        ("<r a=\"1\"b=\"2\"/>", "attributes without whitespace"),
        ("<1r/>", "name starting with a digit"),
        ("<r>]]></r>", "']]>' in text"),
    ])
    func rejectsMalformedInput(document: String, why: String) {
        #expect(throws: XMLReader.ParseError.self, "\(why)") { try XMLReader.parse(document) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: XMLReader.ParseError.self) {
            try XMLReader.parse(Data([0x3C, 0x72, 0x3E, 0xFF, 0x3C, 0x2F, 0x72, 0x3E]))
        }
    }

    @Test func deepNestingStopsAtTheDepthLimitWithoutRecursing() {
        let depth = 100_000
        let document = String(repeating: "<a>", count: depth) + String(repeating: "</a>", count: depth)
        let limits = XMLReader.Limits(maxBytes: 1 << 23)
        #expect(throws: XMLReader.ParseError.self) { try XMLReader.parse(document, limits: limits) }
        let shallow = String(repeating: "<a>", count: 32) + String(repeating: "</a>", count: 32)
        #expect((try? XMLReader.parse(shallow)) != nil)
    }

    @Test func elementCountAndSizeLimits() {
        let many = "<r>" + String(repeating: "<a/>", count: 20) + "</r>"
        #expect(throws: XMLReader.ParseError.self) {
            try XMLReader.parse(many, limits: .init(maxElements: 10))
        }
        #expect(throws: XMLReader.ParseError.self) { try XMLReader.parse(many, limits: .init(maxBytes: 16)) }
        #expect((try? XMLReader.parse(many)) != nil)
    }

    /// Half a million references and a long unterminated-looking text: quadratic code would take
    /// many minutes here and hit the time limit; linear code takes seconds even on a busy machine.
    /// (No tighter bound: speed is for benchmarks, not for tests a loaded machine would flake.)
    @Test(.timeLimit(.minutes(3))) func largeInputsParseInLinearTime() throws {
        let entities = "<r>" + String(repeating: "&amp;", count: 500_000) + "</r>"
        let brackets = "<r>" + String(repeating: "]", count: 1_000_000) + "</r>"
        let limits = XMLReader.Limits(maxBytes: 1 << 23)
        #expect(try XMLReader.parse(entities, limits: limits).text.count == 500_000)
        #expect(try XMLReader.parse(brackets, limits: limits).text.count == 1_000_000)
        #expect(throws: XMLReader.ParseError.self) {
            try XMLReader.parse("<r><!--" + String(repeating: "-", count: 1_000_000), limits: limits)
        }
    }

    @Test func errorDescriptionSaysWhereAndWhat() {
        do {
            _ = try XMLReader.parse("<r><a></b></r>")
            Issue.record("expected a parse error")
        } catch {
            #expect(error.offset == 10)
            #expect(error.description.contains("closing tag does not match"))
        }
    }
}
