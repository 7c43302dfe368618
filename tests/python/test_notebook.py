"""The notebook side: examples/notebooks/quickstart.ipynb executed headless by a real Jupyter kernel
(nbclient + ipykernel), and the %%cu magic's options and line numbers."""
import os
import shutil
from pathlib import Path

import pytest

import dltrain

SOURCE_DIR = Path(__file__).resolve().parents[2]


def test_quickstart_notebook_runs(tmp_path, monkeypatch, fashion):
    import nbclient
    import nbformat

    monkeypatch.setenv("DLTRAIN_CACHE", str(tmp_path / "cache"))  # the kernel inherits the environment
    nb = nbformat.read(SOURCE_DIR / "examples" / "notebooks" / "quickstart.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on any cell's error
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "Epoch 1/1" in outputs
    assert "dltrain: compiled" in outputs or "dltrain: using the cached build" in outputs or "hi from" in outputs
    assert any((tmp_path / "runs").iterdir())


def test_cu_line_options():
    from dltrain.magics import parse_cu_line

    assert parse_cu_line("") == (False, "", [], [])
    assert parse_cu_line('--compile-only --arch sm_90 --nvcc-flags "-O3 -lineinfo" -- 1 "two words"') == (
        True, "sm_90", ["-O3", "-lineinfo"], ["1", "two words"])
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="unknown option"):
        parse_cu_line("--bogus")


def test_cu_compile_errors_name_the_cells_lines(tmp_path, monkeypatch):
    if not dltrain.doctor(smoke=False)["nvcc"].get("path"):
        pytest.skip("nvcc is not installed")
    monkeypatch.setenv("DLTRAIN_CACHE", str(tmp_path))
    from IPython.core.error import UsageError
    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    ip.run_line_magic("load_ext", "dltrain")
    with pytest.raises(UsageError) as e:
        ip.run_cell_magic("cu", "--compile-only", "#include <cstdio>\n\nint main() { undefined_thing(); }\n")
    assert "cell(3)" in str(e.value) and "undefined_thing" in str(e.value)
    ip.run_cell_magic("cu", "--compile-only", "int main() { return 0; }\n")  # builds for nvcc's default target


@pytest.mark.parametrize("line", ["--arch", "--arch --compile-only", "--arch=", "--nvcc-flags", "--arch 'sm_80"])
def test_cu_line_mistakes_are_usage_errors(line):
    from IPython.core.error import UsageError

    from dltrain.magics import parse_cu_line

    with pytest.raises(UsageError):
        parse_cu_line(line)
