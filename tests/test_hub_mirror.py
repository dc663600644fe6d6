"""`hub.mirror.DatasetMirror`: a failed pull warns once, is retried, and a later pull heals it."""

from __future__ import annotations

import time
import warnings

from trackio_callback.errors import TrackioWarning
from trackio_callback.hub import pull as pull_module
from trackio_callback.hub.mirror import PULL_EVERY_S, DatasetMirror


def test_a_failing_hub_warns_once_and_the_next_pull_heals(tmp_path, monkeypatch):
    answers: list = [ConnectionError("hub down"), ConnectionError("still down"), {"p": 3}]
    calls: list = []

    def fake_pull(dataset_id, directory, project=None, prune=False):
        calls.append((dataset_id, directory, project, prune))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(pull_module, "pull", fake_pull)
    mirror = DatasetMirror("alice/ds", tmp_path / "m", project="p")
    assert mirror.every == PULL_EVERY_S
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert mirror.pull() is None
        assert mirror.pull() is None
    assert [str(w.message) for w in caught if issubclass(w.category, TrackioWarning)] == [
        "pulling alice/ds failed (hub down); retrying"
    ]
    assert str(mirror.last_error) == "still down" and mirror.pulls == 0
    assert mirror.pull() == {"p": 3}
    assert mirror.last_error is None and mirror.pulls == 1
    assert calls == [("alice/ds", tmp_path / "m", "p", True)] * 3  # a copy: runs the dataset lost go too


def test_the_thread_pulls_until_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(pull_module, "pull", lambda *args, **kwargs: {})
    mirror = DatasetMirror.of("alice/ds", tmp_path, every=0.01)  # `of` pulls once, in the caller
    assert mirror.directory == tmp_path / "mirrors" / "alice--ds" and mirror.pulls == 1
    mirror.start()
    try:
        deadline = time.monotonic() + 10
        while mirror.pulls < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        mirror.stop()
    assert mirror.pulls >= 3 and not mirror._thread.is_alive()
    stopped_at = mirror.pulls
    time.sleep(0.05)
    assert mirror.pulls == stopped_at  # stopped: no more pulls
