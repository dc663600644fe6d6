"""The Hub emulator (``tests/hub_emulator.py``) against the real ``huggingface_hub`` client and ``datasets``.

These tests also pin the client behaviours an uploader relies on: which calls the client retries (``preupload``, reads)
and which it does not (``create_commit``, ``create_repo``, ``whoami``), what it raises for each status, and that a
commit whose answer is lost may still have landed.
"""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    HfFileSystem,
    constants,
    hf_hub_download,
)
from huggingface_hub.errors import (
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from tests.helpers import run_python
from tests.hub_emulator import (  # noqa: F401 (hub_fixture)
    DEFAULT_GITATTRIBUTES,
    OTHER_TOKEN,
    HubEmulator,
    git_blob_id,
    hub_fixture,
    pkce_challenge,
)
from tests.space_host import SpaceHost

DS = "alice/ds"


def _dataset(api: HfApi, repo_id: str = DS, *, private: bool = True) -> None:
    api.create_repo(repo_id, repo_type="dataset", private=private)


def _parquet(columns: dict[str, list]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------------- accounts & repos


def test_whoami_and_invalid_tokens(hub: HubEmulator):
    assert hub.api().whoami()["name"] == "alice"
    with pytest.raises(HfHubHTTPError) as raised:
        hub.api(token="hf_not_a_token").whoami()
    assert raised.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as raised:
        hub.api(token="hf_not_a_token").create_repo("alice/x", repo_type="dataset")
    assert raised.value.response.status_code == 401
    assert raised.value.response.headers["X-Error-Message"] == "Invalid credentials in Authorization header"
    assert not hub.has_repo("alice/x")


def test_create_repo_private_conflict_and_exist_ok(hub: HubEmulator):
    api = hub.api()
    url = api.create_repo(DS, repo_type="dataset", private=True)
    assert (url.repo_id, url.repo_type, str(url)) == (DS, "dataset", f"{hub.url}/datasets/{DS}")
    assert hub.repo(DS).private and api.dataset_info(DS).private
    assert hub.repo_files(DS) == {".gitattributes": DEFAULT_GITATTRIBUTES}  # the Hub's "initial commit"
    with pytest.raises(HfHubHTTPError) as raised:
        api.create_repo(DS, repo_type="dataset")
    assert raised.value.response.status_code == 409
    assert api.create_repo(DS, repo_type="dataset", exist_ok=True).repo_id == DS
    api.create_repo("alice/public", repo_type="dataset")
    assert api.repo_info("alice/public", repo_type="dataset").private is False
    api.update_repo_settings("alice/public", repo_type="dataset", private=True)
    assert hub.repo("alice/public").private
    assert hub.commit_count(DS) == 1


def test_other_namespaces_and_private_repos(hub: HubEmulator):
    api, bob = hub.api(), hub.api(token=OTHER_TOKEN)
    _dataset(api)
    with pytest.raises(HfHubHTTPError) as raised:
        api.create_repo("bob/mine", repo_type="dataset")
    assert raised.value.response.status_code == 403
    with pytest.raises(RepositoryNotFoundError) as raised:  # private: invisible to others, 404 with a token
        bob.dataset_info(DS)
    assert raised.value.response.status_code == 404
    with pytest.raises(RepositoryNotFoundError) as raised:  # ... and 401 without one
        hub.api(token=False).dataset_info(DS)
    assert raised.value.response.status_code == 401
    api.create_repo("alice/open", repo_type="dataset")
    assert bob.dataset_info("alice/open").id == "alice/open"
    with pytest.raises(HfHubHTTPError) as raised:
        bob.upload_file(path_or_fileobj=b"x", path_in_repo="x", repo_id="alice/open", repo_type="dataset")
    assert raised.value.response.status_code == 403
    assert hub.commit_count("alice/open") == 1


# ------------------------------------------------------------------------------------------------------ commits


def test_upload_file_and_multi_operation_commit(hub: HubEmulator):
    api = hub.api()
    _dataset(api)
    api.upload_file(path_or_fileobj=b"first", path_in_repo="logs/a.txt", repo_id=DS, repo_type="dataset")
    api.upload_file(path_or_fileobj=b"old", path_in_repo="old/x.bin", repo_id=DS, repo_type="dataset")
    hub.clear_log()
    info = api.create_commit(
        DS,
        [
            CommitOperationAdd("data/p0.bin", b"\x00\x01binary"),
            CommitOperationAdd("data/p1.bin", b""),
            CommitOperationDelete("logs/a.txt"),
            CommitOperationDelete("old/"),
        ],
        commit_message="batch",
        commit_description="two adds, two deletes",
        repo_type="dataset",
    )
    assert hub.repo_files(DS) == {
        ".gitattributes": DEFAULT_GITATTRIBUTES,
        "data/p0.bin": b"\x00\x01binary",
        "data/p1.bin": b"",
    }
    commit = hub.commits(DS)[-1]
    assert (commit.oid, commit.title, commit.message, commit.author) == (
        info.oid,
        "batch",
        "two adds, two deletes",
        "alice",
    )
    assert [record.endpoint for record in hub.requests()] == ["preupload", "commit"]
    assert all(record.user == "alice" for record in hub.requests())  # create_commit sends the token
    assert hub.bytes_received("commit") > len(b"\x00\x01binary") * 4 / 3
    assert api.list_repo_files(DS, repo_type="dataset") == [".gitattributes", "data/p0.bin", "data/p1.bin"]
    top = {entry.path: type(entry).__name__ for entry in api.list_repo_tree(DS, repo_type="dataset")}
    assert top == {".gitattributes": "RepoFile", "data": "RepoFolder"}
    sizes = {entry.path: entry.size for entry in api.list_repo_tree(DS, "data", repo_type="dataset")}
    assert sizes == {"data/p0.bin": 8, "data/p1.bin": 0}
    assert hub.commit_count(DS) == 4


def test_unchanged_files_are_skipped_by_the_client(hub: HubEmulator):
    api = hub.api()
    _dataset(api)
    api.upload_file(path_or_fileobj=b"same", path_in_repo="a.txt", repo_id=DS, repo_type="dataset")
    hub.clear_log()
    info = api.upload_file(path_or_fileobj=b"same", path_in_repo="a.txt", repo_id=DS, repo_type="dataset")
    # preupload answered the file's current oid: the client made no (empty) commit, it asked for the head instead
    assert [record.endpoint for record in hub.requests()] == ["preupload", "repo_info"]
    assert hub.commit_count(DS) == 2 and info.oid == hub.commits(DS)[-1].oid


def test_commits_are_atomic_and_check_the_parent(hub: HubEmulator):
    api = hub.api()
    _dataset(api)
    before = hub.repo_files(DS)
    with pytest.raises(RemoteEntryNotFoundError):
        api.create_commit(
            DS,
            [CommitOperationAdd("new.txt", b"new"), CommitOperationDelete("missing.txt")],
            commit_message="half",
            repo_type="dataset",
        )
    assert hub.repo_files(DS) == before and hub.commit_count(DS) == 1
    stale = hub.commits(DS)[0].oid
    api.upload_file(path_or_fileobj=b"1", path_in_repo="one.txt", repo_id=DS, repo_type="dataset")
    with pytest.raises(HfHubHTTPError) as raised:
        api.upload_file(
            path_or_fileobj=b"2", path_in_repo="two.txt", repo_id=DS, repo_type="dataset", parent_commit=stale
        )
    assert raised.value.response.status_code == 412
    assert "two.txt" not in hub.repo_files(DS)


def test_readme_front_matter_goes_through_validate_yaml(hub: HubEmulator):
    api = hub.api()
    _dataset(api)
    good = b"---\nconfigs:\n- config_name: metrics\n  data_files: metrics/*.parquet\n---\n# Runs\n"
    api.upload_file(path_or_fileobj=good, path_in_repo="README.md", repo_id=DS, repo_type="dataset")
    assert [record.status for record in hub.requests("validate_yaml")] == [200]  # README.md is checked first
    assert api.dataset_info(DS).card_data.to_dict()["configs"][0]["config_name"] == "metrics"
    with pytest.raises(ValueError, match="Invalid metadata in README.md"):
        api.upload_file(
            path_or_fileobj=b"---\nconfigs: [\n---\n", path_in_repo="README.md", repo_id=DS, repo_type="dataset"
        )
    assert hub.repo_files(DS)["README.md"] == good


def test_super_squash_history_keeps_the_files(hub: HubEmulator):
    api = hub.api()
    _dataset(api)
    for index in range(3):
        api.upload_file(path_or_fileobj=b"%d" % index, path_in_repo=f"f{index}", repo_id=DS, repo_type="dataset")
    files = hub.repo_files(DS)
    assert len(api.list_repo_commits(DS, repo_type="dataset")) == 4
    api.super_squash_history(DS, repo_type="dataset", commit_message="squashed")
    assert [commit.title for commit in api.list_repo_commits(DS, repo_type="dataset")] == ["squashed"]
    assert hub.repo_files(DS) == files and hub.commit_count(DS) == 1


# -------------------------------------------------------------------------------------------------------- reads


def test_hf_hub_download_and_ranges(hub: HubEmulator, tmp_path):
    api = hub.api()
    _dataset(api)
    payload = bytes(range(256)) * 40
    api.upload_file(path_or_fileobj=payload, path_in_repo="blob/data.bin", repo_id=DS, repo_type="dataset")
    path = hf_hub_download(
        DS, "blob/data.bin", repo_type="dataset", cache_dir=tmp_path, endpoint=hub.url, token="hf_test_token"
    )
    assert Path(path).read_bytes() == payload
    with HfFileSystem(endpoint=hub.url, token="hf_test_token").open(
        f"datasets/{DS}/blob/data.bin", block_size=64
    ) as file:
        file.seek(1000)
        assert file.read(10) == payload[1000:1010]
    assert any(record.endpoint == "resolve" and record.status == 206 for record in hub.requests())
    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download(
            DS, "nope.bin", repo_type="dataset", cache_dir=tmp_path, endpoint=hub.url, token="hf_test_token"
        )
    with pytest.raises(RevisionNotFoundError):
        api.dataset_info(DS, revision="no-such-branch")


def test_tree_pagination(hub: HubEmulator):
    api = hub.api()
    _dataset(api)
    hub.put_files(DS, {f"d/{index:02d}.txt": b"x" for index in range(7)})
    hub.tree_page_size = 3
    hub.clear_log()
    entries = list(api.list_repo_tree(DS, "d", repo_type="dataset", recursive=True))
    assert [entry.path for entry in entries] == [f"d/{index:02d}.txt" for index in range(7)]
    assert len(hub.requests("tree")) == 3


def test_spaces_sdk_secrets_and_variables(hub: HubEmulator):
    api = hub.api()
    space = "alice/board"
    api.create_repo(space, repo_type="space", space_sdk="static", private=True)
    info = api.space_info(space)
    assert (info.sdk, info.private, hub.repo(space, "space").sdk) == ("static", True, "static")
    api.add_space_secret(space, "HF_TOKEN", "hf_secret_value")
    api.add_space_variable(space, "TRACKIO_DATASET_ID", DS, description="where the runs live")
    variables = api.get_space_variables(space)
    assert variables["TRACKIO_DATASET_ID"].value == DS
    assert variables["TRACKIO_DATASET_ID"].description == "where the runs live"
    assert hub.repo(space, "space").secrets["HF_TOKEN"]["value"] == "hf_secret_value"
    assert "HF_TOKEN" in api.get_space_secrets(space)
    api.delete_space_variable(space, "TRACKIO_DATASET_ID")
    api.delete_space_secret(space, "HF_TOKEN")
    assert api.get_space_variables(space) == {} and hub.repo(space, "space").secrets == {}
    api.upload_file(path_or_fileobj=b"<html></html>", path_in_repo="index.html", repo_id=space, repo_type="space")
    assert hub.repo_files(space, "space")["index.html"] == b"<html></html>"
    assert api.get_space_runtime(space).stage == "RUNNING"


# ------------------------------------------------------------------------------------------------------- faults


def test_failed_commit_is_not_retried_and_changes_nothing(hub: HubEmulator):
    api = hub.api()
    _dataset(api)
    hub.fail_next(1, status=500, endpoint="commit")
    with pytest.raises(HfHubHTTPError) as raised:
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=DS, repo_type="dataset")
    assert raised.value.response.status_code == 500
    assert hub.commit_count(DS) == 1 and "x.txt" not in hub.repo_files(DS)
    assert [(record.endpoint, record.status) for record in hub.requests("write")][-2:] == [
        ("preupload", 200),
        ("commit", 500),
    ]


def test_preupload_is_retried_by_the_client(hub: HubEmulator):
    api = hub.api()
    _dataset(api)
    hub.fail_next(1, status=503, endpoint="preupload")
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=DS, repo_type="dataset")
    assert [record.status for record in hub.requests("preupload")] == [503, 200]
    assert hub.repo_files(DS)["x.txt"] == b"x"


