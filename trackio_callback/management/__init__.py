"""Run and project management: deleting, renaming, moving, tagging and annotating runs, deleting projects, and
trackio's `Api`.

Owns: ``operations`` (`delete_run`, `rename_run`, `move_run`, `delete_project`, and a run's tags and notes:
`set_run_tags`, `add_run_tags`, `remove_run_tags`, `edit_run_tags`, `set_run_notes`: what the `Api`, the
CLI and trackio's ``delete_project`` call), ``api`` (`Api`, its `Runs` and `Run` handles, and
trackio's ``delete_project(project, force)``). The SQL is the store's (``store.removal``); a removed
run's files leave each Hub dataset at the next sync (``hub.uploader``).

May import: the standard library, `.store`, `.core.names` (what a run name may be), `.alerts.levels`,
`.settings`, `.errors` and `.utils`; `.hub` only lazily. Nothing here loads a heavy library.
"""
