"""trackio's rich values: `Image`, `Audio`, `Video`, `Html`, `Object3D`, `Histogram`, `Markdown`, `Trace`.

Each class takes trackio 0.43's constructor arguments and checks them as trackio does, so code
written for trackio builds them unchanged. `Markdown`, `Html` and `Trace` are text (`TextValue.text`):
``log()`` stores them as text series. The others (`StoredLater`) are not stored yet: ``log()``
warns once per key that the value was not stored.

May import: the standard library, `errors`, `utils`; numpy, PIL, matplotlib and plotly only when a
value of theirs is given. Never the core, the store or the Hub.
"""

from .values import Audio, Histogram, Html, Image, Markdown, Object3D, StoredLater, TextValue, Trace, Video

__all__ = ["Audio", "Histogram", "Html", "Image", "Markdown", "Object3D", "StoredLater", "TextValue", "Trace", "Video"]
