"""`SpaceDeployer`: the dashboard as a Hugging Face Space that reads the run's dataset.

The default, ``sdk="static"``, is free for every user: the Space holds only the front end (the same
files ``show()`` serves) and a ``config.json`` naming the dataset; the page reads the dataset's
Parquet files from the Hub in the browser. A private dataset is read with the visitor's own
Hugging Face sign-in (the Space's ``hf_oauth``), never with a token stored in the Space.

``sdk="gradio"`` or ``"docker"`` (for paid hardware) runs the dashboard server on the Space instead
(``trackio-callback show --dataset-id ...``), which pulls the dataset. For a private dataset the
Space then needs a read token as its ``HF_TOKEN`` secret: this package never writes one there; it
says so once.

Every deploy offers all the files to ``HfApi.create_commit``, which leaves out those the Space already holds
(it compares each file's id with the one the Hub's preupload answer gives) and makes no commit when nothing is
left: a deploy that changes nothing commits nothing. Files this package put there and no longer wants (``static/``
files of an older release, the files of another ``sdk``) are deleted in the same commit.

Example::

    deployer = SpaceDeployer(HfApi(token=token), "alice/trackio", "alice/trackio-dataset")
    deployer.deploy()   # creates the Space (private) if missing, commits what changed; returns those paths
"""

from __future__ import annotations

import json
import logging
import threading
from contextlib import contextmanager
from importlib import resources

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, SpaceCard, SpaceCardData
from huggingface_hub.hf_api import RepoFile

from ..core.names import validate_space_sdk
from ..version import __version__

logger = logging.getLogger(__name__)

_FRONT_END_SKIP = {"index.html"}  # at the Space's root; the rest goes under static/
_MANAGED = ("static/", "app.py", "Dockerfile", "requirements.txt", "config.json")  # deleted when no longer wanted


def front_end_files() -> dict[str, bytes]:
    """The dashboard's static files as the Space holds them: ``index.html`` and ``static/...``."""
    root = resources.files("trackio_callback.server") / "static"
    files = {"index.html": (root / "index.html").read_bytes()}
    pending = [(root, "static")]
    while pending:
        folder, prefix = pending.pop()
        for entry in folder.iterdir():
            path = f"{prefix}/{entry.name}"
            if entry.is_dir():
                pending.append((entry, path))
            elif entry.name not in _FRONT_END_SKIP and not entry.name.endswith(".entry.js"):
                files[path] = entry.read_bytes()
    return files


