"""A terminal progress bar for copies of large files, huggingface_hub's where it is installed.

Files under `PROGRESS_MIN_BYTES` get no bar. huggingface_hub's ``tqdm`` honours
``HF_HUB_DISABLE_PROGRESS_BARS`` as its own bars do; without huggingface_hub (or tqdm) nothing is shown.

Example::

    with progress_bar(size, f"staging {path.name}") as advance:
        for chunk in chunks:
            advance(len(chunk))
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

PROGRESS_MIN_BYTES = 256 * 2**20  # smaller copies take a second or two: no bar


@contextlib.contextmanager
def progress_bar(total: int, description: str) -> Iterator[Callable[[int], None]]:
    """A function to call with each copied chunk's size; a bar on stderr while it runs for a large ``total``."""
    bar = _bar(total, description) if total >= PROGRESS_MIN_BYTES else None
    if bar is None:
        yield lambda n: None
        return
    try:
        yield bar.update
    finally:
        bar.close()


def _bar(total: int, description: str):
    try:  # huggingface_hub's tqdm: the bars users see for Hub transfers, and their switch
        from huggingface_hub.utils import tqdm
    except ImportError:
        try:
            from tqdm import tqdm
        except ImportError:
            return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=description)
