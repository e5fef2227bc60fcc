import Foundation
import Testing

@testable import Strata

private let classesEncoding = LabelEncoding(
    format: .classes, oneHot: false, classNames: nil, classCount: 3, targetWidth: 1)

private func write(_ text: String, _ name: String) -> String {
    let path = temporaryFolder().appendingPathComponent(name).path
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return path
}

private func csvSource(_ path: String) -> DataSource {
    let here = Strata.SourceLocation(file: "t.yaml", line: 1, column: 1)
    return .csv(CSVSource(path: Located(path, at: here), features: nil, label: nil, header: true))
}

private func expectDataError(
    _ message: String, place: String? = nil, _ body: () throws -> Void,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
    #expect(sourceLocation: sourceLocation) {
        try body()
    } throws: { error in
        guard let error = error as? DataError else { return false }
        return error.message.contains(message) && (place == nil || error.place == place)
    }
}

@Test func csvNonNumericCellNamesLineAndColumn() {
    let path = write("a,b,label\n1,2,0\n3,x,1\n", "bad-cell.csv")
    let loader = DatasetLoader(
        encoding: classesEncoding, loss: .sparseCategoricalCrossentropy, specFile: "/t.yaml", featureCount: 2)
    expectDataError("column 'b': 'x' is not a number", place: "line 3") { _ = try loader.load(csvSource(path)) }
}

@Test func csvWrongColumnCountNamesTheLine() {
    let path = write("a,b,label\n1,2,0\n3,4\n", "short.csv")
    expectDataError("wrong column count: 2 values, expected 3", place: "line 3") {
        _ = try CSVTable.read(path, header: true)
    }
}

@Test func csvQuotedFieldsAndBlankLines() throws {
    let table = try CSVTable.parse("name,value\n\"a, b\",1\n\n\"say \"\"hi\"\"\",2\r\n", path: "q.csv", header: true)
    #expect(table.rows == [["a, b", "1"], ["say \"hi\"", "2"]])
    #expect(table.lines == [2, 4])
}

@Test func labelOutsideTheClassRangeNamesTheRecord() {
    let path = write("a,b,label\n1,2,0\n3,4,7\n", "range.csv")
    let loader = DatasetLoader(
        encoding: classesEncoding, loss: .sparseCategoricalCrossentropy, specFile: "/t.yaml", featureCount: 2)
    expectDataError("class 7 is outside the 3 classes 0...2", place: "line 3") { _ = try loader.load(csvSource(path)) }
}

@Test func featureCountMismatchIsAnError() {
    let path = write("a,b,label\n1,2,0\n", "width.csv")
    let loader = DatasetLoader(
        encoding: classesEncoding, loss: .sparseCategoricalCrossentropy, specFile: "/t.yaml", featureCount: 5)
    expectDataError("2 features per example; the spec's input takes 5") { _ = try loader.load(csvSource(path)) }
}

@Test func idxBadMagicIsAnErrorAtByteZero() {
    expectDataError("not an IDX file: magic starts 0x1f8b", place: "byte 0") {
        _ = try IDXFile.parse([0x1F, 0x8B, 8, 0], path: "x.idx")
    }
}

@Test func idxSizeMismatchNamesBothSizes() {
    let bytes: [UInt8] = [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5]
    expectDataError("the header's dimensions 2x3 need 6 bytes of data, the file has 5", place: "byte 12") {
        _ = try IDXFile.parse(bytes, path: "x.idx")
    }
}

@Test func idxUnsupportedTypeAndShortHeader() {
    expectDataError("IDX type 0x0d is not supported", place: "byte 2") {
        _ = try IDXFile.parse([0, 0, 0x0D, 1, 0, 0, 0, 0], path: "x.idx")
    }
    expectDataError("header ends early", place: "byte 6") { _ = try IDXFile.parse([0, 0, 8, 1, 0, 0], path: "x.idx") }
}

@Test func gzipFilesAreReadAndCorruptOnesRefused() throws {
    let folder = temporaryFolder()
    let plain = folder.appendingPathComponent("labels.idx")
    try Data([0, 0, 8, 1, 0, 0, 0, 3, 0, 1, 2]).write(to: plain)
    let gzip = Process()
    gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
    gzip.arguments = ["-k", plain.path]
    try gzip.run()
    gzip.waitUntilExit()
    let file = try IDXFile.read(plain.path + ".gz")
    #expect(file.dimensions == [3])
    #expect(file.values == [0, 1, 2])
    var compressed = [UInt8](try Data(contentsOf: URL(fileURLWithPath: plain.path + ".gz")))
    compressed.removeLast(12)
    let truncated = folder.appendingPathComponent("cut.idx.gz").path
    try Data(compressed).write(to: URL(fileURLWithPath: truncated))
    #expect(throws: DataError.self) { _ = try IDXFile.read(truncated) }
}

@Test func stratifiedSplitKeepsEveryClassShare() {
    var random = SplitMixSeed.make(5)
    let classes = Array(repeating: 0, count: 50) + Array(repeating: 1, count: 30) + Array(repeating: 2, count: 20)
    let (kept, held) = DataSplits.split(classes: classes, count: 100, fraction: 0.2, random: &random)
    #expect(held.count == 20)
    #expect(held.filter { classes[$0] == 0 }.count == 10)
    #expect(held.filter { classes[$0] == 1 }.count == 6)
    #expect(held.filter { classes[$0] == 2 }.count == 4)
    #expect(Set(kept).isDisjoint(with: held) && kept.count + held.count == 100)
}

