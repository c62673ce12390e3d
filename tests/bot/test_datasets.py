"""/datasets lists a user's tables; /dataset delete ID deletes one after a confirmation.

No job runs here: tables are put in place as an ingest job's result would be, and the
dialogue's controller is never started.
"""

from __future__ import annotations


import pandas as pd
from chatkit import User
from tables import store_table

from bot import Dialogue, Incoming
from store import DatasetRecord, JobKind, JobState, Store, human_size





def _table(idle_store: Store, user: User, filename: str, rows: int, columns: int) -> DatasetRecord:
    frame = pd.DataFrame({f"c{i}": range(i, i + rows) for i in range(columns)})
    return store_table(idle_store, user_id=user.user_id, frame=frame, filename=filename)


def _line(table: DatasetRecord, rows: int, columns: int) -> str:
    return (
        f"• {table.dataset_id} — {table.filename}: {rows} rows × {columns} columns, "
        f"{human_size(table.size_bytes)}, {table.created_at:%Y-%m-%d %H:%M}"
    )


async def test_tables_are_listed_and_deleted_after_a_confirmation(idle_dialogue: Dialogue, idle_store: Store) -> None:
    alice = User(idle_dialogue, "alice")
    assert await alice.says("/datasets") == (
        "You have no tables yet. Send me one: a CSV, Excel (.xlsx) or Parquet file."
    )
    houses = _table(idle_store, alice, "houses.csv", rows=12, columns=3)
    customers = _table(idle_store, alice, "customers.xlsx", rows=7, columns=2)

    assert await alice.says("/datasets") == "\n".join(
        [
            "📚 Your tables (2), newest first:",
            "",
            _line(customers, 7, 2) + " ← current",
            _line(houses, 12, 3),
            "",
            "Delete one: /dataset delete ID · Add one: send me a file",
        ]
    )

    confirm = await alice.says(f"/dataset delete {houses.dataset_id}")
    assert confirm == f"Delete table {houses.dataset_id} (houses.csv, 12 rows × 3 columns)? This cannot be undone."
    assert [b.label for b in alice.sink.last.buttons] == ["🗑 Delete", "Keep it"]
    assert await alice.presses("Keep it") == f"OK, table {houses.dataset_id} stays."
    assert houses.dataset_id in await alice.says("/datasets")

    await alice.says(f"/dataset delete {houses.dataset_id}")
    assert await alice.presses("🗑 Delete") == f"🗑 Table {houses.dataset_id} deleted."
    assert houses.dataset_id not in await alice.says("/datasets")
    assert (await alice.says("/data")).startswith("📋 customers.xlsx: 7 rows, 2 columns")

    # The current table: the user has none afterwards, in the store and in the chat.
    await alice.says(f"/dataset delete {customers.dataset_id}")
    assert await alice.presses("🗑 Delete") == (
        f"🗑 Table {customers.dataset_id} deleted. It was your current table: send me another one to go on."
    )
    assert idle_store.current_dataset(user_id=alice.user_id) is None
    assert (await alice.says("/data")).startswith("No table yet.")
    assert (await alice.says("/datasets")).startswith("You have no tables yet.")
    assert (await alice.says("train a random forest to predict c0")).startswith("To train a model I need a table.")


async def test_another_users_table_is_not_found_like_a_missing_one(idle_dialogue: Dialogue, idle_store: Store) -> None:
    alice, mallory = User(idle_dialogue, "alice"), User(idle_dialogue, "mallory")
    table = _table(idle_store, alice, "houses.csv", rows=5, columns=2)
    missing = "ds_000000000000"

    theirs = await mallory.says(f"/dataset delete {table.dataset_id}")
    nobodys = await mallory.says(f"/dataset delete {missing}")
    assert theirs == nobodys.replace(missing, table.dataset_id) and "not found" in theirs
    assert not mallory.sink.last.buttons

    # A forged button press finds nothing either.
    forged = Incoming(user_id=mallory.user_id, chat_id=mallory.user_id, button=f"dsdel:{table.dataset_id}")
    await idle_dialogue.handle(forged, mallory.sink)
    assert "not found" in mallory.sink.last.text
    assert idle_store.list_datasets(user_id=alice.user_id) == [table]
    assert table.dataset_id not in await mallory.says("/datasets")

    for words in ("/dataset", "/dataset show " + table.dataset_id, "/dataset delete"):
        assert await alice.says(words) == "Write /dataset delete ID; /datasets lists your tables."


async def test_a_table_a_live_job_uses_is_not_deleted(idle_dialogue: Dialogue, idle_store: Store) -> None:
    bob = User(idle_dialogue, "bob")
    table = _table(idle_store, bob, "houses.csv", rows=5, columns=2)
    job = idle_store.create_job(
        user_id=bob.user_id, kind=JobKind.TRAIN, spec={}, instance_id="ctl-test", dataset_id=table.dataset_id
    )

    await bob.says(f"/dataset delete {table.dataset_id}")
    assert await bob.presses("🗑 Delete") == (
        f"Table {table.dataset_id} is in use by a job that has not finished. "
        "Delete it once the job is done (/jobs shows your jobs)."
    )
    assert (await bob.says("/data")).startswith("📋 houses.csv")

    idle_store.update_job(job.job_id, state=JobState.SUCCEEDED)
    assert await bob.presses("🗑 Delete") == (
        f"🗑 Table {table.dataset_id} deleted. It was your current table: send me another one to go on."
    )
