"""The ctypes wrapper (tailor/_lib.py) against the C ABI: include/tailor.h and the loaded library.

Catches drift between the header and the wrapper:
  - every prototype in _lib names a function the loaded library exports, and every function the
    header declares has a prototype;
  - each prototype's restype and argtypes are the ctypes of the header's declaration;
  - each ctypes Structure has the header's fields in the header's order, and (compiled with the
    system C compiler) the C sizeof and every field's offsetof.
The header checks need a checkout (include/tailor.h beside python/); the layout check needs a C
compiler. Both skip with a message saying why when they cannot run.
"""
import ctypes
import importlib
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

import tailor
from tailor import _lib

HERE = os.path.dirname(os.path.abspath(__file__))
INCLUDE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "include")
HEADER = os.path.join(INCLUDE, "tailor.h")


def _header_text() -> str:
    if not os.path.isfile(HEADER):
        pytest.skip(f"no C header at {HEADER} (not a checkout): the header checks need include/tailor.h")
    with open(HEADER) as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)       # comments
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r"^\s*#[^\n]*(\\\n[^\n]*)*", " ", text, flags=re.M)   # preprocessor lines


def _norm(ctype: str) -> str:
    """'const  char*' -> 'const char *'."""
    ctype = re.sub(r"\s*\*\s*", " *", ctype.strip())
    return re.sub(r"\s+", " ", ctype).replace("* *", "**").strip()


def header_functions() -> dict:
    """name -> (return type, [parameter types]) of every function include/tailor.h declares."""
    text = _header_text()
    out = {}
    for m in re.finditer(r"([A-Za-z_][\w\s\*]*?)\b(tailor_\w+)\s*\(([^()]*)\)\s*;", text):
        ret, name, params = _norm(m.group(1)), m.group(2), m.group(3).strip()
        if ret.startswith("typedef"):
            continue
        types = []
        if params != "void":
            for p in params.split(","):
                p = p.strip()
                pm = re.fullmatch(r"(.*?[\s\*])(\w+)", p)
                assert pm, f"cannot parse parameter {p!r} of {name}"
                types.append(_norm(pm.group(1)))
        out[name] = (ret, types)
    return out


def header_structs() -> dict:
    """C struct name -> [(field name, C type)] in order for every struct include/tailor.h defines."""
    text = _header_text()
    out = {}
    for m in re.finditer(r"typedef\s+struct\s+(tailor_\w+)\s*\{(.*?)\}\s*(tailor_\w+)\s*;", text, flags=re.S):
        assert m.group(1) == m.group(3)
        fields = []
        for decl in m.group(2).split(";"):
            decl = decl.strip()
            if not decl:
                continue
            assert "[" not in decl, f"{m.group(1)}: fixed array {decl!r} (rule 3 forbids them)"
            tm = re.fullmatch(r"((?:const\s+)?\w+[\s\*]+)(.*)", decl, flags=re.S)
            assert tm, f"cannot parse field {decl!r} of {m.group(1)}"
            base = _norm(tm.group(1)).rstrip("*").strip()
            for n in tm.group(2).split(","):
                stars = n.count("*") + tm.group(1).count("*")
                fields.append((re.sub(r"[\s\*]", "", n), _norm(base + " " + "*" * stars) if stars else base))
        out[m.group(1)] = fields
    return out


def expected_ctype(ctype: str):
    """The ctypes type a C parameter or return type must be declared as in _lib."""
    scalars = {"int64_t": ctypes.c_int64, "uint64_t": ctypes.c_uint64, "int": ctypes.c_int,
               "int32_t": ctypes.c_int32, "double": ctypes.c_double, "size_t": ctypes.c_size_t,
               "tailor_status": ctypes.c_int, "void": None, "const char *": ctypes.c_char_p,
               "const void *": ctypes.c_void_p, "void *": ctypes.c_void_p, "tailor_net *": _lib.NetPtr,
               "tailor_progress_fn": _lib.ProgressFn}
    if ctype in scalars:
        return scalars[ctype]
    base = re.sub(r"^const ", "", ctype)
    if base.endswith(" **"):
        inner = base[:-3] + " *"
        return ctypes.POINTER(expected_ctype(("const " if base.startswith("char") else "") + inner))
    if base.endswith(" *"):
        inner = base[:-2]
        if inner in _lib.C_STRUCTS:
            return ctypes.POINTER(_lib.C_STRUCTS[inner])
        pointee = {"int64_t": ctypes.c_int64, "int32_t": ctypes.c_int32, "double": ctypes.c_double,
                   "float": ctypes.c_float}
        assert inner in pointee, f"no ctypes mapping for C type {ctype!r}"
        return ctypes.POINTER(pointee[inner])
    raise AssertionError(f"no ctypes mapping for C type {ctype!r}")


