"""What the resource model says of Tailor: ResNet-8 and ResNet-20 at 16 and 8 bits, hls4ml's Vivado
and Vitis backends, default and FIFO-optimised (simulated) depths, teacher vs SkipRemover vs
SkipShortener on every block. Prints the markdown table of docs/hardware.md §4, the skip-only
figures under the paper's configuration, and how long one estimate (with its simulation) takes.

    python bench/hardware_verdict.py
"""
import time

import tailor


def pct(a, b):
    return f"{(b - a) / a * 100:+.1f} %" if a else "n/a"


def delta(base, x):
    return " / ".join(pct(a, b) for a, b in zip(base, x))


def main():
    print("| net | bits | backend | depths | teacher BRAM18 / LUT / FF | SkipRemover | SkipShortener |")
    print("|---|---|---|---|---|---|---|")
    nets = {}
    for name in ("resnet8", "resnet20"):
        net = getattr(tailor.zoo, name)()
        removed, short = net.copy(), net.copy()
        for i in range(len(net.blocks)):
            removed.set_mode(i, "removed")
            short.set_mode(i, "short")
        nets[name] = (net, removed, short)
        for bits in (16, 8):
            for backend in ("vivado", "vitis"):
                for policy in ("default", "optimized"):
                    t = [tailor.estimate(n, bits=bits, backend=backend, depth_policy=policy).totals["total"] for n in nets[name]]
                    fig = [(x["bram18"], x["lut"], x["ff"]) for x in t]
                    print(f"| {name} | {bits} | {backend} | {policy} | {fig[0][0]:,} / {fig[0][1]:,} / {fig[0][2]:,} "
                          f"| {delta(fig[0], fig[1])} | {delta(fig[0], fig[2])} |")
    print("\nskips only, Vivado, optimized, 16 bits (BRAM18 / LUT / FF):")
    for name, (net, removed, short) in nets.items():
        for label, n in (("teacher", net), ("SkipRemover", removed), ("SkipShortener", short)):
            s = tailor.estimate(n, bits=16, backend="vivado", depth_policy="optimized").totals["skips"]
            print(f"  {name:9} {label:14} {s['bram18']:>4} / {s['lut']:>6,} / {s['ff']:>6,}")
    print("\none estimate with its dataflow simulation (median of 5):")
    for name in ("resnet8", "resnet20", "resnet50"):
        net = getattr(tailor.zoo, name)()
        times = []
        for _ in range(5):
            t = time.perf_counter()
            tailor.estimate(net, bits=16, depth_policy="optimized")
            times.append(time.perf_counter() - t)
        print(f"  {name:9} {sorted(times)[2] * 1e3:7.1f} ms   ({'3x224x224' if name == 'resnet50' else '3x32x32'})")


if __name__ == "__main__":
    main()
