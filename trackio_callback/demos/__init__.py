"""Demo material, apart from the core: tiny offline models and data (``tiny``) and the demo job (``demo``).

Needs transformers, tokenizers, datasets and TRL (imported here, never by the core). Its documented
import path ``trackio_callback.tiny`` is an alias of ``trackio_callback.demos.tiny``.

May import: `.core` (the public API) and the training libraries.
"""
