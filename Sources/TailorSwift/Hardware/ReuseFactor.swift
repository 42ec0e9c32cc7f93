// hls4ml's rule for a valid reuse factor of a layer with n_in inputs and n_out outputs per
// multiplication (hls4ml 1.3.0, `FPGABackend._validate_reuse_factor` / `get_closest_reuse_factor`;
// for a conv, n_in = K·K·C_in and n_out = filters). An invalid request is moved to the closest
// valid value, the smaller one on a tie, as hls4ml does when it converts a model.

enum ReuseFactor {
    /// Whether hls4ml accepts `rf` for a layer of n_in × n_out multiplications.
    static func isValid(nIn: Int, nOut: Int, _ rf: Int) -> Bool {
        guard rf >= 1, rf <= nIn * nOut else { return false }
        let multfactor = min(nIn, rf)
        let multiplierLimit = (nIn * nOut + multfactor - 1) / multfactor
        return (multiplierLimit % nOut == 0 || rf >= nIn) && (rf % nIn == 0 || rf < nIn) && (nIn * nOut) % rf == 0
    }

    /// Valid reuse factors in increasing order. Every valid one divides n_in·n_out, so only divisors are tried.
    static func valid(nIn: Int, nOut: Int) -> [Int] {
        let total = nIn * nOut
        var small: [Int] = [], large: [Int] = []
        var d = 1
        while d * d <= total {
            if total % d == 0 {
                small.append(d)
                if d * d != total { large.append(total / d) }
            }
            d += 1
        }
        return (small + large.reversed()).filter { isValid(nIn: nIn, nOut: nOut, $0) }
    }

    /// The reuse factor hls4ml uses when `requested` is asked for.
    static func closestValid(nIn: Int, nOut: Int, requested: Int) -> Int {
        guard nIn >= 1, nOut >= 1 else { return max(1, requested) }
        let v = valid(nIn: nIn, nOut: nOut)
        guard !v.isEmpty, !v.contains(requested) else { return requested }
        // bisect_left, then the closer neighbour (the smaller on a tie).
        let pos = v.firstIndex { $0 >= requested } ?? v.count
        if pos == 0 { return v[0] }
        if pos == v.count { return v[v.count - 1] }
        let before = v[pos - 1], after = v[pos]
        return after - requested < requested - before ? after : before
    }
}
