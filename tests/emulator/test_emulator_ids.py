"""The fake's ids, tokens and timestamps: Stytch's shapes, reproducible from the seed."""

from __future__ import annotations

import random
import string
import time
import uuid
from collections import Counter

import pytest

from stytch_scim_async.testing._ids import IdFactory, rfc3339


def test_uuid_is_the_version_4_uuid_of_the_same_bits() -> None:
    ids, reference = IdFactory(5), random.Random(5)
    for _ in range(2000):
        expected = str(uuid.UUID(int=reference.getrandbits(128), version=4))
        assert ids.uuid() == expected


@pytest.mark.parametrize("length", [1, 36, 44, 48, 300])
def test_alphanumeric_has_the_length_and_alphabet(length: int) -> None:
    text = IdFactory(1).alphanumeric(length)
    assert len(text) == length
    assert set(text) <= set(string.ascii_letters + string.digits)


def test_alphanumeric_is_reproducible_and_draws_every_character_evenly() -> None:
    assert IdFactory(3).bearer_token() == IdFactory(3).bearer_token()
    assert IdFactory(3).bearer_token() != IdFactory(4).bearer_token()
    counts = Counter(IdFactory(2).alphanumeric(62 * 2000))
    assert len(counts) == 62
    assert all(1700 < count < 2300 for count in counts.values())


@pytest.mark.parametrize("seconds", [0.0, 0.5, -0.5, -86400.2, 1_700_000_000.9, 2e9])
def test_rfc3339_matches_strftime_also_when_remembered(seconds: float) -> None:
    expected = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
    assert rfc3339(seconds) == expected
    assert rfc3339(seconds) == expected