def test_dropped_connection_before_the_commit_applies(hub: HubEmulator):
    api = hub.api()
    _dataset(api)
    hub.drop_connection(before_apply=True)
    with pytest.raises(httpx2.RemoteProtocolError):
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=DS, repo_type="dataset")
    assert hub.commit_count(DS) == 1
    assert hub.requests("commit")[-1].status is None and hub.requests("commit")[-1].bytes_received > 0


def test_dropped_connection_after_the_commit_applied(hub: HubEmulator):
    api = hub.api()
    _dataset(api)
    hub.drop_connection(before_apply=False)
    with pytest.raises(httpx2.RemoteProtocolError):
        api.upload_file(path_or_fileobj=b"landed", path_in_repo="x.txt", repo_id=DS, repo_type="dataset")
    assert hub.repo_files(DS)["x.txt"] == b"landed" and hub.commit_count(DS) == 2
    api.upload_file(path_or_fileobj=b"landed", path_in_repo="x.txt", repo_id=DS, repo_type="dataset")
    assert hub.commit_count(DS) == 2  # a blind retry of the same content is skipped by the client (same oid)


def test_rate_limit_surfaces_retry_after(hub: HubEmulator):
    api = hub.api()
    _dataset(api)
    hub.rate_limit(30, retry_after=17, endpoint="commit")
    with pytest.raises(HfHubHTTPError) as raised:
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=DS, repo_type="dataset")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "17"
    hub.reset_faults()
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=DS, repo_type="dataset")
    assert hub.commit_count(DS) == 2


