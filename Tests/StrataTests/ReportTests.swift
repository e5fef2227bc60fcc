import Foundation
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

@testable import Strata
import StrataEngine

/// Collects elements and attributes of an SVG, failing on malformed XML.
final class SVGInspector: NSObject, XMLParserDelegate {
    var elements: [(name: String, attributes: [String: String])] = []
    var texts: [String] = []
    private var inText = false

    init(_ svg: String) throws {
        super.init()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = self
        guard parser.parse() else {
            throw TestFailure("not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?")")
        }
    }

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        elements.append((name, attributes))
        inText = name == "text"
        if inText { texts.append("") }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inText { texts[texts.count - 1] += string }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text" { inText = false }
    }

    func all(_ name: String, where key: String, is value: String) -> [[String: String]] {
        elements.filter { $0.name == name && $0.attributes[key] == value }.map(\.attributes)
    }

    func points(_ attributes: [String: String]) -> Int {
        attributes["points"]?.split(separator: " ").count ?? 0
    }
}

private func history(_ losses: [Double], _ validation: [Double]) -> [EpochRecord] {
    zip(losses, validation).enumerated().map { i, pair in
        EpochRecord(
            epoch: i + 1, learningRate: 0.1,
            values: ["loss": pair.0, "val_loss": pair.1, "accuracy": 0.5 + Double(i) * 0.05, "val_accuracy": 0.5],
            seconds: 0.1)
    }
}

@Test func learningCurvesHoldEverySeriesOnSharedAxes() throws {
    let records = history([1.0, 0.6, 0.4, 0.3, 0.25], [1.1, 0.7, 0.5, 0.45, 0.44])
    let svg = try SVGInspector(LearningCurves.render(records, title: "test: learning curves"))
    for series in ["loss", "val_loss", "accuracy", "val_accuracy"] {
        let lines = svg.all("polyline", where: "data-series", is: series)
        #expect(lines.count == 1, "series \(series)")
        #expect(lines.first.map(svg.points) == 5)
    }
    let frames = svg.elements.filter { $0.attributes["class"] == "frame" }.map(\.attributes)
    #expect(frames.count == 2)
    for frame in frames {
        #expect(Double(frame["data-x-min"]!)! <= 1 && Double(frame["data-x-max"]!)! >= 5)
    }
    let loss = try #require(frames.first { $0["data-panel"] == "loss" })
    #expect(Double(loss["data-y-min"]!)! <= 0.25 && Double(loss["data-y-max"]!)! >= 1.1)
    #expect(svg.texts.contains("test: learning curves"))
    #expect(svg.texts.contains("epoch") && svg.texts.contains("training loss") && svg.texts.contains("validation loss"))
    #expect(svg.all("line", where: "class", is: "best-epoch").first?["data-epoch"] == "5")
    #expect(svg.all("rect", where: "class", is: "overfitting").isEmpty)
}

@Test func overfittingStretchIsShadedAndLabelled() throws {
    // Validation loss bottoms out at epoch 3 and rises while training loss keeps falling.
    let records = history([1.0, 0.6, 0.4, 0.3, 0.2, 0.1], [1.1, 0.7, 0.5, 0.55, 0.6, 0.7])
    #expect(LearningCurves.overfitting(records) == 3...6)
    let svg = try SVGInspector(LearningCurves.render(records, title: "overfit"))
    #expect(svg.all("rect", where: "class", is: "overfitting").count == 2)
    #expect(svg.texts.contains { $0.hasPrefix("overfitting") })
    #expect(svg.all("line", where: "class", is: "best-epoch").first?["data-epoch"] == "3")
}

