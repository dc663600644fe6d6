"""The dashboard: a JSON API over `Reader` (`api`), the MCP tools (`mcp_server`), the server that hosts
both (`show`), the static front end (``static/``).

The modules need the ``dashboard`` extra (starlette, uvicorn, mcp); none is imported by ``import trackio_callback``.
This package module needs none of it: `missing_extra` words the error when the extra is missing. Start the
server with `trackio_callback.show`.

May import: `.store` (through `Reader`), `.hub` (``mirror``: a dashboard over a pulled dataset), `.media` (formats),
`.analysis`, `.settings`, `.errors`, `.utils`, `.version`; `.management` (``writes``, the local page's write API, and
the stdio MCP server's write tools: renaming, tagging, annotating, deleting runs, validated as the CLI does). Only
``show`` imports both ``api`` and ``mcp_server``. Never the core's writer side, the integrations or the demos.
"""

from __future__ import annotations

from ..errors import TrackioError


def missing_extra(error: ImportError, who: str = "the dashboard") -> TrackioError:
    """The error to raise when importing the server failed with ``error``: ``who`` needs the extra."""
    return TrackioError(
        f"{who} needs the 'dashboard' extra ({error.name} is missing): pip install 'trackio-callback[dashboard]'"
    )
