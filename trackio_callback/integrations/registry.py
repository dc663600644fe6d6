"""Registration as ``"trackio"`` with transformers, accelerate and TRL's direct ``import trackio``.

How ``report_to="trackio"`` finds this package (transformers has no plugin entry point): the
start-up hook ``_trackio_callback_hook`` (run by a ``.pth`` file at interpreter start, and again by
``import trackio_callback``) calls `patch` right after these modules are imported:

- ``transformers.integrations.integration_utils``: ``INTEGRATION_TO_CALLBACK["trackio"]`` becomes
  `trackio_callback.integrations.callback.TrackioCallback` (``report_to="trackio"``, lists containing it, and
  ``"all"``, since ``is_trackio_available()`` finds the ``trackio`` module below);
- ``accelerate.tracking``: ``Accelerator(log_with="trackio")`` gets `accelerate.TrackioTracker`;
- ``trackio``, when it is the real package: its top-level ``log`` is routed (`real_trackio`).

What ``import trackio`` is:

- without the real ``trackio`` distribution: `trackio_callback.integrations.trackio_module` (`trackio_spec`),
  so that TRL's direct calls land in the same run as the callback's;
- with it installed: the real package, untouched (its submodules, its CLI, its own ``init``/``log``/``finish``),
  except that ``trackio.log`` goes to trackio-callback's current run while the real trackio has no run of
  its own: TRL's direct calls under ``report_to="trackio"`` are neither lost nor an error.

``TRACKIO_CALLBACK_NO_HOOK=1`` turns every part of this off: transformers, accelerate and
``import trackio`` then behave as if this package were not installed (``callbacks=[TrackioCallback()]``
still works).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import warnings
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

logger = logging.getLogger(__name__)

_COMPAT = Path(__file__).with_name("trackio_module.py")


def trackio_spec():
    """The module spec that makes ``import trackio`` load `trackio_callback.integrations.trackio_module`."""
    return importlib.util.spec_from_file_location("trackio", _COMPAT)


def is_real_trackio(spec: ModuleSpec) -> bool:
    """Whether ``spec`` (what the rest of ``sys.meta_path`` found for ``trackio``) is the real trackio package.

    The ``trackio`` distribution's metadata decides, not the files alone: a stray ``trackio`` folder on the
    path is not an installed package, and trackio-callback's module keeps answering ``import trackio`` then.
    """
    if spec.origin == str(_COMPAT):
        return False
    try:
        importlib.metadata.distribution("trackio")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def patch(module: ModuleType) -> None:
    """Register with ``module`` (idempotent); called by the start-up hook after it is imported."""
    if module.__name__ == "transformers.integrations.integration_utils":
        _patch_transformers(module)
    elif module.__name__ == "accelerate.tracking":
        _patch_accelerate(module)
    elif module.__name__ == "trackio" and module.__spec__ is not None and is_real_trackio(module.__spec__):
        from .real_trackio import route_top_level_log

        route_top_level_log(module)


def _patch_transformers(module: ModuleType) -> None:
    from .callback import TrackioCallback

    module.INTEGRATION_TO_CALLBACK["trackio"] = TrackioCallback
    logger.debug("registered TrackioCallback as transformers' 'trackio' integration")


def _patch_accelerate(module: ModuleType) -> None:
    from .accelerate import tracker_class

    tracker = tracker_class(module.GeneralTracker, module.on_main_process)
    trackio_type = module.LoggerType.TRACKIO
    # accelerate decides availability from the `trackio` distribution's metadata, absent without the real trackio.
    if trackio_type not in module._available_trackers:
        module._available_trackers.append(trackio_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "a tracker named 'trackio' is already registered": we mean to replace it
        if hasattr(module, "register_tracker_class"):  # accelerate >= 1.15
            module.register_tracker_class(tracker)
        else:
            module.LOGGER_TYPE_TO_CLASS["trackio"] = tracker
    logger.debug("registered TrackioTracker as accelerate's 'trackio' tracker")
