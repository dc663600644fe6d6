"""`Histogram`: trackio 0.43's (and W&B's) distribution value, binned off the training thread.

Given values, a `Histogram` keeps a float64 copy of them and bins them (``numpy.histogram``) only
when ``histogram``/``bins`` are first read: by the run's writer thread, after ``log()`` queued it. Given
``np_histogram``, it keeps numpy's ``(counts, edges)`` as they are. Either way it is stored as its
edges and counts, one row per step (`Reader.histograms`), the dashboard's step × value heatmap.

Example::

    trackio.log({"weights/layer0": trackio.Histogram(layer.weight)})          # any array, tensor or sequence
    trackio.log({"logits": trackio.Histogram(np_histogram=np.histogram(x, bins=30))})
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import MediaValueError

MAX_BINS = 512  # as trackio: more bins than this are not readable, and cost storage at every step


class Histogram:
    """``trackio.Histogram(sequence=None, np_histogram=None, num_bins=64)``: values, or numpy's (counts, edges)."""

    kind = "histogram"

    def __init__(self, sequence: Sequence[float] | Any = None, np_histogram: tuple | None = None, num_bins: int = 64):
        if sequence is None and np_histogram is None:
            raise MediaValueError("Must provide either sequence or np_histogram")
        if sequence is not None and np_histogram is not None:
            raise MediaValueError("Cannot provide both sequence and np_histogram")
        if isinstance(num_bins, bool) or not isinstance(num_bins, int) or num_bins < 1:
            raise MediaValueError(f"num_bins must be a positive integer, got {num_bins!r}")
        import numpy as np

        self.num_bins = min(num_bins, MAX_BINS)
        self._counts: Any = None
        self._edges: Any = None
        self._values: Any = None
        if np_histogram is not None:
            counts, edges = (np.array(part, dtype=np.float64) for part in np_histogram)
            if counts.ndim != 1 or edges.shape != (counts.size + 1,):
                raise MediaValueError(
                    f"np_histogram must be (counts, edges) with len(edges) == len(counts) + 1; "
                    f"got {counts.shape} counts and {edges.shape} edges"
                )
            self._counts, self._edges = counts, edges
        else:
            self._values = _float_copy(sequence, np)
        self.nbytes = (self._values if self._values is not None else self._counts).nbytes

    def _binned(self) -> tuple[Any, Any]:
        if self._counts is None:
            import numpy as np

            data = self._values[np.isfinite(self._values)]
            if data.size:
                counts, edges = np.histogram(data, bins=self.num_bins)
                self._counts, self._edges = counts.astype(np.float64), edges
            else:
                self._counts, self._edges = np.array([], dtype=np.float64), np.array([], dtype=np.float64)
            self._values = None  # binned: the values' memory goes
        return self._counts, self._edges

    @property
    def histogram(self) -> Any:
        """The counts (numpy), as trackio names them."""
        return self._binned()[0]

    @property
    def bins(self) -> Any:
        """The bin edges (numpy), one more than the counts, as trackio names them."""
        return self._binned()[1]

    def __repr__(self) -> str:
        return f"Histogram(num_bins={self.num_bins})"


def _float_copy(sequence: Any, np: Any) -> Any:
    """``sequence``'s values as a new flat float64 array (a tensor is detached and moved to the CPU first)."""
    if type(sequence).__module__.partition(".")[0] == "torch":
        sequence = sequence.detach().float().cpu().numpy()
    try:
        return np.array(sequence, dtype=np.float64).ravel()  # np.array copies: a later change is not logged
    except (TypeError, ValueError) as error:
        raise MediaValueError(
            f"Histogram takes a sequence of numbers (list, numpy array, tensor); got {type(sequence).__name__}: {error}"
        ) from None
