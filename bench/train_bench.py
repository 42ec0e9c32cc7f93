"""Training and inference throughput, Tailor engine vs PyTorch, side by side in one process.

Same model, batch, input and thread count (2 by default: OPENBLAS_NUM_THREADS, TAILOR_NUM_THREADS
and torch.set_num_threads). GFLOP/s counts conv + dense multiply-adds x 2 (training: x 3 for
forward, input gradient and weight gradient), "as if" every multiply of a direct convolution were
done (Winograd does fewer), against the system OpenBLAS's own sgemm rate measured first in the
same run. TAILOR_PROFILE=1 adds the engine's time per node kind and pass at exit. Training: forward + backward + SGD step
(Nesterov, momentum 0.9, wd 5e-4) on batch 128; Tailor through Network.fit over a fixed in-memory
set without augmentation (one epoch = `steps` steps), PyTorch through the usual loop. Inference:
predict vs torch eval under no_grad. Warm-up first, then the median of several repeats.

    OPENBLAS_NUM_THREADS=2 python bench/train_bench.py [--threads 2] [--batch 128] [--repeats 5]
"""
import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python", "tests"))


def sgemm_rate(threads):
    """The system OpenBLAS's kernel name and its sgemm rate (GFLOP/s, median of 5 at 2048³) on
    `threads` threads: the ceiling the engine's GFLOP/s column is read against."""
    import ctypes
    import numpy as np
    blas = ctypes.CDLL("libopenblas.so.0")
    blas.openblas_get_corename.restype = ctypes.c_char_p
    blas.openblas_get_num_threads.restype = ctypes.c_int
    before = blas.openblas_get_num_threads()
    blas.openblas_set_num_threads(threads)
    n = 2048
    x = np.random.default_rng(0).random((3, n, n), dtype=np.float32)
    ptr = [ctypes.c_void_p(x[i].ctypes.data) for i in range(3)]
    one, zero = ctypes.c_float(1), ctypes.c_float(0)
    times = []
    for _ in range(6):
        t = time.perf_counter()
        blas.cblas_sgemm(101, 111, 111, n, n, n, one, ptr[0], n, ptr[1], n, zero, ptr[2], n)
        times.append(time.perf_counter() - t)
    blas.openblas_set_num_threads(before)   # the engine sets its own count (Kernels/Parallel.swift)
    return blas.openblas_get_corename().decode(), 2 * n ** 3 / statistics.median(times[1:]) / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--models", default="resnet8,resnet20")
    ap.add_argument("--modes", default="long,removed,short")
    a = ap.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(a.threads))
    os.environ.setdefault("TAILOR_NUM_THREADS", str(a.threads))   # the engine's own worker pool
    import numpy as np
    import torch
    import tailor
    torch.set_num_threads(a.threads)
    F = torch.nn.functional

    def median_times(f, g):
        """Medians of f's and g's times, interleaved (f, g, f, g, ...) so load on a shared machine
        falls on both alike; one warm-up each first."""
        f()
        g()
        tf, tg = [], []
        for _ in range(a.repeats):
            for fn, ts in ((f, tf), (g, tg)):
                t = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t)
        return statistics.median(tf), statistics.median(tg)

    rng = np.random.default_rng(0)
    n = a.batch * a.steps
    x = rng.normal(size=(n, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, n).astype(np.int64)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    tailor._lib.lib()   # loads the system OpenBLAS the engine uses, with its kernel choice
    core, peak = sgemm_rate(a.threads)
    print(f"threads {a.threads}, batch {a.batch}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
          f"torch {torch.__version__}; OpenBLAS {core} kernels, sgemm 2048³ {peak:.0f} GFLOP/s")
    print(f"{'model':10} {'mode':8} {'what':6} {'tailor img/s':>13} {'torch img/s':>12} {'ratio':>6} "
          f"{'tailor GFLOP/s':>15}")

    def flops_per_image(net):
        """Forward multiply-adds x 2 of the convolutions and dense layers."""
        shapes = {nd.name: nd.shape for nd in net.nodes}
        total = 0
        for nd in net.nodes:
            if nd.op == "conv2d":
                cin = shapes[nd.inputs[0]][0]
                total += 2 * nd.shape[0] * nd.shape[1] * nd.shape[2] * nd.kernel * nd.kernel * cin
            elif nd.op == "dense":
                total += 2 * nd.out_channels * shapes[nd.inputs[0]][0]
        return total

    def workloads(net, model, opt):
        """One training epoch and one inference pass over the data, in Tailor and in PyTorch."""
        def tailor_train():
            net.fit(train=(x, y), epochs=1, batch_size=a.batch, lr=0.01, augment=False, shuffle=False,
                    progress=False, keep_optimizer_state=True)

        def torch_train():
            for i in range(a.steps):
                opt.zero_grad()
                F.cross_entropy(model(xt[i * a.batch:(i + 1) * a.batch]), yt[i * a.batch:(i + 1) * a.batch]).backward()
                opt.step()

        def tailor_infer():
            net.predict(x)

        def torch_infer():
            model.eval()
            with torch.no_grad():
                for i in range(a.steps):
                    model(xt[i * a.batch:(i + 1) * a.batch])
            model.train()
        return tailor_train, torch_train, tailor_infer, torch_infer

    for name in a.models.split(","):
        for mode in a.modes.split(","):
            net = tailor.zoo.create(name, seed=0)
            net.set_modes(mode)
            model = net.to_torch().train()
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
            tailor_train, torch_train, tailor_infer, torch_infer = workloads(net, model, opt)
            fl = flops_per_image(net)
            for what, tf, pf, k in (("train", tailor_train, torch_train, 3), ("infer", tailor_infer, torch_infer, 1)):
                tt, pt = median_times(tf, pf)
                print(f"{name:10} {mode:8} {what:6} {n / tt:13.0f} {n / pt:12.0f} {pt / tt:6.2f} "
                      f"{k * fl * n / tt / 1e9:15.1f}", flush=True)
            net.close()


if __name__ == "__main__":
    main()
