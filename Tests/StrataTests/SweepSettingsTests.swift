import Testing

@testable import Strata

private func axis(_ text: String) throws -> SweepAxis { try SweepAxis.parse(text).get() }

@Test func gridListsEveryCombinationFirstAxisSlowest() throws {
    let grid = try SweepSettings.grid([
        axis("training.batch_size=1,32"), axis("layers.0.dense.kernel_size=[3,3],[5,5], 7"),
    ]).get()
    #expect(
        grid.map { $0.map(\.assignment) } == [
            ["training.batch_size=1", "layers.0.dense.kernel_size=[3,3]"],
            ["training.batch_size=1", "layers.0.dense.kernel_size=[5,5]"],
            ["training.batch_size=1", "layers.0.dense.kernel_size=7"],
            ["training.batch_size=32", "layers.0.dense.kernel_size=[3,3]"],
            ["training.batch_size=32", "layers.0.dense.kernel_size=[5,5]"],
            ["training.batch_size=32", "layers.0.dense.kernel_size=7"],
        ])
    #expect(try axis("units=choice(32, 64)").domain == .values(["32", "64"]))
    #expect(SweepSettings.runName(3, of: 12, grid[2]) == "03_batch_size=1_kernel_size=7")
    #expect(SweepSettings.runName(1, of: 2, [SpecSetting(path: "a", value: "x/y z")]) == "1_a=x-y-z")
}

@Test func badAxesSayWhatIsWrong() {
    func message(_ text: String) -> String? {
        if case .failure(let error) = SweepAxis.parse(text) { return error.message }
        return nil
    }
    #expect(
        message("training.batch_size") == "--set training.batch_size: write PATH=V1,V2,… e.g. training.batch_size=16,64"
    )
    #expect(message("lr=loguniform(0,1)") == "--set lr=loguniform(0,1): loguniform(A,B) needs A > 0, got 0")
    #expect(
        message("lr=uniform(2,1)") == "--set lr=uniform(2,1): uniform(A,B) needs two numbers A < B, got `uniform(2,1)`")
    #expect(message("units=1,,2")?.contains("no values") == true)
    #expect(message("units=[1,2") != nil)
    #expect(message("units=4,4") == "--set units=4,4: `4` is listed twice")
    #expect(
        (try? SweepSettings.grid([axis("lr=loguniform(1e-4,1e-1)")]).get()) == nil,
        "a range needs random search")
}

@Test func randomSearchIsReproducibleFromItsSeed() throws {
    let axes = [
        try axis("lr=loguniform(1e-4,1e-1)"), try axis("units=choice(32,64,128)"), try axis("p=uniform(0,0.5)"),
    ]
    let first = SweepSettings.random(axes, count: 20, seed: 3)
    #expect(first == SweepSettings.random(axes, count: 20, seed: 3))
    #expect(first != SweepSettings.random(axes, count: 20, seed: 4))
    for run in first {
        let lr = try #require(Double(run[0].value)), p = try #require(Double(run[2].value))
        #expect(lr >= 1e-4 && lr <= 0.1 && p >= 0 && p <= 0.5)
        #expect(["32", "64", "128"].contains(run[1].value))
    }
    // Drawn in the log: about as many below 1e-2.5 as above.
    let lows = first.filter { Double($0[0].value)! < 0.00316 }.count
    #expect((5...15).contains(lows))
}

@Test func aSweepSectionInTheSpecIsReadAndItsErrorsLocated() throws {
    let base = """
        input: [1]
        layers: [dense: {units: 1}]
        loss: mse
        optimizer: sgd
        data: {train: {inline: {x: [1, 2], y: [3, 5]}}}
        """
    let good = SpecParser.parse(
        text: base + "\nsweep: {name: rates, set: {optimizer.sgd.learning_rate: [0.01, 0.1]}, jobs: 2}\n",
        file: "s.yaml")
    let section = try #require(good.spec?.sweep)
    #expect(section.name == "rates" && section.jobs == 2 && !section.halving)
    #expect(section.axes == [SweepAxis(path: "optimizer.sgd.learning_rate", domain: .values(["0.01", "0.1"]))])
    let bad = SpecParser.parse(
        text: base + "\nsweep: {set: {training.batch_size: \"loguniform(0, 1)\"}, jobs: 0}\n", file: "s.yaml")
    let messages = bad.diagnostics.items.map { "\($0.location!.line):\($0.location!.column) \($0.message)" }
    #expect(messages.contains("6:36 sweep.set.training.batch_size: loguniform(A,B) needs A > 0, got 0"))
    #expect(messages.contains { $0.hasPrefix("6:63 jobs must be") })
}

@Test func aGridTooLargeIsRefusedBeforeItIsExpanded() throws {
    let hundred = (1...100).map(String.init).joined(separator: ",")
    let axes = try ["a", "b", "c"].map { try axis("\($0)=\(hundred)") }
    guard case .failure(let error) = SweepSettings.grid(axes) else {
        Issue.record("a million runs were expanded")
        return
    }
    #expect(error.message == "the grid has more than 10000 runs; sweep fewer values at once")
    #expect((try? SweepSettings.grid(Array(axes.prefix(2))).get())?.count == 10_000)
}
