"""`Config`: a run's config, a dict whose changes are saved with the run; `storable_config` checks one at ``init()``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from ..utils.jsontext import dumps, jsonable


class Config(MutableMapping):
    """A run's config: a dict whose changes are saved with the run (``run.config["lr"] = 1e-4``).

    Values are stored as JSON; anything JSON cannot hold is stored as its ``str()``.
    """

    def __init__(self, data: Mapping[str, Any], on_change=None):
        self._data = dict(data)
        self._on_change = on_change

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"config keys must be strings, got {type(key).__name__}: {key!r}")
        self._data[key] = value
        if self._on_change:
            self._on_change()

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        if self._on_change:
            self._on_change()

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Config({self._data!r})"

    def update(self, other: Any = (), /, allow_val_change: bool | None = None, **kwargs: Any) -> None:
        """``dict.update``; ``allow_val_change`` is accepted for trackio/wandb compatibility (values always change)."""
        super().update(other, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def to_json(self) -> str:
        return dumps(self._data)


def storable_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """``config`` as stored: JSON values kept, others as ``str()``; keys are strings (numbers become strings)."""
    config = dict(config or {})
    for key in config:
        if key is not None and not isinstance(key, (str, int, float)):
            raise TypeError(f"config keys must be strings, got {type(key).__name__}: {key!r}")
    try:
        return jsonable(config)
    except ValueError as error:  # a value that contains itself
        raise ValueError(f"config cannot be stored as JSON ({error}): a value refers to itself") from None
