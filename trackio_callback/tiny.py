"""The documented ``trackio_callback.tiny``: an alias of `trackio_callback.demos.tiny`."""

import sys

from .demos import tiny as _tiny

sys.modules[__name__] = _tiny