@Test(arguments: ["linear.yaml", "xor.yaml", "iris.yaml", "digits.yaml"])
func trainingPlotsOfBundledSpecsParse(name: String) throws {
    let (_, result) = try train(name) { $0.epochs = 5 }
    let svg = try SVGInspector(LearningCurves.render(result.history, title: name))
    let loss = try #require(svg.all("polyline", where: "data-series", is: "loss").first)
    #expect(svg.points(loss) == 5)
    let hasValidation = result.history[0].values["val_loss"] != nil
    #expect(svg.all("polyline", where: "data-series", is: "val_loss").count == (hasValidation ? 1 : 0))
    let (records, _) = try LearningCurves.history(from: result.historyPath)
    // The history file holds the same figures (JSON number text may round the last digit).
    #expect(records.map(\.epoch) == result.history.map(\.epoch))
    for (read, kept) in zip(records, result.history) {
        #expect(Set(read.values.keys) == Set(kept.values.keys))
        for (key, value) in kept.values { #expect(abs(read.values[key]! - value) <= 1e-12 * max(1, abs(value))) }
    }
}

@Test func lossSurfaceOfTheLineWalksFromStartToMinimum() throws {
    let (checked, _, _) = Checker.check(path: Paths.spec("linear.yaml"))
    let surface = try LossSurface.compute(try #require(checked), resolution: 21)
    #expect(surface.path.count == 1001)
    #expect(surface.path.first! == (-1, 5))
    #expect(abs(surface.path.last!.0 - 2) < 1e-3 && abs(surface.path.last!.1 - 1) < 1e-3)
    // The grid covers the path and (2, 1).
    #expect(surface.xs.first! < -1 && surface.xs.last! > 2 && surface.ys.first! < 1 && surface.ys.last! > 5)
    let svg = try SVGInspector(surface.render(title: "surface"))
    let path = try #require(svg.all("polyline", where: "class", is: "path").first)
    #expect(svg.points(path) == 1001)
    #expect(path["data-steps"] == "1000")
    #expect(svg.elements.filter { $0.name == "circle" }.count >= 1001)
    #expect(svg.elements.filter { $0.name == "line" }.count > 20, "contour segments")
    #expect(svg.texts.contains { $0.hasPrefix("m (dense_1.weight)") })
}

@Test func lossSurfaceRefusesOtherModels() throws {
    let (checked, _, _) = Checker.check(path: Paths.spec("xor.yaml"))
    #expect {
        _ = try LossSurface.compute(try #require(checked), epochs: 1)
    } throws: { error in
        "\(error)".contains("exactly two trainable parameters") && "\(error)".contains("this model has 33")
    }
}

@Test func confusionPlotHasACellPerPairWithCounts() throws {
    let svg = try SVGInspector(ConfusionPlot.render([[5, 1], [2, 7]], classNames: ["cat", "dog"], title: "pets"))
    let cells = svg.elements.filter { $0.attributes["class"] == "cell" }.map(\.attributes)
    #expect(cells.count == 4)
    #expect(cells.first { $0["data-actual"] == "1" && $0["data-predicted"] == "0" }?["data-count"] == "2")
    #expect(svg.texts.filter { ["5", "1", "2", "7"].contains($0) }.count == 4)
    #expect(svg.texts.filter { $0 == "cat" }.count == 2)
}

@Test(arguments: ["linear", "fashion-cnn"])
func explainMatchesTheExpectedText(name: String) throws {
    let (checked, summary, _) = Checker.check(path: Paths.spec("\(name).yaml"), options: CheckOptions(readData: false))
    let text = Explain.render(try #require(checked).spec, summary: try #require(summary), style: .text)
    let expected = try String(
        contentsOf: Paths.fixtures.appendingPathComponent("expected/explain-\(name).txt"), encoding: .utf8)
    #expect(text == expected)
}

/// A cosine schedule's formula: without a floor it says where the rate reaches 0; with one, the floor's share.
@Test func explainWritesTheCosineSchedule() throws {
    let (checked, summary, _) = Checker.check(
        path: Paths.spec("fashion-mlp.yaml"), options: CheckOptions(readData: false))
    let text = Explain.render(try #require(checked).spec, summary: try #require(summary), style: .text)
    #expect(text.contains("learning rate at step t: η·½(1 + cos(π·min(t, 4690)/4690)), 0 from step 4690 on"))
    var floored = try #require(checked).spec
    floored.optimizer.schedule?.value = .cosine(decaySteps: 100, alpha: 0.1)
    let withFloor = Explain.render(floored, summary: try #require(summary), style: .text)
    #expect(withFloor.contains("η·(0.1 + (1 − 0.1)·½(1 + cos(π·min(t, 100)/100)))"), "\(withFloor)")
}

@Test func explainMarkdownHasHeadings() throws {
    let (checked, summary, _) = Checker.check(
        path: Paths.spec("fashion-mlp.yaml"), options: CheckOptions(readData: false))
    let text = Explain.render(try #require(checked).spec, summary: try #require(summary), style: .markdown)
    #expect(text.hasPrefix("# fashion-mlp\n"))
    #expect(
        text.contains(
            "### dense_1 (dense)\n[784] → [128]\n- y = relu(W·x + b), W of shape [784, 128], b of shape [128]"))
    #expect(text.contains("- parameters: 784·128 + 128 = 100,480"))
    #expect(text.contains("sgd with momentum: v ← μ·v − η·∇L, w ← w + v, η = 0.1, μ = 0.9"))
}

@Test func progressRedrawsABarOnATerminalAndPrintsPlainLinesOtherwise() {
    var written: [String] = []
    let terminal = ProgressPrinter(interactive: true) { written.append($0) }
    terminal.epochStarted(3, of: 10, batches: 4)
    terminal.batchFinished(2, of: 4, loss: 0.5, metrics: [("accuracy", 0.75)], seconds: 1.25)
    let record = EpochRecord(
        epoch: 3, learningRate: 0.1,
        values: ["loss": 0.4213, "accuracy": 0.8512, "val_loss": 0.5, "val_accuracy": 0.8], seconds: 1.2)
    terminal.epochFinished(record, of: 10)
    #expect(written[0] == "\r\u{1B}[2KEpoch 3/10 ━━━━━━━━━━────────── 2/4 1.2s - loss: 0.5000 - accuracy: 0.7500")
    #expect(
        written[1]
            == "\r\u{1B}[2KEpoch 3/10 - 1.2s - loss: 0.4213 - accuracy: 0.8512 - val_loss: 0.5000 - val_accuracy: 0.8000\n"
    )
    written = []
    let log = ProgressPrinter(interactive: false) { written.append($0) }
    #expect(!log.wantsBatchUpdates)
    log.epochStarted(3, of: 10, batches: 4)
    log.epochFinished(record, of: 10)
    #expect(
        written == ["Epoch 3/10 - 1.2s - loss: 0.4213 - accuracy: 0.8512 - val_loss: 0.5000 - val_accuracy: 0.8000\n"])
}

/// Four decimals as Keras prints them; below 0.001 scientific notation, so a loss still falling is not 0.0000.
@Test(arguments: [
    (0.4213, "0.4213"), (1.0, "1.0000"), (0.0012, "0.0012"), (0.001, "1.0000e-03"), (3.2e-5, "3.2000e-05"),
    (-2e-9, "-2.0000e-09"), (0, "0.0000"), (123456.789, "123456.7890"), (Double.nan, "nan"),
])
func figuresSwitchToScientificNotationBelowAThousandth(value: Double, text: String) {
    #expect(Figure.text(value) == text)
}

/// A history file is input: an epoch of 1e19 is refused naming the line (it trapped), and values whose spread is
/// below their precision (1e17 and 1e17 + 16) still plot (the tick loop never ended).
@Test func historyFilesAreCheckedAndAbsurdValuesStillPlot() throws {
    let folder = temporaryFolder()
    let bad = folder.appendingPathComponent("bad.history.jsonl").path
    try "{\"epoch\": 1, \"loss\": 1}\n{\"epoch\": 1e19, \"loss\": 1}\n".write(
        toFile: bad, atomically: true, encoding: .utf8)
    #expect {
        _ = try LearningCurves.history(from: bad)
    } throws: { error in
        (error as? DataError)?.place == "line 2" && (error as? DataError)?.message.contains("epoch 1e+19") == true
    }
    let huge = folder.appendingPathComponent("huge.history.jsonl").path
    try "{\"epoch\": 1, \"loss\": 1e17}\n{\"epoch\": 2, \"loss\": 100000000000000016}\n"
        .write(toFile: huge, atomically: true, encoding: .utf8)
    let (records, title) = try LearningCurves.history(from: huge)
    #expect(LearningCurves.render(records, title: title).contains("<svg"))
    #expect(niceTicks(1e17, 1e17 + 16).count <= 16)
}

/// A history file with Windows line breaks reads (its records were one line, refused as "line 1"), and a bad
/// record after a blank line is named by its own line.
@Test func historyFilesReadWithAnyLineBreaks() throws {
    let folder = temporaryFolder()
    let crlf = folder.appendingPathComponent("crlf.history.jsonl").path
    try "{\"epoch\": 1, \"loss\": 1}\r\n{\"epoch\": 2, \"loss\": 0.5}\r\n".write(
        toFile: crlf, atomically: true, encoding: .utf8)
    #expect(try LearningCurves.history(from: crlf).records.map(\.epoch) == [1, 2])
    let blank = folder.appendingPathComponent("blank.history.jsonl").path
    try "{\"epoch\": 1, \"loss\": 1}\n\nnot json\n".write(toFile: blank, atomically: true, encoding: .utf8)
    #expect {
        _ = try LearningCurves.history(from: blank)
    } throws: { error in
        (error as? DataError)?.place == "line 3"
    }
}

/// Thousands of problems on one long line print a bounded report: excerpts cut around the column, at most
/// `maximumShown` diagnostics and a count of the rest (80 KB in once gave 480 MB out).
@Test func manyDiagnosticsOnOneLongLineStayBounded() {
    let keys = (0..<5000).map { "k\($0): 1" }.joined(separator: ", ")
    let text = "{input: [1], \(keys)}\n"
    let (_, diagnostics) = SpecParser.parse(text: text, file: "wide.yaml")
    #expect(diagnostics.items.count >= 5000)
    let rendered = DiagnosticPrinter(sources: ["wide.yaml": text]).render(diagnostics)
    #expect(rendered.utf8.count < 40_000, "\(rendered.utf8.count) bytes")
    #expect(rendered.contains("more not shown"))
    #expect(rendered.contains("…"))
}

/// A tab in the indentation is named as one.
@Test func tabIndentationSaysTab() {
    let (_, diagnostics) = SpecParser.parse(
        text: "input: [2]\ntraining:\n  epochs: 1\n\tbatch_size: 2\n", file: "t.yaml")
    #expect(diagnostics.items.first?.message.contains("a tab in the indentation of line 4") == true)
}

/// A batch larger than the training set is full-batch training, said as such (it used to say "raise
/// validation_split").
@Test func batchLargerThanTheTrainingSetSaysSo() {
    let text = """
        input: [1]
        layers: [{dense: {units: 1}}]
        loss: mse
        optimizer: sgd
        training: {batch_size: 10}
        data: {train: {inline: {x: [[1], [2], [3]], y: [1, 2, 3]}}}
        """
    let (spec, _) = SpecParser.parse(text: text, file: "b.yaml")
    guard let spec else {
        Issue.record("does not parse")
        return
    }
    let (_, _, diagnostics) = Checker.check(spec)
    let warning = diagnostics.items.first { $0.severity == .warning }
    #expect(warning?.message == "batch_size 10 is larger than the 3 training examples: every step uses all of them")
    #expect(diagnostics.items.allSatisfy { !$0.message.contains("validation_split") })
}

/// Column widths follow the names: "T-shirt/top" and its count no longer run together, and short names that
/// share a prefix (barbera, barolo) stay apart.
@Test func confusionMatrixColumnsFitTheirNames() {
    let evaluation = Evaluation(
        metrics: MetricAccumulator(), confusion: [[886, 1, 2], [3, 990, 4], [5, 6, 1000]])
    let text = EvaluationReport.text(evaluation, metrics: [], classNames: ["T-shirt/top", "barbera", "barolo"])
    let header = text.split(separator: "\n").first { $0.contains("T-shirt/top") && $0.contains("barolo") }
    #expect(header?.contains("T-shirt/top  barbera  barolo") == true, "\(text)")
    #expect(!text.contains("T-shirt/top886"))
}

/// One sigmoid output is the positive class's probability, and its column says which class that is.
@Test func sigmoidPredictionsNameThePositiveClass() {
    let csv = PredictionCSV.render([0.2, 0.9], width: 1, classNames: ["malignant", "benign"])
    #expect(csv.hasPrefix("class,p_benign\nmalignant,0.2\nbenign,0.9\n"))
}

/// With two classes the heat map is still wide enough for its title and accuracy line.
@Test func smallConfusionPlotsAreNotClipped() {
    let title = "wine-quality-with-a-long-name: confusion matrix (validation)"
    let svg = ConfusionPlot.render([[5, 1], [2, 7]], classNames: ["no", "yes"], title: title)
    let width = svg.split(separator: "width=\"").dropFirst().first.flatMap { Double($0.prefix { $0 != "\"" }) } ?? 0
    #expect(width >= Double(title.count) * 10)
}
