"""trackio-callback next to the real ``trackio`` package (PyPI ``trackio``), and without it.

With the real trackio installed, ``import trackio`` is the real package — its submodules, its CLI and its own
``init``/``log``/``finish`` work as without trackio-callback — while ``report_to="trackio"`` stays
trackio-callback's, and TRL's direct ``trackio.log`` calls go to trackio-callback's run while trackio has none
(`trackio_callback.integrations.real_trackio`).

The real trackio is installed in an environment of its own, never in the suite's: a venv whose
site-packages first hold trackio and whatever of its dependencies the suite's environment lacks, then load
the suite's site-packages (its packages, this checkout and the start-up hook's ``.pth``). It is built once
and reused (in pytest's cache directory); pip resolves trackio's dependencies against what the suite has,
so only the missing ones are downloaded. Each case runs in a fresh interpreter: what matters happens at
start-up and import.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from tests.helpers import ROOT, run_python
from trackio_callback import Reader

TRACKIO_VERSION = "0.43.0"
INSTALL_TIMEOUT_S = 600
OURS = "trackio_callback.integrations.callback.TrackioCallback"


# -- the environment with the real trackio ------------------------------------------------------------------


def _suite_site_dirs() -> list[str]:
    """Where the suite's packages are installed (the checkout and the hook's .pth among them)."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys([paths["purelib"], paths["platlib"]]))


@contextlib.contextmanager
def _locked(path: Path):
    """One builder at a time: two pytest sessions may share the cache directory."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(environment: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--clear", "--without-pip", str(environment)], check=True)
    python = environment / "bin" / "python"
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # addsitedir, not a plain path line: the suite's own .pth files (the hook, the editable checkout) must run.
    lines = [f"import site; site.addsitedir({directory!r})" for directory in _suite_site_dirs()]
    Path(site_packages, "_suite_site_packages.pth").write_text("\n".join(lines) + "\n")
    # pip runs in the new environment (it is importable from the suite's site-packages), so it counts what the
    # suite already has as installed and adds only what trackio needs besides.
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--quiet", f"trackio=={TRACKIO_VERSION}"],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    if installed.returncode != 0:
        pytest.fail(f"installing trackio=={TRACKIO_VERSION} failed (it needs PyPI):\n{installed.stderr[-3000:]}")


@pytest.fixture(scope="session")
def real_trackio_python(request, tmp_path_factory) -> Path:
    """The interpreter of an environment with the real trackio installed next to the suite's packages."""
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    home = Path(cache.mkdir(f"real-trackio-{TRACKIO_VERSION}")) if cache else tmp_path_factory.mktemp("real-trackio")
    environment, ready = home / "env", home / "ready"
    identity = json.dumps([TRACKIO_VERSION, sys.version, _suite_site_dirs()])
    with _locked(home / "lock"):
        if not ready.exists() or ready.read_text() != identity:
            ready.unlink(missing_ok=True)
            started = time.monotonic()
            _build(environment)
            ready.write_text(identity)
            print(f"\nthe real-trackio test environment took {time.monotonic() - started:.1f}s to build")
    return environment / "bin" / "python"


