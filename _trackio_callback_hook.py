"""Start-up hook of trackio-callback: ``report_to="trackio"`` without ``import trackio_callback``.

``trackio_callback_hook.pth`` (installed next to this module in site-packages) runs `install` at
interpreter start. It puts one finder at the front of ``sys.meta_path`` that

- answers ``import trackio``: when the real ``trackio`` distribution is installed, with the real
  package (its submodules and CLI untouched), whose top-level ``log`` is routed to trackio-callback's
  run while trackio itself has none (`trackio_callback.integrations.real_trackio`); otherwise with
  trackio-callback's trackio-compatible module. Either way TRL's direct ``trackio.log`` /
  ``trackio.Table`` calls, and transformers' ``is_trackio_available()``, see a ``trackio``;
- runs ``trackio_callback.integrations.registry.patch(module)`` right after
  ``transformers.integrations.integration_utils`` or ``accelerate.tracking`` is imported, which
  registers trackio-callback's ``TrackioCallback`` / tracker under the name ``"trackio"``.

Nothing else is imported until one of those modules is, so an interpreter start costs two string
comparisons per later import. ``TRACKIO_CALLBACK_NO_HOOK=1`` turns all of this off.
"""

import os
import sys

WATCHED = frozenset({"transformers.integrations.integration_utils", "accelerate.tracking"})
TRACKIO = "trackio"
OPT_OUT = "TRACKIO_CALLBACK_NO_HOOK"
_executing = set()  # watched modules whose code is running now: patched when it ends, not before


def disabled() -> bool:
    return os.environ.get(OPT_OUT, "").strip().lower() in ("1", "true", "yes", "on")


class TrackioCallbackFinder:
    """Meta-path finder: the ``trackio`` module, and post-import patches of watched modules."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == TRACKIO:
            return self._trackio_spec(path, target)
        if fullname in WATCHED:
            spec = self._spec_elsewhere(fullname, path, target)
            return None if spec is None else _with_patch(spec)
        return None

    def _trackio_spec(self, path, target):
        from trackio_callback.integrations import registry as integration

        installed = self._spec_elsewhere(TRACKIO, path, target)
        if installed is not None and integration.is_real_trackio(installed):
            # The real package stays the one imported (another package must not be broken);
            # the patch after it runs only routes its top-level `log` while trackio has no run.
            return _with_patch(installed)
        return integration.trackio_spec()

    def _spec_elsewhere(self, fullname, path, target):
        """The spec the rest of ``sys.meta_path`` finds for ``fullname`` (None: not installed)."""
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                return spec
        return None


def _with_patch(spec):
    if spec.loader is not None and hasattr(spec.loader, "exec_module"):
        spec.loader = PatchingLoader(spec.loader)
    return spec


class PatchingLoader:
    """Wraps a module's loader: executes the module, then lets trackio-callback register itself."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        _executing.add(module.__name__)
        try:
            self._loader.exec_module(module)
        finally:
            _executing.discard(module.__name__)
        _patch(module)

    def __getattr__(self, name):  # get_source, get_filename, ... for tracebacks and inspect
        return getattr(self._loader, name)


def install() -> bool:
    """Insert the finder once (idempotent) and patch watched modules that are already imported."""
    if disabled():
        return False
    if not any(isinstance(finder, TrackioCallbackFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, TrackioCallbackFinder())
    # A real `trackio` imported before the finder was in place (no .pth run) is routed now;
    # `registry.patch` leaves trackio-callback's own `trackio` module alone.
    for name in (*WATCHED, TRACKIO):
        if name in sys.modules and name not in _executing:
            _patch(sys.modules[name])
    return True


def _patch(module) -> None:
    try:
        from trackio_callback.integrations import registry as integration

        integration.patch(module)
    except Exception:  # registration must never break the user's import
        import logging

        logging.getLogger("trackio_callback").debug("registering with %s failed", module.__name__, exc_info=True)
