import Foundation

/// Labels as they stand in a source, before any encoding.
public enum RawLabels: Sendable {
    /// One row of numbers per example.
    case numbers([[Double]])
    /// One class name per example.
    case names([String])

    public var count: Int {
        switch self {
        case .numbers(let rows): rows.count
        case .names(let names): names.count
        }
    }
}

/// What a source holds, found without reading more than the checker needs (labels, and image headers only).
public struct SourceProbe: Sendable {
    public var examples: Int
    /// The shape of one example's features as the file stores it (`[784]`, `[28, 28]`).
    public var featureShape: [Int]
    public var labels: RawLabels
    /// A CSV source's cells, so the loader does not read the file again.
    var table: CSVTable?
}

public enum DataPaths {
    /// Data paths are relative to the spec file's folder.
    public static func resolve(_ path: String, specFile: String) -> String {
        if path.hasPrefix("/") { return path }
        let folder = URL(fileURLWithPath: specFile).deletingLastPathComponent()
        return folder.appendingPathComponent(path).standardizedFileURL.path
    }
}

extension SourceProbe {
    public static func probe(_ source: DataSource, specFile: String) throws -> SourceProbe {
        switch source {
        case .inline(let x, let y, let yNames):
            let labels: RawLabels = yNames.map { .names($0) } ?? .numbers(y)
            return SourceProbe(examples: x.count, featureShape: [x.first?.count ?? 0], labels: labels, table: nil)
        case .csv(let csv):
            let path = DataPaths.resolve(csv.path.value, specFile: specFile)
            let table = try CSVTable.read(path, header: csv.header)
            guard !table.rows.isEmpty else {
                throw DataError(path: path, table.header == nil ? "holds no rows" : "has a header but no rows of data")
            }
            let layout = try CSVLayout(table: table, source: csv, path: path)
            return SourceProbe(
                examples: table.rows.count, featureShape: [layout.features.count],
                labels: try layout.labels(table, path: path), table: table)
        case .idx(let images, let labels):
            let imagePath = DataPaths.resolve(images.value, specFile: specFile)
            let labelPath = DataPaths.resolve(labels.value, specFile: specFile)
            let dims = try IDXFile.readDimensions(imagePath)
            let labelFile = try IDXFile.read(labelPath)
            guard labelFile.dimensions.count == 1 else {
                throw DataError(
                    path: labelPath, place: "byte 3",
                    "a label file has 1 dimension, this one has \(labelFile.dimensions.count)")
            }
            guard dims.first == labelFile.dimensions[0] else {
                throw DataError(
                    path: labelPath,
                    "holds \(labelFile.dimensions[0]) labels but \(imagePath) holds \(dims.first ?? 0) images")
            }
            return SourceProbe(
                examples: dims[0], featureShape: Array(dims.dropFirst()),
                labels: .numbers(labelFile.values.map { [Double($0)] }), table: nil)
        }
    }
}

/// Which CSV columns are features and which one is the label.
struct CSVLayout {
    var features: [Int]
    var label: Int

    init(table: CSVTable, source: CSVSource, path: String) throws {
        let width = table.header?.count ?? table.rows.first?.count ?? 0
        guard width >= 2 else {
            throw DataError(
                path: path, "needs at least two columns (features and a label), found \(width)",
                help: table.otherSeparatorHelp)
        }
        let label = try source.label.map { try table.columnIndex($0.value, path: path) } ?? width - 1
        self.label = label
        if let names = source.features?.value {
            features = try names.map { try table.columnIndex($0, path: path) }
            if features.contains(label) {
                throw DataError(path: path, "the label column is also listed as a feature")
            }
        } else {
            features = (0..<width).filter { $0 != label }
        }
    }

    /// The label column: numbers when every cell is one, names otherwise.
    func labels(_ table: CSVTable, path: String) throws -> RawLabels {
        let cells = table.rows.map { $0[label].trimmingCharacters(in: .whitespaces) }
        let numbers = cells.map(Double.init)
        if !numbers.contains(nil) { return .numbers(numbers.map { [$0!] }) }
        if let bad = cells.firstIndex(where: { $0.isEmpty }) {
            throw DataError(path: path, place: "line \(table.lines[bad])", "the label cell is empty")
        }
        return .names(cells)
    }
}
