"""`SpaceDeployer`: the dashboard as a Hugging Face Space that reads the run's dataset.

The default, ``sdk="static"``, is free for every user: the Space holds only the front end (the same
files ``show()`` serves) and a ``config.json`` naming the dataset; the page reads the dataset's
Parquet files from the Hub in the browser. A private dataset is read with the visitor's own
Hugging Face sign-in (the Space's ``hf_oauth``), never with a token stored in the Space.

``sdk="gradio"`` or ``"docker"`` (for paid hardware) runs the dashboard server on the Space instead
(``trackio-callback show --dataset-id ...``), which pulls the dataset. For a private dataset the
Space then needs a read token as its ``HF_TOKEN`` secret: this package never writes one there; it
says so once.

Files are compared with the Space's by git blob id: a deploy that changes nothing commits nothing.

Example::

    deployer = SpaceDeployer(HfApi(token=token), "alice/trackio", "alice/trackio-dataset")
    deployer.deploy()   # creates the Space (private) if missing, uploads what changed; returns the paths sent
"""

from __future__ import annotations

import hashlib
import json
import logging
from importlib import resources

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

from .. import __version__
from ..core.names import validate_space_sdk

logger = logging.getLogger(__name__)

_FRONT_END_SKIP = {"index.html"}  # at the Space's root; the rest goes under static/


def git_blob_id(content: bytes) -> str:
    """The id git (and the Hub's tree API) gives a file's content."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


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


def _content_id(entry) -> str:
    """What identifies a Space file's content: an LFS file's sha256, else its git blob id."""
    lfs = getattr(entry, "lfs", None)
    return lfs.sha256 if lfs is not None else entry.blob_id


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
    ):
        self.api = api
        self.space_id = space_id
        self.dataset_id = dataset_id
        self.sdk = validate_space_sdk(sdk)
        self.private = private
        self.dataset_private = dataset_private

    def files(self) -> dict[str, bytes]:
        """Every file the Space should hold."""
        if self.sdk == "static":
            config = {"mode": "hub", "dataset_id": self.dataset_id, "hub": self.api.endpoint.rstrip("/")}
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
        remote = {
            entry.path: _content_id(entry)
            for entry in self.api.list_repo_tree(self.space_id, repo_type="space", recursive=True)
            if hasattr(entry, "blob_id")
        }
        operations: list = [
            CommitOperationAdd(path, content)
            for path, content in sorted(wanted.items())
            if remote.get(path) not in (git_blob_id(content), hashlib.sha256(content).hexdigest())
        ]
        managed = ("static/", "app.py", "Dockerfile", "requirements.txt", "config.json")
        operations += [
            CommitOperationDelete(path) for path in sorted(remote) if path not in wanted and path.startswith(managed)
        ]
        if not operations:
            logger.info("Space %s is up to date", self.space_id)
            return []
        self.api.create_commit(
            self.space_id,
            operations,
            commit_message=f"trackio-callback {__version__}: dashboard for {self.dataset_id}",
            repo_type="space",
        )
        return [op.path_in_repo for op in operations]

    def _card(self) -> str:
        lines = [
            "---",
            "title: trackio-callback dashboard",
            "emoji: 📈",
            "colorFrom: yellow",
            "colorTo: gray",
            f"sdk: {self.sdk}",
        ]
        if self.sdk == "static":
            # The visitor's sign-in reads a private dataset; read-repos is the narrowest scope that can.
            lines += ["app_file: index.html", "hf_oauth: true", "hf_oauth_scopes:", "- read-repos"]
        elif self.sdk == "gradio":
            lines += ["app_file: app.py"]
        else:
            lines += ["app_port: 7860"]
        lines += ["pinned: false", "tags:", "- trackio", "- trackio-callback", "---", ""]
        lines += [
            f"# Training dashboard for [{self.dataset_id}](https://huggingface.co/datasets/{self.dataset_id})",
            "",
            "Made by [trackio-callback](https://pypi.org/project/trackio-callback/): charts of every run",
            "synced to the dataset, updated while they train.",
        ]
        if self.sdk == "static" and self.dataset_private:
            lines += ["", "The dataset is private: sign in with Hugging Face on the page to read it."]
        return "\n".join(lines) + "\n"

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
