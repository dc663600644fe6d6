"""The tracking core: `Run` and the module-level API, the writer thread, exit hooks, what ``log()`` accepts.

Owns: ``run`` (`Run`, `init`, `log`, `finish`), ``config`` (`Config`), ``writer`` (buffer → SQLite),
``lifecycle`` (atexit/signal hooks), ``values`` and ``names`` (validation), ``table`` (`Table`).

May import: the standard library, `trackio_callback.settings`, `.errors`, `.utils` and `.store`.
Never at module level: pyarrow, huggingface_hub, starlette, uvicorn, mcp, torch, transformers
(``tests/test_import.py`` checks it). The Hub uploader is imported only when a run syncs.
"""
