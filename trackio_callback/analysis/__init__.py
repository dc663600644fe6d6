"""Analysis: a numeric diagnosis of a run from its curves (pure: no I/O, no store).

Owns: ``diagnosis`` (`Curve`, `analyze`: trend, plateau, spikes, divergence, overfitting, learning-rate
phase, throughput drops). The MCP tool ``analyze_run`` feeds it curves read with `Reader`.
``distribution`` (`summarize`, `describe`): a logged histogram's count, mean, std, bounds and
percentiles from its bins (the MCP tool ``get_histogram``, ``trackio-callback get histogram``).

May import: the standard library and `.utils`.
"""

from .diagnosis import Curve, analyze

__all__ = ["Curve", "analyze"]
