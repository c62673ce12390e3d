"""The per-user sliding-window rate limit, on a clock the test moves."""

from __future__ import annotations

from bot.telegram import RateLimiter, Verdict


def test_rate_limiter_window() -> None:
    now = [0.0]
    limiter = RateLimiter(limit=2, clock=lambda: now[0])
    assert [limiter.check(7) for _ in range(4)] == [Verdict.PASS, Verdict.PASS, Verdict.WARN, Verdict.DROP]
    assert limiter.check(8) is Verdict.PASS  # per user
    now[0] = 30.0
    assert limiter.check(7) is Verdict.DROP
    now[0] = 60.5  # the first two have left the window
    assert [limiter.check(7) for _ in range(3)] == [Verdict.PASS, Verdict.PASS, Verdict.WARN]
