"""A model-based test of jobs restarted on fresh disks: one run in the dataset, each value once, in order.

`ResumeModel` (``hypothesis.stateful``) plays a run trained by a series of jobs on throw-away machines.
Each job starts on a fresh, empty disk (the previous disk is gone, with whatever it had not synced),
with the Hub reachable or not, and calls ``init(name=..., resume="allow", dataset_id=...)``; it logs,
syncs, pulls the dataset (the history its run continued without comes in below it), finishes or is
killed, in any order, under Hub faults in a row (answers lost after the commit applied, 5xx bursts,
down, slow). The Hub emulator and the real huggingface_hub client throughout.

The invariant, checked once the Hub heals and the last job finishes and syncs: the dataset holds one
run (one uid, one runs file counting every call); each ``(seq, key)`` once; seqs without gaps; in seq
order, the values are each job's in the order it logged them, job after job; each job's values that
reached the Hub are the first ones it logged; and the last job's are all there. The last machine's store
holds each of its calls once, each at the seq and with the value the dataset has.

CI runs `CI_EXAMPLES` examples; ``TRACKIO_TEST_PROFILE=slow`` runs `SLOW_EXAMPLES`. The report goes to
``$TRACKIO_TEST_ARTIFACTS/resume-model-<profile>.json``.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
import warnings

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule, run_state_machine_as_test

import trackio_callback as trackio
from tests.models import FAULTS, HubModel, kill_run, set_hub_fault, step_counter, write_report
from trackio_callback.errors import TrackioError
from trackio_callback.hub import layout, resume
from trackio_callback.hub.pull import pull
from trackio_callback.hub.uploader import Uploader
from trackio_callback.store import Store

PROJECT, RUN = "p", "job"
CI_EXAMPLES, SLOW_EXAMPLES = 25, 150
for _name, _examples in (("resume-ci", CI_EXAMPLES), ("resume-slow", SLOW_EXAMPLES)):
    settings.register_profile(
        _name, max_examples=_examples, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )  # fmt: skip
PROFILE = os.environ.get("TRACKIO_TEST_PROFILE", "ci")
BUDGET_S = 0.4  # a sync under faults gives up quickly; the next one continues
STEPS, _, counted = step_counter()


class ResumeModel(HubModel):
    def __init__(self) -> None:
        super().__init__()
        self.dataset = f"alice/resume-{self.example}"
        self.jobs = 0
        self.run = None
        self.logged: list[list[float]] = []  # per job, the values it logged (x), in order
        self.last_killed = False

    def _disk(self, job: int):
        return self.root / f"example-{self.example}" / f"job-{job}"

    @initialize(online=st.booleans(), count=st.integers(1, 8))
    def begin(self, online: bool, count: int) -> None:
        warnings.simplefilter("ignore")  # offline starts and Hub faults warn: expected here
        self.start_job(online, count)

    @precondition(lambda self: self.run is None)
    @rule(online=st.booleans(), count=st.integers(0, 8))
    @counted
    def start_job(self, online: bool, count: int) -> None:
        """A new machine: an empty disk; the Hub reachable or not while the job starts."""
        was_up = self.hub.is_up
        if online and not was_up:
            self.hub.come_up()
        elif not online and was_up:
            self.hub.go_down()
        self.run = trackio.init(
            project=PROJECT, name=RUN, resume="allow", dataset_id=self.dataset, dir=self._disk(self.jobs),
            flush_every=0.05, sync_every=3600, auto_log_cpu=False,
        )  # fmt: skip
        if was_up != self.hub.is_up:
            self.hub.come_up() if was_up else self.hub.go_down()
        self.jobs += 1
        self.last_killed = False
        self.logged.append([])
        self.log(count)

    @precondition(lambda self: self.run is not None)
    @rule(count=st.integers(1, 8))
    @counted
    def log(self, count: int) -> None:
        job = len(self.logged) - 1
        for _ in range(count):
            value = float(job * 1000 + len(self.logged[job]))
            self.run.log({"x": value})
            self.logged[job].append(value)
        assert self.run.flush(10)

    @precondition(lambda self: self.run is not None)
    @rule()
    @counted
    def sync(self) -> None:
        with contextlib.suppress(TrackioError):  # gave up for now (faults): the next sync continues
            self.run._uploader.sync(budget=BUDGET_S)

    @precondition(lambda self: self.run is not None)
    @rule()
    @counted
    def finish(self) -> None:
        self.run.finish(timeout=1.0)  # its final sync may fail under faults: that disk's rest is lost
        self.run = None

    @precondition(lambda self: self.run is not None)
    @rule()
    @counted
    def kill(self) -> None:
        """The machine dies (after the last flush): no finish, no final sync, and its disk is never seen again."""
        kill_run(self.run)
        self.run = None
        self.last_killed = True

    @precondition(lambda self: self.jobs > 0)
    @rule()
    @counted
    def pull_history(self) -> None:
        """The current (or last) machine pulls the dataset: the history its run continued without comes too."""
        with contextlib.suppress(Exception):  # a pull under faults fails as a whole; the next one retries
            pull(self.dataset, directory=self._disk(self.jobs - 1), token="hf_test_token")

    @rule(fault=st.sampled_from(FAULTS), n=st.integers(1, 3))
    @counted
    def hub_fault(self, fault: str, n: int) -> None:
        set_hub_fault(self.hub, fault, n)

    # -- the end --------------------------------------------------------------------------------------

    def teardown(self) -> None:
        self.hub.reset_faults()
        if not self.hub.is_up:
            self.hub.come_up()
        if self.run is None and self.last_killed:  # that machine is gone: one more job finishes the run
            self.start_job(online=True, count=0)
        if self.run is not None:
            self.run.finish(timeout=30)
            self.run = None
        # The last machine syncs what its finish could not send (the CLI's `sync`).
        uploader = Uploader(self._disk(self.jobs - 1) / f"{PROJECT}.db", PROJECT, self.dataset, token="hf_test_token")
        uploader.sync(budget=30)
        self.check_dataset()
        self.check_last_disk()

    def check_last_disk(self) -> None:
        """The last machine's store holds the run once, each of its calls once, each one the dataset holds."""
        store = Store(self._disk(self.jobs - 1) / f"{PROJECT}.db", create=False)
        try:
            (row,) = store.runs()
            points = store.points(row.id).get("x")
        finally:
            store.close()
        held = [] if points is None else list(zip(points.seqs, points.values))
        assert len({seq for seq, _ in held}) == len(held), "each call once"
        dataset = {(r["seq"], r["value"]) for r in self.rows("metrics")}
        assert set(held) <= dataset, "only what the dataset holds, at the same seq"

    def rows(self, kind: str) -> list[dict]:
        """The rows of ``kind``; each shard's rows lie within the seqs its name says (a shard is found by them)."""
        found = []
        for path, content in self.hub.repo_files(self.dataset).items():
            if path.startswith(f"{kind}/") and path.endswith(".parquet"):
                rows = pq.read_table(io.BytesIO(content)).to_pylist()
                named = layout.parse(path)
                if named.first_seq is not None:
                    assert all(named.first_seq <= r["seq"] <= named.last_seq for r in rows), path
                found += rows
        return found

    def check_dataset(self) -> None:
        metrics = self.rows("metrics")
        (meta,) = self.rows("runs")
        assert {r["run_id"] for r in metrics} <= {meta["run_id"]}, "one run"
        seqs = sorted(r["seq"] for r in metrics)
        assert seqs == list(range(len(seqs))), "each seq once, no gap"
        assert meta["num_logs"] == len(seqs)
        values = [r["value"] for r in sorted(metrics, key=lambda r: r["seq"])]
        by_job: dict[int, list[float]] = {}
        for value in values:
            by_job.setdefault(int(value) // 1000, []).append(value)
        assert list(by_job) == sorted(by_job), "jobs in order"
        for job, held in by_job.items():
            assert held == self.logged[job][: len(held)], f"job {job}: its first values, in order"
        last = len(self.logged) - 1
        assert by_job.get(last, []) == self.logged[last], "the last job's values all reached the Hub"


@pytest.fixture
def model(hub, tmp_path, monkeypatch):
    monkeypatch.setattr(resume, "LOOKUP_BUDGET_S", 0.5)  # an unreachable Hub is given up on quickly
    ResumeModel.hub, ResumeModel.root = hub, tmp_path
    yield ResumeModel


def test_jobs_on_fresh_disks_continue_one_run_whatever_the_order_of_events(model):
    started = time.monotonic()
    ResumeModel.examples = 0
    STEPS.clear()
    run_state_machine_as_test(ResumeModel, settings=settings.get_profile(f"resume-{PROFILE}"))
    write_report("resume-model", PROFILE, ResumeModel, started, STEPS)


def test_regression_a_pull_while_an_offline_run_waits_to_be_joined(model):
    """The dataset's run was pulled in beside the offline run of its name (as ``job-2``); joining the offline
    run then failed on the uid the copy held, and the run never synced again.

    Fixed: `pull` leaves a dataset run alone while a local run started offline under its name waits to be
    joined (`hub.pull._import_run`); a join drops a copy that holds only what the dataset has (`store.rebase`).
    """
    warnings.simplefilter("ignore")
    machine = ResumeModel()
    machine.begin(online=False, count=1)
    machine.finish()
    machine.start_job(online=False, count=0)
    machine.pull_history()
    machine.teardown()
