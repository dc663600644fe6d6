"""The dashboard: a JSON API over `Reader` (`api`), the server that hosts it (`show`), the static front end.

Needs the ``dashboard`` extra (starlette, uvicorn); nothing here is imported by ``import trackio_callback``.
"""

from __future__ import annotations

from typing import Any


def show(*args: Any, **kwargs: Any) -> Any:
    """See `trackio_callback.server.show.show`."""
    from .show import show as _show

    return _show(*args, **kwargs)
