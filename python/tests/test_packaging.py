"""The wheel `pip install ./python` builds bundles libtailor.so; a missing swift is a clear error.
(Uses the library already built, through TAILOR_PREBUILT_LIBRARY, so no Swift build runs here.)"""
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from tailor import _lib

PYDIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pip_wheel(out, env):
    return subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), PYDIR], env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture
def build_env():
    pytest.importorskip("setuptools")
    pytest.importorskip("wheel")
    env = dict(os.environ)
    env["TAILOR_PREBUILT_LIBRARY"] = _lib.lib()._tailor_path
    return env


def test_wheel_bundles_the_library(tmp_path, build_env):
    proc = pip_wheel(tmp_path, build_env)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("tailor-*.whl")
    assert "linux" in wheel.name  # platform wheel: it carries a native library
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        for f in ("tailor/libtailor.so", "tailor/_lib.py", "tailor/network.py", "tailor/zoo.py", "tailor/__main__.py"):
            assert f in names
        assert z.getinfo("tailor/libtailor.so").file_size == os.path.getsize(_lib.lib()._tailor_path)
        meta = z.read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Requires-Dist: numpy" in meta
    for extra in ("torch", "plot", "progress"):
        assert f"Provides-Extra: {extra}" in meta


def test_missing_swift_is_a_clear_error(tmp_path, build_env):
    env = dict(build_env)
    del env["TAILOR_PREBUILT_LIBRARY"]
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and not os.path.exists(os.path.join(p, "swift")))
    if shutil.which("swift", path=env["PATH"]):
        pytest.skip("cannot hide swift from PATH")
    proc = pip_wheel(tmp_path, env)
    assert proc.returncode != 0
    assert "the `swift` command (Swift 6 toolchain) was not found" in proc.stdout + proc.stderr
