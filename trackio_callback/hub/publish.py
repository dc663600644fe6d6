"""What trackio's ``sync`` and ``freeze`` do here (their signatures: `core.shortcuts`): a project's runs
sent to its Hub dataset, shown by a Space.

transformers' own ``TrackioCallback`` calls them: ``sync(project, sdk="static", space_id=...)`` on
``push_to_hub`` (so the model card can link to a dashboard) and ``freeze(space_id, project,
new_space_id=...)`` at the end of training. Here

- `publish` sends what the project's dataset lacks (the exactly-once uploader, as ``trackio-callback
  sync`` does), then creates or updates the dashboard Space reading that dataset;
- `snapshot` does the same, then deploys a static Space pinned to the dataset's commit of that
  moment: a read-only snapshot that later syncs do not change.

The dataset is the one the project's runs were started with, else ``dataset_id``, else
``<space_id>-dataset`` (as `init` names it). Repos are private unless ``private=False``: a private
static Space reads its dataset with the visitor's Hugging Face sign-in.

Example::

    publish("my-project", "alice/my-dashboard", None, "static", private=True)  # "alice/my-dashboard"
    snapshot("alice/my-dashboard", "my-project", None, private=True)           # "alice/my-dashboard_static"
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

from .. import settings
from ..errors import HubTokenError
from ..store.files import project_path, validate_project
from ..store.reader import Reader

logger = logging.getLogger(__name__)


def publish(
    project: str, space_id: str | None, dataset_id: str | None, sdk: str, *, private: bool, background: bool = False
) -> str:
    """Send ``project``'s runs to its Hub dataset, then create or update the dashboard Space; the Space id.

    ``background=True`` returns at once and does the work in a (non-daemon) thread.
    """
    from ..core.names import validate_space_sdk

    validate_project(project)
    validate_space_sdk(sdk)
    directory = settings.storage_dir(None)
    space_id, dataset_id = _defaults(directory, project, space_id, dataset_id)
    target = _resolve(space_id, dataset_id)

    def work() -> None:
        _send(directory, project, target.dataset_id)
        _deploy(target, target.space_id, sdk, private=private)

    if background:
        threading.Thread(target=_logged(work), name="trackio-callback-sync", daemon=False).start()
    else:
        work()
    return target.space_id


def snapshot(space_id: str, project: str, new_space_id: str | None, *, private: bool) -> str:
    """A static Space showing ``project`` as its dataset is now; its id (``<space_id>_static`` by default).

    The project's runs are synced first, so the snapshot holds what is local too. The Space pins the
    dataset's commit: later syncs to the dataset do not change what it shows.
    """
    from huggingface_hub import HfApi

    validate_project(project)
    if not isinstance(space_id, str) or not space_id:
        raise ValueError(f"freeze() needs the id of the project's Space, like 'user/name'; got {space_id!r}")
    directory = settings.storage_dir(None)
    space_id, dataset_id = _defaults(directory, project, space_id, None)
    source = _resolve(space_id, dataset_id)
    _send(directory, project, source.dataset_id)
    frozen = _resolve(new_space_id or f"{source.space_id}_static", source.dataset_id)
    revision = HfApi(endpoint=source.endpoint, token=source.token).dataset_info(source.dataset_id).sha
    _deploy(frozen, frozen.space_id, "static", private=private, revision=revision, project=project)
    return frozen.space_id


def _defaults(directory: Path, project: str, space_id: str | None, dataset_id: str | None) -> tuple[str, str | None]:
    """The Space and dataset of ``project``: as given, else those its runs were started with."""
    runs = []
    if project_path(directory, project).exists():
        with Reader(directory) as reader:
            runs = reader.runs(project)
    started = [run["settings"] for run in runs]
    if space_id is None:
        space_id = next((s["space_id"] for s in started if s.get("space_id")), None) or _space_name(project)
    if dataset_id is None:
        same_space = [s for s in started if s.get("space_id") in (space_id, *_with_owner(s, space_id))]
        dataset_id = next((s["dataset_id"] for s in same_space if s.get("dataset_id")), None)
    return space_id, dataset_id


def _with_owner(started: dict, space_id: str) -> tuple[str, ...]:
    """``space_id`` as `init` stored it: a bare name gets the owner of the run's full Space id."""
    full = started.get("space_id") or ""
    return (full,) if "/" not in space_id and full.endswith("/" + space_id) else ()


def _space_name(project: str) -> str:
    """A Space name for a project that has none yet: the same for every call, so syncs meet in one Space."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", project).strip("-._")[:80] or "project"
    return f"trackio-{slug}"


def _resolve(space_id: str, dataset_id: str | None):
    from .repo import resolve

    return resolve(space_id, dataset_id)  # a missing or rejected token stops here, naming HF_TOKEN


def _send(directory: Path, project: str, dataset_id: str) -> None:
    from .commands import sync as sync_runs

    if project_path(directory, project).exists():
        for label, result in sync_runs(directory, project, dataset_id=dataset_id).items():
            logger.info("%s: %s", label, result)


def _deploy(target, space_id: str, sdk: str, *, private: bool, revision: str | None = None, project: str | None = None):
    from huggingface_hub import HfApi

    from .space import SpaceDeployer

    api = HfApi(endpoint=target.endpoint, token=target.token)
    SpaceDeployer(
        api, space_id, target.dataset_id, sdk=sdk, private=private, dataset_private=private,
        revision=revision, project=project,
    ).deploy()  # fmt: skip


def _logged(work):
    def run() -> None:
        try:
            work()
        except HubTokenError as error:
            logger.error("trackio sync in the background failed: %s", error)
        except Exception:
            logger.exception("trackio sync in the background failed")

    return run
