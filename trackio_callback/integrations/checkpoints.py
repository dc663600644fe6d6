"""What `TrackioCallback` records of each checkpoint the Trainer saves or pushes.

`CheckpointLog` is the callback's part that does it:

- ``on_evaluate`` (`CheckpointLog.evaluated`): the eval metrics of the last evaluation are kept, renamed as
  the run logs them (``eval/loss``). Several eval sets evaluated at one step add up; a later step starts afresh.
- ``on_save`` (`CheckpointLog.saved`): `Run.record_checkpoint` with ``state.global_step``, the folder the Trainer
  just wrote (``<output_dir>/checkpoint-<step>``, transformers' ``PREFIX_CHECKPOINT_DIR``, as an absolute path),
  those eval metrics and ``state.best_metric``.
- ``on_push_begin`` (`CheckpointLog.pushing`): a push to the Hub. The Trainer fires it in two places:
  ``_push_from_checkpoint`` (``push_to_hub=True`` with a ``hub_strategy``: inside ``_save_checkpoint``, before
  ``on_save`` resets ``control.should_save``, so that flag is set) pushes the checkpoint of this step in the
  background; ``Trainer.push_to_hub()`` (the flag is not set) saves the model to ``output_dir`` and pushes that
  folder. The first is the checkpoint's entry; the second is recorded as a save of ``output_dir`` at this step.
  A plain push also syncs the run (bounded) and points the model card at it (`model_card`).

**The revision.** A callback is given neither the push's commit nor its future: the push runs after
``on_push_begin`` returns (``upload_folder``, in the background for checkpoint pushes). So a `PushWatcher`
thread, never the training thread, reads the repo's branch (``args.hub_revision``, else ``main``) until the
push's commit appears, then records it (`Run.record_checkpoint` fills in ``repo`` and ``revision``) and syncs
the run (at most every `SYNC_SPACING_S`: the run's periodic and last syncs send it otherwise). A checkpoint push
syncs the run first too, on that thread. Which commit is the push's:

- a checkpoint push: the commit whose title the Trainer gives that push (``Training in progress, step N``, or
  ``epoch N`` when saving per epoch; with ``hub_strategy`` ``checkpoint``/``all_checkpoints`` the second commit,
  ``..., checkpoint``, whose tree holds both the model and the checkpoint folder), made after the push began
  (`CLOCK_SLACK_S` of clock difference allowed);
- a plain push: the first commit absent from the branch when the push began (read then, on the calling thread,
  which ``push_to_hub`` blocks anyway) that is not a checkpoint push's, nor the Hub's first commit of a repo the
  push created. Its message is the caller's, unknown here. A push that changes no file makes no commit: nothing
  is recorded as pushed then.

The watcher reads the branch head (one small request) every `POLL_FIRST_S` growing to `POLL_MAX_S`, and lists the
commits only when the head moved; it gives up after `PUSH_WATCH_S`. When the run finishes, its finish waits up to
`PUSH_SETTLE_S` for the commits of pushes still in flight (`Run.add_finish_hook`), polling every second; a
commit found later, while the run is finished, is recorded when the callback next opens the run (a later push).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import model_card

logger = logging.getLogger(__name__)

POLL_FIRST_S = 2.0
POLL_MAX_S = 30.0
SETTLE_POLL_S = 1.0
PUSH_WATCH_S = 3600.0  # a large model's upload can take long; past this the push is taken as lost
PUSH_SETTLE_S = 10.0  # what a finishing run waits for pushes in flight (a preempted job has little time)
CLOCK_SLACK_S = 120.0  # this machine's clock against the Hub's
CHECKPOINT_PUSH_TITLE = "Training in progress"  # how the Trainer titles its checkpoint pushes
REPO_FIRST_COMMIT = "initial commit"  # the commit the Hub creates a repo with (its .gitattributes)
SYNC_SPACING_S = 60.0  # checkpoint pushes sync the run at most this often (the Hub rate-limits commits)


def checkpoint_folder(args: Any, step: int) -> str:
    """The folder the Trainer saves the checkpoint of ``step`` in (its ``_save_checkpoint``), absolute."""
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR  # the Trainer is running: already imported

    return os.path.abspath(os.path.join(args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{step}"))


def checkpoint_push_title(args: Any, state: Any) -> str:
    """The title of the last commit of the Trainer's push of this step's checkpoint (``_push_from_checkpoint``)."""
    if _value(args.save_strategy) == "steps":
        title = f"{CHECKPOINT_PUSH_TITLE}, step {state.global_step}"
    else:
        title = f"{CHECKPOINT_PUSH_TITLE}, epoch {int(state.epoch or 0)}"
    if _value(getattr(args, "hub_strategy", None)) in ("checkpoint", "all_checkpoints"):
        title += ", checkpoint"  # the checkpoint folder's commit, after the model's
    return title


@dataclass
class Push:
    """One push to the Hub, as far as the callback can see it."""

    step: int
    path: str
    metrics: dict[str, float]
    best_metric: float | None
    repo: str  # ``args.hub_model_id`` (or ``output_dir``'s name), maybe without its namespace
    branch: str
    token: str | None
    title: str | None  # a checkpoint push: the title of its commit; None: a plain push
    known: frozenset[str] = frozenset()  # a plain push: the branch's commits when it began
    started: float = field(default_factory=time.time)


class PushWatcher:
    """A daemon thread that finds the commit of one `Push` and hands it to ``landed(push, repo_id, commit)``."""

    def __init__(self, push: Push, landed: Any, before: Any = None):
        self.push = push
        self._landed = landed
        self._before = before  # called first, on the thread (a checkpoint push's sync)
        self._wake = threading.Event()
        self._hurry = False
        self._thread = threading.Thread(target=self._watch, name=f"trackio-push-{push.step}", daemon=True)

    def start(self) -> PushWatcher:
        self._thread.start()
        return self

    def alive(self) -> bool:
        return self._thread.is_alive()

    def hurry(self) -> None:
        """Look now, and every `SETTLE_POLL_S` from here on (the run is finishing)."""
        self._hurry = True
        self._wake.set()

    def join(self, timeout: float | None) -> None:
        self._thread.join(timeout)

    def _watch(self) -> None:
        try:
            if self._before is not None:
                self._before()
            api = _api(self.push.token)
            repo_id = full_repo_id(api, self.push.repo)
            found = self._poll(api, repo_id)
        except Exception as error:  # the push itself is the Trainer's: only its record is lost
            logger.info("trackio-callback: the commit of the push of step %s is not known: %s", self.push.step, error)
            return
        if found is not None:
            self._landed(self.push, repo_id, found)

    def _poll(self, api: Any, repo_id: str) -> str | None:
        deadline = time.monotonic() + PUSH_WATCH_S
        delay, head = POLL_FIRST_S, None
        while True:
            try:
                now_head = api.repo_info(repo_id, revision=self.push.branch).sha
                if now_head != head:
                    found = find_push_commit(api.list_repo_commits(repo_id, revision=self.push.branch), self.push)
                    if found is not None:
                        return found
                    head = now_head
            except Exception as error:  # not created yet, the Hub unreachable for a while: look again
                logger.debug("reading %s for the push of step %s failed: %s", repo_id, self.push.step, error)
            if time.monotonic() > deadline:
                logger.info("trackio-callback: no commit of the push of step %s in %s", self.push.step, repo_id)
                return None
            self._wake.wait(SETTLE_POLL_S if self._hurry else delay)
            self._wake.clear()
            delay = min(delay * 1.5, POLL_MAX_S)


def find_push_commit(commits: list[Any], push: Push) -> str | None:
    """The id of ``push``'s commit among ``commits`` (`HfApi.list_repo_commits`: newest first), or None yet."""
    if push.title is not None:
        since = push.started - CLOCK_SLACK_S
        for commit in commits:
            if commit.title == push.title and _timestamp(commit.created_at) >= since:
                return commit.commit_id
        return None
    new = []
    for commit in commits:  # newest first: the commits after the push began come before the first known one
        if commit.commit_id in push.known:
            break
        new.append(commit)
    if new and len(new) == len(commits) and new[-1].title == REPO_FIRST_COMMIT:
        new.pop()  # the repo was created by the push: the Hub's own first commit is not the push's
    for commit in reversed(new):  # the first one made after the push began
        if not (commit.title or "").startswith(CHECKPOINT_PUSH_TITLE):
            return commit.commit_id
    return None