def test_fail_ratio_is_reproducible(hub: HubEmulator):
    api = hub.api()
    _dataset(api)

    def outcomes(seed: int) -> list[bool]:
        hub.fail_ratio(0.5, seed=seed, endpoint="commit")
        results = []
        for index in range(12):
            try:
                api.upload_file(path_or_fileobj=b"%d" % index, path_in_repo="f", repo_id=DS, repo_type="dataset")
                results.append(True)
            except HfHubHTTPError as error:
                assert error.response.status_code == 503
                results.append(False)
        return results

    first, second = outcomes(7), outcomes(7)
    assert first == second and True in first and False in first
    assert hub.commit_count(DS) == 1 + 2 * first.count(True)


def test_go_down_refuses_connections_then_come_up(hub: HubEmulator):
    api = hub.api()
    _dataset(api)
    hub.go_down()
    started = time.monotonic()
    with pytest.raises(httpx2.ConnectError):
        api.whoami()
    assert time.monotonic() - started < 2
    hub.come_up()
    assert api.dataset_info(DS).id == DS


def test_slow_answers(hub: HubEmulator):
    api = hub.api()
    hub.slow(0.3, endpoint="whoami")
    started = time.monotonic()
    api.whoami()
    assert time.monotonic() - started >= 0.3
    hub.slow(0)


