import FoundationEssentials

/// RFC 4180 CSV: CRLF between records, fields with a comma, quote or line break quoted with
/// quotes doubled. A cell a spreadsheet would run as a formula (leading `=`, `+`, `-`, `@`,
/// tab or CR) is neutralised with a leading apostrophe.
struct CSVWriter {
    private(set) var data = Data()

    mutating func write(_ fields: [String]) {
        var line = ""
        for (index, field) in fields.enumerated() {
            if index > 0 { line += "," }
            line += Self.escaped(Self.neutralised(field))
        }
        line += "\r\n"
        data.append(contentsOf: line.utf8)
    }

    static func neutralised(_ field: String) -> String {
        guard let first = field.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) else { return field }
        return "'" + field
    }

    static func escaped(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return field }
        return "\"" + field.replacing("\"", with: "\"\"") + "\""
    }
}
