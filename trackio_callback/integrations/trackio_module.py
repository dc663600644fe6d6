"""The ``trackio`` module as trackio-callback provides it: what ``import trackio`` returns.

Loaded under the name ``trackio`` by the start-up hook (see `trackio_callback.integrations.registry`)
when the real ``trackio`` distribution is not installed, so that code written for trackio — TRL's
GRPO/RLOO completion tables and traces, transformers' own ``TrackioCallback``, accelerate's tracker,
user scripts — writes into trackio-callback's runs. (With the real trackio installed, ``import
trackio`` is the real package and `trackio_callback.integrations.real_trackio` routes its ``log``.)

It defines nothing of its own: every name is ``trackio_callback``'s (one API, two names), except

- ``__version__``: the trackio release whose API this implements (`compat.trackio_names.TRACKIO_VERSION`),
  because callers compare it with trackio's versions (transformers enables ``freeze`` from 0.21.1);
- ``TRACKIO_DIR``: where runs are stored, as trackio's constant says;
- trackio's internals (``SQLiteStorage``, ``Registry``, ``deploy``, ...): `UnknownNameError` (an
  ``AttributeError``) saying what to use instead.

Example::

    import trackio
    trackio.init(project="p", name="r")
    trackio.log({"completions": trackio.Table(dataframe=df)})
    trackio.alert("loss spike", level=trackio.AlertLevel.WARN)
    trackio.finish()
"""

from __future__ import annotations

from typing import Any

import trackio_callback
from trackio_callback.compat.trackio_names import ABSENT, TRACKIO_VERSION
from trackio_callback.errors import UnknownNameError

__version__ = TRACKIO_VERSION
__all__ = list(trackio_callback.__all__)


def __getattr__(name: str) -> Any:
    if name == "TRACKIO_DIR":
        from trackio_callback import settings

        return settings.storage_dir(None)
    if name in ABSENT:
        raise UnknownNameError(
            f"trackio.{name} is part of trackio itself and has no counterpart in trackio-callback: {ABSENT[name]}"
        )
    if name.startswith("__"):  # module protocol probes (__path__, __file__ of submodules, ...)
        raise AttributeError(name)
    try:
        return getattr(trackio_callback, name)
    except AttributeError:
        raise UnknownNameError(
            f"trackio (provided by trackio-callback) has no attribute {name!r}; what it provides is listed in "
            "trackio_callback.__all__ and in the README's table of trackio's names"
        ) from None


def __dir__() -> list[str]:
    return sorted({*__all__, "__version__", "TRACKIO_DIR", "config", "context_vars"})
