"""Hub sync: Parquet export of runs, the uploader thread, repo set-up, and pulling a dataset back.

Imported only when a run syncs (it needs ``huggingface_hub`` and ``pyarrow``); training that stays
local never loads it.
"""
