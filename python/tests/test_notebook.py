"""examples/pytorch_walkthrough.ipynb runs headlessly (nbclient, a python3 kernel) start to finish:
no cell errors, the notebook views (HTML tables) and the figures (PNG) are in the outputs, and it
writes nothing into the repository. Also: the committed notebook carries no outputs."""
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
NOTEBOOK = os.path.join(REPO, "examples", "pytorch_walkthrough.ipynb")

REQUIRES = "the notebook test needs nbclient, nbformat and ipykernel (pip install nbclient ipykernel nbformat)"


def _read():
    nbformat = pytest.importorskip("nbformat", reason=REQUIRES)
    return nbformat.read(NOTEBOOK, as_version=4)


def _tagged(nb, tag):
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}, found {len(cells)}"
    return cells[0]


def _outputs_of(cell, mime):
    return [o for o in cell.get("outputs", []) if mime in o.get("data", {})]


def test_committed_notebook_has_no_outputs():
    nb = _read()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, \
                f"cell {i} of {NOTEBOOK} carries outputs: clear them before committing"


def test_notebook_runs(tmp_path, monkeypatch, subprocess_env):
    nb = _read()
    nbclient = pytest.importorskip("nbclient", reason=REQUIRES)
    pytest.importorskip("ipykernel", reason=REQUIRES)
    for module in ("torch", "onnx", "onnxruntime", "matplotlib", "mlxtend"):
        pytest.importorskip(module, reason=f"the notebook uses {module} (scripts/setup.sh installs it)")

    # The kernel is a child process: it inherits this environment, so it imports this checkout's
    # package and loads the library under test; figures go through the inline backend (as PNG).
    monkeypatch.setenv("PYTHONPATH", subprocess_env["PYTHONPATH"])
    monkeypatch.setenv("TAILOR_LIBRARY", subprocess_env["TAILOR_LIBRARY"])
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")

    examples_before = set(os.listdir(os.path.dirname(NOTEBOOK)))
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})   # the kernel's cwd
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as e:
        pytest.fail(f"a notebook cell failed:\n{e}")
    written = set(os.listdir(os.path.dirname(NOTEBOOK))) - examples_before
    assert not written, f"the notebook wrote into examples/: {sorted(written)}"

    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            errors = [o for o in cell.outputs if o.output_type == "error"]
            assert not errors, f"cell {i} errored: {errors[0].get('ename')}: {errors[0].get('evalue')}"
            assert cell.execution_count is not None, f"cell {i} did not run"

    # The Report and Comparison notebook views (_repr_html_) are the cells' results.
    for tag in ("estimate", "compare"):
        html = _outputs_of(_tagged(nb, tag), "text/html")
        assert html and "<table>" in html[0]["data"]["text/html"], f"no HTML table from the {tag!r} cell"
    assert "BRAM18" in _outputs_of(_tagged(nb, "estimate"), "text/html")[0]["data"]["text/html"]

    # Figures rendered: the report's own, and at least the comparisons' and the summary's.
    assert _outputs_of(_tagged(nb, "plot"), "image/png"), "report.plot() rendered no figure"
    pngs = sum(len(_outputs_of(c, "image/png")) for c in nb.cells if c.cell_type == "code")
    assert pngs >= 4, f"expected at least 4 figures, got {pngs}"

    # The export cells checked themselves (asserts); their printout is there.
    text = "".join(o.get("text", "") for o in _tagged(nb, "to_torch").outputs if o.output_type == "stream")
    assert "removed:" in text and "shortened:" in text, text
    text = "".join(o.get("text", "") for o in _tagged(nb, "onnx").outputs if o.output_type == "stream")
    assert "onnxruntime vs tailor" in text and "removed.onnx" in text, text
