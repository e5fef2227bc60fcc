import CStrataKernels
import StrataEngine
import Testing

// The pool's choice of running whole steps on the workers or alone, fed made-up step times (step_choice.c).

/// What a run of made-up steps did: seconds spent in steps each way, and the way chosen at the end.
private struct Run {
    var sharedSeconds = 0.0, aloneSeconds = 0.0
    var chosenAlone = false
    var aloneShare: Double { aloneSeconds / (sharedSeconds + aloneSeconds) }
}

/// Runs steps of 256 rows back to back from `start` for `seconds`, each taking `shared(now)` or `alone(now)`
/// seconds as the choice says.
private func run(
    _ choice: inout strata_step_choice, from start: Double, seconds: Double, shared: (Double) -> Double,
    alone: (Double) -> Double
) -> Run {
    var result = Run()
    var now = start
    while now < start + seconds {
        let took = choice.alone != 0 ? alone(now) : shared(now)
        if choice.alone != 0 { result.aloneSeconds += took } else { result.sharedSeconds += took }
        now += took
        strata_step_choice_note(&choice, took, 256, now)
    }
    result.chosenAlone = choice.chosen_alone != 0
    return result
}

/// On an idle machine (sharing 0.85 ms a step, alone 1.4) the probes of running alone soon come seconds apart:
/// under 1% of ten seconds runs alone, and the pool keeps sharing.
@Test func probesOfAMuchSlowerWayCostLittle() {
    var choice = strata_step_choice()
    let result = run(&choice, from: 100, seconds: 10, shared: { _ in 0.85e-3 }, alone: { _ in 1.4e-3 })
    #expect(!result.chosenAlone)
    #expect(result.aloneShare < 0.01, "\(result.aloneShare)")
    #expect(choice.gap == 4)
}

/// Where two threads take longer than one (the host slowing both processors while both compute), the first
/// probe takes the pool alone, and it stays there.
@Test func aFasterWayAloneIsTakenAtTheFirstProbe() {
    var choice = strata_step_choice()
    let first = run(&choice, from: 100, seconds: 0.35, shared: { _ in 1.6e-3 }, alone: { _ in 1.3e-3 })
    #expect(first.chosenAlone)
    let rest = run(&choice, from: 100.35, seconds: 10, shared: { _ in 1.6e-3 }, alone: { _ in 1.3e-3 })
    #expect(rest.chosenAlone)
    #expect(rest.aloneShare > 0.97, "\(rest.aloneShare)")
}

/// When sharing becomes the faster way after a long time alone, the pool is back to sharing within the longest
/// gap between probes and a few windows.
@Test func thePoolFollowsAChangeOfTheFasterWay() {
    var choice = strata_step_choice()
    _ = run(&choice, from: 100, seconds: 10, shared: { _ in 2.0e-3 }, alone: { _ in 1.3e-3 })
    #expect(choice.chosen_alone != 0)
    let switched = run(&choice, from: 110, seconds: 4.2, shared: { _ in 0.85e-3 }, alone: { _ in 1.4e-3 })
    #expect(!switched.chosenAlone)
}

/// Steps that vary by ±30% (a load coming and going) do not make the pool leave the way that is faster on the
/// whole (sharing 0.8 ms a step on average, alone 1.0).
@Test func noisyStepsDoNotSwitchTheWay() {
    var choice = strata_step_choice()
    var random = SplitMix64(seed: 7)
    let result = run(
        &choice, from: 100, seconds: 10, shared: { _ in 0.8e-3 * (0.7 + 0.6 * random.nextUniformDouble()) },
        alone: { _ in 1.0e-3 * (0.7 + 0.6 * random.nextUniformDouble()) })
    #expect(!result.chosenAlone)
    #expect(result.aloneShare < 0.03, "\(result.aloneShare)")
}

/// Steps through `timedStep` on more than one thread are counted for this thread, by kind, with those run alone
/// among them; on one thread the pool is not asked and nothing is counted.
@Test func timedStepsAreCountedByKind() {
    let shared = GEMMWorkspace(threads: 2), single = GEMMWorkspace(threads: 1)
    let training = StepContext.timedSteps(training: true), inference = StepContext.timedSteps(training: false)
    for step in 0..<3 {
        let context = StepContext(training: true, step: UInt64(step), seed: 1, workspace: shared)
        #expect(context.timedStep(rows: 4) { $0.threads } >= 1)
    }
    _ = StepContext(training: true, step: 0, seed: 1, workspace: single).timedStep(rows: 4) { $0.threads }
    let after = StepContext.timedSteps(training: true)
    #expect(after.all - training.all == 3)
    #expect((0...3).contains(after.alone - training.alone))
    #expect(StepContext.timedSteps(training: false) == inference)
}
