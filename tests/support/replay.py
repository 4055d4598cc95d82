"""The reconcile table's rows as scenarios against the emulator: one per row, each
setting up the evidence the row names and making the create the row asks for. The
pure function's test and the client's replay (over HTTP and over the memory
transport) share them with `reconcile.ROWS`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import stytch_scim_async as scim
from stytch_scim_async._policy.reconcile import Verdict
from stytch_scim_async.testing import StytchEmulator

__all__ = ["ORG", "SCENARIOS", "Scenario", "attempt", "fitting_create", "observed"]

ORG = "organization-test-safety"
Scenario = Callable[[scim.SCIMClient, StytchEmulator], Awaitable[object]]


def observed(result: object) -> Verdict:
    """What the client did, in the table's words."""
    if isinstance(result, scim.CreateConnectionResponse):
        return Verdict.RECOVER if result.recovered else Verdict.POST_AGAIN
    if isinstance(result, scim.TokenLostError):
        return Verdict.TOKEN_LOST
    if isinstance(result, scim.ConnectionExistsError):
        return Verdict.EXISTS
    assert isinstance(result, scim.StytchSCIMError), result
    assert result.may_have_committed  # the doubt is said, never hidden
    return Verdict.UNKNOWN


async def attempt(call: Awaitable[scim.CreateConnectionResponse]) -> object:
    try:
        return await call
    except scim.StytchSCIMError as exc:
        return exc


async def fitting_create(
    client: scim.SCIMClient,
    *,
    proven_absent: bool = False,
    maybe_sent: bool = False,
    verify_absent: bool | None = None,
) -> object:
    """The create the rows ask for (fields that fit an "Okta"/okta connection), with
    leave to recover, and the row's own evidence flags."""
    return await attempt(
        client.create_connection(
            ORG,
            display_name="Okta",
            identity_provider="okta",
            recover_token=True,
            proven_absent=proven_absent,
            maybe_sent=maybe_sent,
            verify_absent=verify_absent,
        )
    )


async def look_fails(client: scim.SCIMClient, emulator: StytchEmulator) -> object:
    emulator.script(fault="500_after_commit", route="create")
    emulator.script(fault="500_before_commit", route="get")
    one = client.with_retry(scim.RetryPolicy.disabled())
    return await attempt(one.create_connection(ORG, display_name="Okta", proven_absent=True))


async def nothing_committed(client: scim.SCIMClient, emulator: StytchEmulator) -> object:
    emulator.script(fault="500_before_commit", route="create")
    return await attempt(client.create_connection(ORG, display_name="Okta", recover_token=True))


async def ours(client: scim.SCIMClient, emulator: StytchEmulator) -> object:
    emulator.script(fault="500_after_commit", route="create")
    return await attempt(client.create_connection(ORG, display_name="Okta", recover_token=True))


async def never_proven(client: scim.SCIMClient, emulator: StytchEmulator) -> object:
    emulator.script(fault="500_after_commit", route="create")
    return await attempt(
        client.create_connection(ORG, display_name="Okta", recover_token=True, verify_absent=False)
    )


async def no_leave(client: scim.SCIMClient, emulator: StytchEmulator) -> object:
    emulator.script(fault="500_after_commit", route="create")
    return await attempt(client.create_connection(ORG, display_name="Okta", verify_absent=True))


async def no_doubt(client: scim.SCIMClient, emulator: StytchEmulator) -> object:
    emulator.add_connection(ORG, display_name="Okta", identity_provider="okta")
    return await attempt(
        client.create_connection(
            ORG, display_name="Okta", identity_provider="okta", proven_absent=True
        )
    )


async def field_differs(client: scim.SCIMClient, emulator: StytchEmulator) -> object:
    # The caller (wrongly) claims absence: the fields alone must refuse the rotation.
    emulator.add_connection(ORG, display_name="Okta", identity_provider="generic")
    emulator.script(fault="500_before_commit", route="create")
    return await fitting_create(client, proven_absent=True)


async def assigned(client: scim.SCIMClient, emulator: StytchEmulator) -> object:
    existing = emulator.add_connection(ORG, display_name="Okta", identity_provider="okta")
    group = emulator.add_group(ORG, existing["connection_id"], "Engineering")
    await client.update_connection(
        ORG,
        existing["connection_id"],
        role_assignments=[scim.RoleAssignment(group_id=group["group_id"], role_id="stytch_member")],
    )
    emulator.script(fault="500_before_commit", route="create")
    return await fitting_create(client, proven_absent=True)


async def mid_rotation(client: scim.SCIMClient, emulator: StytchEmulator) -> object:
    existing = emulator.add_connection(ORG, display_name="Okta", identity_provider="okta")
    await client.rotate_start(ORG, existing["connection_id"])
    emulator.script(fault="500_before_commit", route="create")
    return await fitting_create(client, verify_absent=False)


async def cut_short(client: scim.SCIMClient, emulator: StytchEmulator) -> object:
    # An earlier process proved absence, created, and was killed mid-recovery (after its
    # rotate start): the connection is ours, mid-rotation, and nobody holds a token.
    existing = emulator.add_connection(ORG, display_name="Okta", identity_provider="okta")
    await client.rotate_start(ORG, existing["connection_id"])
    return await fitting_create(client, maybe_sent=True, proven_absent=True)


SCENARIOS: dict[str, Scenario] = {
    "the look failed": look_fails,
    "no connection: post again": nothing_committed,
    "ours: proven absent, in doubt, fresh and fitting": ours,
    "fitting but absence never proven": never_proven,
    "ours but no leave to rotate": no_leave,
    "no attempt may have committed": no_doubt,
    "a named field differs": field_differs,
    "with role assignments": assigned,
    "mid-rotation, absence never proven": mid_rotation,
    "mid-rotation, proven ours: a recovery cut short": cut_short,
}
