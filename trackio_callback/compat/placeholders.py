"""trackio's placeholders for W&B classes it does not implement: the same names, a clearer error.

trackio 0.43 exports ``ArtifactTTL``, ``Classes``, ``EvalTable``, ``Graph``, ``JoinedTable``,
``Molecule``, ``Plotly`` and ``Settings`` so that W&B code imports; constructing one raises
``NotImplementedError``. Here it raises `UnsupportedFeatureError` (a ``NotImplementedError`` too)
that names what to use instead. (trackio's ``Config`` placeholder is not among them: this package's
`Config` is the working run config.)

Example::

    trackio.Plotly(figure)
    # UnsupportedFeatureError: trackio.Plotly has no meaning in trackio-callback (as in trackio, it is a
    # placeholder for a W&B class): log the figure as trackio.Html(figure) instead
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from ..errors import UnsupportedFeatureError


class _Placeholder:
    instead: ClassVar[str]

    def __init__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise UnsupportedFeatureError(
            f"trackio.{type(self).__name__} has no meaning in trackio-callback (as in trackio, it is a "
            f"placeholder for a W&B class): {self.instead}"
        )


class ArtifactTTL(_Placeholder):
    instead = "artifact versions are kept until removed; log_artifact(..., overwrite=True) keeps only the newest"


class Classes(_Placeholder):
    instead = "class labels of masks and boxes are not stored; log them as a column of a trackio.Table"


class EvalTable(_Placeholder):
    instead = "log the evaluation rows as a trackio.Table"


class Graph(_Placeholder):
    instead = "model graphs are not stored; log the model's summary as text: log({'model/summary': str(model)})"


class JoinedTable(_Placeholder):
    instead = "join the two tables first (pandas.merge) and log the result as one trackio.Table"


class Molecule(_Placeholder):
    instead = "keep the structure file with trackio.save(path) or trackio.log_artifact(path)"


class Plotly(_Placeholder):
    instead = "log the figure as trackio.Html(figure)"


class Settings(_Placeholder):
    instead = "pass options to trackio.init() as keyword arguments (init's settings= is accepted and not used)"


PLACEHOLDERS = (ArtifactTTL, Classes, EvalTable, Graph, JoinedTable, Molecule, Plotly, Settings)
