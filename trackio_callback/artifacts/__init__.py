"""Artifacts, saved files and references: trackio's ``Artifact``, ``log_artifact``/``use_artifact``, ``save``.

Owns: ``blobs`` (the content-addressed blob store beside a project's database: every file's bytes
once, written atomically), ``names`` (what an artifact name, alias or path inside an artifact may
be), ``artifact`` (`Artifact`), ``references`` (`ReferenceHandler`, `ResolvedReference`,
`register_reference_handler`: ``file://``, ``http(s)://``, ``hf://`` and the user's schemes),
``operations`` (logging and using a version for a run), ``save`` (``save()``), ``documents`` (an
artifact as the JSON document a Hub dataset holds) and ``remote`` (fetching documents and blobs
from a run's dataset), ``progress`` (the terminal progress bar of large copies).

May import: the standard library, `.store`, `.settings`, `.errors`, `.utils`, and `.hub.layout` (the
dataset's paths, pure). ``huggingface_hub`` only inside the functions that reach the Hub, and for the
progress bar of a large file: logging a small artifact loads nothing outside the standard library.
The core calls it (`Run.log_artifact`, `Run.use_artifact`, ``save``); it never imports the core.
"""
