"""Mechanisms written once and used across the package (standard library only).

Owns: ``jsontext`` (the one JSON policy: non-finite floats, non-JSON objects, strict output),
``warn`` (warn-once), ``retry`` (retry with exponential backoff and jitter within a deadline).

May import: the standard library and `.errors` only; every other subpackage may import it.
"""
