import Foundation
import Testing

@testable import LatchkeyCore

@Suite struct QRCodeTests {
    /// ISO/IEC 18004 annex I / thonky.com: "HELLO WORLD" at 1-M (alphanumeric data codewords).
    @Test func reedSolomonMatchesTheKnownVector() {
        let data: [UInt8] = [32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17]
        let ecc = ReedSolomon.remainder(data, generator: ReedSolomon.generator(degree: 10))
        #expect(ecc == [196, 35, 39, 119, 235, 215, 231, 226, 93, 23])
    }

    @Test func blockTablesAddUpToTheSymbolCapacity() {
        for version in 1...QRCode.maxVersion {
            let layout = QRCode.layoutsM[version - 1]
            let blocks = layout.groups.reduce(0) { $0 + $1.count }
            let total = layout.dataCodewords + blocks * layout.eccPerBlock
            #expect(total == QRCode.rawDataModules(version: version) / 8, "version \(version)")
        }
    }

    @Test(arguments: [(1, 14), (2, 26), (9, 180), (10, 213), (20, 666)])
    func byteCapacityAtLevelM(version: Int, bytes: Int) {
        #expect(QRCode.byteCapacity(version: version) == bytes)
    }

    @Test func picksTheSmallestVersionAndRefusesTooMuch() throws {
        #expect(try QRCode(text: String(repeating: "a", count: 14)).version == 1)
        #expect(try QRCode(text: String(repeating: "a", count: 15)).version == 2)
        #expect(try QRCode(text: String(repeating: "a", count: 213)).size == 57)
        #expect(throws: QRCode.EncodingError.tooLong(bytes: 667, limit: 666)) {
            try QRCode(text: String(repeating: "a", count: 667))
        }
    }

    @Test func alignmentPatternPositions() {
        #expect(QRMatrix(version: 1).alignmentPositions == [])
        #expect(QRMatrix(version: 2).alignmentPositions == [6, 18])
        #expect(QRMatrix(version: 7).alignmentPositions == [6, 22, 38])
        #expect(QRMatrix(version: 14).alignmentPositions == [6, 26, 46, 66])
        #expect(QRMatrix(version: 20).alignmentPositions == [6, 34, 62, 90])
    }

    @Test func finderPatternsAndTimingAreInPlace() throws {
        let code = try QRCode(text: "otpauth://totp/AWS:doug@123456789012?secret=ABC&issuer=AWS")
        for (x0, y0) in [(0, 0), (code.size - 7, 0), (0, code.size - 7)] {
            #expect(code.isDark(x: x0, y: y0) && code.isDark(x: x0 + 6, y: y0 + 6))
            #expect(!code.isDark(x: x0 + 1, y: y0 + 1) && code.isDark(x: x0 + 3, y: y0 + 3))
        }
        #expect((8..<code.size - 8).allSatisfy { code.isDark(x: $0, y: 6) == ($0 % 2 == 0) })
        #expect(code.isDark(x: 8, y: code.size - 8))
    }

    @Test func pngChecksums() {
        #expect(PNGWriter.crc32(Array("IEND".utf8)) == 0xAE42_6082)
        #expect(PNGWriter.adler32(Array("Wikipedia".utf8)) == 0x11E6_0398)
        let big = [UInt8](repeating: 7, count: 70_000)
        let zlib = PNGWriter.zlibStored(big)
        // Two stored blocks: 65535 bytes (not final), then the rest (final).
        #expect(zlib[2] == 0 && zlib[2 + 5 + 65535] == 1)
        #expect(zlib.count == 2 + 5 + 65535 + 5 + (70_000 - 65535) + 4)
    }

    @Test func terminalTextDrawsEveryModule() throws {
        let code = try QRCode(text: "otpauth://totp/AWS:x@1?secret=JBSWY3DPEHPK3PXP&issuer=AWS")
        let text = code.terminalText(quietZone: 2, ansiColors: false)
        let lines = text.split(separator: "\n").map(Array.init)
        #expect(lines.count == (code.size + 4 + 1) / 2)
        for y in -2..<code.size + 2 {
            for x in -2..<code.size + 2 {
                let character = lines[(y + 2) / 2][x + 2]
                let upperHalf = (y + 2) % 2 == 0
                let dark =
                    character == "█" || (upperHalf && character == "▀") || (!upperHalf && character == "▄")
                #expect(dark == code.isDark(x: x, y: y), "module \(x),\(y)")
            }
        }
        let colored = code.terminalText()
        #expect(colored.hasPrefix("\u{1B}[38;5;16;48;5;231m") && colored.contains("\u{1B}[0m\n"))
    }

    /// A real decoder reads back the exact text, from version 1 to 20.
    @Test(arguments: [1, 20, 60, 120, 190, 300, 666])
    func zbarimgDecodesThePNG(length: Int) throws {
        let prefix = "otpauth://totp/AWS%3Adoug%40123456789012?secret="
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var text = String(prefix.prefix(length))
        var index = 0
        while text.utf8.count < length {
            text.append(alphabet[(index * 7 + length) % alphabet.count])
            index += 1
        }
        let code = try QRCode(text: text)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "qr-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(code.png(scale: 4)).write(to: file)
        let decoded = try run("zbarimg", "--raw", "-q", file.path)
        #expect(decoded == text + "\n", "version \(code.version), mask \(code.mask)")
    }

    /// Every mask is decodable, not only the one the penalty picks.
    @Test(arguments: 0..<8) func everyMaskDecodes(mask: Int) throws {
        let text = "otpauth://totp/AWS%3Aops%40210987654321?secret=MZXW6YTBOI======&issuer=AWS"
        let version = try QRCode.smallestVersion(for: text.utf8.count)
        var matrix = QRMatrix(version: version)
        matrix.drawFunctionPatterns()
        matrix.placeData(QRCode.codewords(Array(text.utf8), version: version))
        matrix.applyMask(mask)
        matrix.drawFormatBits(mask: mask)
        let code = QRCode(matrix: matrix)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "qr-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(code.png(scale: 4)).write(to: file)
        #expect(try run("zbarimg", "--raw", "-q", file.path) == text + "\n")
    }

    private func run(_ arguments: String...) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice  // zbarimg complains about D-Bus on headless machines
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(
            process.terminationStatus == 0,
            "\(arguments[0]) failed (scripts/setup --test installs zbar-tools)")
        return String(decoding: data, as: UTF8.self)
    }
}
