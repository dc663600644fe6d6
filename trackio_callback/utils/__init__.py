"""Mechanisms written once and used across the package (standard library only).

Owns: ``jsontext`` (the one JSON policy: non-finite floats, non-JSON objects, strict output),
``warn`` (warn-once), ``retry`` (retry with exponential backoff and jitter within a deadline),
``crashpoints`` (the sync protocol's numbered crash points, for tests to kill a process there).

May import: the standard library, `.errors` and `.settings` only; every other subpackage may import it.
"""
