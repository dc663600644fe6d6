"""Curves in the terminal: ``get metric --plot`` and ``watch``, run as the real command in a pseudo-terminal.

The command is the venv's ``trackio-callback`` console script, spawned with a pty as its stdin, stdout and
stderr and a window size set with TIOCSWINSZ; its output is read back, stripped of escape sequences, and
the values in it are compared with what was logged into real SQLite stores.
"""

from __future__ import annotations

import codecs
import fcntl
import math
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import textwrap
import time
from pathlib import Path

import pytest

import trackio_callback as trackio
from tests.helpers import ROOT, run_python, spawn_python
from trackio_callback import Reader
from trackio_callback.cli.main import main
from trackio_callback.cli.plot import axis, nice_ticks, tick_labels
from trackio_callback.cli.watch import RunWatch, choose_run, sparkline

COMMAND = Path(sys.executable).parent / "trackio-callback"
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[=>()][0-9A-Za-z]?")
COLOUR = re.compile(r"\x1b\[[0-9;]*m")
SI = {"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


# -- driving the command --------------------------------------------------------------------------------


def command_env(store: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR", "NO_COLOR")}
    path = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return {**env, "TRACKIO_DIR": str(store), "TERM": "xterm-256color", "PYTHONPATH": path, **extra}


class Terminal:
    """The command running in a pseudo-terminal of ``columns`` x ``lines``; `read` collects what it drew."""

    def __init__(self, args: list[str], env: dict[str, str], columns: int = 100, lines: int = 30):
        assert COMMAND.exists(), f"the console script is not installed at {COMMAND}"
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        self.process = subprocess.Popen(
            [str(COMMAND), *args], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
        )
        os.close(slave)  # the child holds it: reading the master ends (EIO) once the child is gone
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.raw = ""

    def read(self, until=lambda text: False, timeout: float = 30.0) -> str:
        """Read until ``until(plain text so far)``, the command's exit, or ``timeout``; the plain text."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not until(self.text):
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if not ready:
                if self.process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the child exited and closed the terminal
                break
            if not chunk:
                break
            self.raw += self.decoder.decode(chunk)
        return self.text

    @property
    def text(self) -> str:
        return strip(self.raw)

    def finish(self, timeout: float = 30.0) -> int:
        self.read(timeout=timeout)
        code = self.process.wait(timeout=timeout)
        os.close(self.master)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def strip(raw: str) -> str:
    return ANSI.sub("", raw).replace("\r", "")


def label_value(label: str) -> float:
    return float(label[:-1]) * SI[label[-1]] if label[-1] in SI else float(label)


def y_tick_labels(text: str) -> list[str]:
    return re.findall(r"^\s*(\S+)┤", text, flags=re.MULTILINE)


def legend(text: str) -> dict[str, tuple[str, int]]:
    """``{run: (last value as printed, its step)}`` from the legend lines."""
    found = re.findall(r"^\S (\S+)\s+last (\S+)\s+\(step (\d+)\)$", text, flags=re.MULTILINE)
    return {run: (value, int(step)) for run, value, step in found}


LR_RUNS = {"warmup": 1.0, "half": 0.5, "tenth": 0.1}


def lr(step: int, scale: float) -> float:
    """A learning rate between 1e-8 and 1e-6 with at most 6 significant digits: printed exactly as logged."""
    return float(f"{scale * 1e-6 * math.exp(-step / 60) + 1e-8:.6g}")


@pytest.fixture
def lr_store(store_dir):
    for name, scale in LR_RUNS.items():
        run = trackio.init(project="sched", name=name)
        for step in range(0, 200):
            run.log({"train/lr": lr(step, scale), "train/loss": 2.0 - step / 100}, step=step)
        run.finish()
    trackio.init(project="sched", name="no-lr").finish()
    return store_dir


# -- get metric --plot ----------------------------------------------------------------------------------


def test_plot_in_a_terminal_draws_every_run_with_distinct_ticks_and_last_values(lr_store):
    term = Terminal(["get", "metric", "--project", "sched", "--metric", "train/lr", "--plot"], command_env(lr_store))
    code = term.finish()
    text = term.text
    assert code == 0, text
    lines = text.splitlines()
    assert lines[0].strip() == "train/lr"  # the title
    assert max(len(line) for line in lines) <= 100 and max(len(line) for line in lines) >= 95  # the pty's width
    assert len(lines) <= 30  # its height
    ticks = y_tick_labels(text)
    values = [label_value(t) for t in ticks]
    assert len(ticks) >= 4 and len(set(ticks)) == len(ticks), ticks
    assert all(1e-8 <= v <= 1.01e-6 for v in values) and values == sorted(values, reverse=True), ticks
    assert all(re.fullmatch(r"\d\.\d+e-\d", t) for t in ticks), ticks  # scientific, short exponents
    assert "step" in lines[-len(LR_RUNS) - 1]  # the x label, over the legend
    assert legend(text) == {name: (f"{lr(199, scale):.6g}", 199) for name, scale in LR_RUNS.items()}
    for name, scale in LR_RUNS.items():
        assert float(legend(text)[name][0]) == lr(199, scale)  # read back exactly
    assert "\x1b[38;5;33m" in term.raw  # a terminal gets colour: the first run's line and swatch


def test_plot_follows_the_terminal_size_and_the_width_height_options(lr_store):
    args = ["get", "metric", "--project", "sched", "--run", "half", "--run", "tenth", "--metric", "train/lr", "--plot"]
    small = Terminal(args, command_env(lr_store), columns=64, lines=18)
    assert small.finish() == 0
    lines = small.text.splitlines()
    assert 60 <= max(len(line) for line in lines) <= 64 and len(lines) <= 18
    assert set(legend(small.text)) == {"half", "tenth"}
    sized = Terminal([*args, "--width", "120", "--height", "40"], command_env(lr_store), columns=64, lines=18)
    assert sized.finish() == 0
    lines = sized.text.splitlines()
    assert 115 <= max(len(line) for line in lines) <= 120 and 30 <= len(lines) <= 40
    assert len(set(y_tick_labels(sized.text))) == len(y_tick_labels(sized.text)) >= 5


def test_plot_into_a_pipe_is_plain_text_unless_colour_is_forced(lr_store):
    args = [str(COMMAND), "get", "metric", "--project", "sched", "--run", "warmup", "--metric", "train/lr", "--plot"]
    plain = subprocess.run([*args, "--width", "70", "--height", "20"], env=command_env(lr_store), capture_output=True)
    text = plain.stdout.decode()
    assert plain.returncode == 0, plain.stderr
    assert "\x1b" not in text
    assert text.splitlines()[0].strip() == "train/lr" and max(len(line) for line in text.splitlines()) <= 70
    assert legend(text) == {"warmup": (f"{lr(199, 1.0):.6g}", 199)}
    assert len(set(y_tick_labels(text))) == len(y_tick_labels(text)) >= 3
    default = subprocess.run(args, env=command_env(lr_store), capture_output=True)  # no terminal: 100 x 30
    assert max(len(line) for line in default.stdout.decode().splitlines()) <= 100
    forced = subprocess.run(args, env=command_env(lr_store, FORCE_COLOR="1"), capture_output=True)
    assert COLOUR.search(forced.stdout.decode()) and strip(forced.stdout.decode()).splitlines()[0].strip() == "train/lr"
    no_colour = Terminal(args[1:], command_env(lr_store, NO_COLOR="1"))
    assert no_colour.finish() == 0 and not COLOUR.search(no_colour.raw)
    assert legend(no_colour.text) == {"warmup": (f"{lr(199, 1.0):.6g}", 199)}


def test_plot_of_huge_values_uses_si_ticks(store_dir):
    run = trackio.init(project="tokens", name="big")
    for step in range(100):
        run.log({"train/num_tokens": 4.0e10 * step}, step=step)  # up to 3.96e12
    run.finish()
    args = ["get", "metric", "--project", "tokens", "--run", "big", "--metric", "train/num_tokens", "--plot"]
    term = Terminal(args, command_env(store_dir), columns=80, lines=24)
    assert term.finish() == 0
    ticks = y_tick_labels(term.text)
    assert len(set(ticks)) == len(ticks) >= 3 and all(re.fullmatch(r"0|\d(\.\d+)?T", t) for t in ticks), ticks
    assert all(len(t) <= 5 for t in ticks)  # no clipped "000,000": the label fits the axis
    assert legend(term.text) == {"big": ("3.96e+12", 99)}


def test_plot_errors_name_the_bad_value(lr_store, capsys):
    assert main(["get", "metric", "--project", "sched", "--metric", "train/nope", "--plot"]) == 2
    assert "metric 'train/nope' not found in any run of project 'sched'" in capsys.readouterr().err
    assert main(["get", "metric", "--project", "sched", "--run", "no-lr", "--metric", "train/lr", "--plot"]) == 2
    assert "metric 'train/lr' not found in run 'no-lr'" in capsys.readouterr().err
    assert main(["get", "metric", "--project", "sched", "--metric", "train/lr", "--plot", "--json"]) == 2
    assert "--plot draws a metric" in capsys.readouterr().err
    assert main(["get", "metric", "--project", "sched", "--metric", "train/lr", "--plot", "--width", "5"]) == 2
    assert "--width must be at least 30, got 5" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="--run is given 2 times"):
        main(["get", "metric", "--project", "sched", "--run", "half", "--run", "tenth", "--metric", "train/lr"])


def test_without_the_terminal_extra_the_commands_say_what_to_install(lr_store):
    for hidden, args in (
        ("plotext", ["get", "metric", "--project", "sched", "--metric", "train/lr", "--plot"]),
        ("rich", ["watch", "--project", "sched", "--exit-when-done"]),
    ):
        result = run_python(
            f"""
            import sys
            sys.modules[{hidden!r}] = None  # import fails as if not installed
            from trackio_callback.cli.main import main
            sys.exit(main({args!r}))
            """,
            env={"TRACKIO_DIR": str(lr_store)},
        )
        assert result.returncode == 2, result.stderr
        assert f'({hidden} is missing): pip install "trackio-callback[terminal]"' in result.stderr


# -- ticks and sparklines -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high"),
    [(1e-8, 1e-6), (1e-8, 1.02e-8), (0.0009, 0.001), (1e-3, 1e-3), (-5.0, 5.0), (0.1, 0.9), (123_456, 123_999),
     (0, 200_000), (3e11, 1e12), (0, 4e12), (1e15, 3e15), (2.0, 2.0)],
)  # fmt: skip
def test_tick_labels_are_distinct_short_and_read_back_as_their_positions(low, high):
    ticks = axis(low, high, 6)
    assert len(ticks.positions) >= 2 and len(set(ticks.labels)) == len(ticks.labels), ticks.labels
    assert all(len(label) <= 9 for label in ticks.labels), ticks.labels
    spacing = ticks.positions[1] - ticks.positions[0]
    for position, label in zip(ticks.positions, ticks.labels):
        assert label_value(label) == pytest.approx(position, abs=spacing * 1e-6), (label, position)
    assert ticks.low <= ticks.positions[0] and ticks.positions[-1] <= ticks.high


def test_nice_ticks_and_labels_examples():
    assert tick_labels(nice_ticks(1e-8, 1e-6, 5)) == ["0", "2.0e-7", "4.0e-7", "6.0e-7", "8.0e-7", "1.0e-6"]
    assert axis(1e-8, 1e-6, 5).labels == ["2.0e-7", "4.0e-7", "6.0e-7", "8.0e-7", "1.0e-6"]  # inside the data
    assert axis(0.6, 2.76, 4).labels == ["1.0", "1.5", "2.0", "2.5"]
    assert tick_labels(nice_ticks(0, 200_000, 5)) == ["0", "50k", "100k", "150k", "200k"]
    assert tick_labels(nice_ticks(0.001, 0.0012, 5)) == ["0.00100", "0.00105", "0.00110", "0.00115", "0.00120"]
    assert tick_labels([0.0, 0.0]) == ["0", "0"]
    with pytest.raises(ValueError, match="axis limits must be finite numbers, got nan"):
        nice_ticks(math.nan, 1.0)


def test_sparkline_scales_to_its_window():
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8) == "▁▂▃▄▅▆▇█"
    assert sparkline([9.0, 0, 7, math.nan, 7], 4) == "▁█ █"  # the last 4, a NaN as a gap
    assert sparkline([3.0, 3.0, 3.0], 10) == "▄▄▄"
    assert sparkline([math.nan], 5) == " " and sparkline([], 5) == ""


# -- watch ----------------------------------------------------------------------------------------------


def test_run_watch_reads_only_new_calls_and_measures_rate_and_eta(store_dir):
    run = trackio.init(project="w", name="a", config={"max_steps": 1000}, flush_every=0.05)
    for step in range(10):
        run.log({"train/loss": 10.0 - step, "eval/loss": 5.0}, step=step)
    run.flush()
    with Reader() as reader:
        view = RunWatch(reader, "w", "a", pattern="^train/(loss|acc)")
        assert view.cursor == 9 and [m.key for m in view.metrics()] == ["train/loss"]
        assert view.metrics()[0] == ("train/loss", [10.0 - s for s in range(10)], 1.0, 9, 1.0, 10.0)
        assert view.refresh() is False and view.cursor == 9  # nothing new: nothing read
        for step in range(10, 15):
            run.log({"train/loss": 20.0 + step, "train/acc": 0.5}, step=step)
        run.flush()
        assert view.refresh() is True and view.cursor == 14
        loss = view.metrics()[1]
        assert loss.recent[-5:] == [30.0, 31.0, 32.0, 33.0, 34.0] and (loss.last, loss.last_step) == (34.0, 14)
        assert (loss.low, loss.high) == (1.0, 34.0) and view.metrics()[0].key == "train/acc"
        rate = view.rate()
        assert rate is not None and rate > 0
        assert view.eta_seconds() == pytest.approx((1000 - 14) / rate)  # from max_steps in the config
        run.log({"train/eta_seconds": 120.0}, step=15)
        run.log({"train/loss": 1.0}, step=3)  # a rewind: the rate starts over
        run.flush()
        view.refresh()
        assert view.eta_seconds() == 120.0 and view.rate() is None
        assert "train/eta_seconds" not in [m.key for m in view.metrics()]  # not shown, but used
        run.finish()
        view.refresh()
        assert view.header().status == "finished" and view.eta_seconds() is None


LOGGER = """
    import os, sys, time
    import trackio_callback as trackio
    run = trackio.init(project="live", name="job", config={"max_steps": 100000}, flush_every=0.05)
    step = 0
    while not os.path.exists(sys.argv[1]):
        run.log({"train/loss": 2.0 / (step + 1), "train/lr": 1e-6}, step=step)
        step += 1
        time.sleep(0.03)
    run.log({"train/loss": 0.0001, "train/lr": 2.5e-07}, step=step)
    run.finish()
    print(step, flush=True)
"""


def started(store: Path, project: str) -> bool:
    with Reader(store) as reader:
        return project in reader.projects() and bool(reader.runs(project))


def frames(text: str, pattern: str) -> list[str]:
    return re.findall(pattern, text)


def test_watch_follows_a_run_being_logged_and_exits_on_ctrl_c(store_dir, tmp_path):
    stop = tmp_path / "stop"
    logger = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(LOGGER), str(stop)],
        env=command_env(store_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    term = None
    try:
        deadline = time.monotonic() + 60
        while not started(store_dir, "live"):
            assert time.monotonic() < deadline and logger.poll() is None, logger.stderr.read() if logger.stderr else ""
            time.sleep(0.1)
        term = Terminal(["watch", "--interval", "0.2"], command_env(store_dir), columns=120, lines=30)
        text = term.read(until=lambda t: len(set(frames(t, r"step: (\d+)"))) >= 4, timeout=60)
        assert "project: live   run: job   status: running" in text  # the defaults: the latest project and run
        steps = [int(s) for s in frames(text, r"step: (\d+)")]
        assert len(set(steps)) >= 4 and steps == sorted(steps), steps  # it advances from refresh to refresh
        rates = [float(r) for r in frames(text, r"rate: ([0-9.e+-]+) steps/s")]
        assert rates and all(r > 0 for r in rates) and max(rates) < 1000, rates
        assert frames(text, r"ETA: (\d+:\d\d:\d\d)")  # from max_steps and the step rate
        stop.write_text("")
        out, err = logger.communicate(timeout=60)
        assert logger.returncode == 0, err
        final_step = int(out)
        text = term.read(until=lambda t: "status: finished" in t, timeout=30)
        final = text[text.rindex("status: finished") :]
        assert f"step: {final_step}   rate:" in final and "ETA: –" in final
        loss = re.search(r"train/loss +[▁-█ ]* +(\S+) +(\S+) +(\S+)", final).groups()
        assert (float(loss[0]), float(loss[1]), float(loss[2])) == (0.0001, 0.0001, 2.0)  # last, min, max
        lr_row = re.search(r"train/lr +[▁-█ ]* +(\S+) +(\S+) +(\S+)", final).groups()
        assert tuple(map(float, lr_row)) == (2.5e-07, 2.5e-07, 1e-06)
        assert term.process.poll() is None  # still watching: it was not told to exit when done
        term.process.send_signal(signal.SIGINT)
        assert term.finish() == 0
        assert "Traceback" not in term.text and "KeyboardInterrupt" not in term.text
    finally:
        stop.write_text("")
        if logger.poll() is None:
            logger.kill()
        if term is not None:
            term.kill()


def test_watch_exits_when_the_run_is_done_and_prints_plain_text_into_a_pipe(lr_store):
    term = Terminal(["watch", "--project", "sched", "--run", "half", "--exit-when-done"], command_env(lr_store))
    assert term.finish() == 0
    assert "project: sched   run: half   status: finished" in term.text and "step: 199" in term.text
    assert re.search(r"train/lr +[▁-█]+ +(\S+)", term.text).group(1) == f"{lr(199, 0.5):.6g}"
    piped = subprocess.run(
        [str(COMMAND), "watch", "--project", "sched", "--metric", "lr$", "--exit-when-done"],
        env=command_env(lr_store),
        capture_output=True,
        timeout=60,
    )
    text = piped.stdout.decode()
    assert piped.returncode == 0 and "\x1b" not in text, piped.stderr
    assert "run: no-lr" in text  # the project's latest run (none is running)
    assert "no metric logged yet" in text


def test_watch_defaults_to_the_latest_running_run_of_the_project_with_the_latest_run(store_dir):
    trackio.init(project="old", name="o1").finish()
    time.sleep(0.01)
    trackio.init(project="new", name="n1").finish()
    with Reader() as reader:
        assert choose_run(reader, None, None) == ("new", "n1")
    child = spawn_python(
        """
        import time, trackio_callback as trackio
        run = trackio.init(project="new", name="n2")
        run.log({"x": 1.0})
        run.flush()
        print("ready", flush=True)
        time.sleep(600)  # running until the test kills it
        """,
        env={"TRACKIO_DIR": str(store_dir)},
    )
    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(0.01)
        trackio.init(project="new", name="n3").finish()  # newer, but no longer running
        with Reader() as reader:
            assert choose_run(reader, None, None) == ("new", "n2")  # running beats newer
            assert choose_run(reader, "new", None) == ("new", "n2")
            assert choose_run(reader, "old", None) == ("old", "o1")
            assert choose_run(reader, None, "o1") == ("old", "o1")  # the project that has a run of that name
    finally:
        child.kill()
        child.wait()


def test_watch_errors_name_what_exists(lr_store, tmp_path, capsys):
    assert main(["watch", "--project", "nope"]) == 2
    assert "project 'nope' not found" in capsys.readouterr().err
    assert main(["watch", "--project", "sched", "--run", "nope"]) == 2
    err = capsys.readouterr().err
    assert "run 'nope' not found in project 'sched'" in err and "'no-lr'" in err
    assert main(["watch", "--run", "nope"]) == 2
    assert "no project has a run named 'nope'; projects: sched" in capsys.readouterr().err
    assert main(["--dir", str(tmp_path / "empty"), "watch"]) == 2
    assert f"no project in {tmp_path / 'empty'} yet" in capsys.readouterr().err
    assert main(["watch", "--project", "sched", "--metric", "("]) == 2
    assert "--metric must be a regular expression, got '('" in capsys.readouterr().err
    assert main(["watch", "--project", "sched", "--interval", "0"]) == 2
    assert "--interval must be from 0.05 to 3600 seconds, got 0.0" in capsys.readouterr().err
