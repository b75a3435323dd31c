extension QRCode {
    /// The symbol for a terminal: two module rows per line with Unicode half blocks, inside a
    /// light quiet zone. With `ansiColors` each line is drawn black on white whatever the
    /// terminal's own colours are (dark themes would otherwise invert it); without, the caller
    /// must show it dark-on-light.
    public func terminalText(quietZone: Int = 4, ansiColors: Bool = true) -> String {
        let first = -quietZone
        let last = size + quietZone
        var lines: [String] = []
        for top in stride(from: first, to: last, by: 2) {
            var line = ansiColors ? "\u{1B}[38;5;16;48;5;231m" : ""
            for x in first..<last {
                let upper = isDark(x: x, y: top)
                let lower = top + 1 < last && isDark(x: x, y: top + 1)
                switch (upper, lower) {
                case (true, true): line += "█"
                case (true, false): line += "▀"
                case (false, true): line += "▄"
                case (false, false): line += " "
                }
            }
            if ansiColors { line += "\u{1B}[0m" }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// An 8-bit grayscale PNG, `scale` pixels per module, with a quiet zone of `quietZone` modules.
    public func png(scale: Int = 8, quietZone: Int = 4) -> [UInt8] {
        let modulesPerSide = size + 2 * quietZone
        let width = modulesPerSide * scale
        var raw: [UInt8] = []
        raw.reserveCapacity((width + 1) * width)
        for pixelY in 0..<width {
            raw.append(0)  // filter type: none
            let y = pixelY / scale - quietZone
            for pixelX in 0..<width {
                raw.append(isDark(x: pixelX / scale - quietZone, y: y) ? 0 : 255)
            }
        }
        return PNGWriter.grayscale(width: width, height: width, scanlines: raw)
    }
}

/// Just enough PNG: IHDR, one IDAT of zlib with stored (uncompressed) deflate blocks, IEND.
enum PNGWriter {
    static func grayscale(width: Int, height: Int, scanlines: [UInt8]) -> [UInt8] {
        var header: [UInt8] = []
        header += bigEndian(UInt32(width))
        header += bigEndian(UInt32(height))
        header += [8, 0, 0, 0, 0]  // 8-bit depth, grayscale, deflate, adaptive filter, no interlace
        var file: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        file += chunk("IHDR", header)
        file += chunk("IDAT", zlibStored(scanlines))
        file += chunk("IEND", [])
        return file
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        return bigEndian(UInt32(data.count)) + typeBytes + data + bigEndian(crc32(typeBytes + data))
    }

    /// zlib (RFC 1950) around deflate stored blocks (RFC 1951 §3.2.4) of at most 65535 bytes.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65535, data.count - offset)
            let isLast = offset + length == data.count
            out.append(isLast ? 1 : 0)
            out += [UInt8(length & 0xFF), UInt8(length >> 8)]
            out += [UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
            out += data[offset..<offset + length]
            offset += length
        } while offset < data.count
        return out + bigEndian(adler32(data))
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func adler32(_ data: [UInt8]) -> UInt32 {
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return b << 16 | a
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }
}
