"""Registration as ``"trackio"`` with transformers, accelerate and TRL's direct ``import trackio``.

How ``report_to="trackio"`` finds this package (transformers has no plugin entry point): the
start-up hook ``_trackio_callback_hook`` (run by a ``.pth`` file at interpreter start, and again by
``import trackio_callback``) calls `patch` right after these modules are imported:

- ``transformers.integrations.integration_utils``: ``INTEGRATION_TO_CALLBACK["trackio"]`` becomes
  `trackio_callback.integrations.callback.TrackioCallback` (``report_to="trackio"``, lists containing it, and
  ``"all"``, since ``is_trackio_available()`` finds the ``trackio`` module below);
- ``accelerate.tracking``: ``Accelerator(log_with="trackio")`` gets `accelerate.TrackioTracker`.

``import trackio`` is answered by `trackio_callback.integrations.trackio_module` — also when the real ``trackio``
package is installed, so that TRL's direct calls land in the same run as the callback's.
``TRACKIO_CALLBACK_NO_HOOK=1`` turns every part of this off: transformers, accelerate and
``import trackio`` then behave as if this package were not installed (``callbacks=[TrackioCallback()]``
still works).
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from pathlib import Path
from types import ModuleType

logger = logging.getLogger(__name__)

_COMPAT = Path(__file__).with_name("trackio_module.py")


def trackio_spec():
    """The module spec that makes ``import trackio`` load `trackio_callback.integrations.trackio_module`."""
    return importlib.util.spec_from_file_location("trackio", _COMPAT)


def patch(module: ModuleType) -> None:
    """Register with ``module`` (idempotent); called by the start-up hook after it is imported."""
    if module.__name__ == "transformers.integrations.integration_utils":
        _patch_transformers(module)
    elif module.__name__ == "accelerate.tracking":
        _patch_accelerate(module)


def _patch_transformers(module: ModuleType) -> None:
    from .callback import TrackioCallback

    module.INTEGRATION_TO_CALLBACK["trackio"] = TrackioCallback
    logger.debug("registered TrackioCallback as transformers' 'trackio' integration")


def _patch_accelerate(module: ModuleType) -> None:
    from .accelerate import tracker_class

    tracker = tracker_class(module.GeneralTracker, module.on_main_process)
    trackio_type = module.LoggerType.TRACKIO
    # accelerate decides availability from the `trackio` distribution's metadata, which is absent here.
    if trackio_type not in module._available_trackers:
        module._available_trackers.append(trackio_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "a tracker named 'trackio' is already registered": we mean to replace it
        if hasattr(module, "register_tracker_class"):  # accelerate >= 1.15
            module.register_tracker_class(tracker)
        else:
            module.LOGGER_TYPE_TO_CLASS["trackio"] = tracker
    logger.debug("registered TrackioTracker as accelerate's 'trackio' tracker")
