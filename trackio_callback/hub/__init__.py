"""Hub sync: a project's runs as Parquet in a Hugging Face dataset, and back.

Owns: ``layout`` (where each file of a dataset lives), ``export`` (a run's rows as Parquet),
``uploader`` (the exactly-once sync thread), ``calls`` (one Hub request, retried by the one policy),
``commands`` (``trackio-callback sync``), ``pull`` and
``mirror`` (a dataset copied into local project files, once or kept pulled), ``repo`` (token and repo
ids), ``space`` and ``card`` (the dashboard Space and the dataset card), ``artifact_sync`` (a project's
artifacts and saved files sent once each, part of the uploader's sync), ``media_sync`` (a project's media
files sent once each, before the rows that name them), ``resume`` (a run continued from the dataset on a
fresh disk, and a run started offline joined to it later).

May import: `.store`, `.settings`, `.errors`, `.utils`, `.version`, `.artifacts` (blobs, documents),
`.media` (``encoding``: the media config's thumbnails, loaded only when media rows are exported);
``huggingface_hub`` and ``pyarrow``.
Imported only when a run syncs, a dataset is pulled or a dashboard shows one: training that stays
local never loads it. Never the server, the integrations or the demos.
"""
