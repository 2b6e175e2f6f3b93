"""The app's ``--auth USER:PASS`` login, with failed logins slowing down: each failure within the
last ``window_s`` seconds doubles the wait before the answer (``base_s`` first, at most ``max_s``),
whoever sends it, so guessing a password costs time; the right password is never delayed.
Library module (app.py ``launch_kwargs`` passes ``LoginGate(...).check`` to Gradio as ``auth``).
"""

from __future__ import annotations

import asyncio
import hmac
import time


class LoginGate:
    """Checks one user's password for Gradio (``auth=gate.check``, awaited by its login route)."""

    def __init__(
        self, user: str, password: str, base_s: float = 0.5, max_s: float = 8.0, window_s: float = 300.0
    ):
        self.user, self.password = user, password
        self.base_s, self.max_s, self.window_s = base_s, max_s, window_s
        self.failures: list[float] = []  # monotonic times of recent failures
        self.sleep = asyncio.sleep  # how a failure waits (tests record it instead)

    def delay(self, now: float) -> float:
        """Seconds to wait after a failure at ``now`` (the failure itself counted)."""
        self.failures = [t for t in self.failures if now - t < self.window_s] + [now]
        return min(self.base_s * 2 ** (len(self.failures) - 1), self.max_s)

    async def check(self, username: str, password: str) -> bool:
        same_user = hmac.compare_digest(str(username).encode("utf-8", "surrogatepass"), self.user.encode())
        same_password = hmac.compare_digest(
            str(password).encode("utf-8", "surrogatepass"), self.password.encode()
        )
        if same_user and same_password:
            return True
        await self.sleep(self.delay(time.monotonic()))
        return False
