"""The ``trackio-callback`` command: a thin layer that parses arguments and calls the library.

Owns: ``main`` (the commands), ``manage`` (``runs delete|rename|move``, ``projects delete``: asking first),
``points`` (the fast JSON writer of ``get metric --json``), ``media`` (``get media`` and its
``--export``, ``get histogram``, ``get traces``), ``checkpoints`` (``list checkpoints``), ``output`` (the
plain-text tables), ``plot`` (``get metric --plot``: the chart), ``watch`` (the live view), ``terminal`` (what
those two share: the optional libraries, colour, size).

May import: everything public; the server, the Hub and the demos only inside the command that needs them;
rich and plotext (the ``terminal`` extra) only inside ``plot`` and ``watch``'s drawing functions.
"""

from .main import entry, main

__all__ = ["entry", "main"]
