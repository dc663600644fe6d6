"""`WarnOnce`: a `TrackioWarning` the first time a problem is seen, silence after (the tracker never floods a log).

Example::

    warn = WarnOnce()
    for step in range(1000):
        warn(("value", "train/loss"), "metric 'train/loss' dropped: ...")   # warns once; True that time
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable

from ..errors import TrackioWarning


class WarnOnce:
    """Warns once per key; later calls with the same key do nothing."""

    def __init__(self) -> None:
        self._seen: set[Hashable] = set()

    def __call__(self, key: Hashable, message: str, stacklevel: int = 2) -> bool:
        """Warn ``message`` unless ``key`` warned before; True when it warned."""
        if key in self._seen:  # silent: a problem of every step would flood the log
            return False
        self._seen.add(key)
        warnings.warn(message, TrackioWarning, stacklevel=stacklevel + 1)
        return True