def full_repo_id(api: Any, repo: str) -> str:
    """``repo`` with its namespace: one without belongs to the token's owner (as ``create_repo`` places it)."""
    return repo if "/" in repo else f"{api.whoami()['name']}/{repo}"


def _api(token: str | None) -> Any:
    from huggingface_hub import HfApi

    return HfApi(token=token)  # the endpoint and, without a token, HF_TOKEN or the saved login: huggingface_hub's


def _timestamp(created: Any) -> float:
    if isinstance(created, datetime):
        return created.timestamp()
    return math.inf  # no date: taken as new (the title still has to match)


class CheckpointLog:
    """The checkpoints of one `TrackioCallback`: eval metrics kept, saves recorded, pushes watched."""

    def __init__(self) -> None:
        self._eval: dict[str, float] = {}
        self._eval_step: int | None = None
        self._run: Any = None
        self._watchers: list[PushWatcher] = []
        self._unrecorded: list[dict[str, Any]] = []  # pushes found while no run was open
        self._lock = threading.Lock()
        self._last_sync = -math.inf

    # -- events (the training thread) -------------------------------------------------------------

    def evaluated(self, state: Any, metrics: dict[str, Any] | None) -> None:
        """``on_evaluate``: keep the eval metrics (``eval_loss`` → ``eval/loss``) for the next save."""
        if not metrics:
            return
        if state.global_step != self._eval_step:
            self._eval, self._eval_step = {}, state.global_step
        for key, value in metrics.items():
            if key.startswith("eval_") and isinstance(value, (int, float)) and not isinstance(value, bool):
                self._eval["eval/" + key[5:]] = float(value)

    def saved(self, run: Any, args: Any, state: Any) -> None:
        """``on_save``: record the checkpoint folder the Trainer just wrote."""
        self.attach(run)
        step = state.global_step
        run.record_checkpoint(step, checkpoint_folder(args, step), dict(self._eval), _best(state))

    def pushing(self, run: Any, args: Any, state: Any, control: Any, model: Any) -> None:
        """``on_push_begin``: sync and point the card at the run for a plain push, and watch for the commit."""
        self.attach(run)
        checkpoint_push = bool(getattr(control, "should_save", False))
        step = state.global_step
        push = Push(
            step=step,
            path=checkpoint_folder(args, step) if checkpoint_push else os.path.abspath(args.output_dir),
            metrics=dict(self._eval),
            best_metric=_best(state),
            repo=args.hub_model_id or os.path.basename(os.path.abspath(args.output_dir)),
            branch=getattr(args, "hub_revision", None) or "main",
            token=getattr(args, "hub_token", None),
            title=checkpoint_push_title(args, state) if checkpoint_push else None,
        )
        model_card.point_card_at_run(model, run.space_id)
        before = None
        if checkpoint_push:  # in the background: the Trainer pushes it there too
            if time.monotonic() - self._last_sync >= SYNC_SPACING_S:
                self._last_sync = time.monotonic()
                before = lambda: run.sync_now(model_card.PUSH_SYNC_TIMEOUT_S)  # noqa: E731
        else:  # push_to_hub() blocks its caller: the save recorded, the run synced, the branch read, now
            run.record_checkpoint(step, push.path, push.metrics, push.best_metric)
            model_card.sync_for_push(run)
            push.known = self._known_commits(push)
        self._watchers = [w for w in self._watchers if w.alive()]
        self._watchers.append(PushWatcher(push, self._landed, before).start())

    # -- the run ------------------------------------------------------------------------------------

    def attach(self, run: Any) -> None:
        """Record into ``run`` from now on (the callback reopened it, or opened its first)."""
        with self._lock:
            if run is self._run:
                return
            self._run = run
            waiting, self._unrecorded = self._unrecorded, []
        run.add_finish_hook(self.settle)
        for record in waiting:
            self._record(record)

    def settle(self, timeout: float | None) -> None:
        """The run finishes: wait up to `PUSH_SETTLE_S` (and ``timeout``) for the commits of pushes in flight."""
        watchers = [w for w in self._watchers if w.alive()]
        if not watchers:
            return
        limit = PUSH_SETTLE_S if timeout is None else min(timeout, PUSH_SETTLE_S)
        end = time.monotonic() + limit
        for watcher in watchers:
            watcher.hurry()
        for watcher in watchers:
            watcher.join(max(0.0, end - time.monotonic()))

    def _landed(self, push: Push, repo_id: str, revision: str) -> None:
        """A push's commit was found (on its watcher's thread): record it, and sync the run if it is open."""
        record = {
            "step": push.step,
            "path": push.path,
            "metrics": push.metrics,
            "best_metric": push.best_metric,
            "repo": repo_id,
            "revision": revision,
        }
        run = self._record(record)
        if run is not None and not run.finished and time.monotonic() - self._last_sync >= SYNC_SPACING_S:
            self._last_sync = time.monotonic()
            run.sync_now(model_card.PUSH_SYNC_TIMEOUT_S)

    def _record(self, record: dict[str, Any]) -> Any:
        """Record into the open run (returned), or keep it for the next one (None)."""
        with self._lock:
            run = self._run
            if run is None or not run.record_checkpoint(**record):
                self._unrecorded.append(record)
                return None
        return run

    def _known_commits(self, push: Push) -> frozenset[str]:
        try:
            api = _api(push.token)
            return frozenset(
                c.commit_id for c in api.list_repo_commits(full_repo_id(api, push.repo), revision=push.branch)
            )
        except Exception as error:  # a new repo (created by the push), or the Hub unreachable: every commit is new
            logger.debug("listing the commits of %s before the push failed: %s", push.repo, error)
            return frozenset()


def _value(option: Any) -> Any:
    """An option of ``TrainingArguments`` as its text (transformers keeps some as str enums)."""
    return getattr(option, "value", option)


def _best(state: Any) -> float | None:
    best = getattr(state, "best_metric", None)
    return float(best) if isinstance(best, (int, float)) and not isinstance(best, bool) else None