@Test func standardizationUsesTrainingStatistics() {
    let training = Dataset(featureCount: 2, targetWidth: 1, features: [1, 10, 3, 10], targets: [0, 1])
    let fitted = Preprocessing.fit(scale: nil, standardize: true, training: training)
    #expect(fitted.mean == [2, 10])
    #expect(fitted.standardDeviation == [1, 1])
    var features: [Float] = [4, 12]
    fitted.apply(to: &features, featureCount: 2)
    #expect(features == [2, 2])
}

private func gzip(_ path: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-kf", path]
    try process.run()
    process.waitUntilExit()
    return path + ".gz"
}

/// A gzip file missing only its 8-byte trailer decompresses completely, but is not whole: `gzip -t` rejects it,
/// and so does Strata.
@Test func gzipWithoutItsTrailerIsRefused() throws {
    let plain = temporaryFolder().appendingPathComponent("labels.idx")
    try Data([0, 0, 8, 1, 0, 0, 0, 3, 0, 1, 2]).write(to: plain)
    var compressed = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try gzip(plain.path))))
    compressed.removeLast(8)
    let cut = plain.path + ".cut.gz"
    try Data(compressed).write(to: URL(fileURLWithPath: cut))
    expectDataError("corrupt or truncated") { _ = try IDXFile.read(cut) }
}

/// A small .gz whose data runs far past what its IDX header declares: reading stops at the declared size plus a
/// chunk, not after inflating all of it.
@Test func idxStopsReadingWhereItsHeaderSaysTheDataEnds() throws {
    let plain = temporaryFolder().appendingPathComponent("bomb.idx")
    try Data([0, 0, 8, 1, 0, 0, 0, 4, 1, 2, 3, 4] + [UInt8](repeating: 0, count: 64 << 20)).write(to: plain)
    let packed = try gzip(plain.path)
    let size = try FileManager.default.attributesOfItem(atPath: packed)[.size] as? Int ?? 0
    #expect(size < 1 << 20)
    expectDataError("the header's dimensions 4 need 4 bytes of data, the file has more") {
        _ = try IDXFile.read(packed)
    }
}

/// /dev/zero as a CSV ends at its first byte, not when memory runs out.
@Test func endlessBinaryInputIsRefusedAtOnce() {
    expectDataError("not a text file (byte 0x00)", place: "byte 0") { _ = try CSVTable.read("/dev/zero", header: true) }
}

@Test func aFolderIsNotAFile() {
    expectDataError("is a folder, not a file") { _ = try CSVTable.read(temporaryFolder().path, header: true) }
}

/// A byte-order mark (Excel writes one) is not part of the first column's name.
@Test func byteOrderMarkIsNotPartOfTheHeader() throws {
    let path = write("\u{FEFF}a,b,label\n1,2,0\n", "bom.csv")
    let table = try CSVTable.read(path, header: true)
    #expect(table.header == ["a", "b", "label"])
}

@Test func csvTargetThatIsNotFiniteNamesTheLine() {
    let loader = DatasetLoader(
        encoding: LabelEncoding(format: .values, oneHot: false, classNames: nil, classCount: 0, targetWidth: 1),
        loss: .mse, specFile: "/t.yaml", featureCount: 1)
    for (cell, message) in [
        ("nan", "the target is not a number (NaN)"), ("-inf", "the target is infinite"),
        ("1e39", "the target is beyond a 32-bit float's range"),
    ] {
        let path = write("x,y\n1,3\n2,\(cell)\n", "target-\(cell).csv")
        expectDataError(message, place: "line 3") { _ = try loader.load(csvSource(path)) }
    }
}

@Test func csvFeatureOutsideFloatsSaysWhy() {
    let loader = DatasetLoader(
        encoding: classesEncoding, loss: .sparseCategoricalCrossentropy, specFile: "/t.yaml", featureCount: 2)
    let path = write("a,b,label\n1,2,0\n3,1e39,1\n4,nan,1\n", "range-feature.csv")
    expectDataError("column 'b': '1e39' is beyond a 32-bit float's range", place: "line 3") {
        _ = try loader.load(csvSource(path))
    }
}

@Test func csvSeparatedBySemicolonsSaysSo() throws {
    let table = try CSVTable.parse("a;b;y\n1;2;0\n", path: "s.csv", header: true)
    #expect(table.otherSeparatorHelp?.contains("semicolons") == true)
    #expect(
        try CSVTable.parse("a\tb\n1\t2\n", path: "t.csv", header: true).otherSeparatorHelp?.contains("tabs") == true)
    #expect(try CSVTable.parse("a,b\n1,2\n", path: "c.csv", header: true).otherSeparatorHelp == nil)
    // Decimal commas split the cells at them too: still named.
    let european = try CSVTable.parse("5,1;3,5;1,4;0,2\n", path: "e.csv", header: false)
    #expect(european.rows[0].count == 5)
    #expect(european.otherSeparatorHelp?.contains("semicolons") == true)
}

/// A lone "\r" ends a record (classic Mac files): it once was dropped, joining "1\r2\r3" into the one value 123.
@Test func csvLoneCarriageReturnsEndRecords() throws {
    let table = try CSVTable.parse("x,y\r1,2\r3,4\r\r\"a\rb\",5\r6,7", path: "cr.csv", header: true)
    #expect(table.header == ["x", "y"])
    #expect(table.rows == [["1", "2"], ["3", "4"], ["a\rb", "5"], ["6", "7"]])
    #expect(table.lines == [2, 3, 5, 7])
    let mixed = try CSVTable.parse("1\r\n2\n3\r4", path: "m.csv", header: false)
    #expect(mixed.rows == [["1"], ["2"], ["3"], ["4"]])
    #expect(mixed.lines == [1, 2, 3, 4])
}
