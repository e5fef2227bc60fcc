/// Levenshtein distance, for "did you mean" suggestions.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}

/// The closest candidate, if it is close enough to be a plausible typo.
public func closestMatch(to word: String, in candidates: [String]) -> String? {
    if let strata = KerasNames.strataWord(for: word, in: candidates) { return strata }
    let lowered = word.lowercased()
    let scored = candidates.map { (candidate: $0, distance: editDistance(lowered, $0.lowercased())) }
    guard let best = scored.min(by: { $0.distance < $1.distance }) else { return nil }
    let limit = max(2, word.count / 3)
    if best.distance <= limit { return best.candidate }
    // A known word contained in the typo or vice versa ("learningrate") is still a good hint.
    return candidates.first { lowered.count >= 4 && ($0.contains(lowered) || lowered.contains($0)) }
}
