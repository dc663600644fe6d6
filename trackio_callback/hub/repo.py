"""Which dataset a run syncs to, and the token check done at ``init()``.

The dataset is ``dataset_id`` if given, else ``<space_id>-dataset``. A name without a namespace
(``"trackio"``) belongs to the token's owner (``"alice/trackio"``), looked up with ``whoami``.
A missing or rejected token is an error at ``init()``: training does not start with a sync that can
never work. A Hub that cannot be reached is not: the run logs locally and syncs when it can.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .. import settings
from ..errors import HubTokenError

logger = logging.getLogger(__name__)


@dataclass
class SyncTarget:
    dataset_id: str
    space_id: str | None
    token: str
    endpoint: str | None


def find_token() -> str | None:
    """``$HF_TOKEN``, else the token saved by ``hf auth login``."""
    token = settings.hf_token()
    if token:
        return token
    from huggingface_hub import get_token

    return get_token()


def resolve(space_id: str | None, dataset_id: str | None, endpoint: str | None = None) -> SyncTarget:
    """Full repo ids for a run's sync, checking the token. Raises `HubTokenError` naming ``HF_TOKEN``."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    target = dataset_id or f"{space_id}-dataset"
    token = find_token()
    if not token:
        raise HubTokenError(
            f"syncing to {target!r} needs a Hugging Face token with write access: set HF_TOKEN "
            "(or run `hf auth login`), or leave space_id/dataset_id unset to keep the run local"
        )
    try:
        owner = HfApi(endpoint=endpoint, token=token).whoami()["name"]
    except HfHubHTTPError as error:
        if getattr(error.response, "status_code", None) == 401:
            raise HubTokenError(f"the Hub rejected HF_TOKEN (HTTP 401) while setting up {target!r}") from error
        raise
    except Exception as error:  # the Hub cannot be reached: fine for full ids, the sync retries later
        if "/" not in target or (space_id is not None and "/" not in space_id):
            raise HubTokenError(
                f"cannot reach the Hub to find the namespace of {target!r} ({error}); give a full id like 'user/name'"
            ) from error
        logger.warning("the Hub cannot be reached (%s): the run logs locally and syncs when it can", error)
        owner = None
    if owner is not None:
        target = target if "/" in target else f"{owner}/{target}"
        space_id = space_id if space_id is None or "/" in space_id else f"{owner}/{space_id}"
    return SyncTarget(dataset_id=target, space_id=space_id, token=token, endpoint=endpoint)
