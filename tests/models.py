"""What the model-based tests (``hypothesis.stateful``) share: the base of a model against the Hub emulator,
step counting, Hub faults, the report's folder.

Example::

    STEPS, SECONDS, counted = step_counter()

    class Model(HubModel):
        @rule(fault=st.sampled_from(FAULTS), n=st.integers(1, 3))
        @counted
        def hub_fault(self, fault, n):
            set_hub_fault(self.hub, fault, n)
"""

from __future__ import annotations

import collections
import functools
import os
import time
from collections.abc import Callable
from pathlib import Path

from hypothesis.stateful import RuleBasedStateMachine

from tests.hub_emulator import HubEmulator

ARTIFACTS = Path(os.environ.get("TRACKIO_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / ".artifacts"))
FAULTS = ("answers lost", "5xx burst", "down", "up", "slow", "healed")


class HubModel(RuleBasedStateMachine):
    """A model against the suite's Hub emulator (``hub``) in a folder (``root``), both set by its test. Each
    example gets its number (``example``: its own folder and dataset) and starts with the Hub healthy."""

    hub: HubEmulator
    root: Path
    examples = 0  # per model class: the test resets it and reports it

    def __init__(self) -> None:
        super().__init__()
        type(self).examples += 1
        self.example = type(self).examples
        self.hub.reset_faults()
        if not self.hub.is_up:
            self.hub.come_up()


def step_counter() -> tuple[collections.Counter[str], collections.Counter[str], Callable]:
    """Steps run and seconds spent, by rule (the report says what was exercised), and the decorator that counts."""
    steps: collections.Counter[str] = collections.Counter()
    seconds: collections.Counter[str] = collections.Counter()

    def counted(step):
        @functools.wraps(step)
        def counting(self, *args, **kwargs):
            steps[step.__name__] += 1
            started = time.monotonic()
            try:
                return step(self, *args, **kwargs)
            finally:
                seconds[step.__name__] += time.monotonic() - started

        return counting

    return steps, seconds, counted


def set_hub_fault(hub: HubEmulator, fault: str, n: int) -> None:
    """One more fault of `FAULTS`, on top of those set (``"healed"`` clears them all and brings the Hub up)."""
    if fault == "answers lost":  # the commit applies, the answer never comes
        hub.drop_connection(before_apply=False, n=n, endpoint="commit")
    elif fault == "5xx burst":
        hub.fail_next(n, status=500 + n, endpoint="write")
    elif fault == "down" and hub.is_up:
        hub.go_down()
    elif fault == "up" and not hub.is_up:
        hub.come_up()
    elif fault == "slow":
        hub.slow(0.1 * n, endpoint="commit")
    elif fault == "healed":
        hub.reset_faults()
        if not hub.is_up:
            hub.come_up()


def kill_run(run) -> None:
    """``run``'s process dies after its last flush: no finish, no final sync, its threads gone (status stays
    ``running``). Its objects are dropped here, in this interpreter."""
    from trackio_callback.core import run as run_module

    run._exit_hooks.unregister(run)
    run._not_recording = "killed"
    assert run._writer.close(None, timeout=10)  # stops the writer thread; the status stays "running"
    if run._uploader is not None:
        run._uploader.stop(timeout=0, final_sync=False)
    run._store.close()
    run_module._set_current(None)


def write_report(
    name: str,
    profile: str,
    model: type[HubModel],
    started: float,
    steps: collections.Counter[str],
    seconds: collections.Counter[str] | None = None,
) -> dict:
    """What a model test exercised (examples, steps by rule, time), written to ``ARTIFACTS/<name>-<profile>.json``."""
    import json

    report = {
        "profile": profile,
        "examples": model.examples,
        "steps": sum(steps.values()),
        "seconds": round(time.monotonic() - started, 1),
        "steps_by_rule": dict(sorted(steps.items())),
    }
    if seconds is not None:
        report["seconds_by_rule"] = {rule: round(spent, 1) for rule, spent in sorted(seconds.items())}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}-{profile}.json").write_text(json.dumps(report, indent=1))
    print(f"{name}:", json.dumps(report))
    return report