def _run(python: Path, code: str, env: dict[str, str], *args: str, timeout: float = 180):
    return subprocess.run(
        [str(python), *args] if not code else [str(python), "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def clean_env(tmp_path) -> dict[str, str]:
    """This checkout first on the path (as `run_python` has it), no opt-out, no storage directory: trackio keeps to
    ``$HF_HOME/trackio``, trackio-callback to ``$HF_HOME/trackio-callback``, so what each wrote can be told apart
    (with one ``$TRACKIO_DIR`` both would write ``<project>.db`` files there); nothing reaches the network."""
    env = {k: v for k, v in os.environ.items() if k not in ("TRACKIO_CALLBACK_NO_HOOK", "TRACKIO_DIR")}
    return {
        **env,
        "PYTHONPATH": str(ROOT),
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "1",
        "TRACKIO_SYSTEM_METRICS": "0",
    }


def _trackio_cli(python: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """trackio's own console script of the environment of ``python``."""
    return subprocess.run([str(python.parent / "trackio"), *args], env=env, capture_output=True, text=True, timeout=120)


def _last_json(result: subprocess.CompletedProcess):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- with the real trackio ------------------------------------------------------------------------------


def test_import_trackio_is_the_real_package_with_its_submodules(real_trackio_python, clean_env):
    code = """
    import json
    import trackio
    import trackio.sqlite_storage
    from trackio.sqlite_storage import SQLiteStorage
    print(json.dumps({
        "file": trackio.__file__,
        "version": trackio.__version__,
        "storage": SQLiteStorage.__module__,
        "routed": getattr(trackio.log, "_routes_to_trackio_callback", False),
    }))
    """
    found = _last_json(_run(real_trackio_python, code, clean_env))
    assert Path(found["file"]).parts[-2:] == ("trackio", "__init__.py") and "trackio_callback" not in found["file"]
    assert found["version"] == TRACKIO_VERSION and found["storage"] == "trackio.sqlite_storage"
    assert found["routed"]  # the one change: `trackio.log` while trackio has no run of its own


def test_trackios_own_cli_works(real_trackio_python, clean_env):
    module = _run(real_trackio_python, "", clean_env, "-m", "trackio.cli", "--help")
    assert module.returncode == 0, module.stderr
    assert "Trackio CLI" in module.stdout
    script = _trackio_cli(real_trackio_python, clean_env, "list", "projects", "--json")
    assert script.returncode == 0, script.stderr
    assert json.loads(script.stdout)["projects"] == []


def test_a_script_calling_trackio_itself_writes_to_the_real_trackio(real_trackio_python, clean_env, tmp_path):
    code = """
    import json
    import trackio, trackio_callback
    from trackio.sqlite_storage import SQLiteStorage

    ours = trackio_callback.init(project="ours", name="open")  # everything still goes to trackio's own run
    trackio.init(project="theirs", name="real-run", embed=False)
    trackio.log({"loss": 0.5}, step=0)
    trackio.log({"loss": 0.25}, step=1)
    trackio.finish()
    ours.finish()
    try:
        trackio.log({"loss": 1.0})  # no run anywhere: trackio's own error, as without trackio-callback
        error = None
    except RuntimeError as raised:
        error = str(raised)
    print(json.dumps({
        "logged": [(row["step"], row["loss"]) for row in SQLiteStorage.get_logs("theirs", "real-run")],
        "db": str(SQLiteStorage.get_project_db_path("theirs")),
        "error": error,
    }))
    """
    found = _last_json(_run(real_trackio_python, code, clean_env))
    assert found["logged"] == [[0, 0.5], [1, 0.25]]
    assert Path(found["db"]) == tmp_path / "hf" / "trackio" / "theirs.db"
    assert found["error"] == "Call trackio.init() before trackio.log()."
    reader = Reader(tmp_path / "hf" / "trackio-callback")
    assert reader.projects() == ["ours"] and reader.metric_keys("ours", "open") == []
    listed = _trackio_cli(real_trackio_python, clean_env, "list", "projects", "--json")
    assert json.loads(listed.stdout)["projects"] == ["theirs"]


def test_trls_direct_calls_go_to_the_trackio_callback_run(real_trackio_python, clean_env, tmp_path):
    # TRL's own code where it is cheap to run (profiling), its GRPO/RLOO completion-table and async GRPO
    # rollout-trace calls as written there (trackio.log with trackio.Table / trackio.Image / trackio.Trace).
    code = """
    import json, warnings
    import numpy as np
    import pandas as pd
    import trackio, trackio_callback
    from transformers.integrations.integration_utils import get_reporting_integration_callbacks
    from trl.extras.profiling import ProfilingContext

    (callback,) = get_reporting_integration_callbacks(["trackio"])
    run = trackio_callback.init(project="trl", name="grpo")  # what report_to="trackio"'s callback opens
    run.log({"train/loss": 0.5}, step=1)
    with ProfilingContext(name="GRPOTrainer._generate", report_to=["trackio"], step=1):
        pass
    df = pd.DataFrame({"step": [1, 1], "prompt": ["2+2=", "3+3="], "completion": ["4", "6"], "reward": [1.0, 0.0]})
    images = [[trackio.Image(np.zeros((4, 6, 3), dtype=np.uint8))], []]
    df = pd.concat([df, pd.Series(images, name="image")], axis=1)
    trackio.log({"completions": trackio.Table(dataframe=df)})
    traces = [trackio.Trace(messages=[{"role": "user", "content": "2+2="}], metadata={"reward": 1.0})]
    trackio.log({"rollouts": traces}, step=1)
    run.finish()
    with warnings.catch_warnings(record=True) as caught:  # train() ended, evaluate() has not reopened the run
        warnings.simplefilter("always")
        with ProfilingContext(name="GRPOTrainer._generate", report_to=["trackio"], step=2):
            pass
    print(json.dumps({
        "callback": f"{callback.__module__}.{callback.__name__}",
        "trackio": trackio.__file__,
        "gap": [str(w.message) for w in caught],
    }))
    """
    found = _last_json(_run(real_trackio_python, code, clean_env))
    assert found["callback"] == OURS and "trackio_callback" not in found["trackio"]
    assert any("trackio.log() without an active run" in message for message in found["gap"])
    reader = Reader(tmp_path / "hf" / "trackio-callback")
    assert reader.series("trl", "grpo", "profiling/Time taken: GRPOTrainer._generate").steps == [1]
    (completions,) = reader.tables("trl", "grpo")
    assert completions["key"] == "completions" and completions["step"] == 1
    assert completions["columns"] == ["step", "prompt", "completion", "reward", "image"]
    (image,) = completions["rows"][0][4]  # the cell's image, stored as a file
    assert completions["rows"] == [[1, "2+2=", "4", 1.0, [image]], [1, "3+3=", "6", 0.0, []]]
    assert (image["_type"], image["format"], image["width"], image["height"]) == ("trackio.image", "png", 6, 4)
    assert not np.asarray(PILImage.open(io.BytesIO(reader.media_bytes("trl", image["digest"])))).any()  # zeros
    (rollouts,) = reader.traces("trl", "grpo")
    assert rollouts["key"] == "rollouts" and rollouts["step"] == 1
    assert rollouts["value"] == [
        {"messages": [{"role": "user", "content": "2+2="}], "metadata": {"reward": 1.0}, "spans": []}
    ]
    assert not (tmp_path / "hf" / "trackio").exists()  # nothing went to the real trackio


# -- the rules, with a stand-in for an installed trackio (no download) ----------------------------------------

FAKE_TRACKIO = """
import contextvars
from types import SimpleNamespace
context_vars = SimpleNamespace(current_run=contextvars.ContextVar("current_run", default=None))
logged = []
def log(metrics, step=None):
    if context_vars.current_run.get() is None:
        raise RuntimeError("Call trackio.init() before trackio.log().")
    logged.append((metrics, step))
"""


def _fake_site(tmp_path: Path, with_metadata: bool) -> Path:
    site = tmp_path / "site"
    (site / "trackio").mkdir(parents=True)
    (site / "trackio" / "__init__.py").write_text(FAKE_TRACKIO)
    (site / "trackio" / "sub.py").write_text("NAME = 'sub'\n")
    if with_metadata:  # what pip leaves next to an installed package
        info = site / "trackio-0.0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: trackio\nVersion: 0.0.1\n")
    return site


ROUTING = """
import json
import trackio, trackio.sub, trackio_callback
run = trackio_callback.init(project="p", name="r")
trackio.log({"loss": 1.5}, step=2)
trackio.context_vars.current_run.set("trackio's own run")
trackio.log({"loss": 9.0}, step=3)
run.finish()
print(json.dumps({"file": trackio.__file__, "sub": trackio.sub.NAME, "theirs": trackio.logged}))
"""


def test_an_installed_trackio_is_imported_and_its_log_routed(tmp_path, store_dir):
    env = {"PYTHONPATH": f"{_fake_site(tmp_path, with_metadata=True)}:{ROOT}"}
    found = _last_json(run_python(ROUTING, env=env))
    assert found["file"] == str(tmp_path / "site" / "trackio" / "__init__.py") and found["sub"] == "sub"
    assert found["theirs"] == [[{"loss": 9.0}, 3]]  # trackio's own run gets everything
    assert Reader(store_dir).series("p", "r", "loss").values == [1.5]


def test_a_trackio_imported_before_the_hook_is_routed_by_import_trackio_callback(tmp_path, store_dir):
    code = """
    import json, sys
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "TrackioCallbackFinder"]  # no .pth run
    import trackio
    before = hasattr(trackio.log, "__wrapped__")
    import trackio_callback
    run = trackio_callback.init(project="p", name="r")
    trackio.log({"loss": 1.5}, step=2)
    run.finish()
    print(json.dumps({"before": before, "theirs": trackio.logged}))
    """
    env = {"PYTHONPATH": f"{_fake_site(tmp_path, with_metadata=True)}:{ROOT}"}
    assert _last_json(run_python(code, env=env)) == {"before": False, "theirs": []}
    assert Reader(store_dir).series("p", "r", "loss").values == [1.5]


# -- without the real trackio: as before ---------------------------------------------------------------------


@pytest.mark.parametrize("stray_folder", [False, True], ids=["nothing", "a-stray-trackio-folder"])
def test_without_the_real_trackio_import_trackio_is_still_this_package(tmp_path, store_dir, stray_folder):
    code = """
    import json
    import trackio, trackio_callback
    run = trackio_callback.init(project="p", name="r")
    trackio.log({"loss": 1.5}, step=2)
    run.finish()
    try:
        import trackio.sqlite_storage
        submodule = "imported"
    except ModuleNotFoundError as error:
        submodule = str(error)
    print(json.dumps({"file": trackio.__file__, "submodule": submodule, "routed": hasattr(trackio.log, "__wrapped__")}))
    """
    # A `trackio` folder without the distribution's metadata is not an installed trackio: still shadowed.
    site = _fake_site(tmp_path, with_metadata=False) if stray_folder else None
    env = {"PYTHONPATH": f"{site}:{ROOT}"} if site else None
    found = _last_json(run_python(code, env=env))
    assert found["file"].endswith("trackio_module.py") and not found["routed"]
    assert "'trackio' is not a package" in found["submodule"]
    assert Reader(store_dir).series("p", "r", "loss").values == [1.5]


# -- the same API: names and signatures compared with the real trackio -------------------------------------

_COMPARE_API = r'''
import enum, inspect, json
import trackio
import trackio_callback
from trackio_callback.compat.trackio_names import TRACKIO_ALL

EMPTY = inspect.Parameter.empty


def parameters(function):
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    return [(p.name, p.kind.name, "<none>" if p.default is EMPTY else repr(p.default))
            for p in signature.parameters.values() if p.name != "self"]


def differences(theirs, ours):
    """What trackio's parameter list has that ours lacks; ours may add parameters that have defaults."""
    if theirs is None:
        return []
    ours_by_name = {name: (kind, default) for name, kind, default in ours}
    # Ours may give a default where trackio requires the argument (init's project: $TRACKIO_PROJECT).
    problems = [f"{name} ({kind}, default {default})" for name, kind, default in theirs
                if ours_by_name.get(name) != (kind, default)
                and not (default == "<none>" and ours_by_name.get(name, ("",))[0] == kind)]
    positional = lambda params: [n for n, kind, _ in params if kind in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")]
    if positional(ours)[: len(positional(theirs))] != positional(theirs):
        problems.append(f"positional order {positional(ours)} vs trackio's {positional(theirs)}")
    theirs_names = {name for name, _, _ in theirs}
    problems += [f"extra {name} without a default" for name, kind, default in ours
                 if name not in theirs_names and default == "<none>" and not kind.startswith("VAR_")]
    return problems


# trackio's helpers for its own dashboard and encoders, not API a script calls (ours encode in the writer
# thread: trackio_callback.media.encoding).
INTERNAL = {"Table": {"to_display_format"}, "Audio": {"ensure_int16_pcm", "write_audio"}, "Video": {"write_video"}}

report = {"all": sorted(trackio.__all__), "mismatches": {}}
for name in trackio.__all__:
    real = getattr(trackio, name)
    try:
        mine = getattr(trackio_callback, name)
    except Exception as error:
        report["mismatches"][name] = f"missing: {type(error).__name__}: {error}"
        continue
    if inspect.isclass(real) and issubclass(real, enum.Enum):
        if [(m.name, m.value) for m in real] != [(m.name, m.value) for m in mine]:
            report["mismatches"][name] = "members differ"
        continue
    if inspect.isclass(real):
        if real.__module__ == "trackio._unsupported":
            continue  # placeholders: both raise on construction (tested apart)
        constructor = None if real.__init__ is object.__init__ else parameters(real.__init__)  # Api: none of its own
        problems = differences(constructor, parameters(mine.__init__) or [])
        methods = [m for m, v in vars(real).items()
                   if callable(getattr(real, m)) and not m.startswith("_") and m not in INTERNAL.get(name, ())]
        problems += [f"method {m} missing" for m in methods if not hasattr(mine, m)]
        problems += [f"{m}: {p}" for m in methods if hasattr(mine, m)
                     for p in differences(parameters(getattr(real, m)), parameters(getattr(mine, m)) or [])]
    elif callable(real):
        problems = differences(parameters(real), parameters(mine) or [])
    else:
        problems = []
    if problems:
        report["mismatches"][name] = problems
print(json.dumps(report))
'''


def test_every_name_of_trackios_api_exists_here_with_its_signature(real_trackio_python, clean_env):
    """Each of trackio 0.43's ``__all__``: trackio's parameters, kinds, defaults and order (ours may add more)."""
    from trackio_callback.compat.trackio_names import TRACKIO_ALL

    found = _last_json(_run(real_trackio_python, _COMPARE_API, clean_env))
    assert found["all"] == sorted(TRACKIO_ALL)
    assert found["mismatches"] == {}


def test_the_placeholders_raise_as_trackios_do(real_trackio_python, clean_env):
    code = """
    import json
    import trackio, trackio_callback
    from trackio_callback.errors import UnsupportedFeatureError
    outcome = {}
    for name in ("ArtifactTTL", "Classes", "EvalTable", "Graph", "JoinedTable", "Molecule", "Plotly", "Settings"):
        kinds = []
        for module in (trackio, trackio_callback):
            try:
                getattr(module, name)()
                kinds.append(None)
            except NotImplementedError as error:
                kinds.append(isinstance(error, UnsupportedFeatureError))
        outcome[name] = kinds
    print(json.dumps(outcome))
    """
    found = _last_json(_run(real_trackio_python, code, clean_env))
    assert found and all(kinds == [False, True] for kinds in found.values()), found
