import Foundation
import StrataEngine

/// Reads a spec's data source into a Dataset, encoding labels as the checker resolved them. Every bad value is
/// an error naming the file and the record (CSV line) or example.
public struct DatasetLoader: Sendable {
    public var encoding: LabelEncoding
    public var loss: LossKind
    public var specFile: String
    public var featureCount: Int

    public init(encoding: LabelEncoding, loss: LossKind, specFile: String, featureCount: Int) {
        self.encoding = encoding
        self.loss = loss
        self.specFile = specFile
        self.featureCount = featureCount
    }

    /// Width of one target row as the loss takes it.
    public var targetWidth: Int { loss == .sparseCategoricalCrossentropy ? 1 : encoding.targetWidth }

    /// `table`: a CSV source's cells when they were read already (by the checker's probe).
    public func load(_ source: DataSource, table given: CSVTable? = nil) throws -> Dataset {
        switch source {
        case .inline(let x, let y, let names):
            let features = x.flatMap { $0.map(Float.init) }
            let labels: [LabelCell] = names.map { $0.map(LabelCell.name) } ?? y.map(LabelCell.numbers)
            return try assemble(features: features, labels: labels, path: "inline data", place: { "example \($0 + 1)" })
        case .csv(let csv):
            let path = DataPaths.resolve(csv.path.value, specFile: specFile)
            let table = try given ?? CSVTable.read(path, header: csv.header)
            let layout = try CSVLayout(table: table, source: csv, path: path)
            let features = try CSVFeatures.read(table, columns: layout.features, path: path)
            let labels: [LabelCell] = table.rows.map { row in
                let cell = row[layout.label].trimmingCharacters(in: .whitespaces)
                return Double(cell).map { .numbers([$0]) } ?? .name(cell)
            }
            var dataset = try assemble(
                features: features, labels: labels, path: path, place: { "line \(table.lines[$0])" })
            dataset.featureNames = table.header.map { header in
                layout.features.map { header[$0].trimmingCharacters(in: .whitespaces) }
            }
            return dataset
        case .idx(let images, let labels):
            let imagePath = DataPaths.resolve(images.value, specFile: specFile)
            let labelPath = DataPaths.resolve(labels.value, specFile: specFile)
            let imageFile = try IDXFile.read(imagePath)
            let labelFile = try IDXFile.read(labelPath)
            guard labelFile.dimensions.count == 1, imageFile.dimensions.first == labelFile.dimensions.first else {
                throw DataError(
                    path: labelPath,
                    "holds \(labelFile.dimensions.first ?? 0) labels for \(imageFile.dimensions.first ?? 0) images in \(imagePath)"
                )
            }
            let features = imageFile.values.map(Float.init)
            return try assemble(
                features: features, labels: labelFile.values.map { .numbers([Double($0)]) }, path: labelPath,
                place: { "byte \(8 + $0)" })
        }
    }

