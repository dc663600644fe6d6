"""Registration as "trackio": transformers' report_to, accelerate's log_with, TRL's `import trackio`.

Each case runs in a fresh interpreter, since what matters is what happens at start-up and import.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.helpers import run_python
from trackio_callback import Reader

RESOLVE = """
import json, sys
from transformers.integrations.integration_utils import get_reporting_integration_callbacks
from transformers import TrainingArguments
classes = get_reporting_integration_callbacks(["trackio"])
everything = TrainingArguments(output_dir="out", report_to="all").report_to
print(json.dumps({
    "class": f"{classes[0].__module__}.{classes[0].__name__}",
    "all": everything,
    "imported": "trackio_callback" in sys.modules,
}))
"""
OURS = "trackio_callback.integrations.callback.TrackioCallback"
THEIRS = "transformers.integrations.integration_utils.TrackioCallback"


def _json_result(code: str, env: dict | None = None) -> dict:
    result = run_python(code, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_report_to_resolves_without_importing_the_package():
    resolved = _json_result(RESOLVE)
    assert resolved["class"] == OURS
    assert "trackio" in resolved["all"]  # report_to="all" includes it


def test_report_to_resolves_after_importing_the_package():
    resolved = _json_result("import trackio_callback\n" + RESOLVE)
    assert resolved["class"] == OURS and resolved["imported"]


def test_importing_the_package_registers_even_if_transformers_came_first_without_the_hook():
    code = """
    import sys
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "TrackioCallbackFinder"]
    import transformers.integrations.integration_utils as iu
    before = iu.INTEGRATION_TO_CALLBACK["trackio"].__module__
    import trackio_callback
    after = iu.INTEGRATION_TO_CALLBACK["trackio"].__module__
    print(before, after)
    """
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "transformers.integrations.integration_utils",
        "trackio_callback.integrations.callback",
    ]


def test_opt_out_leaves_transformers_and_import_trackio_alone():
    env = {"TRACKIO_CALLBACK_NO_HOOK": "1"}
    resolved = _json_result(RESOLVE, env=env)
    assert resolved["class"] == THEIRS and "trackio" not in resolved["all"]
    result = run_python("import trackio_callback\nimport trackio", env=env)
    assert result.returncode == 1 and "No module named 'trackio'" in result.stderr


def test_import_trackio_is_this_package_and_shadows_an_installed_trackio(tmp_path):
    fake = tmp_path / "site" / "trackio"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("REAL = True\n")
    code = """
    import trackio
    print(trackio.__file__.endswith("trackio_module.py"), hasattr(trackio, "REAL"))
    """
    env = {"PYTHONPATH": f"{tmp_path / 'site'}:{run_python.__globals__['ROOT']}"}
    assert run_python(code, env=env).stdout.split() == ["True", "False"]
    opted_out = run_python(code, env={**env, "TRACKIO_CALLBACK_NO_HOOK": "1"})
    assert opted_out.stdout.split() == ["False", "True"]


def test_trackio_module_api_lands_in_the_run(store_dir):
    code = """
    import trackio, trackio_callback
    import pandas as pd
    run = trackio.init(project="compat", name="r", config={"lr": 0.1}, bucket_id="ignored", embed=False)
    trackio.config.update({"epochs": 2}, allow_val_change=True)
    trackio.log({"loss": 1.5}, step=3)
    df = pd.DataFrame({"prompt": ["a", "b"], "completion": ["x", "y"], "reward": [0.5, 1.0]})
    trackio.log({"completions": trackio.Table(dataframe=df)})
    current = trackio.context_vars.current_run.get()
    print(current is trackio_callback.current_run(), trackio.context_vars.current_project.get())
    trackio.finish()
    trackio.log({"loss": 2.0})  # no run: a warning, not an error
    """
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "compat"]
    assert "trackio.log() without an active run" in result.stderr
    reader = Reader(store_dir)
    assert reader.series("compat", "r", "loss").values == [1.5]
    assert reader.run("compat", "r")["config"] == {"lr": 0.1, "epochs": 2}
    (table,) = reader.tables("compat", "r")
    assert table["key"] == "completions" and table["step"] == 3  # attached to the step logged last
    assert table["columns"] == ["prompt", "completion", "reward"]
    assert table["rows"] == [["a", "x", 0.5], ["b", "y", 1.0]]


def test_accelerate_log_with_trackio(store_dir):
    code = """
    from accelerate import Accelerator
    accelerator = Accelerator(log_with="trackio", cpu=True)
    accelerator.init_trackers("acc-project", config={"lr": 0.01}, init_kwargs={"trackio": {"name": "acc-run"}})
    for step in range(3):
        accelerator.log({"loss": 1.0 / (step + 1)}, step=step)
    print(type(accelerator.get_tracker("trackio", unwrap=False)).__module__)
    accelerator.end_training()
    """
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "trackio_callback.integrations.accelerate"
    reader = Reader(store_dir)
    assert reader.series("acc-project", "acc-run", "loss").values == [1.0, 0.5, 1 / 3]
    info = reader.run("acc-project", "acc-run")
    assert info["config"] == {"lr": 0.01} and info["status"] == "finished"


@pytest.mark.parametrize("hook", [True, False])
def test_interpreter_start_cost_of_the_hook_is_small(hook):
    # Not a timing test: checks that the hook imports nothing at start-up.
    env = {} if hook else {"TRACKIO_CALLBACK_NO_HOOK": "1"}
    code = textwrap.dedent(
        """
        import sys
        print(sorted(m for m in sys.modules if "trackio" in m))
        """
    )
    result = run_python(code, env=env)
    assert result.stdout.strip() == "['_trackio_callback_hook']"
