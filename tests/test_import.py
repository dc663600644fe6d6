"""The training-side import stays light."""

from __future__ import annotations

from tests.helpers import run_python

HEAVY = ["torch", "transformers", "pyarrow", "huggingface_hub", "numpy", "starlette", "uvicorn", "mcp", "trl"]


def test_import_and_logging_load_only_the_standard_library(tmp_path):
    result = run_python(
        f"""
        import sys, trackio_callback as t
        run = t.init(project="p", dir={str(tmp_path)!r})
        run.log({{"loss": 1.0, "flag": True, "n": 3}})
        run.finish()
        loaded = [m for m in {HEAVY!r} if m in sys.modules]
        print(loaded)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
