"""Crash safety, for real: a Tailor run in a child process is killed with SIGKILL many times
over, each restart resuming from the checkpoint on disk. Half the kills come at a random moment
of the training, half the instant a checkpoint's temporary file appears (inside the write); one
in six random ones is a Ctrl-C (SIGINT) instead, which must stop the run cleanly.
Every kill must leave a checkpoint that loads (or none yet, before the first epoch ends), and
every run that reaches its end — however many times it was killed on the way — must produce the
uninterrupted run's student bit for bit, with the temporary files of killed writes swept
by the writes after them. TAILOR_CRASH_KILLS sets the number of kills (default 30,
about 15 s)."""
import collections
import os
import random
import signal
import subprocess
import sys
import time


import tailor

CHILD = r'''
import os, sys, time, warnings
import numpy as np
import tailor
warnings.simplefilter("ignore")          # the random teacher is at chance accuracy, and says so
ckpt, out = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(0)
x = rng.normal(0, 1, (48, 3, 16, 16)).astype(np.float32)
y = np.arange(48) % 4
train, val = (x, y), (x[:16] + 0.5, y[:16])
net = tailor.zoo.create("resnet8", num_classes=4, input_shape=(3, 16, 16), seed=1)
print("ready", flush=True)
t = time.monotonic()
if os.path.exists(ckpt):
    student = tailor.resume(ckpt, train, val, net=net, progress=False)
else:                                    # 8 epochs of 3 steps, a checkpoint after each
    student = tailor.remove_skips(net, train, val, every=2, batch_size=16, augment=True, progress=False, seed=3,
                                  checkpoint=ckpt)
print("trained", time.monotonic() - t, flush=True)
student.save(out)
'''


def test_sigkill_at_random_moments_never_leaves_a_corrupt_checkpoint(tmp_path, subprocess_env):
    kills = int(os.environ.get("TAILOR_CRASH_KILLS", "30"))
    script = tmp_path / "child.py"
    script.write_text(CHILD)

    def start(folder):
        # Ctrl-C's default meaning, even when this suite runs as a background job (which inherits
        # SIGINT ignored): otherwise every Ctrl-C case would silently count as a finished run.
        p = subprocess.Popen([sys.executable, str(script), str(folder / "run.ckpt"), str(folder / "student.tailor")],
                             env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        line = p.stdout.readline()
        assert line.strip() == "ready", p.communicate()[1]
        return p

    def student_weights(folder):
        with tailor.load(folder / "student.tailor") as s:
            return {k: v.tobytes() for k, v in s.state_dict().items()}

    # The uninterrupted run: the result every interrupted one must reach, and how long a run takes.
    ref = tmp_path / "ref"
    ref.mkdir()
    p = start(ref)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    run_time = float(out.split("trained")[1])   # seconds of training (the "ready" line was read by start)
    reference = student_weights(ref)
    epochs = tailor.checkpoint_info(ref / "run.ckpt")["epochs"]

    rng = random.Random(20260501)
    folder = tmp_path / "run"
    folder.mkdir()
    ckpt = folder / "run.ckpt"
    n = collections.Counter()
    seen = set()                              # temporaries left by earlier kills (the next write sweeps them)

    def temp_file():
        return any(f.name.startswith("run.ckpt.tmp") and f.name not in seen for f in os.scandir(folder))

    for k in range(kills):
        done = tailor.checkpoint_info(ckpt)["next_epoch"] if ckpt.exists() else 0
        p = start(folder)
        if k % 2:                             # the moment a checkpoint write is under way
            deadline = time.monotonic() + 30
            while not temp_file() and p.poll() is None and time.monotonic() < deadline:
                pass
            time.sleep(rng.uniform(0, 0.001))   # somewhere in the write: fwrite, fsync or rename
        else:                                 # a random moment of what is left of the training
            time.sleep(rng.uniform(0, run_time * (1 - done / epochs)))
        ctrl_c = k % 6 == 4
        p.send_signal(signal.SIGINT if ctrl_c else signal.SIGKILL)
        out, err = p.communicate(timeout=120)
        # A Ctrl-C that lands after the run finished, while the interpreter exits (its handlers
        # already reset to the default), ends the process silently: that run finished too.
        exited_late = ctrl_c and p.returncode == -signal.SIGINT and "trained" in out and not err
        if p.returncode == 0 or exited_late:  # it finished first: that chain of resumes is complete
            assert student_weights(folder) == reference, "a run resumed after kills differs from the uninterrupted one"
            assert not list(folder.glob("run.ckpt.tmp*")), "temporaries of killed writers were not swept"
            n["finished"] += 1
            for f in folder.iterdir():
                f.unlink()
            seen.clear()
            continue
        if ctrl_c:                            # KeyboardInterrupt raised, the run cancelled between two steps
            assert p.returncode == -signal.SIGINT and "KeyboardInterrupt" in err, err
            n["ctrl_c"] += 1
        else:                                 # killed, never failed: each start resumed the checkpoint it found
            assert p.returncode == -signal.SIGKILL, err
            n["kills"] += 1
        stray = {f.name for f in folder.glob("run.ckpt.tmp*")}
        n["mid_write"] += bool(stray - seen)  # the kill landed inside a checkpoint write
        seen |= stray
        if not ckpt.exists():
            n["before_first_checkpoint"] += 1
            continue
        try:
            n[f"epoch_{tailor.checkpoint_info(ckpt)['next_epoch']}"] += 1
            n["loadable"] += 1
        except tailor.TailorError as e:
            n["corrupt"] += 1
            print("corrupt checkpoint:", e)
    # Finish the last chain and compare.
    p = start(folder)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert student_weights(folder) == reference
    n["finished"] += 1
    print(f"\ncrash safety: {n['kills']} SIGKILLs and {n['ctrl_c']} Ctrl-Cs ({n['mid_write']} inside a checkpoint write, "
          f"{n['before_first_checkpoint']} before the first), {n['loadable']} loadable checkpoints, "
          f"{n['corrupt']} corrupt; {n['finished']} resumed runs all equal to the uninterrupted one; "
          f"by epoch: {sorted((k, v) for k, v in n.items() if k.startswith('epoch_'))}")
    assert n["corrupt"] == 0
    assert n["kills"] + n["ctrl_c"] >= kills // 2   # most landed inside a run, not after it
    assert kills < 6 or n["ctrl_c"] >= 1, "no Ctrl-C landed inside a run: the clean-stop path went untested"
