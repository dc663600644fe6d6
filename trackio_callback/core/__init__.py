"""The tracking core: `Run` and the module-level API, the writer thread, exit hooks, what ``log()`` accepts.

Owns: ``run`` (`Run`, `init`, `log`, `finish`), ``shortcuts`` (trackio's other module-level calls on the
current run: `alert`, `log_system`, `log_artifact`, `use_artifact`, `save`), ``context_vars`` (trackio's
``context_vars``), ``config`` (`Config`), ``writer`` (buffer → SQLite), ``lifecycle`` (atexit/signal
hooks), ``values`` and ``names`` (validation), ``table`` (`Table`), ``checkpoint_records`` (a run's record of
its checkpoints: `Run.record_checkpoint`), ``end_reason`` (why a run ended: the reason `finish` records,
from an exception, a CUDA out-of-memory error, a signal or `Run.set_end_reason`).

May import: the standard library, `trackio_callback.settings`, `.errors`, `.utils`, `.store`, `.alerts` and
`.media`; `.artifacts` and `.telemetry` inside the calls that use them.
Never at module level: pyarrow, huggingface_hub, starlette, uvicorn, mcp, torch, transformers
(``tests/test_import.py`` checks it). The Hub uploader is imported only when a run syncs.
"""
