import Foundation

/// A CSV file as text cells: RFC 4180 quoting, comma separated, first line optionally a header.
public struct CSVTable: Sendable {
    public var header: [String]?
    public var rows: [[String]]
    /// The 1-based line on which each row starts, for error messages.
    public var lines: [Int]

    public static func read(_ path: String, header: Bool) throws -> CSVTable {
        var bytes = try FileBytes.read(path, limit: FileBytes.maximumTextSize, text: true)
        // A UTF-8 byte-order mark is not part of the first column's name.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        return try parse(String(decoding: bytes, as: UTF8.self), path: path, header: header)
    }

    public static func parse(_ text: String, path: String, header hasHeader: Bool) throws -> CSVTable {
        var records: [[String]] = []
        var lines: [Int] = []
        var field = ""
        var record: [String] = []
        var inQuotes = false
        var line = 1
        var recordLine = 1
        var fieldWasQuoted = false
        var iterator = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func endRecord() {
            record.append(field)
            // A blank line is not a record.
            if !(record.count == 1 && record[0].isEmpty && !fieldWasQuoted) {
                records.append(record)
                lines.append(recordLine)
            }
            record = []
            field = ""
            fieldWasQuoted = false
        }
        /// After a "\r": takes the "\n" of a "\r\n" and says so; any other scalar is left for the loop. Either way
        /// the "\r" ended a line.
        func tookNewlineAfterReturn() -> Bool {
            guard let next = iterator.next() else { return false }
            if next == "\n" { return true }
            pending = next
            return false
        }
        while let scalar = pending ?? iterator.next() {
            pending = nil
            if inQuotes {
                if scalar == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" {
                            field.unicodeScalars.append("\"")
                        } else {
                            inQuotes = false
                            pending = next
                        }
                    } else {
                        inQuotes = false
                    }
                } else {
                    field.unicodeScalars.append(scalar)
                    // "\r\n", "\n" and a lone "\r" each end a line of the file.
                    if scalar == "\r" && tookNewlineAfterReturn() { field.unicodeScalars.append("\n") }
                    if scalar == "\n" || scalar == "\r" { line += 1 }
                }
                continue
            }
            switch scalar {
            case "\"" where field.isEmpty:
                inQuotes = true
                fieldWasQuoted = true
            case ",":
                record.append(field)
                field = ""
                fieldWasQuoted = false
            case "\r", "\n":
                // A lone "\r" ends a record too (classic Mac files): dropping it would join two records' numbers.
                if scalar == "\r" { _ = tookNewlineAfterReturn() }
                endRecord()
                line += 1
                recordLine = line
            default:
                field.unicodeScalars.append(scalar)
            }
        }
        if inQuotes {
            throw DataError(path: path, place: "line \(recordLine)", "a quoted field is never closed")
        }
        if !field.isEmpty || !record.isEmpty { endRecord() }
        var table = CSVTable(header: nil, rows: records, lines: lines)
        if hasHeader {
            guard !records.isEmpty else { throw DataError(path: path, "the file is empty; expected a header line") }
            table.header = records[0].map { $0.trimmingCharacters(in: .whitespaces) }
            table.rows.removeFirst()
            table.lines.removeFirst()
        }
        let width = table.header?.count ?? table.rows.first?.count ?? 0
        for (row, rowLine) in zip(table.rows, table.lines) where row.count != width {
            throw DataError(
                path: path, place: "line \(rowLine)",
                "wrong column count: \(row.count) value\(row.count == 1 ? "" : "s"), expected \(width)",
                help: table.otherSeparatorHelp ?? (table.header != nil ? "the header names \(width) columns" : nil))
        }
        return table
    }

    /// Help for a table whose first line's cells hold another separator (a file separated by semicolons, as
    /// spreadsheets write where the decimal mark is a comma, which then also splits `5,1;3,5` at its commas; or
    /// by tabs), for an error about its columns.
    var otherSeparatorHelp: String? {
        guard let first = header ?? rows.first else { return nil }
        for (mark, name) in [(";", "semicolons"), ("\t", "tabs")] where first.contains(where: { $0.contains(mark) }) {
            return "its values look separated by \(name); Strata reads comma-separated values"
                + (mark == ";" ? " with '.' as the decimal mark" : "")
        }
        return nil
    }

    /// Resolves a column given by name (with a header) or zero-based index.
    public func columnIndex(_ column: String, path: String) throws -> Int {
        if let header, let index = header.firstIndex(of: column) { return index }
        if let index = Int(column), index >= 0, index < (header?.count ?? rows.first?.count ?? 0) { return index }
        var help: String? = nil
        if let header {
            help = "columns are: \(header.prefix(12).joined(separator: ", "))\(header.count > 12 ? ", …" : "")"
        }
        throw DataError(path: path, "no column '\(column)'", help: help)
    }
}
