"""Reads the AddressSanitizer/LeakSanitizer reports python_asan.sh collected (one file per
process) and fails on any memory error, and on any leak that is libtailor's.

A leak is libtailor's when, walking its allocation stack from the allocation outwards (past the
sanitizer runtime's own malloc/strdup frames), a frame in libtailor.so comes before any frame of
the interpreter, an extension module (numpy, torch, ctypes' libffi…) or another library. A Python
object allocated inside a callback that libtailor called is the interpreter's; a string
libtailor strdup'd is libtailor's.

Usage: leak_filter.py REPORT_DIR
"""
import os
import re
import sys

FRAME = re.compile(r"^\s*#\d+ 0x[0-9a-f]+ in (?P<func>.*?) \(?(?P<module>/[^ )+]*)")
FRAME_NOMODULE = re.compile(r"^\s*#\d+ 0x[0-9a-f]+ in (?P<func>\S+) (?P<file>\S+)")
LEAK = re.compile(r"^(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object\(s\) allocated from:")


def frames(block):
    for line in block:
        m = FRAME.match(line)
        if m:
            yield m.group("func"), m.group("module")
            continue
        m = FRAME_NOMODULE.match(line)
        if m:   # a frame symbolised to a source file: statically linked into whichever binary
            yield m.group("func"), m.group("file")


def is_swift(func):
    """Swift code in this process is libtailor's (its Swift runtime is linked in statically); the
    symbolizer sometimes names a bogus source file (crtstuff.c) instead of the module for it."""
    return func.startswith(("$s", "_$s", "swift_", "$e")) or "TailorSwift" in func


def ours(block):
    for func, module in frames(block):
        base = os.path.basename(module)
        if "libclang_rt" in base or "asan" in base or "compiler-rt" in module or "llvm-project" in module:
            continue   # the interceptor (malloc, strdup, posix_memalign…)
        return base.startswith("libtailor") or is_swift(func)
    return False


def read_lines(path):
    with open(path, errors="replace") as f:
        return f.read().splitlines()


def main(directory):
    errors, leaks_total, leaks_ours, bytes_ours, files = [], 0, [], 0, 0
    for name in sorted(os.listdir(directory)):
        files += 1
        lines = read_lines(os.path.join(directory, name))
        if any("ERROR: AddressSanitizer" in line for line in lines):
            errors.append(name)
        i = 0
        while i < len(lines):
            m = LEAK.match(lines[i])
            if not m:
                i += 1
                continue
            j = i + 1
            while j < len(lines) and lines[j].strip():
                j += 1
            block = lines[i + 1:j]
            leaks_total += 1
            if ours(block):
                leaks_ours.append((name, lines[i:j]))
                bytes_ours += int(m.group(2))
            i = j
    for name in errors:
        print(f"leak_filter: memory error reported in {name}:")
        print("\n".join(read_lines(os.path.join(directory, name))[:60]))
    for name, block in leaks_ours[:10]:
        print(f"leak_filter: libtailor leak in {name}:")
        print("\n".join(block[:25]))
    print(f"leak_filter: {files} sanitizer report(s); {len(errors)} memory error(s); "
          f"{leaks_total} leak record(s) in all, {len(leaks_ours)} from libtailor ({bytes_ours} bytes)")
    return 1 if errors or leaks_ours else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
