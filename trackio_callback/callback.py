"""The documented ``trackio_callback.callback``: an alias of `trackio_callback.integrations.callback`."""

import sys

from .integrations import callback as _callback

sys.modules[__name__] = _callback
