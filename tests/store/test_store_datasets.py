"""Keeping the tables ingest jobs made: atomic, once per content and user, never through a link."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from tables import store_table, summarize

from errors import StatAgentError
from store import DataFormat, Store

USER = "1001"


def test_a_table_is_kept_and_becomes_current(store: Store, data_dir: Path) -> None:
    frame = pd.DataFrame({"age": [30, 41], "city": ["Oslo", "Bergen"]})
    record = store_table(store, user_id=USER, frame=frame, filename="flats.csv")

    assert (record.filename, record.file_format, record.already_stored) == ("flats.csv", DataFormat.PARQUET, False)
    assert record.summary == summarize(frame)
    assert store.current_dataset(user_id=USER) == record
    stored = store.dataset_path(record)
    assert stored.parent == data_dir / "users" / USER / "datasets"
    pd.testing.assert_frame_equal(pd.read_parquet(stored), frame)
    assert record.size_bytes == stored.stat().st_size


def test_same_content_stored_once_per_user(store: Store, data_dir: Path) -> None:
    frame = pd.DataFrame({"a": [1, 3], "b": [2, 4]})
    first = store_table(store, user_id=USER, frame=frame, filename="a.csv")
    again = store_table(store, user_id=USER, frame=frame, filename="b.xlsx")
    other = store_table(store, user_id="2002", frame=frame, filename="a.csv")

    assert not first.already_stored and again.already_stored
    assert again.dataset_id == first.dataset_id and again.filename == "a.csv"
    assert other.dataset_id != first.dataset_id and not other.already_stored
    assert [d.dataset_id for d in store.list_datasets(user_id=USER)] == [first.dataset_id]
    assert len(list((data_dir / "users" / USER / "datasets").iterdir())) == 1


def test_a_repeat_becomes_current_again(store: Store) -> None:
    first = store_table(store, user_id=USER, frame=pd.DataFrame({"a": [1]}))
    store_table(store, user_id=USER, frame=pd.DataFrame({"b": [2]}))
    again = store_table(store, user_id=USER, frame=pd.DataFrame({"a": [1]}))
    assert again.dataset_id == first.dataset_id
    assert store.current_dataset(user_id=USER).dataset_id == first.dataset_id


def test_a_link_is_never_followed(store: Store, tmp_path: Path) -> None:
    secret = tmp_path / "secret.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(secret)
    link = tmp_path / "data.parquet"
    os.symlink(secret, link)
    with pytest.raises(OSError):
        store.add_dataset(
            user_id=USER,
            filename="x.csv",
            file_format=DataFormat.CSV,
            source=link,
            summary=summarize(pd.DataFrame({"a": [1]})),
        )
    assert store.list_datasets(user_id=USER) == []


def test_a_special_file_is_refused(store: Store, tmp_path: Path) -> None:
    fifo = tmp_path / "data.parquet"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDWR)  # a writer, so opening it for reading does not block
    try:
        with pytest.raises(StatAgentError):
            store.add_dataset(
                user_id=USER,
                filename="x.csv",
                file_format=DataFormat.CSV,
                source=fifo,
                summary=summarize(pd.DataFrame({"a": [1]})),
            )
    finally:
        os.close(fd)
    assert store.list_datasets(user_id=USER) == []
