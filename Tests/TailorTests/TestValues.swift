/// Small deterministic pseudo-random values in [-1, 1) for kernel tests (an LCG, so the same
/// seed gives the same values everywhere).
func vals(_ n: Int, _ seed: UInt64) -> [Float] {
    var s = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return (0..<n).map { _ in
        s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(Int64(bitPattern: s >> 11) % 2_000_000) / 1_000_000 - 1
    }
}
