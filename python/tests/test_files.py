"""Model files: save/load and from_bytes round trips (graph, modes, every tensor bit-exact),
and the file is plain safetensors."""
import numpy as np
import pytest

import tailor


def _randomised(net, seed=1):
    rng = np.random.default_rng(seed)
    sd = {}
    for k, v in net.state_dict().items():
        if v.dtype == np.int64:
            sd[k] = np.array(rng.integers(0, 10_000), dtype=np.int64)
        elif k.endswith("running_var"):
            sd[k] = rng.random(v.shape, dtype=np.float32) + 0.1
        else:
            sd[k] = rng.standard_normal(v.shape).astype(np.float32)
    net.load_state_dict(sd)
    return sd


def _same_network(a, b):
    assert a.describe() == b.describe()
    assert a.nodes == b.nodes and a.blocks == b.blocks and a.skips == b.skips
    assert a.input_shape == b.input_shape and a.num_outputs == b.num_outputs
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert sa[k].dtype == sb[k].dtype and sa[k].shape == sb[k].shape and sa[k].tobytes() == sb[k].tobytes(), k


@pytest.mark.parametrize("name", ["resnet8", "resnet20", "resnet50"])
def test_save_load_round_trip(tmp_path, name):
    shape = (3, 64, 64) if name == "resnet50" else None
    with tailor.zoo.create(name, num_classes=7, input_shape=shape) as net:
        _randomised(net)
        net.set_mode(0, "removed")
        net.set_mode(len(net.blocks) - 1, "short")
        path = tmp_path / f"{name}.tailor"
        net.save(path)
        with tailor.load(path) as back:
            _same_network(net, back)
        with tailor.Network.from_bytes(path.read_bytes()) as again:
            _same_network(net, again)


@pytest.mark.xfail(strict=True, reason="by design for now (tailor.h): model files hold the parameters "
                   "of the blocks' current modes only; parameters kept for other modes live in the handle "
                   "(tailor_net_copy keeps them, a file does not)")
def test_parameters_kept_for_other_modes_survive_save_load(tmp_path, resnet8):
    _randomised(resnet8)
    original = resnet8.state_dict()
    resnet8.set_mode("layer2.0", "removed")
    resnet8.save(tmp_path / "m.tailor")
    with tailor.load(tmp_path / "m.tailor") as back:
        back.set_mode("layer2.0", "long")
        _same_network(resnet8.copy(), resnet8)  # copy keeps them
        resnet8.set_mode("layer2.0", "long")
        sd = back.state_dict()
        for k in original:
            assert sd[k].tobytes() == original[k].tobytes(), k


def test_special_float_values_survive(tmp_path, resnet8):
    w = resnet8.state_dict()["fc.weight"]
    w[0, :4] = [-0.0, np.float32(1e-45), np.finfo(np.float32).max, np.finfo(np.float32).tiny]
    resnet8.set_param("fc.weight", w)
    resnet8.save(tmp_path / "m.tailor")
    with tailor.load(tmp_path / "m.tailor") as back:
        assert back.state_dict()["fc.weight"].tobytes() == w.tobytes()


def test_file_is_readable_by_safetensors(tmp_path, resnet8):
    st = pytest.importorskip("safetensors.numpy")
    sd = _randomised(resnet8)
    resnet8.set_mode("layer2.0", "short")
    path = tmp_path / "r8.tailor"
    resnet8.save(path)
    theirs = st.load_file(str(path))
    ours = resnet8.state_dict()
    assert set(ours) <= set(theirs)
    for k, v in ours.items():
        assert theirs[k].dtype == v.dtype and theirs[k].shape == v.shape, k
        np.testing.assert_array_equal(theirs[k], v, err_msg=k)
    assert theirs["bn1.num_batches_tracked"] == sd["bn1.num_batches_tracked"]


def test_to_bytes_and_save_agree(tmp_path, resnet8):
    resnet8.save(tmp_path / "a.tailor")
    assert resnet8.to_bytes() == (tmp_path / "a.tailor").read_bytes()


def test_handle_outlives_its_copy_and_file(tmp_path, resnet8):
    path = tmp_path / "x.tailor"
    resnet8.save(path)
    back = tailor.load(str(path))
    path.unlink()
    twin = back.copy()
    back.close()
    with twin:
        assert twin.state_dict().keys() == resnet8.state_dict().keys()


def test_pickle_round_trip(resnet8):
    import pickle
    _randomised(resnet8)
    resnet8.set_mode(1, "short")
    with pickle.loads(pickle.dumps(resnet8)) as back:
        _same_network(resnet8, back)


def test_save_sweeps_temporaries_left_by_killed_writers(tmp_path, resnet8):
    """A writer killed mid-save leaves `<path>.tmp<pid>-<thread>`; the next save to that path
    deletes it when the pid is gone, and leaves a live process's temporary alone."""
    import os
    import subprocess
    import sys
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()                                   # a pid that no longer exists
    path = tmp_path / "net.tailor"
    dead = tmp_path / f"net.tailor.tmp{child.pid}-7f00"
    live = tmp_path / f"net.tailor.tmp{os.getpid()}-7f00"
    other = tmp_path / f"other.tailor.tmp{child.pid}-7f00"
    for f in (dead, live, other):
        f.write_bytes(b"half a file")
    resnet8.save(str(path))
    assert not dead.exists()
    assert live.exists() and other.exists()        # a live writer's file, and another target's
    assert tailor.load(str(path)).describe() == resnet8.describe()