# ---------------------------------------------------------------------------------------------- client wiring


def test_patch_client_overrides_offline_mode_and_default_endpoint(hub: HubEmulator, monkeypatch):
    import huggingface_hub

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # what tests/tiny.py leaves behind when imported first
    with pytest.raises(OfflineModeIsEnabled):
        hub.api().whoami()
    hub.patch_client(monkeypatch)
    assert HfApi().whoami()["name"] == "alice"  # default endpoint and HF_TOKEN
    huggingface_hub.create_repo(DS, repo_type="dataset", private=True)
    huggingface_hub.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=DS, repo_type="dataset")
    assert hub.repo_files(DS)["x.txt"] == b"x" and not hub.unhandled()


def test_load_dataset_in_a_subprocess(hub: HubEmulator, tmp_path):
    readme = (
        "---\nconfigs:\n- config_name: metrics\n  data_files:\n  - split: train\n    path: metrics/*.parquet\n"
        "- config_name: runs\n  data_files:\n  - split: train\n    path: runs/*.parquet\n---\n# Runs\n"
    )
    api = hub.api()
    _dataset(api)
    api.create_commit(
        DS,
        [
            CommitOperationAdd("README.md", readme.encode()),
            CommitOperationAdd("metrics/part-0.parquet", _parquet({"step": [1, 2], "loss": [0.5, 0.25]})),
            CommitOperationAdd("metrics/part-1.parquet", _parquet({"step": [3], "loss": [0.125]})),
            CommitOperationAdd("runs/runs.parquet", _parquet({"name": ["a", "b"]})),
        ],
        commit_message="data",
        repo_type="dataset",
    )
    code = f"""
        import json, datasets
        metrics = datasets.load_dataset({DS!r}, "metrics", split="train")
        runs = datasets.load_dataset({DS!r}, "runs", split="train")
        streamed = list(datasets.load_dataset({DS!r}, "metrics", split="train", streaming=True))
        print(json.dumps([metrics.to_dict(), runs.to_dict(), streamed]))
    """
    result = run_python(code, env=hub.env(hf_home=tmp_path / "subprocess_hf_home"), timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics, runs, streamed = json.loads(result.stdout.strip().splitlines()[-1])
    assert metrics == {"step": [1, 2, 3], "loss": [0.5, 0.25, 0.125]}
    assert runs == {"name": ["a", "b"]}
    assert streamed == [{"step": 1, "loss": 0.5}, {"step": 2, "loss": 0.25}, {"step": 3, "loss": 0.125}]
    assert not hub.unhandled() and not hub.internal_errors()
    assert {record.user for record in hub.requests("resolve")} == {"alice"}  # HF_TOKEN reached the private repo
    blob_ids = {entry.path: entry.blob_id for entry in api.list_repo_tree(DS, "metrics", repo_type="dataset")}
    assert blob_ids["metrics/part-1.parquet"] == git_blob_id(hub.repo_files(DS)["metrics/part-1.parquet"])


# ------------------------------------------------------------------------------- browser: CORS, OAuth, static Space

ORIGIN = "http://127.0.0.1:9"  # a page on another origin (a static Space)
REQUIRED_EXPOSED = {"content-range", "content-length", "etag", "x-repo-commit", "link", "accept-ranges"}
VERIFIER = "v" * 20 + "-._~" + "0123456789abcdefghijklmnop"  # 50 characters of the PKCE alphabet


def _exposed(response: httpx2.Response) -> set[str]:
    return {name.strip().lower() for name in response.headers["Access-Control-Expose-Headers"].split(",")}


def _private_dataset(hub: HubEmulator, files: dict[str, bytes] | None = None) -> None:
    hub.create_repo(DS, private=True, files=files or {"runs/a.json": b'{"loss": 0.5}', "runs/b.json": b"{}"})


def _authorize(client: httpx2.Client, hub: HubEmulator, **params: str) -> httpx2.Response:
    query = {
        "client_id": "dashboard",
        "redirect_uri": "http://127.0.0.1:9/callback",
        "response_type": "code",
        "scope": "openid profile read-repos",
        "state": "s-42",
        "code_challenge": pkce_challenge(VERIFIER),
        "code_challenge_method": "S256",
        **params,
    }
    return client.get(f"{hub.url}/oauth/authorize", params=query)


def _redirect_query(response: httpx2.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    return {key: values[0] for key, values in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def _exchange(client: httpx2.Client, hub: HubEmulator, code: str, **fields: str) -> httpx2.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "http://127.0.0.1:9/callback",
        "code_verifier": VERIFIER,
        **fields,
    }
    return client.post(f"{hub.url}/oauth/token", data=form, headers={"Origin": ORIGIN})


def test_pkce_challenge_matches_rfc_7636():
    # the example of RFC 7636, appendix B
    assert (
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_preflight_on_any_path_is_answered_logged_and_never_faulted(hub: HubEmulator):
    _private_dataset(hub)
    hub.fail_next(1, status=500, endpoint="any")
    with httpx2.Client() as client:
        preflight = client.options(
            f"{hub.url}/api/datasets/{DS}/tree/main",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization,range",
            },
        )
        assert preflight.status_code == 204 and preflight.content == b""
        assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert preflight.headers["Access-Control-Allow-Methods"] == "GET, HEAD, POST, PUT, DELETE, OPTIONS"
        assert preflight.headers["Access-Control-Allow-Headers"] == "authorization,range"
        assert int(preflight.headers["Access-Control-Max-Age"]) >= 600
        bare = client.options(f"{hub.url}/oauth/token", headers={"Origin": ORIGIN})  # no request headers: defaults
        assert {"authorization", "range", "content-type"} <= {
            name.strip().lower() for name in bare.headers["Access-Control-Allow-Headers"].split(",")
        }
        # the injected failure was kept for the real request, not spent on the preflights
        assert client.get(f"{hub.url}/api/datasets/{DS}/tree/main", headers={"Origin": ORIGIN}).status_code == 500
    assert [(record.endpoint, record.status) for record in hub.requests()] == [
        ("preflight", 204),
        ("preflight", 204),
        ("tree", 500),
    ]
    assert not hub.unhandled() and [record.endpoint for record in hub.requests("read")] == ["tree"]


def test_cors_headers_on_reads_and_on_errors(hub: HubEmulator):
    _private_dataset(hub)
    alice = {"Authorization": "Bearer hf_test_token", "Origin": ORIGIN}
    with httpx2.Client() as client:
        tree = client.get(f"{hub.url}/api/datasets/{DS}/tree/main/runs?recursive=true&expand=false", headers=alice)
        assert tree.status_code == 200
        assert [(entry["path"], entry["size"]) for entry in tree.json()] == [("runs/a.json", 13), ("runs/b.json", 2)]
        assert tree.headers["Access-Control-Allow-Origin"] == ORIGIN and tree.headers["Vary"] == "Origin"
        resolve = client.get(
            f"{hub.url}/datasets/{DS}/resolve/main/runs/a.json", headers={**alice, "Range": "bytes=1-4"}
        )
        assert (resolve.status_code, resolve.content) == (206, b'"los')
        assert resolve.headers["Content-Range"] == "bytes 1-4/13"
        assert _exposed(resolve) >= REQUIRED_EXPOSED
        no_origin = client.get(
            f"{hub.url}/datasets/{DS}/resolve/main/runs/b.json", headers={"Authorization": "Bearer hf_test_token"}
        )
        assert (no_origin.status_code, no_origin.headers["Access-Control-Allow-Origin"]) == (200, "*")
        anonymous = client.get(f"{hub.url}/datasets/{DS}/resolve/main/runs/a.json", headers={"Origin": ORIGIN})
        missing = client.get(f"{hub.url}/datasets/{DS}/resolve/main/runs/zzz.json", headers=alice)
        hub.rate_limit(30, retry_after=7, endpoint="resolve")
        limited = client.get(f"{hub.url}/datasets/{DS}/resolve/main/runs/a.json", headers=alice)
    assert (anonymous.status_code, missing.status_code, limited.status_code) == (401, 404, 429)
    for error in (anonymous, missing, limited):
        assert error.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert REQUIRED_EXPOSED | {"x-error-code"} <= _exposed(error)
    assert missing.headers["X-Error-Code"] == "EntryNotFound"
    assert limited.headers["Retry-After"] == "7" and "retry-after" in _exposed(limited)


def test_oauth_authorization_code_flow_with_pkce(hub: HubEmulator):
    _private_dataset(hub)
    hub.create_repo("alice/open", files={"x.txt": b"public"})
    app = hub.register_oauth_app("dashboard", redirect_uris=["http://127.0.0.1:9/"], scopes=["read-repos"])
    assert app.scopes == {"openid", "profile", "read-repos"} and hub.oauth_apps() == {"dashboard": app}
    with httpx2.Client() as client:
        config = client.get(f"{hub.url}/.well-known/openid-configuration").json()
        assert (config["authorization_endpoint"], config["token_endpoint"], config["userinfo_endpoint"]) == (
            f"{hub.url}/oauth/authorize",
            f"{hub.url}/oauth/token",
            f"{hub.url}/oauth/userinfo",
        )
        redirect = _authorize(client, hub)
        assert redirect.headers["Location"].startswith("http://127.0.0.1:9/callback?code=")
        query = _redirect_query(redirect)
        assert query["state"] == "s-42" and len(query["code"]) >= 20
        exchange = _exchange(client, hub, query["code"])  # like @huggingface/hub: no client_id, no secret
        assert exchange.status_code == 200, exchange.text
        token = exchange.json()
        assert token["access_token"].startswith("hf_oauth_") and token["access_token"] != query["code"]
        assert (token["token_type"], token["expires_in"], token["scope"]) == (
            "bearer",
            28800,
            "openid profile read-repos",
        )
        assert exchange.headers["Access-Control-Allow-Origin"] == ORIGIN
        bearer = {"Authorization": f"Bearer {token['access_token']}", "Origin": ORIGIN}
        info = client.get(f"{hub.url}/oauth/userinfo", headers=bearer).json()
        assert (info["preferred_username"], info["name"]) == ("alice", "Alice")
        assert info["sub"] == hub.api().whoami()["id"]
        resolve = client.get(f"{hub.url}/datasets/{DS}/resolve/main/runs/a.json", headers=bearer)
        assert (resolve.status_code, resolve.content) == (200, b'{"loss": 0.5}')
        # without read-repos, the same user signed in through the app reads public repos only, as on the Hub
        narrow = _exchange(client, hub, _redirect_query(_authorize(client, hub, scope="openid profile"))["code"])
        assert narrow.json()["scope"] == "openid profile"
        narrow_bearer = {"Authorization": f"Bearer {narrow.json()['access_token']}"}
        assert client.get(f"{hub.url}/datasets/{DS}/resolve/main/runs/a.json", headers=narrow_bearer).status_code == 404
        assert (
            client.get(f"{hub.url}/datasets/alice/open/resolve/main/x.txt", headers=narrow_bearer).content == b"public"
        )
    whoami = hub.api(token=token["access_token"]).whoami()
    assert (whoami["name"], whoami["auth"]["type"]) == ("alice", "oauth")
    with pytest.raises(HfHubHTTPError) as raised:  # read-repos does not allow writes
        hub.api(token=token["access_token"]).upload_file(
            path_or_fileobj=b"x", path_in_repo="x", repo_id=DS, repo_type="dataset"
        )
    assert raised.value.response.status_code == 403
    assert [(grant.user, grant.client_id, grant.scope) for grant in hub.oauth_grants()] == [
        ("alice", "dashboard", "openid profile read-repos"),
        ("alice", "dashboard", "openid profile"),
    ]
    assert hub.revoke_oauth_tokens("alice") == 2
    with pytest.raises(HfHubHTTPError) as raised:
        hub.api(token=token["access_token"]).whoami()
    assert raised.value.response.status_code == 401
    assert {record.endpoint for record in hub.requests()} >= {"oauth_authorize", "oauth_token", "oauth_userinfo"}
    assert not hub.unhandled() and not hub.internal_errors()


def test_oauth_rejections(hub: HubEmulator):
    hub.register_oauth_app("dashboard", redirect_uris=["http://127.0.0.1:9/"], scopes="read-repos")
    with httpx2.Client() as client:
        for params, error in [
            ({"client_id": "nobody"}, "invalid_client"),
            ({"redirect_uri": "http://evil.example/callback"}, "invalid_request"),
            ({"response_type": "token"}, "unsupported_response_type"),
            ({"code_challenge_method": "plain"}, "invalid_request"),
            ({"code_challenge": ""}, "invalid_request"),
            ({"scope": "openid write-repos"}, "invalid_scope"),
        ]:
            answer = _authorize(client, hub, **params)
            assert (answer.status_code, answer.json()["error"]) == (400, error), params
            assert answer.headers["Access-Control-Allow-Origin"] == "*"

        def token_error(code: str, **fields: str) -> tuple[int, str]:
            answer = _exchange(client, hub, code, **fields)
            return answer.status_code, answer.json()["error"]

        code = _redirect_query(_authorize(client, hub))["code"]
        assert token_error(code, code_verifier="w" * 50) == (400, "invalid_grant")
        assert token_error(code) == (400, "invalid_grant")  # the failed attempt consumed the code
        code = _redirect_query(_authorize(client, hub))["code"]
        assert token_error(code, redirect_uri="http://127.0.0.1:9/other") == (400, "invalid_grant")
        code = _redirect_query(_authorize(client, hub))["code"]
        assert token_error(code, client_id="someone-else") == (400, "invalid_grant")
        code = _redirect_query(_authorize(client, hub))["code"]
        assert token_error(code, grant_type="password") == (400, "unsupported_grant_type")
        code = _redirect_query(_authorize(client, hub))["code"]
        assert _exchange(client, hub, code, client_id="dashboard").status_code == 200
        assert token_error(code) == (400, "invalid_grant")  # single use
        assert client.get(f"{hub.url}/oauth/userinfo").status_code == 401
        hub.oauth_user = None  # the visitor refuses: the app gets the error, not a code
        denied = _redirect_query(_authorize(client, hub))
        assert denied == {"error": "access_denied", "error_description": denied["error_description"], "state": "s-42"}
        hub.oauth_user = "bob"
        code = _redirect_query(_authorize(client, hub))["code"]
        bob_token = _exchange(client, hub, code).json()["access_token"]
        assert hub.api(token=bob_token).whoami()["name"] == "bob"
    assert len(hub.oauth_grants()) == 2 and not hub.unhandled() and not hub.internal_errors()


SPACE = "alice/board"
PAGE = b"<!DOCTYPE html>\n<html>\n<HEAD lang=en><title>runs</title></HEAD>\n<body><script src=app.js></script></body>"


def _variables(html: str) -> dict[str, str] | None:
    found = re.findall(r"<script>window\.huggingface = \{variables: (.*?)\}</script>", html)
    assert len(found) <= 1
    return json.loads(found[0]) if found else None


def test_space_host_injects_the_oauth_variables_of_an_hf_oauth_space(hub: HubEmulator):
    readme = b"---\nsdk: static\nhf_oauth: true\nhf_oauth_scopes:\n- read-repos\n---\n# Board\n"
    hub.create_repo(SPACE, "space", sdk="static", files={"README.md": readme, "index.html": PAGE})
    hub.create_repo(DS, private=True, files={"runs/a.json": b"{}"})
    hub.api().add_space_variable(SPACE, "TRACKIO_DATASET_ID", DS)
    with SpaceHost(hub, SPACE) as host, httpx2.Client() as client:
        assert host.url.startswith("http://127.0.0.1:") and host.url != hub.url
        page = client.get(f"{host.url}/?code=abc&state=xyz")  # where the OAuth redirect lands
        assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
        head = "<HEAD lang=en>"
        assert page.text.index(head) + len(head) == page.text.index("<script>window.huggingface")
        assert page.text.replace(page.text[page.text.index("<script>") : page.text.index("</script>") + 9], "") == (
            PAGE.decode()
        )
        assert _variables(page.text) == {
            "OAUTH_CLIENT_ID": host.client_id,
            "OAUTH_SCOPES": "openid profile read-repos",
            "OPENID_PROVIDER_URL": hub.url,
            "SPACE_ID": SPACE,
            "SPACE_HOST": host.url.removeprefix("http://"),
            "TRACKIO_DATASET_ID": DS,
        }
        assert client.get(f"{host.url}/index.html").text == page.text
        app = hub.oauth_apps()[host.client_id]
        assert app.scopes == {"openid", "profile", "read-repos"} and app.accepts_redirect(f"{host.url}/?x=1")
        assert not app.accepts_redirect(f"{hub.url}/") and not app.accepts_redirect(host.url + "0/")
        # the page's sign-in: any URL of the Space is a valid redirect URI, and the token reads the private dataset
        redirect = _authorize(
            client,
            hub,
            client_id=host.client_id,
            redirect_uri=f"{host.url}/",
            scope=_variables(page.text)["OAUTH_SCOPES"],
        )
        code = _redirect_query(redirect)["code"]
        token = _exchange(client, hub, code, redirect_uri=f"{host.url}/").json()["access_token"]
        resolve = client.get(
            f"{hub.url}/datasets/{DS}/resolve/main/runs/a.json",
            headers={"Authorization": f"Bearer {token}", "Origin": host.url},
        )
        assert (resolve.status_code, resolve.content, resolve.headers["Access-Control-Allow-Origin"]) == (
            200,
            b"{}",
            host.url,
        )
    assert [(method, status) for method, _, status in host.requests()] == [("GET", 200), ("GET", 200)]


def test_space_host_without_hf_oauth_has_no_oauth_variables(hub: HubEmulator):
    hub.create_repo(SPACE, "space", sdk="static", files={"README.md": b"---\nsdk: static\n---\n", "index.html": PAGE})
    with SpaceHost(hub, SPACE) as host, httpx2.Client() as client:
        variables = _variables(client.get(host.url).text)
        assert variables == {"SPACE_ID": SPACE, "SPACE_HOST": host.url.removeprefix("http://")}
        assert host.client_id not in hub.oauth_apps()
        assert _authorize(client, hub, client_id=host.client_id, redirect_uri=f"{host.url}/").status_code == 400
        # turning hf_oauth on (a new README commit) registers the app at the next load; off again drops it
        hub.put_files(SPACE, {"README.md": b"---\nsdk: static\nhf_oauth: true\n---\n"}, repo_type="space")
        assert _variables(client.get(host.url).text)["OAUTH_SCOPES"] == "openid profile"
        assert _redirect_query(
            _authorize(client, hub, client_id=host.client_id, redirect_uri=f"{host.url}/", scope="openid profile")
        )["code"]
        hub.put_files(SPACE, {"README.md": b"---\nsdk: static\n---\n"}, repo_type="space")
        assert "OAUTH_CLIENT_ID" not in _variables(client.get(host.url).text)
        assert host.client_id not in hub.oauth_apps()


def test_space_host_serves_files_with_content_types_fresh_and_404(hub: HubEmulator):
    files = {
        "README.md": b"---\nsdk: static\n---\n",
        "index.html": PAGE,
        "app.js": b"console.log('</head>')",
        "style.css": b"body{}",
        "data/runs.json": b"[]",
        "logo.svg": b"<svg/>",
        "icon.png": b"\x89PNG",
        "notes.txt": b"hi",
        "blob.parquet": b"PAR1",
        "docs/index.html": b"<html><head></head></html>",
    }
    hub.create_repo(SPACE, "space", sdk="static", files=files)
    expected = {
        "app.js": "text/javascript; charset=utf-8",
        "style.css": "text/css; charset=utf-8",
        "data/runs.json": "application/json",
        "logo.svg": "image/svg+xml",
        "icon.png": "image/png",
        "notes.txt": "text/plain; charset=utf-8",
        "blob.parquet": "application/octet-stream",
    }
    with SpaceHost(hub, SPACE) as host, httpx2.Client() as client:
        for path, content_type in expected.items():
            answer = client.get(f"{host.url}/{path}")
            assert (answer.status_code, answer.content, answer.headers["Content-Type"]) == (
                200,
                files[path],
                content_type,
            )
            assert answer.headers["Cache-Control"] == "no-store"
        assert client.get(f"{host.url}/docs/").content == files["docs/index.html"]  # only the root page is injected
        head = client.head(f"{host.url}/app.js")
        assert (head.status_code, head.content, head.headers["Content-Length"]) == (200, b"", str(len(files["app.js"])))
        for missing in ("nope.js", "data/", "Index.html", "data/%2E%2E/app.js"):
            assert client.get(f"{host.url}/{missing}").status_code == 404, missing
        assert client.post(f"{host.url}/app.js", content=b"x").status_code == 405
        hub.api().upload_file(
            path_or_fileobj=b"<html><head></head>v2</html>", path_in_repo="index.html", repo_id=SPACE, repo_type="space"
        )
        hub.put_files(SPACE, {"app.js": b"// v2"}, repo_type="space")
        assert client.get(host.url).text.endswith("</script></head>v2</html>")
        assert client.get(f"{host.url}/app.js").content == b"// v2"
        hub.api().delete_repo(SPACE, repo_type="space")
        assert client.get(host.url).status_code == 404
    with pytest.raises(httpx2.ConnectError):  # stopped
        httpx2.get(host.url)
