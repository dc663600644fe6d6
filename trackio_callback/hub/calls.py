"""`hub_call`: one Hub request, retried the way every sync and lookup retries them (one policy, written once).

5xx, 408 (request timeout), 429 (honouring ``Retry-After``), timeouts and dropped connections are
retried with exponential backoff and jitter (`utils.retry`) until a deadline; any other HTTP status
(401, 403, 404: a rejected token, no access, no repo) is final at once.

Example::

    info = hub_call(lambda: api.dataset_info("alice/ds"), deadline=time.monotonic() + 30)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from huggingface_hub.errors import HfHubHTTPError

from ..errors import PermanentSyncError, TransientSyncError
from ..utils.retry import retry

logger = logging.getLogger(__name__)
T = TypeVar("T")

# huggingface_hub raises its HTTP client's HTTPError for transport failures (refused or dropped
# connections, timeouts) and HfHubHTTPError, a subclass, for HTTP answers.
_HTTP_ERROR = HfHubHTTPError.__bases__[0]
PERMANENT_STATUSES = frozenset({401, 403, 404})
RETRY_BASE_S = 0.5  # first wait of the backoff on 5xx, 429 and dropped connections; doubles up to RETRY_CAP_S
RETRY_CAP_S = 60.0


def hub_call(call: Callable[[], T], deadline: float) -> T:
    """``call()`` (a Hub request), retried on 5xx, 408, 429 and dropped connections until ``deadline``.

    Gives up (`TransientSyncError`) before a wait that would pass the deadline; any other HTTP
    status is a `PermanentSyncError` at once (raised from the Hub's error).
    """

    def attempt() -> T:
        try:
            return call()
        except _HTTP_ERROR as error:
            status = _status(error)
            if status is not None and (status in PERMANENT_STATUSES or not _retryable_status(status)):
                raise PermanentSyncError(f"HTTP {status} from the Hub: {first_line(error)}") from error
            logger.debug("Hub call failed (%s); retrying", first_line(error))
            raise

    return retry(
        attempt,
        retryable=lambda error: isinstance(error, _HTTP_ERROR),
        deadline=deadline,
        on_give_up=lambda error: TransientSyncError(f"{first_line(error)} (gave up retrying for now)"),
        base=RETRY_BASE_S,
        cap=RETRY_CAP_S,
        delay_for=_retry_after,
        sleep_past_deadline=False,
    )


def _status(error: BaseException) -> int | None:
    """The HTTP status of a Hub error; None for a transport failure (no answer)."""
    return getattr(getattr(error, "response", None), "status_code", None)


def _retryable_status(status: int) -> bool:
    """5xx, 408 (request timeout) and 429 (rate limited) heal by waiting."""
    return status >= 500 or status in (408, 429)


def _retry_after(error: BaseException) -> float | None:
    """The wait a 429 answer asks for (its ``Retry-After``, in seconds); None: back off as usual."""
    response = getattr(error, "response", None)
    if _status(error) != 429 or response is None:
        return None
    value = getattr(response, "headers", {}).get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
