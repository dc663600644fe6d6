"""The dashboard Space: created private, only changed files sent, no token anywhere in it."""

from __future__ import annotations

import json
import logging

import pytest
from huggingface_hub import SpaceCard

import trackio_callback as trackio
from trackio_callback.hub import space as space_module
from trackio_callback.hub.space import SpaceDeployer, front_end_files


def test_a_static_space_holds_the_front_end_and_names_the_dataset(hub):
    sent = SpaceDeployer(hub.api(), "alice/board", "alice/board-dataset").deploy()
    files = hub.repo_files("alice/board", repo_type="space")
    assert sorted(sent) == sorted(files.keys() - {".gitattributes"})
    assert files["index.html"] == front_end_files()["index.html"]
    assert {"static/app.js", "static/sources.js", "static/style.css", "static/vendor/uPlot.iife.min.js"} <= set(files)
    assert {"static/vendor/licenses/uPlot-LICENSE", "static/vendor/licenses/hyparquet-LICENSE"} <= set(files)
    assert json.loads(files["config.json"]) == {"mode": "hub", "dataset_id": "alice/board-dataset", "hub": hub.url}
    card = hub.card_data("alice/board", "space")
    assert card["sdk"] == "static" and card["app_file"] == "index.html"
    assert card["hf_oauth"] is True and card["hf_oauth_scopes"] == ["read-repos"]
    assert SpaceCard(files["README.md"].decode()).data.to_dict() == {
        "title": "trackio-callback dashboard",
        "emoji": "📈",
        "colorFrom": "yellow",
        "colorTo": "gray",
        "sdk": "static",
        "app_file": "index.html",
        "hf_oauth": True,
        "hf_oauth_scopes": ["read-repos"],
        "pinned": False,
        "tags": ["trackio", "trackio-callback"],
    }
    assert "sign in with Hugging Face on the page" in SpaceCard(files["README.md"].decode()).text
    repo = hub.repo("alice/board", repo_type="space")
    assert repo.private, "Spaces the package creates are private unless asked otherwise"


def test_redeploying_sends_only_what_changed(hub, monkeypatch):
    deployer = SpaceDeployer(hub.api(), "alice/board", "alice/board-dataset")
    deployer.deploy()
    commits = hub.commit_count("alice/board", repo_type="space")
    assert deployer.deploy() == []
    assert hub.commit_count("alice/board", repo_type="space") == commits

    original = front_end_files()
    changed = dict(original, **{"static/app.js": original["static/app.js"] + b"\n// a newer release\n"})
    del changed["static/style.css"]
    monkeypatch.setattr(space_module, "front_end_files", lambda: dict(changed))
    assert sorted(deployer.deploy()) == ["static/app.js", "static/style.css"]  # updated, and a stale file deleted
    files = hub.repo_files("alice/board", repo_type="space")
    assert files["static/app.js"].endswith(b"// a newer release\n") and "static/style.css" not in files
    assert hub.commit_count("alice/board", repo_type="space") == commits + 1


def test_a_public_space_when_asked(hub):
    SpaceDeployer(hub.api(), "alice/open-board", "alice/open-data", private=False, dataset_private=False).deploy()
    assert not hub.repo("alice/open-board", repo_type="space").private
    assert "sign in" not in hub.repo_files("alice/open-board", repo_type="space")["README.md"].decode()


@pytest.mark.parametrize("sdk", ["gradio", "docker"])
def test_server_spaces_run_the_dashboard_on_the_dataset(hub, sdk):
    SpaceDeployer(hub.api(), "alice/board", "alice/board-dataset", sdk=sdk).deploy()
    files = hub.repo_files("alice/board", repo_type="space")
    assert hub.card_data("alice/board", "space")["sdk"] == sdk
    assert "config.json" not in files and "static/app.js" not in files
    command = ["show", "--dataset-id", "alice/board-dataset", "--host", "0.0.0.0", "--port", "7860"]
    if sdk == "gradio":
        assert repr(command) in files["app.py"].decode()
        assert hub.card_data("alice/board", "space")["app_file"] == "app.py"
        assert files["requirements.txt"].decode().startswith("trackio-callback[dashboard]>=")
    else:
        assert json.dumps(["trackio-callback", *command]) in files["Dockerfile"].decode()
        assert hub.card_data("alice/board", "space")["app_port"] == 7860
    for content in files.values():
        assert b"hf_test_token" not in content


def test_switching_sdk_removes_the_other_kinds_files(hub):
    SpaceDeployer(hub.api(), "alice/board", "alice/data", sdk="docker").deploy()
    SpaceDeployer(hub.api(), "alice/board", "alice/data", sdk="static").deploy()
    files = hub.repo_files("alice/board", repo_type="space")
    assert "Dockerfile" not in files and "config.json" in files


def test_init_with_a_space_creates_it_from_the_uploader_thread(hub):
    run = trackio.init(project="p", name="r", space_id="board")
    run.log({"loss": 1.0})
    run.finish()
    assert hub.has_repo("alice/board", repo_type="space")
    files = hub.repo_files("alice/board", repo_type="space")
    assert json.loads(files["config.json"])["dataset_id"] == "alice/board-dataset"
    settings = trackio.Reader().run("p", "r")["settings"]
    assert settings["space_sdk"] == "static"
    assert not hub.space_variables("alice/board"), "no variables (and so no token) are set on the Space"
    secrets = [r for r in hub.requests() if "secrets" in r.path]
    assert not secrets


def test_a_space_that_cannot_be_created_warns_and_metrics_still_sync(hub):
    hub.fail_next(1, status=403, endpoint="create_repo")
    with pytest.warns(trackio.TrackioWarning, match="dashboard Space alice/board failed"):
        run = trackio.init(project="p", name="r", space_id="board")
        run.log({"loss": 1.0})
        run.finish()
    assert any(path.startswith("metrics/p/") for path in hub.repo_files("alice/board-dataset"))


def test_a_bad_space_sdk_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match=r"space_sdk must be one of 'static', 'gradio', 'docker', got 'streamlit'"):
        trackio.init(project="p", space_sdk="streamlit")


def test_unchanged_files_do_not_travel_and_an_unchanged_space_is_not_news(hub, monkeypatch, caplog):
    deployer = SpaceDeployer(hub.api(), "alice/board", "alice/data")
    deployer.deploy()
    commits = len(hub.requests("commit", "alice/board"))
    with caplog.at_level(logging.INFO):
        assert deployer.deploy() == []
    assert len(hub.requests("commit", "alice/board")) == commits, "no commit request at all"
    assert "up to date" in caplog.text and "empty commit" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    original = front_end_files()
    newer = original["static/app.js"] + b"\n// a newer release\n"
    monkeypatch.setattr(space_module, "front_end_files", lambda: dict(original, **{"static/app.js": newer}))
    before = hub.bytes_received("commit", "alice/board")
    assert deployer.deploy() == ["static/app.js"]
    sent = hub.bytes_received("commit", "alice/board") - before
    assert len(newer) < sent < len(newer) * 4 / 3 + 2000, "only the changed file's content is in the commit"
