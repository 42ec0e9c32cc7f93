// Learning-rate schedules, evaluated in closed form from the global step t (0-based) so a run
// can resume anywhere. `stepsPerEpoch` and `totalSteps` come from the fit loop.
//  - constant
//  - step: lr·gamma^⌊epoch / stepSize⌋ (StepLR stepped once per epoch)
//  - cosine: eta_min + (lr − eta_min)·(1 + cos(π·t/T))/2 with T = total steps: CosineAnnealingLR
//    with T_max = total steps, stepped after every batch (per step, not per epoch)
//  - oneCycle: torch OneCycleLR (max_lr = lr, pct_start 0.3, cos annealing, div_factor 25,
//    final_div_factor 1e4, three_phase False), stepped after every batch; with cycleMomentum the
//    momentum (SGD) or β1 (Adam) goes max→base while lr rises and back, like torch's default.
//  - warm-up: optional, multiplies any schedule by (t+1)/warmupSteps for t < warmupSteps
//    (a linear ramp ending at the schedule's value).
import Glibc

public enum ScheduleKind: Equatable, Sendable {
    case constant
    case step(stepSize: Int, gamma: Float)
    case cosine(etaMin: Float)
    case oneCycle(pctStart: Float, divFactor: Float, finalDivFactor: Float)
}

public struct ScheduleConfig: Equatable, Sendable {
    public var kind: ScheduleKind = .constant
    public var warmupSteps = 0
    public var cycleMomentum = true
    public var baseMomentum: Float = 0.85, maxMomentum: Float = 0.95
    public init(_ kind: ScheduleKind = .constant) { self.kind = kind }

    func validate() throws {
        guard warmupSteps >= 0 else { throw TailorError.invalid("warmup_steps must be ≥ 0, got \(warmupSteps)") }
        switch kind {
        case .constant: break
        case .step(let s, let g):
            guard s >= 1 else { throw TailorError.invalid("step schedule: step_size must be ≥ 1 epoch, got \(s)") }
            guard g.isFinite, g > 0 else { throw TailorError.invalid("step schedule: gamma must be positive, got \(g)") }
        case .cosine(let e):
            guard e.isFinite, e >= 0 else { throw TailorError.invalid("cosine schedule: eta_min must be ≥ 0, got \(e)") }
        case .oneCycle(let p, let d, let f):
            guard p > 0, p < 1 else { throw TailorError.invalid("one-cycle: pct_start must be in (0, 1), got \(p)") }
            guard d.isFinite, d > 0, f.isFinite, f > 0 else { throw TailorError.invalid("one-cycle: div factors must be positive") }
        }
    }

    /// Learning rate at global step t.
    public func lr(base: Float, step t: Int, stepsPerEpoch: Int, totalSteps: Int) -> Float {
        var lr: Double
        let b = Double(base)
        switch kind {
        case .constant:
            lr = b
        case .step(let size, let gamma):
            let epoch = t / max(stepsPerEpoch, 1)
            lr = b * pow(Double(gamma), Double(epoch / max(size, 1)))
        case .cosine(let etaMin):
            let T = Double(max(totalSteps, 1)), e = Double(etaMin)
            lr = e + (b - e) * (1 + cos(Double.pi * min(Double(t), T) / T)) / 2
        case .oneCycle(let pct, let div, let finalDiv):
            let (p, a, z) = oneCyclePhase(t: t, total: totalSteps, pct: pct)
            let initial = b / Double(div), minLR = initial / Double(finalDiv)
            lr = p == 0 ? cosAnneal(initial, b, a) : cosAnneal(b, minLR, z)
        }
        if warmupSteps > 0, t < warmupSteps { lr *= Double(t + 1) / Double(warmupSteps) }
        return Float(lr)
    }

    /// Momentum (SGD) or β1 (Adam) at step t: `base` unless one-cycle with momentum cycling.
    public func momentum(base: Float, step t: Int, totalSteps: Int) -> Float {
        guard cycleMomentum, case .oneCycle(let pct, _, _) = kind else { return base }
        let (p, a, z) = oneCyclePhase(t: t, total: totalSteps, pct: pct)
        let lo = Double(baseMomentum), hi = Double(maxMomentum)
        return Float(p == 0 ? cosAnneal(hi, lo, a) : cosAnneal(lo, hi, z))
    }

    /// torch OneCycleLR phases: phase 0 ends at step pct·T − 1, phase 1 at T − 1.
    private func oneCyclePhase(t: Int, total: Int, pct: Float) -> (Int, Double, Double) {
        let T = Double(max(total, 2))
        let pctD = (Double(pct) * 1e6).rounded() / 1e6   // the decimal the user wrote, as torch sees it
        let end1 = pctD * T - 1, end2 = T - 1
        let s = Double(t)
        if s <= end1 { return (0, end1 > 0 ? s / end1 : 1, 0) }
        return (1, 0, end2 > end1 ? min(1, (s - end1) / (end2 - end1)) : 1)
    }

    private func cosAnneal(_ start: Double, _ end: Double, _ pct: Double) -> Double {
        end + (start - end) / 2 * (cos(Double.pi * pct) + 1)
    }
}
