"""Which process samples its machine, and how a node of a multi-node job is named (from the launcher's variables).

Example::

    if should_sample_on_this_process():          # local rank 0, or no launcher at all
        node = default_node_name()                # "node1" on the second node of a torchrun job, else None
"""

from __future__ import annotations

import socket
import uuid

from .. import settings


def should_sample_on_this_process() -> bool:
    """True on the process that samples its machine: local rank 0, or a process without a local rank.

    Reads ``LOCAL_RANK`` (torchrun, accelerate, deepspeed), else ``SLURM_LOCALID`` (processes that
    ``srun`` starts directly). No collective calls.
    """
    raw = settings.launcher().local_rank
    if raw is None:
        return True
    try:
        return int(raw) == 0
    except ValueError:
        return raw.strip() == "0"


def default_node_name() -> str | None:
    """A tag for this machine when the job spans several: ``"node{rank}"``, else None.

    Several nodes: ``WORLD_SIZE`` > ``LOCAL_WORLD_SIZE`` (torchrun), or, without those, ``SLURM_NNODES``
    / ``SLURM_JOB_NUM_NODES`` > 1. The rank is ``GROUP_RANK`` (torchrun), ``NODE_RANK`` (accelerate,
    Lightning) or ``SLURM_NODEID``; without any, the tag is the hostname.
    """
    job = settings.launcher()
    if job.world_size is not None and job.local_world_size is not None and job.local_world_size > 0:
        multi_node = job.world_size > job.local_world_size
    else:
        multi_node = job.nodes is not None and job.nodes > 1
    if not multi_node:
        return None
    if job.node_rank is not None:
        return f"node{job.node_rank}"
    return socket.gethostname()


def job_name() -> str | None:
    """The run name every node of a multi-node job can agree on without talking: ``job-<launcher's job id>``."""
    job = settings.launcher().job_id
    return f"job-{job}" if job and job != "none" else None


def job_run_uid(project: str, name: str | None) -> str | None:
    """The uid every node of a multi-node job gives the run, derived from its project and name."""
    return None if name is None else uuid.uuid5(uuid.NAMESPACE_URL, f"trackio-callback/{project}/{name}").hex
