"""trackio's rich values: `Image`, `Audio`, `Video`, `Object3D`, `Histogram`, `Markdown`, `Html`, `Trace`.

Each class takes trackio 0.43's constructor arguments and checks them as trackio does, so code
written for trackio builds them unchanged. ``text`` holds the values stored as text (`TextValue`:
`Markdown`, `Html`, `Trace`); ``files`` those stored as files (`Media`: `Image`, `Audio`, `Video`,
`Object3D`), which snapshot their input when built; ``histogram`` the `Histogram`; ``encoding`` turns
a snapshot into a file's bytes (PNG, WAV, MP4, PLY), in the run's writer thread, never in ``log()``;
``snapshots`` keeps mapped buffers for the snapshots' array copies.

May import: the standard library, `errors`, `utils`; numpy, PIL, matplotlib, plotly and imageio-ffmpeg
only when a value of theirs is given or encoded. Never the core, the store or the Hub.
"""

from .files import Audio, Image, Media, Object3D, Video
from .histogram import Histogram
from .text import Html, Markdown, TextValue, Trace

__all__ = ["Audio", "Histogram", "Html", "Image", "Markdown", "Media", "Object3D", "TextValue", "Trace", "Video"]
