"""trackio's module-level calls on the current run: `alert`, `log_system`, artifacts, `save`, `sync`, `freeze`.

Each acts on the run `init` started last (`core.run.current_run`); without one, a RuntimeError as
trackio raises (``log`` alone warns instead: see `core.run.log`). `save` also works with only a
``project``; `sync` and `freeze` (the Hub's work is `hub.publish`) write the current run's buffer
first. They are apart from `core.run` so that the run's module keeps to the run.

Example::

    trackio.init(project="p")
    trackio.alert("loss diverged", "loss 9.1 at step 120", level=trackio.AlertLevel.ERROR)
    trackio.save("configs/*.yaml")
    trackio.log_artifact("checkpoints/step-1000", type="model", aliases=["best"])
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import Any

from .. import settings
from ..alerts.levels import AlertLevel
from ..errors import TrackioWarning
from ..store.files import validate_project
from .run import current_run, require_run


def alert(
    title: str, text: str | None = None, level: AlertLevel | str = AlertLevel.WARN, webhook_url: str | None = None
) -> None:
    """Fire an alert on the current run (see `Run.alert`); RuntimeError without one, as in trackio.

    Example::

        trackio.alert("loss diverged", f"loss {loss:.3g} at step {step}", level=trackio.AlertLevel.ERROR)
    """
    require_run("alert").alert(title, text=text, level=level, webhook_url=webhook_url)


def log_system(metrics: Mapping[str, Any]) -> None:
    """trackio's ``log_system``: system metrics, timestamped, to the current run (RuntimeError without one)."""
    require_run("log_system").log_system(metrics)


def log_artifact(
    artifact_or_path: Any,
    name: str | None = None,
    type: str | None = None,  # noqa: A002 - trackio's name
    aliases: list[str] | None = None,
    overwrite: bool = False,
) -> Any:
    """Log an artifact as an output of the current run (see `Run.log_artifact`); RuntimeError without one."""
    return require_run("log_artifact").log_artifact(artifact_or_path, name, type, aliases, overwrite)


def use_artifact(artifact_or_name: Any, type: str | None = None) -> Any:  # noqa: A002 - trackio's name
    """Fetch an artifact version as an input of the current run (see `Run.use_artifact`); RuntimeError without one."""
    return require_run("use_artifact").use_artifact(artifact_or_name, type)


def save(glob_str: str | os.PathLike, project: str | None = None) -> str:
    """Keep the files a path or glob (``**`` for any depth) matches with a project; the folder of their copies.

    Paths are relative to the working directory. ``project`` defaults to the current run's; without
    either, RuntimeError. The current run syncs the files to its dataset.
    """
    from ..artifacts import save as saving

    run = current_run()
    if project is None:
        if run is None:
            raise RuntimeError("save() needs a project: call trackio_callback.init() first, or pass project=")
        project = run.project
    validate_project(project)
    if run is not None and run.project == project:
        return saving.save_files(glob_str, store=run._store, directory=run.dir, project=project, run_uid=run.uid)
    return saving.save_files(glob_str, store=None, directory=settings.storage_dir(None), project=project)


def sync(
    project: str,
    space_id: str | None = None,
    private: bool | None = None,
    force: bool = False,
    run_in_background: bool = False,
    sdk: str = "gradio",
    dataset_id: str | None = None,
    bucket_id: str | None = None,
    frontend_dir: str | os.PathLike | None = None,
) -> str:
    """Send ``project``'s runs to its Hub dataset and deploy the dashboard Space; returns the Space id.

    The work is `hub.publish.publish`; what the current run of ``project`` logged so far is written
    first, so the dataset has it all. ``force`` has no effect (nothing is ever overwritten: a sync only
    adds what the dataset lacks). ``run_in_background=True`` returns at once. ``sdk``: ``"static"`` (the
    page reads the dataset in the browser), ``"gradio"`` or ``"docker"`` (a dashboard server).
    """
    from ..hub import publish

    _not_used(bucket_id, frontend_dir, "sync")
    _flush_current(project)
    return publish.publish(project, space_id, dataset_id, sdk, private=_private(private), background=run_in_background)


def freeze(
    space_id: str,
    project: str,
    new_space_id: str | None = None,
    private: bool | None = None,
    bucket_id: str | None = None,
    frontend_dir: str | os.PathLike | None = None,
) -> str:
    """A static Space showing ``project`` as its dataset is now (`hub.publish.snapshot`); returns its id."""
    from ..hub import publish

    _not_used(bucket_id, frontend_dir, "freeze")
    _flush_current(project)
    return publish.snapshot(space_id, project, new_space_id, private=_private(private))


def _flush_current(project: object) -> None:
    run = current_run()
    if run is not None and run.project == project:
        run.flush()


def _private(private: object) -> bool:
    """Repos are private unless ``private=False`` (trackio's ``None`` means the Hub's default: public)."""
    if private is not None and not isinstance(private, bool):
        raise TypeError(f"private must be True, False or None (private), got {private!r}")
    return private is not False


def _not_used(bucket_id: object, frontend_dir: object, call: str) -> None:
    # Both would change where data goes or what is shown: never ignored in silence.
    if bucket_id is not None:
        warnings.warn(
            f"{call}(bucket_id={bucket_id!r}): Hugging Face Buckets are not used by trackio-callback; the runs go "
            "to the project's Hub dataset (dataset_id=, default '<space_id>-dataset')",
            TrackioWarning,
            stacklevel=3,
        )
    if frontend_dir is not None:
        warnings.warn(
            f"{call}(frontend_dir={str(frontend_dir)!r}): custom front ends are not supported; the Space gets "
            "trackio-callback's dashboard",
            TrackioWarning,
            stacklevel=3,
        )
