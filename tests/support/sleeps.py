"""An injectable `sleep` for retry policies: tests see the delays, nobody waits."""

from __future__ import annotations

__all__ = ["SleepRecorder"]


class SleepRecorder:
    """An injectable `sleep` that records delays and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
