/// "Did you mean …?" for a misspelt field or key: the known name nearest to what was written.
///
/// Distance is the optimal-string-alignment edit distance (insertions, deletions, substitutions and
/// swaps of two neighbours each cost 1) between the lowercased names, so `Replicas` → `replicas`
/// and `repilcas` → `replicas` are both one step. A name is suggested only when it is close enough
/// to be a likely typo: at most 1 edit for names of up to 4 characters, 2 up to 8, 3 beyond.
public enum NearestName {
    /// The candidate nearest to `name`, or nil when none is close enough; ties go to the earlier candidate.
    public static func suggestion(for name: String, among candidates: [String]) -> String? {
        let written = Array(name.lowercased().unicodeScalars)
        let allowed = written.count <= 4 ? 1 : (written.count <= 8 ? 2 : 3)
        var best: (name: String, distance: Int)?
        for candidate in candidates where candidate != name {
            let distance = self.distance(written, Array(candidate.lowercased().unicodeScalars))
            if distance <= allowed, distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        return best?.name
    }

    /// Optimal-string-alignment distance between two scalar arrays.
    static func distance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        // Three rows: two back (for swaps), one back, current.
        var twoBack = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { value = min(value, twoBack[j - 2] + 1) }
                current[j] = value
            }
            (twoBack, previous, current) = (previous, current, twoBack)
        }
        return previous[b.count]
    }
}
