"""Importing other trackers' logs as ordinary runs: a CSV file (`csv_file.import_csv`) and TensorBoard event
files (`tf_events.import_tf_events`), trackio's ``import_csv`` / ``import_tf_events``.

Owns: ``csv_file`` (parsing a CSV of steps, timestamps and metric columns), ``tf_events`` (reading scalars
from event files with the ``tensorboard`` package, the ``imports`` extra), ``writing`` (the run an import
writes to, through `core.run.Run`, with the Hub sync ``init`` would start, keeping each value's step and
wall time from the file).

May import: `.core`, `.store`, `.settings`, `.errors`; `.hub` (``repo``) and ``tensorboard`` only
inside functions, when an import syncs or reads event files. ``import trackio_callback`` loads none of it.
"""
