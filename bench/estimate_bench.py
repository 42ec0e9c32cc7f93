"""Python call overhead of the hardware resource model: median time per `tailor.estimate`
(JSON report parsed into a Report) and per `estimate_rows` (struct API through ctypes), next to
the C figures of bench/estimate_bench.c. Run: `python3 bench/estimate_bench.py`. Asserts nothing."""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import tailor
from tailor.estimate import estimate_rows


def median_us(fn, reps=15, calls=20):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t0) / calls * 1e6)
    return statistics.median(times)


def main():
    print(f"{'model':9} {'target':9} {'tailor.estimate us':>19} {'estimate_rows us':>17}")
    for name in ("resnet8", "resnet20", "resnet50"):
        with tailor.zoo.create(name) as net:
            for target in ("hls4ml", "finn", "pe_array"):
                full = median_us(lambda target=target: tailor.estimate(net, target=target), calls=5)
                rows = median_us(lambda target=target: estimate_rows(net, target=target))
                print(f"{name:9} {target:9} {full:19.1f} {rows:17.1f}")


if __name__ == "__main__":
    main()
