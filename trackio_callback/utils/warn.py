"""`WarnOnce`: a `TrackioWarning` the first time a problem is seen, silence after (the tracker never floods a log).

Example::

    warn = WarnOnce()
    for step in range(1000):
        warn(("value", "train/loss"), "metric 'train/loss' dropped: ...")   # warns once
    warn.seen(("value", "train/loss"))                                      # True
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Hashable

from ..errors import TrackioWarning

logger = logging.getLogger("trackio_callback")


class WarnOnce:
    """Warns once per key; later calls with the same key only log at debug level."""

    def __init__(self) -> None:
        self._seen: set[Hashable] = set()

    def __call__(self, key: Hashable, message: str, stacklevel: int = 2) -> bool:
        """Warn ``message`` unless ``key`` warned before; True when it warned."""
        if key in self._seen:
            logger.debug("%s", message)
            return False
        self._seen.add(key)
        warnings.warn(message, TrackioWarning, stacklevel=stacklevel + 1)
        return True

    def seen(self, key: Hashable) -> bool:
        return key in self._seen
