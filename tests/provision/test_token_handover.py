"""The token promise at its edges: names other than the id, proofs gone stale,
cancellations mid-recovery, callbacks and folders that fail, and what a failed
constructor leaves in its frames. Each was once a way to lose or revoke a token."""

from __future__ import annotations

import asyncio
import json
import os
import traceback
from collections.abc import Sequence
from pathlib import Path

import pytest

import stytch_scim_async as scim
from stytch_scim_async.testing import StytchEmulator

ORG = "organization-test-handover"
Status = scim.ProvisionStatus


def library_locals(error: BaseException) -> str:
    """The repr of every local of the library's frames in `error`'s whole chain."""
    frames = []
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        stack = traceback.TracebackException.from_exception(current, capture_locals=True).stack
        frames += [f.locals for f in stack if "/stytch_scim_async/" in f.filename]
        current = current.__cause__ or current.__context__
    return repr(frames)


def written(folder: Path) -> list[dict[str, object]]:
    (path,) = folder.iterdir()
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_an_organization_named_by_its_slug_is_never_rotated(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    # The search's organization_ids filter does not know slugs: the slug row is not
    # proven absent by it, and its own look finds the connection before any POST.
    emulator.add_organization(ORG, slug="acme-handover")
    existing = emulator.add_connection(ORG, display_name="Okta", identity_provider="okta")
    emulator.script(fault="500_before_commit", route="create")
    async with client.provision([scim.ProvisionRequest("acme-handover", "Okta", "okta")]) as batch:
        (outcome,) = [o async for o in batch]
    assert outcome.status is Status.ALREADY_EXISTS
    assert emulator.active_token(ORG) == existing["bearer_token"]
    assert emulator.stats.rotations_started == 0


async def test_a_connection_found_under_another_name_is_not_proven_ours(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    # A create by slug, with the caller's proof of absence, whose POST fails before
    # commit while the same organization got a connection under its id: rotating it
    # would revoke the token of whoever holds that connection.
    emulator.add_organization(ORG, slug="acme-handover")
    made = await client.create_connection(ORG, display_name="Okta", identity_provider="okta")
    emulator.script(fault="500_before_commit", route="create")
    with pytest.raises(scim.TokenLostError) as info:
        await client.create_connection(
            "acme-handover",
            display_name="Okta",
            identity_provider="okta",
            recover_token=True,
            proven_absent=True,
        )
    assert not info.value.proven
    assert emulator.active_token(ORG) == made.connection.bearer_token
    assert emulator.stats.rotations_started == 0


async def test_a_proof_is_void_once_another_call_for_the_organization_ran(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    # Between the batch's search and its POST, a direct create for the same
    # organization runs (and finishes). The batch's POST then fails before commit and
    # finds that connection: the search's proof is stale, so nothing is rotated.
    direct: dict[str, str] = {}

    async def meanwhile(_: Sequence[scim.ProvisionRequest]) -> None:
        created = await client.create_connection(ORG, display_name="Okta", identity_provider="okta")
        direct["token"] = created.connection.bearer_token
        emulator.script(fault="500_before_commit", route="create", organization_id=ORG)

    rows = [scim.ProvisionRequest(ORG, "Okta", "okta")]
    async with client.provision(rows, before_send=meanwhile) as batch:
        (outcome,) = [o async for o in batch]
    assert emulator.active_token(ORG) == direct["token"]
    assert emulator.stats.rotations_started == 0
    assert outcome.bearer_token is None
    assert isinstance(outcome.error, scim.TokenLostError | scim.ConnectionExistsError)


async def test_a_single_create_cancelled_mid_recovery_writes_its_token_down(
    emulator: StytchEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STYTCH_SCIM_UNCLAIMED_DIR", str(tmp_path))
    emulator.script(fault="500_after_commit", route="create")
    emulator.script(fault="stall_after_commit", route="rotate_complete", stall_seconds=3)
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url, timeout=5
    ) as c:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(
                c.create_connection(ORG, display_name="x", recover_token=True), timeout=1.0
            )
    (record,) = written(tmp_path)
    assert record["next_bearer_token"] == emulator.active_token(ORG)  # the complete committed
    assert record["token_confirmed"] is False


async def test_a_batch_cancelled_mid_recovery_hands_its_token_over(
    emulator: StytchEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STYTCH_SCIM_UNCLAIMED_DIR", str(tmp_path))
    emulator.script(fault="500_after_commit", route="create")
    emulator.script(fault="stall_after_commit", route="rotate_complete", stall_seconds=3)
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url, timeout=5
    ) as c:

        async def consume() -> None:
            async with c.provision([scim.ProvisionRequest(ORG, "x")]) as batch:
                async for _ in batch:
                    pass

        consumer = asyncio.create_task(consume())
        for _ in range(500):
            if emulator.stats.rotations_completed:
                break
            await asyncio.sleep(0.01)
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
    (record,) = written(tmp_path)
    assert record["status"] == "unconfirmed"
    assert record["bearer_token"] == emulator.active_token(ORG)


async def test_an_unwritable_folder_falls_back_to_the_working_directory(
    client: scim.SCIMClient,
    emulator: StytchEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STYTCH_SCIM_UNCLAIMED_DIR", str(tmp_path / "missing" / "folder"))
    monkeypatch.chdir(tmp_path)
    rows = [scim.ProvisionRequest(f"organization-test-{i}", "x") for i in range(4)]
    batch = client.provision(rows, concurrency=4)
    async for _ in batch:
        break
    del batch
    for _ in range(300):
        if any(p.is_file() for p in tmp_path.iterdir()):  # noqa: ASYNC240
            break
        await asyncio.sleep(0.01)
    files = [p for p in tmp_path.iterdir() if p.is_file()]  # noqa: ASYNC240
    assert len(files) == 1
    records = [json.loads(line) for line in files[0].read_text().splitlines()]
    assert len(records) == 3
    assert all(
        r["bearer_token"] == emulator.active_token(str(r["organization_id"])) for r in records
    )


async def test_an_error_in_the_batch_under_async_with_is_raised_with_the_tokens(
    client: scim.SCIMClient,
    emulator: StytchEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STYTCH_SCIM_UNCLAIMED_DIR", str(tmp_path))

    def broken_progress(_: scim.ProvisionProgress) -> None:
        raise RuntimeError("the progress bar broke")

    rows = [scim.ProvisionRequest(f"organization-test-{i}", "x") for i in range(4)]

    async def run() -> None:
        async with client.provision(rows, concurrency=4, on_progress=broken_progress) as batch:
            async for _ in batch:
                pass

    with pytest.raises(scim.ProvisionAbandonedError) as info:
        await run()
    assert isinstance(info.value.__context__, RuntimeError)
    # Every connection the batch made is handed over with its live token (how many were
    # started before the callback broke depends on the transport's timing: over HTTP
    # all four are in flight, in memory the first ends before the others start).
    handed = {o.request.organization_id: o.bearer_token for o in info.value.outcomes}
    assert handed
    assert handed == emulator.tokens()
    assert os.listdir(tmp_path) == []  # raised to the caller, not written to a file


async def test_a_resume_whose_look_fails_says_the_create_may_have_committed(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    emulator.add_connection(ORG, display_name="x", identity_provider="okta")  # the earlier run's
    emulator.script(fault="500_before_commit", route="get", times=10)
    with pytest.raises(scim.ServerError) as info:
        await client.create_connection(ORG, display_name="x", maybe_sent=True)
    assert info.value.may_have_committed
    assert emulator.stats.count("create") == 0


async def test_a_failed_recovery_keeps_its_token_out_of_every_frame(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    emulator.script(fault="500_after_commit", route="create")
    emulator.script(fault="500_before_commit", route="rotate_complete", times=3)
    emulator.script(fault="500_before_commit", route="get", times=1)  # the confirming look
    with pytest.raises(scim.TokenLostError) as info:
        await client.create_connection(
            ORG, display_name="x", recover_token=True, proven_absent=True
        )
    token = info.value.next_bearer_token
    assert token is not None
    assert token not in library_locals(info.value)


@pytest.mark.parametrize("member", [False, True])
def test_a_failed_constructor_leaves_no_secret_in_its_frames(member: bool) -> None:
    secret = "constructor-credential-0123456789abcdefghijklmnop"
    make = scim.MemberSCIMClient if member else scim.SCIMClient
    ident = "public-token-test-1" if member else "project-test-1"
    with pytest.raises(scim.InvalidRequestError) as info:
        make(ident, secret, base_url="ftp://example.com")
    text = library_locals(info.value)  # capturing locals must not crash either
    assert "base_url" in str(info.value)
    assert secret not in text


async def test_a_repeat_beyond_the_recent_window_finds_the_first_connection(
    client: scim.SCIMClient, emulator: StytchEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The batch remembers only recent ids (memory flat in N). A repeat it no longer
    # remembers is still safe: its proof of absence is void once the first create ran,
    # so it ends `already_exists` and the first token stays the live one.
    from stytch_scim_async._provision import search

    monkeypatch.setattr(search, "RECENT_IDS", 2)
    rows = [scim.ProvisionRequest(f"organization-test-r{i}", "x") for i in range(4)]
    rows.append(rows[0])
    async with client.provision(rows, concurrency=1) as batch:
        outcomes = [o async for o in batch]
    first, repeat = (o for o in outcomes if o.request.organization_id == rows[0].organization_id)
    assert first.status is Status.CREATED
    assert first.bearer_token == emulator.active_token(rows[0].organization_id)
    assert repeat.status is Status.ALREADY_EXISTS
    assert repeat.bearer_token is None
    assert emulator.stats.rotations_started == 0
