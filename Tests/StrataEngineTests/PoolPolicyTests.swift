import CStrataKernels
import Testing

// The pool's choice of when to run regions alone, fed made-up regions at made-up times (pool_policy.c).

private let shared = strata_region_report(
    busy: 300e-6, waited: 5e-6, tasks: 8, helpers_ran: 2, woken: 0, preempted: 0, crowded: 0, placed: 0)
private let late = strata_region_report(
    busy: 300e-6, waited: 3e-3, tasks: 8, helpers_ran: 1, woken: 0, preempted: 1, crowded: 0, placed: 0)
private let crowded = strata_region_report(
    busy: 300e-6, waited: 0, tasks: 8, helpers_ran: 1, woken: 0, preempted: 0, crowded: 1, placed: 0)
private let absent = strata_region_report(
    busy: 100e-6, waited: 0, tasks: 8, helpers_ran: 0, woken: 0, preempted: 0, crowded: 0, placed: 0)

/// The same region with the workers kept off the submitter's processor (pool_placement.h).
private func placed(_ region: strata_region_report) -> strata_region_report {
    var region = region
    region.placed = 1
    return region
}

/// Reports a region every `step` seconds from `start` for `seconds`, `region(index)`, except while the policy runs
/// regions alone (the pool reports none then); returns the lengths of the alone periods it started.
private func feed(
    _ policy: inout strata_pool_policy, from start: Double, seconds: Double, every step: Double = 1e-3,
    _ region: (Int) -> strata_region_report
) -> [Double] {
    var periods: [Double] = []
    var index = 0
    for tick in 0..<Int(seconds / step) {
        let now = start + Double(tick) * step
        guard now >= policy.alone_until else { continue }
        if strata_pool_policy_note(&policy, region(index), now) != 0 { periods.append(policy.alone_until - now) }
        index += 1
    }
    return periods
}

/// A late region every half second among regions shared every millisecond (a host taking the VM's processor
/// now and then) costs its wait and no more: the pool never runs alone for it.
@Test func aLateRegionNowAndThenDoesNotSendThePoolAlone() {
    var policy = strata_pool_policy()
    let periods = feed(&policy, from: 100, seconds: 10) { $0 % 500 == 499 ? late : shared }
    #expect(periods.isEmpty)
}

/// Under a lasting load (every tenth region late) the pool runs alone at once, for periods that double from
/// 10 ms and, once long, stay long: retrying after each period does not start them again from 10 ms.
@Test func lastingLateRegionsSendThePoolAloneForPeriodsThatStayLong() {
    var policy = strata_pool_policy()
    let periods = feed(&policy, from: 100, seconds: 12) { $0 % 10 == 9 ? late : shared }
    #expect(periods.count >= 10)
    #expect(abs(periods[0] - 0.01) < 1e-9)
    for (period, next) in zip(periods, periods.dropFirst()) {
        let expected = period >= 1 ? period : 2 * period
        #expect(abs(next - expected) < 1e-9, "\(periods)")
    }
    #expect(periods.last! > 1)
}

/// Once the load is gone, a second shared without trouble starts the periods again from 10 ms.
@Test func aSecondSharedCleanlyStartsThePeriodsAgainFromShort() {
    var policy = strata_pool_policy()
    _ = feed(&policy, from: 100, seconds: 12) { $0 % 10 == 9 ? late : shared }
    let resume = policy.alone_until
    #expect(feed(&policy, from: resume, seconds: 1.5) { _ in shared }.isEmpty)
    let periods = feed(&policy, from: resume + 1.5, seconds: 0.1) { _ in crowded }
    #expect(periods.first.map { abs($0 - 0.01) < 1e-9 } == true, "\(periods)")
}

/// Four crowded or absent regions in a row are trouble; three, then one shared, are not.
@Test(arguments: [crowded, absent].enumerated().map { $0.offset })
func aRunOfFourCrowdedOrAbsentRegionsIsTrouble(kind: Int) {
    let troubled = [crowded, absent][kind]
    var policy = strata_pool_policy()
    #expect(feed(&policy, from: 100, seconds: 1) { $0 % 4 == 3 ? shared : troubled }.isEmpty)
    #expect(feed(&policy, from: 101, seconds: 0.01) { _ in troubled }.count == 1)
}

/// With the workers kept off the submitter's processor, an absent worker costs the submitter nothing: absent
/// regions in a row are no trouble there.
@Test func absentRegionsAreNoTroubleWhenTheWorkersAreKeptOff() {
    var policy = strata_pool_policy()
    #expect(feed(&policy, from: 100, seconds: 1) { _ in placed(absent) }.isEmpty)
}

/// With the workers kept off the submitter's processor, late regions are trouble only when their waits cost more
/// than sharing saved lately: a worker late every tenth region but rescued after a short wait keeps the pool
/// sharing; 3 ms waits at that rate send it alone. Without placement the short waits are trouble too (over 3% of
/// the shared time).
@Test func placedLateRegionsAreTroubleOnlyWhenTheyCostMoreThanSharingSaves() {
    var rescued = placed(late)
    rescued.waited = 250e-6
    var policy = strata_pool_policy()
    #expect(feed(&policy, from: 100, seconds: 2) { $0 % 10 == 9 ? rescued : placed(shared) }.isEmpty)
    policy = strata_pool_policy()
    #expect(!feed(&policy, from: 100, seconds: 2) { $0 % 10 == 9 ? placed(late) : placed(shared) }.isEmpty)
    // Without placement, the rescued rate is trouble by the share rule (its waits are over 3% of the time).
    var unplaced = late
    unplaced.waited = 250e-6
    policy = strata_pool_policy()
    #expect(!feed(&policy, from: 100, seconds: 2) { $0 % 10 == 9 ? unplaced : shared }.isEmpty)
}
