"""What a batch needs of its client, as a protocol: the batch is typed against it, not
against `SCIMClient`, so this layer never imports the clients above it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar

if TYPE_CHECKING:
    from .. import errors
    from .._engine.hooks import Hooks
    from .._engine.locks import OrgLocks
    from .._policy.retry import RetryPolicy
    from .._policy.throttle import AdaptiveRateLimiter
    from .._sansio.endpoints import Endpoint
    from .._sansio.wire import RequestHeaders
    from ..models import CreateConnectionResponse

__all__ = ["BatchClient"]

T = TypeVar("T")


class BatchClient(Protocol):
    """The parts of `SCIMClient` the batch runner and its search use."""

    retry: RetryPolicy
    rate_limiter: AdaptiveRateLimiter
    _headers: RequestHeaders
    _org_locks: OrgLocks
    _hooks: Hooks | None

    def with_retry(self, retry: RetryPolicy) -> Self: ...

    def _create(
        self,
        organization_id: str | None,
        display_name: str | None,
        identity_provider: str | None,
        headers: RequestHeaders,
        recover_token: bool,
        verify_absent: bool | None = None,
        maybe_sent: bool = False,
        proven_absent: bool = False,
        proof_mark: int | None = None,
    ) -> Coroutine[Any, Any, CreateConnectionResponse]: ...

    def _run(
        self,
        endpoint: Endpoint[T],
        params: dict[str, Any],
        headers: RequestHeaders,
        rescue: Callable[[errors.StytchSCIMError], Awaitable[T]] | None = None,
    ) -> Coroutine[Any, Any, T]: ...