def expected_field_ctype(ctype: str):
    """The ctypes type of a struct field of C type `ctype` (a nested struct is its class)."""
    return _lib.C_STRUCTS[ctype] if ctype in _lib.C_STRUCTS else expected_ctype(ctype)


def _type_name(t) -> str:
    return "None" if t is None else getattr(t, "__name__", repr(t))


# ---- functions ----------------------------------------------------------------------------

def test_every_prototype_is_exported_by_the_library():
    """A prototype naming a function the library does not export fails here (and would make
    load_library refuse the library)."""
    handle = ctypes.CDLL(_lib.lib()._tailor_path)
    missing = [name for name in _lib._PROTOTYPES if not hasattr(handle, name)]
    assert not missing, f"{_lib.lib()._tailor_path} does not export: {missing}"


def test_prototypes_cover_exactly_the_header():
    declared = header_functions()
    assert len(declared) > 50, sorted(declared)     # the parse found the declarations
    assert "tailor_net_fit" in declared and "tailor_last_error" in declared
    not_declared = sorted(set(_lib._PROTOTYPES) - set(declared))
    not_wrapped = sorted(set(declared) - set(_lib._PROTOTYPES))
    assert not not_declared, f"_lib declares functions include/tailor.h does not: {not_declared}"
    assert not not_wrapped, f"include/tailor.h declares functions _lib has no prototype for: {not_wrapped}"


def test_prototypes_match_the_header_declarations():
    wrong = []
    for name, (ret, params) in header_functions().items():
        if name not in _lib._PROTOTYPES:
            continue   # reported by test_prototypes_cover_exactly_the_header
        restype, argtypes = _lib._PROTOTYPES[name]
        if restype is not expected_ctype(ret):
            wrong.append(f"{name}: returns {ret}, restype is {_type_name(restype)}")
        if len(argtypes) != len(params):
            wrong.append(f"{name}: {len(params)} parameters {params}, {len(argtypes)} argtypes")
            continue
        for i, (ctype, got) in enumerate(zip(params, argtypes)):
            want = expected_ctype(ctype)
            if got is not want:
                wrong.append(f"{name}: parameter {i} is {ctype}, argtype {_type_name(got)} (want {_type_name(want)})")
    assert not wrong, "prototypes that differ from include/tailor.h:\n  " + "\n  ".join(wrong)


def test_the_loaded_library_is_the_expected_abi():
    assert _lib.lib().tailor_abi_version() == _lib.EXPECTED_ABI_VERSION
    if os.path.isfile(HEADER):
        with open(HEADER) as f:
            assert f"#define TAILOR_ABI_VERSION {_lib.EXPECTED_ABI_VERSION}\n" in f.read()


# ---- structs --------------------------------------------------------------------------------

def test_structs_have_the_header_fields_in_order():
    declared = header_structs()
    assert sorted(declared) == sorted(_lib.C_STRUCTS), \
        f"header structs {sorted(declared)} vs _lib.C_STRUCTS {sorted(_lib.C_STRUCTS)}"
    for cname, cls in _lib.C_STRUCTS.items():
        assert [f[0] for f in cls._fields_] == [f[0] for f in declared[cname]], cname
        for (field, got), (_, ctype) in zip(cls._fields_, declared[cname]):
            want = expected_field_ctype(ctype)
            assert got is want, f"{cname}.{field} is {ctype} in C, {_type_name(got)} in ctypes (want {_type_name(want)})"
        # Rule 2: every struct begins with int64_t size, except the two plain records.
        if cname not in ("tailor_hw_cost", "tailor_mode_switch"):
            assert cls._fields_[0] == ("size", ctypes.c_int64), cname
            assert ctypes.sizeof(cls) % 8 == 0, cname


def _compiler():
    for cc in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if cc and shutil.which(cc):
            return cc
    return None


def c_layout(tmp_path) -> dict:
    """{"tailor_x": size, "tailor_x.field": offset} from the C compiler."""
    if not os.path.isfile(HEADER):
        pytest.skip(f"no C header at {HEADER} (not a checkout): cannot compare struct layouts")
    cc = _compiler()
    if cc is None:
        pytest.skip("no C compiler (cc, gcc or clang; or $CC) found: cannot compare ctypes struct sizes "
                    "with the C header's sizeof")
    lines = ["#include <stddef.h>", "#include <stdio.h>", "#include \"tailor.h\"", "int main(void) {"]
    for cname, cls in _lib.C_STRUCTS.items():
        lines.append(f'    printf("{cname} %zu\\n", sizeof({cname}));')
        for field, _ in cls._fields_:
            lines.append(f'    printf("{cname}.{field} %zu\\n", offsetof({cname}, {field}));')
    lines += ["    return 0;", "}"]
    src, exe = tmp_path / "layout.c", tmp_path / "layout"
    src.write_text("\n".join(lines) + "\n")
    proc = subprocess.run([cc, "-std=c99", "-I", INCLUDE, str(src), "-o", str(exe)], capture_output=True, text=True)
    assert proc.returncode == 0, (f"{cc} could not compile the layout probe (a field _lib names that the header "
                                  f"does not have?):\n{proc.stderr}")
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    return {k: int(v) for k, v in (line.split() for line in out.splitlines())}


