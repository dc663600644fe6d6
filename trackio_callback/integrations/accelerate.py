"""accelerate's ``log_with="trackio"``: a ``GeneralTracker`` that logs to a trackio-callback run.

`registry` registers it when ``accelerate.tracking`` is imported; the class is built from the
module's own ``GeneralTracker`` then, so importing this package never imports accelerate.
"""

from __future__ import annotations

from ..core import run as run_module

_tracker_classes: dict[type, type] = {}


def tracker_class(base: type, on_main_process) -> type:
    """accelerate's ``GeneralTracker`` subclass for this package (built once per base class).

    Built here rather than at module level so that importing trackio_callback never imports accelerate.
    """
    if base in _tracker_classes:
        return _tracker_classes[base]

    class TrackioTracker(base):
        """``Accelerator(log_with="trackio")``: logs to a trackio-callback run (main process only)."""

        name = "trackio"
        requires_logging_directory = False
        main_process_only = True

        def __init__(self, run_name: str, **kwargs):
            super().__init__()
            self.run_name = run_name
            self.init_kwargs = kwargs
            self.run = None

        @on_main_process
        def start(self):
            self.run = run_module.current_run() or run_module.init(project=self.run_name, **self.init_kwargs)

        @property
        def tracker(self):
            return self.run

        @on_main_process
        def store_init_configuration(self, values: dict):
            self.run.config.update(values)

        @on_main_process
        def log(self, values: dict, step: int | None = None, **kwargs):
            self.run.log(values, step=step)

        @on_main_process
        def finish(self):
            self.run.finish()

    _tracker_classes[base] = TrackioTracker
    return TrackioTracker
