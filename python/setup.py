"""Builds libtailor with SwiftPM and bundles it as tailor/libtailor.so.

`pip install ./python` runs `swift build -c release` in the repository root (the parent of
this directory) and copies `.build/release/libtailor.so` into the package. Set
TAILOR_PREBUILT_LIBRARY=/path/to/libtailor.so to bundle an existing library instead.
In an editable install (`pip install -e ./python`) the library is built but not copied:
the package finds it at `<repo>/.build/release/libtailor.so`.
"""
import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
LIBNAME = "libtailor.so"


def build_library() -> str:
    """Returns the path of a libtailor.so to bundle, building it with swift if needed."""
    prebuilt = os.environ.get("TAILOR_PREBUILT_LIBRARY")
    if prebuilt:
        if not os.path.isfile(prebuilt):
            raise SystemExit(f"TAILOR_PREBUILT_LIBRARY={prebuilt} does not exist")
        return prebuilt
    if not os.path.isfile(os.path.join(REPO, "Package.swift")):
        raise SystemExit(f"cannot build libtailor: no Package.swift in {REPO} (build from a checkout of the "
                         "repository, or set TAILOR_PREBUILT_LIBRARY=/path/to/libtailor.so)")
    swift = shutil.which("swift")
    if swift is None:
        raise SystemExit("cannot build libtailor: the `swift` command (Swift 6 toolchain) was not found on PATH; "
                         "install Swift, or set TAILOR_PREBUILT_LIBRARY=/path/to/libtailor.so")
    print(f"building libtailor: {swift} build -c release (in {REPO})", flush=True)
    subprocess.run([swift, "build", "-c", "release"], cwd=REPO, check=True)
    path = os.path.join(REPO, ".build", "release", LIBNAME)
    if not os.path.isfile(path):
        raise SystemExit(f"swift build finished but {path} is missing")
    return path


class BuildPyWithLibrary(build_py):
    """build_py that also builds libtailor and copies it into the package."""

    def run(self):
        lib = build_library()
        super().run()
        if not getattr(self, "editable_mode", False):
            dest = os.path.join(self.build_lib, "tailor", LIBNAME)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy2(lib, dest)


class BinaryDistribution(Distribution):
    """The wheel carries a native library, so it is platform specific."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildPyWithLibrary}, distclass=BinaryDistribution)
