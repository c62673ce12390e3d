"""Language-model tokens per user and UTC day: the counts behind the daily budget."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from config import load_settings
from errors import InputError
from store import Store

DAY = date(2025, 3, 1)


def test_nothing_used_is_zero(store: Store) -> None:
    assert store.tokens_used_today(user_id="42") == 0
    assert store.tokens_used_today(user_id="42", day=DAY) == 0


def test_tokens_add_up_per_user_and_day(store: Store) -> None:
    assert store.add_tokens(user_id="42", tokens=100, day=DAY) == 100
    assert store.add_tokens(user_id="42", tokens=23, day=DAY) == 123
    assert store.add_tokens(user_id="7", tokens=5, day=DAY) == 5
    assert store.add_tokens(user_id="42", tokens=1, day=date(2025, 3, 2)) == 1
    assert store.tokens_used_today(user_id="42", day=DAY) == 123
    assert store.tokens_used_today(user_id="7", day=DAY) == 5
    assert store.tokens_used_today(user_id="42", day=date(2025, 3, 2)) == 1
    assert store.tokens_used_today(user_id="42") == 0  # today is none of those days


def test_the_default_day_is_today_in_utc(store: Store) -> None:
    before = datetime.now(UTC).date()
    total = store.add_tokens(user_id="42", tokens=10)
    after = datetime.now(UTC).date()
    assert total == 10
    assert store.tokens_used_today(user_id="42", day=before) + store.tokens_used_today(user_id="42", day=after) >= 10
    assert store.tokens_used_today(user_id="42") == store.tokens_used_today(user_id="42", day=after)


def test_counting_tokens_creates_no_user(store: Store, data_dir: Path) -> None:
    store.add_tokens(user_id="42", tokens=10)
    with sqlite3.connect(data_dir / "statagent.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 0
    assert not (data_dir / "users" / "42").exists()


def test_concurrent_additions_are_all_counted(store: Store) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: store.add_tokens(user_id="42", tokens=3, day=DAY), range(200)))
    assert store.tokens_used_today(user_id="42", day=DAY) == 600


def test_counts_survive_a_reopen(store: Store, data_dir: Path) -> None:
    store.add_tokens(user_id="42", tokens=77, day=DAY)
    store.close()
    with Store.from_settings(load_settings(env={}, overrides={"data_dir": str(data_dir)})) as reopened:
        assert reopened.tokens_used_today(user_id="42", day=DAY) == 77


def test_bad_input_is_refused(store: Store) -> None:
    with pytest.raises(InputError):
        store.add_tokens(user_id="../etc", tokens=1)
    with pytest.raises(InputError):
        store.tokens_used_today(user_id="")
    with pytest.raises(ValueError, match="negative"):
        store.add_tokens(user_id="42", tokens=-1)