    /// Loads a CSV of inputs for prediction. With a header and the model's feature names, the columns are
    /// found by name (in any order, other columns ignored); otherwise by position: all columns, or the training
    /// layout's feature columns when the label column is there too. A first line of numbers where a header is
    /// expected is refused rather than eaten.
    public func loadFeatures(
        csvPath path: String, header: Bool, featureNames: [String]?, like source: DataSource?
    ) throws -> [Float] {
        let table = try CSVTable.read(path, header: header)
        let headerColumns = table.header?.map { $0.trimmingCharacters(in: .whitespaces) }
        // Before the rows are counted: a one-line file of numbers has no rows only because its line was the header.
        if let columns = headerColumns, columns.allSatisfy({ Double($0) != nil }) {
            throw DataError(
                path: path, place: "line 1", "the first line holds numbers, not column names",
                help: "if the file has no header line, pass --no-header")
        }
        guard !table.rows.isEmpty else {
            throw DataError(path: path, "holds no rows of inputs\(header ? " after its header line" : "")")
        }
        if let columns = headerColumns {
            if let featureNames {
                let index = Dictionary(columns.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
                let missing = featureNames.filter { index[$0] == nil }
                guard missing.isEmpty else {
                    throw DataError(
                        path: path, place: "line 1",
                        "the header has no column\(missing.count == 1 ? "" : "s") \(missing.map { "'\($0)'" }.joined(separator: ", "))",
                        help: "the model reads the columns \(featureNames.joined(separator: ", ")), by name")
                }
                return try CSVFeatures.read(table, columns: featureNames.compactMap { index[$0] }, path: path)
            }
        }
        let width = table.header?.count ?? table.rows[0].count
        if width == featureCount { return try CSVFeatures.read(table, columns: Array(0..<width), path: path) }
        if case .csv(let csv)? = source, let layout = try? CSVLayout(table: table, source: csv, path: path),
            layout.features.count == featureCount
        {
            return try CSVFeatures.read(table, columns: layout.features, path: path)
        }
        throw DataError(
            path: path,
            "has \(width) column\(width == 1 ? "" : "s"); the model takes \(featureCount) features per example",
            help: table.otherSeparatorHelp)
    }

    enum LabelCell {
        case numbers([Double])
        case name(String)
    }

    private func assemble(
        features: [Float], labels: [LabelCell], path: String, place: (Int) -> String
    ) throws -> Dataset {
        let count = labels.count
        guard count > 0 else { throw DataError(path: path, "holds no examples") }
        guard features.count == count * featureCount else {
            throw DataError(
                path: path,
                "\(features.count / max(count, 1)) features per example; the spec's input takes \(featureCount)")
        }
        let width = targetWidth
        var targets = [Float](repeating: 0, count: count * width)
        let names = encoding.classNames.map { Dictionary(uniqueKeysWithValues: $0.enumerated().map { ($1, $0) }) }
        for (i, label) in labels.enumerated() {
            switch (encoding.format, label) {
            case (.values, .numbers(let row)):
                guard row.count == width else {
                    throw DataError(path: path, place: place(i), "\(row.count) target values, expected \(width)")
                }
                for j in 0..<width {
                    if let problem = UnusableNumber.reason(row[j]) {
                        throw DataError(
                            path: path, place: place(i), "the target \(width > 1 ? "value \(j + 1) " : "")\(problem)")
                    }
                    targets[i * width + j] = Float(row[j])
                }
            case (.values, .name(let name)):
                throw DataError(path: path, place: place(i), "label '\(name)' is not a number")
            case (_, let cell):
                let index: Int
                switch cell {
                case .name(let name):
                    guard let found = names?[name] else {
                        throw DataError(
                            path: path, place: place(i), "unknown class '\(name)'",
                            help: encoding.classNames.map { "classes are: \($0.joined(separator: ", "))" })
                    }
                    index = found
                case .numbers(let row):
                    if encoding.format == .names {
                        // A model trained on class names reads a number as a name too, never as an index.
                        guard let found = names?[format(row[0])] else {
                            throw DataError(
                                path: path, place: place(i), "label '\(format(row[0]))' is not one of the class names",
                                help: encoding.classNames.map {
                                    "the model was trained with labels by name: \($0.joined(separator: ", "))"
                                })
                        }
                        index = found
                    } else {
                        guard row.count == 1, row[0] >= 0, row[0] == row[0].rounded(), row[0] < Double(Int32.max) else {
                            throw DataError(
                                path: path, place: place(i),
                                "label \(row.map { format($0) }.joined(separator: ", ")) is not a class index")
                        }
                        index = Int(row[0])
                    }
                }
                let classes = encoding.classCount ?? 2
                guard index < classes else {
                    throw DataError(
                        path: path, place: place(i),
                        "class \(index) is outside the \(classes) classes 0...\(classes - 1)")
                }
                if width == 1 { targets[i] = Float(index) } else { targets[i * width + index] = 1 }
            }
        }
        return Dataset(featureCount: featureCount, targetWidth: width, features: features, targets: targets)
    }
}

/// Why a number read from a data file cannot be one of a tensor's 32-bit values (nil when it can): training on
/// it would only show up later as a NaN loss, far from the line at fault.
enum UnusableNumber {
    static func reason(_ value: Double) -> String? {
        if value.isNaN { return "is not a number (NaN)" }
        if value.isInfinite { return "is infinite" }
        if abs(value) > Double(Float.greatestFiniteMagnitude) { return "is beyond a 32-bit float's range (±3.4e38)" }
        return nil
    }
}

enum CSVFeatures {
    static func read(_ table: CSVTable, columns: [Int], path: String) throws -> [Float] {
        var features: [Float] = []
        features.reserveCapacity(table.rows.count * columns.count)
        for (r, row) in table.rows.enumerated() {
            for c in columns {
                let cell = row[c].trimmingCharacters(in: .whitespaces)
                guard let value = Float(cell), value.isFinite else {
                    let column = table.header.map { "'\($0[c])'" } ?? "\(c)"
                    let problem = Double(cell).flatMap(UnusableNumber.reason) ?? "is not a number"
                    throw DataError(
                        path: path, place: "line \(table.lines[r])", "column \(column): '\(cell)' \(problem)")
                }
                features.append(value)
            }
        }
        return features
    }
}

/// Seeded, stratified hold-outs: within each class the examples are shuffled and the first
/// round(count · fraction) held out (StratifiedSplit), so every class keeps its share. Indices come back sorted.
public enum DataSplits {
    public static func split(
        classes: [Int]?, count: Int, fraction: Double, random: inout SplitMix64
    ) -> (kept: [Int], heldOut: [Int]) {
        guard fraction > 0 else { return (Array(0..<count), []) }
        let labels = classes ?? [Int](repeating: 0, count: count)
        let groups = Dictionary(grouping: 0..<count) { labels[$0] }
        var held: [Int] = []
        for label in groups.keys.sorted() {
            var members = groups[label]!
            random.shuffle(&members)
            let take = StratifiedSplit.heldOutCounts(classCounts: [members.count], fraction: fraction)[0]
            held += members.prefix(take)
        }
        let heldSet = Set(held)
        return ((0..<count).filter { !heldSet.contains($0) }, held.sorted())
    }
}