class _SkipUnchangedNotice(logging.Filter):
    """Drops huggingface_hub's "No files have been modified since last commit. Skipping to prevent empty commit."
    warning, in the deploying thread only: an unchanged Space is the normal case here (logged at INFO instead)."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread != self.thread or "prevent empty commit" not in record.getMessage()


@contextmanager
def _quiet_when_unchanged():
    hub_logger, notice = logging.getLogger("huggingface_hub.hf_api"), _SkipUnchangedNotice()
    hub_logger.addFilter(notice)
    try:
        yield
    finally:
        hub_logger.removeFilter(notice)


class SpaceDeployer:
    """Creates a run's dashboard Space if missing and keeps its files current (only changed ones are sent)."""

    def __init__(
        self,
        api: HfApi,
        space_id: str,
        dataset_id: str,
        *,
        sdk: str = "static",
        private: bool = True,
        dataset_private: bool = True,
        revision: str | None = None,
        project: str | None = None,
    ):
        self.api = api
        self.space_id = space_id
        self.dataset_id = dataset_id
        self.sdk = validate_space_sdk(sdk)
        self.private = private
        self.dataset_private = dataset_private
        self.revision = revision  # a dataset commit: a snapshot (`publish.freeze`); None follows the dataset
        self.project = project  # the project the page opens (a snapshot is of one project)

    def files(self) -> dict[str, bytes]:
        """Every file the Space should hold."""
        if self.sdk == "static":
            config = {"mode": "hub", "dataset_id": self.dataset_id, "hub": self.api.endpoint.rstrip("/")}
            if self.revision is not None:
                config["revision"] = self.revision
            if self.project is not None:
                config["project"] = self.project
            files = front_end_files()
            files["config.json"] = (json.dumps(config, indent=2) + "\n").encode()
        else:
            files = self._server_files()
        files["README.md"] = self._card().encode()
        return files

    def deploy(self) -> list[str]:
        """Create the Space (``exist_ok``), then commit the files that differ. Returns the paths committed."""
        self.api.create_repo(self.space_id, repo_type="space", space_sdk=self.sdk, private=self.private, exist_ok=True)
        wanted = self.files()
        before = self._blob_ids()
        operations: list = [CommitOperationAdd(path, content) for path, content in sorted(wanted.items())]
        operations += [
            CommitOperationDelete(path) for path in sorted(before) if path not in wanted and path.startswith(_MANAGED)
        ]
        with _quiet_when_unchanged():  # create_commit leaves out unchanged files, and commits nothing if none is left
            self.api.create_commit(
                self.space_id,
                operations,
                commit_message=f"trackio-callback {__version__}: dashboard for {self.dataset_id}",
                repo_type="space",
            )
        after = self._blob_ids()
        committed = sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))
        if not committed:
            logger.info("Space %s is up to date", self.space_id)
        return committed

    def _blob_ids(self) -> dict[str, str]:
        """The Space's files, path -> git blob id (an LFS file's is its pointer's: it changes with the content)."""
        entries = self.api.list_repo_tree(self.space_id, repo_type="space", recursive=True)
        return {entry.path: entry.blob_id for entry in entries if isinstance(entry, RepoFile)}

    def _card(self) -> str:
        if self.sdk == "static":
            # The visitor's sign-in reads a private dataset; read-repos is the narrowest scope that can.
            settings: dict = {"app_file": "index.html", "hf_oauth": True, "hf_oauth_scopes": ["read-repos"]}
        elif self.sdk == "gradio":
            settings = {"app_file": "app.py"}
        else:
            settings = {"app_port": 7860}
        data = SpaceCardData(
            title="trackio-callback dashboard",
            emoji="📈",
            colorFrom="yellow",
            colorTo="gray",
            sdk=self.sdk,
            pinned=False,
            tags=["trackio", "trackio-callback"],
            **settings,
        )
        lines = [
            f"# Training dashboard for [{self.dataset_id}](https://huggingface.co/datasets/{self.dataset_id})",
            "",
            "Made by [trackio-callback](https://pypi.org/project/trackio-callback/): charts of every run",
            "synced to the dataset, updated while they train.",
        ]
        if self.revision is not None:
            lines += ["", f"A snapshot: it shows the dataset as it was at commit `{self.revision}`."]
        if self.sdk == "static" and self.dataset_private:
            lines += ["", "The dataset is private: sign in with Hugging Face on the page to read it."]
        return str(SpaceCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines) + "\n"))

    def _server_files(self) -> dict[str, bytes]:
        command = ["trackio-callback", "show", "--dataset-id", self.dataset_id, "--host", "0.0.0.0", "--port", "7860"]
        requirement = f"trackio-callback[dashboard]>={__version__}"
        if self.sdk == "gradio":
            app = (
                '"""The trackio-callback dashboard server, pulling its dataset (the Space runs `python app.py`)."""\n\n'
                "import os\n\nfrom trackio_callback.cli import main\n\n"
                'os.environ.setdefault("TRACKIO_NO_BROWSER", "1")\n'
                f"raise SystemExit(main({command[1:]!r}))\n"
            )
            return {"app.py": app.encode(), "requirements.txt": f"{requirement}\n".encode()}
        dockerfile = (
            "FROM python:3.12-slim\n"
            "RUN useradd -m -u 1000 user\n"
            "USER user\n"
            "ENV HOME=/home/user PATH=/home/user/.local/bin:$PATH TRACKIO_NO_BROWSER=1\n"
            f'RUN pip install --no-cache-dir --user "{requirement}"\n'
            "EXPOSE 7860\n"
            f"CMD {json.dumps(command)}\n"
        )
        return {"Dockerfile": dockerfile.encode()}
