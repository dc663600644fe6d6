"""Integrations: how transformers, TRL, accelerate and ``import trackio`` reach the core.

Owns: ``callback`` (`TrackioCallback`, the Trainer callback), ``config_capture`` (a Trainer's
arguments and model config as a flat, secret-free run config), ``registry`` (registration as
``"trackio"`` with transformers and accelerate, called by the start-up hook), ``accelerate``
(the ``log_with="trackio"`` tracker), ``trackio_module`` (what ``import trackio`` returns when the
real trackio is not installed), ``real_trackio`` (when it is: routes TRL's direct ``trackio.log``
calls into the current trackio-callback run, leaving trackio's own runs, submodules and CLI alone).
``manual_system`` (trackio's ``log_gpu`` / ``log_cpu`` / ``*_available``: one system reading, by hand).
``checkpoints`` (each save and push recorded with the run: `TrackioCallback`'s ``on_save`` / ``on_push_begin``),
``model_card`` (on a push: the run synced, the model card's trackio tags and badge).
``run_identity`` (the run a checkpoint belongs to: written into its folder on save, read back on
``resume_from_checkpoint``).
``alert_actions`` (``on_nan`` / ``on_divergence`` / the deadline turned into ``TrainerControl`` flags, alerts
and the end reason; the deadline's checkpoint decision broadcast from process zero with accelerate, lazily).

May import: `.core`, `.telemetry`, `.settings`, `.errors`, `.utils`; transformers/accelerate only in
``callback``, lazily in ``alert_actions``, and where a patched module hands them over. Never the server or the
Hub at module level.
"""
