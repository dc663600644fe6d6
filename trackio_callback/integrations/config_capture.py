"""A Trainer's arguments and model as a run config: flat ``a/b`` keys, JSON values, nothing secret.

Example::

    trainer_config(trainer.args, trainer.model, secret=settings.hf_token())
    # {"learning_rate": 5e-05, ..., "world_size": 1, "model/hidden_size": 32, "model/num_parameters": 123456}
"""

from __future__ import annotations

from typing import Any

from ..utils.jsontext import jsonable

_SECRET_WORDS = ("secret", "password", "api_key", "apikey")


def flatten_config(value: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Nested dicts as ``a/b`` keys with JSON leaves (`jsontext` policy); anything secret-looking is left out."""
    out = {} if out is None else out
    if hasattr(value, "to_dict") and not isinstance(value, dict):
        value = value.to_dict()
    if isinstance(value, dict):
        for key, item in value.items():
            key = str(key)
            if is_secret(key):
                continue
            flatten_config(item, f"{prefix}{key}" if not prefix else f"{prefix}/{key}", out)
        return out
    out[prefix] = jsonable(value)
    return out


def is_secret(key: str) -> bool:
    """A key whose value must never be stored: ``hub_token``, ``push_to_hub_token``, ``*password*``, ..."""
    lowered = key.lower()  # not pad_token_id or max_tokens
    return lowered.endswith("token") or any(word in lowered for word in _SECRET_WORDS)


def trainer_config(args: Any, model: Any, secret: str | None = None) -> dict[str, Any]:
    """The run config derived from ``TrainingArguments`` and the model: its config, PEFT config, parameter counts.

    A string value containing ``secret`` (the Hub token) is left out whatever its key.
    """
    derived: dict[str, Any] = {}
    derived.update(flatten_config(args.to_dict()))
    derived["world_size"] = getattr(args, "world_size", 1)  # a property, not in to_dict()
    if model is not None:
        model_config = getattr(model, "config", None)
        if model_config is not None:
            flatten_config(model_config, "model", derived)
        peft_config = getattr(model, "peft_config", None)
        if peft_config:
            flatten_config(dict(peft_config), "peft", derived)
        parameters = list(getattr(model, "parameters", lambda: [])())
        derived["model/num_parameters"] = sum(p.numel() for p in parameters)
        derived["model/trainable_parameters"] = sum(p.numel() for p in parameters if p.requires_grad)
    return {k: v for k, v in derived.items() if not (secret and isinstance(v, str) and secret in v)}
