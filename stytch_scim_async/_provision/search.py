"""Proof of absence for a whole batch: the organizations search, 1,000 a request.

`POST /v1/b2b/organizations/search` with the `organization_ids` filter tells, for up
to 1,000 organizations a query (answered in pages of 250), which already have an
active SCIM connection. A
batch screens its requests with it before any create: organizations that have one
end `already_exists` without a POST (their connection untouched), the others are
proven absent, so a matching connection found after a lost reply is ours and its
token can be recovered without a GET per organization. Where the search is refused
or fails, the batch falls back to one GET per organization (the create's own check).

Assumption (labelled): the search reflects connections created before it was sent.
Nothing in Stytch's docs says the search index lags; if it did, a connection made
just before the search could be missed, as by any check that precedes a create.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from typing import TYPE_CHECKING

from .. import errors
from .._sansio.endpoints import SEARCH_ORGANIZATIONS
from .client import BatchClient
from .records import ProvisionOutcome, ProvisionRequest, ProvisionStatus

if TYPE_CHECKING:
    pass

__all__ = ["SEARCH_CHUNK", "active_connections", "screened"]

logger = logging.getLogger("stytch_scim_async")

#: Organizations named per search (the filter's window): Stytch's largest page.
SEARCH_CHUNK = 1000
#: Recent organization ids a batch refuses to see again. A repeat further back is
#: safe without it: the first create finished before the repeat's search (which then
#: reports `already_exists`) or ran after its mark (which voids the repeat's proof, so
#: a lost reply is never recovered by rotating the first create's connection).
#: Bounded, so memory stays flat in the number of organizations.
RECENT_IDS = 4 * SEARCH_CHUNK
#: Organizations per page of answers. An Organization object is large (the emulator's
#: ~1 KiB, Stytch's more), so a page of 1,000 would approach the client's body cap.
SEARCH_PAGE = 250


async def active_connections(
    client: BatchClient, organization_ids: Sequence[str]
) -> dict[str, str | None] | None:
    """Organization → its active connection's id (None: it has none), for every one of
    `organization_ids` the search returned; None when the search was refused or failed
    (nothing is proven then). An id the search did not return (a slug, an external
    id, a typo) proves nothing either: it is simply absent from the answer."""
    found: dict[str, str | None] = {}
    query = {
        "operator": "AND",
        "operands": [{"filter_name": "organization_ids", "filter_value": list(organization_ids)}],
    }
    cursor: str | None = None
    while True:
        params = {"limit": SEARCH_PAGE, "cursor": cursor, "query": query}
        try:
            search = client._run(SEARCH_ORGANIZATIONS, params, client._headers)
            hooks = client._hooks
            page = await (search if hooks is None else hooks.call("search", params, search))
        except errors.StytchSCIMError as exc:
            logger.warning(
                "provision: the organizations search failed (%s: %s); each organization "
                "is checked with a GET before its create instead",
                type(exc).__name__,
                exc,
            )
            return None
        for organization in page.organizations:
            connection = organization.scim_active_connection
            found[organization.organization_id] = (
                connection.connection_id if connection is not None else None
            )
        cursor = page.results_metadata.next_cursor or None
        if cursor is None:
            return found


#: How long a partial window of an async source waits for its next request before it
#: is screened anyway: a slow source (a queue fed by our own progress) is never stuck.
LINGER = 0.05


async def _windows(
    requests: Iterable[object] | AsyncIterable[object], size: int
) -> AsyncIterator[list[object]]:
    """Lists of up to `size` requests; an async source's window closes early when its
    next request is slow to come, and an error of the source comes after the window
    read before it."""
    window: list[object] = []
    if not isinstance(requests, AsyncIterable):
        for item in requests:
            window.append(item)
            if len(window) >= size:
                yield window
                window = []
        if window:
            yield window
        return
    source = aiter(requests)
    upcoming: asyncio.Future[object] | None = None
    try:
        while True:
            if upcoming is None:
                upcoming = asyncio.ensure_future(anext(source))
            if window:
                done, _ = await asyncio.wait({upcoming}, timeout=LINGER)
                if not done:
                    yield window
                    window = []
                    continue
            try:
                item = await upcoming
            except StopAsyncIteration:
                break
            except Exception:
                if window:
                    yield window
                raise
            finally:
                if upcoming.done():
                    upcoming = None
            window.append(item)
            if len(window) >= size:
                yield window
                window = []
        if window:
            yield window
    finally:
        if upcoming is not None:
            upcoming.cancel()
            await asyncio.gather(upcoming, return_exceptions=True)


async def screened(
    client: BatchClient,
    requests: Iterable[ProvisionRequest] | AsyncIterable[ProvisionRequest],
    *,
    prescan: bool,
) -> AsyncIterator[list[tuple[ProvisionRequest, int | None] | ProvisionOutcome]]:
    """The batch's requests, each either ready to create, as (request, the mark of the
    search that proved it absent, or None), or already decided (a duplicate, or an
    organization that has a connection). Memory: one window of 1,000 requests and the
    last few windows' ids (see `RECENT_IDS`)."""

    seen: dict[str, None] = {}  # insertion-ordered: the oldest go first
    # A caller's proof of absence (`proven_absent`) predates the batch: a create or
    # rotation this client ran for the organization since (a repeat of it beyond
    # RECENT_IDS, another batch) voids it, as a search's proof is voided.
    start = client._org_locks.mark()
    async for window in _windows(requests, SEARCH_CHUNK if prescan else 1):
        fresh: list[ProvisionRequest] = []
        decided: list[tuple[ProvisionRequest, int | None] | ProvisionOutcome] = []
        for item in window:
            if not isinstance(item, ProvisionRequest):
                decided.append((item, None))  # type: ignore[arg-type]  # refused by create
                continue
            if item.organization_id in seen:
                decided.append(_duplicate(item))
                continue
            seen[item.organization_id] = None
            if len(seen) > RECENT_IDS:
                del seen[next(iter(seen))]
            fresh.append(item)
        unknown = [r.organization_id for r in fresh if not (r.maybe_sent or r.proven_absent)]
        # Taken before the search: a create or rotation for an organization after it
        # voids that organization's proof (see OrgLocks).
        mark = client._org_locks.mark()
        found = await active_connections(client, unknown) if prescan and unknown else None
        for request in fresh:
            if (
                found is None
                or request.maybe_sent
                or request.proven_absent
                or request.organization_id not in found
            ):
                # The create proves absence itself, or holds the caller's proof.
                decided.append((request, start if request.proven_absent else None))
            elif (connection_id := found[request.organization_id]) is not None:
                decided.append(
                    ProvisionOutcome(
                        request,
                        ProvisionStatus.ALREADY_EXISTS,
                        error=errors.ConnectionExistsError(
                            status_code=400,
                            error_type="active_scim_connection_exists",
                            error_message=(
                                f"the organization already has SCIM connection {connection_id}; "
                                "nothing was sent"
                            ),
                            connection_id=connection_id,
                        ),
                    )
                )
            else:
                decided.append((request, mark))
        yield decided


def _duplicate(request: ProvisionRequest) -> ProvisionOutcome:
    """Two creates for one organization would revoke each other's token: the repeat is
    refused, never sent."""
    error = errors.InvalidRequestError(
        "requests",
        f"organization {request.organization_id} appears more than once in the batch; "
        "only its first request is sent (two creates would revoke each other's token)",
    )
    return ProvisionOutcome(request, ProvisionStatus.FAILED, None, error)