def test_struct_sizes_and_offsets_match_the_c_header(tmp_path):
    layout = c_layout(tmp_path)
    wrong = []
    for cname, cls in _lib.C_STRUCTS.items():
        if ctypes.sizeof(cls) != layout[cname]:
            wrong.append(f"sizeof({cname}) is {layout[cname]} in C, {ctypes.sizeof(cls)} in ctypes ({cls.__name__})")
        for field, _ in cls._fields_:
            off = getattr(cls, field).offset
            if off != layout[f"{cname}.{field}"]:
                wrong.append(f"offsetof({cname}, {field}) is {layout[cname + '.' + field]} in C, {off} in ctypes")
    assert not wrong, "ctypes layouts that differ from include/tailor.h:\n  " + "\n  ".join(wrong)


# ---- the library keeps rule 2 for the structs the wrapper reads ------------------------------

MARK = 0xA5


def _written_past(cls, size: int, call) -> int:
    """Calls `call(pointer)` on a buffer of 2 x sizeof(cls) filled with MARK whose `size` field
    is `size`; returns how many bytes past `size` the library changed."""
    n = 2 * ctypes.sizeof(cls)
    buf = (ctypes.c_ubyte * n)(*([MARK] * n))
    ctypes.cast(buf, ctypes.POINTER(ctypes.c_int64))[0] = size
    status = call(ctypes.cast(buf, ctypes.POINTER(cls)))
    assert status == 0, _lib.lib().tailor_last_error()
    return sum(1 for b in bytes(buf)[size:] if b != MARK)


def test_output_structs_are_never_written_past_their_size():
    L = _lib.lib()
    net = tailor.zoo.resnet8(num_classes=3, input_shape=(3, 8, 8), seed=1)
    rng = np.random.default_rng(0)
    net.fit(train=(rng.normal(size=(8, 3, 8, 8)).astype(np.float32), rng.integers(0, 3, 8)), epochs=1, batch_size=4,
            progress=False)
    cfg, _keep = importlib.import_module("tailor.estimate")._config("hls4ml", 16)
    count = ctypes.c_int64()
    assert L.tailor_net_fifos(net._h, ctypes.byref(cfg), ctypes.byref(count)) == 0 and count.value > 0
    cases = {
        "tailor_node_info": lambda p: L.tailor_net_node_info(net._h, 1, p),
        "tailor_skip_info": lambda p: L.tailor_net_skip_info(net._h, 0, p),
        "tailor_param_info": lambda p: L.tailor_net_param_info(net._h, 0, p),
        "tailor_hw_totals": lambda p: L.tailor_net_estimate(net._h, ctypes.byref(cfg), ctypes.byref(count), p),
        "tailor_skip_cost": lambda p: L.tailor_net_skip_cost(net._h, 0, p),
        "tailor_fifo": lambda p: L.tailor_net_fifo(net._h, 0, p),
        "tailor_epoch_stats": lambda p: L.tailor_net_history(net._h, 0, p),
    }
    for cname, call in cases.items():
        cls = _lib.C_STRUCTS[cname]
        for size in (8, 16, ctypes.sizeof(cls)):
            assert _written_past(cls, size, call) == 0, f"{cname} with size {size}: written past it"
        # A larger struct (a newer header's) is accepted; the library writes only what it knows.
        _written_past(cls, ctypes.sizeof(cls) + 8, call)
    net.close()


def test_fit_history_is_kept_on_the_handle_also_when_stopped():
    """tailor_net_fit keeps the epochs it completed on the handle, also when its callback cancels."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(8, 3, 8, 8)).astype(np.float32), rng.integers(0, 3, 8)
    with tailor.zoo.resnet8(num_classes=3, input_shape=(3, 8, 8), seed=1) as net:
        assert _lib.history(net._h) == []                       # never trained
        hist = net.fit(train=(x, y), epochs=3, batch_size=4, progress=False,
                       callback=lambda d: not (d["epoch_end"] and d["epoch"] == 1))
        assert [h["epoch"] for h in hist] == [0, 1]
        rows = _lib.history(net._h)
        assert [r.size for r in rows] == [ctypes.sizeof(_lib.EpochStats)] * 2
        assert [r.loss for r in rows] == [h["loss"] for h in hist]
        hist = net.fit(train=(x, y), epochs=1, batch_size=4, progress=False)   # the last fit's history
        assert len(hist) == 1 and len(_lib.history(net._h)) == 1
