"""Upload ingestion through a real Store: formats, encodings, types, limits, clear refusals."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from config import QuotaSettings, UploadSettings
from config.errors import UploadError
from store import ColumnKind, DataFormat, DatasetRecord, Store

USER = "1001"


def upload(store: Store, filename: str, data: bytes) -> tuple[DatasetRecord, pd.DataFrame]:
    record = store.ingest_upload(user_id=USER, filename=filename, data=data)
    return record, pd.read_parquet(store.dataset_path(record))


def refused(store: Store, filename: str, data: bytes) -> str:
    with pytest.raises(UploadError) as caught:
        store.ingest_upload(user_id=USER, filename=filename, data=data)
    return caught.value.user_message


def column(record: DatasetRecord, name: str):
    return next(c for c in record.summary.columns if c.name == name)


def test_comma_csv_with_summary(store: Store) -> None:
    data = b"age,size,city,owner\n30,55.5,Oslo,true\n41,,Bergen,false\n30,70,Oslo,true\n52,80.25,Oslo,\n"
    record, frame = upload(store, "flats.csv", data)

    assert record.file_format is DataFormat.CSV
    assert record.filename == "flats.csv"
    assert record.dataset_id.startswith("ds_")
    assert record.summary.rows == 4 and len(frame) == 4
    assert record.summary.column_names == ("age", "size", "city", "owner")
    age, size, city, owner = record.summary.columns
    assert (age.kind, age.missing, age.distinct, age.examples) == (ColumnKind.NUMERIC, 0, 3, ("30", "41", "52"))
    assert (size.kind, size.missing) == (ColumnKind.NUMERIC, 1)
    assert (city.kind, city.distinct, city.examples) == (ColumnKind.CATEGORICAL, 2, ("Oslo", "Bergen"))
    assert (owner.kind, owner.missing) == (ColumnKind.BOOLEAN, 1)
    assert frame["age"].tolist() == [30, 41, 30, 52]
    assert store.current_dataset(user_id=USER) == record
    assert store.get_dataset(user_id=USER, dataset_id=record.dataset_id) == record


def test_semicolon_csv_with_bom_and_decimal_commas(store: Store) -> None:
    data = "\ufeffname;price;qty\nÆble;1,5;3\nPære;2,25;4\nKiwi;1.234,5;5\n".encode("utf-8")
    record, frame = upload(store, "prices.csv", data)

    assert list(frame.columns) == ["name", "price", "qty"]  # no BOM left on the first name
    assert frame["name"].tolist() == ["Æble", "Pære", "Kiwi"]
    assert frame["price"].tolist() == [1.5, 2.25, 1234.5]
    assert column(record, "price").kind is ColumnKind.NUMERIC
    assert "I read the decimal commas in 'price' as numbers." in record.summary.notes


def test_quoted_fields_with_delimiters_and_newlines(store: Store) -> None:
    data = (
        b'id,"comment, long",score\n'
        b'1,"fine, thanks",3\n'
        b'2,"two\nlines ""quoted""",4\n'
        b'3,plain,5\n'
    )
    record, frame = upload(store, "comments.csv", data)

    assert list(frame.columns) == ["id", "comment, long", "score"]
    assert frame["comment, long"].tolist() == ["fine, thanks", 'two\nlines "quoted"', "plain"]
    assert frame["score"].tolist() == [3, 4, 5]


def test_tab_separated_txt(store: Store) -> None:
    _, frame = upload(store, "export.txt", b"a\tb|c\n1\tx|y\n2\tz\n")
    assert list(frame.columns) == ["a", "b|c"]
    assert frame["b|c"].tolist() == ["x|y", "z"]


@pytest.mark.parametrize("encoding", ["utf-16", "cp1252", "latin-1"])
def test_encodings(store: Store, encoding: str) -> None:
    text = "Straße;Größe;Café\nMüller;1,5;crème\nÅsa;2;brûlée\n"
    record, frame = upload(store, f"{encoding}.csv", text.encode(encoding))

    assert list(frame.columns) == ["Straße", "Größe", "Café"]
    assert frame["Straße"].tolist() == ["Müller", "Åsa"]
    assert frame["Größe"].tolist() == [1.5, 2.0]
    assert frame["Café"].tolist() == ["crème", "brûlée"]


def test_xlsx_first_sheet_types_and_other_sheets_noted(store: Store) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sales"
    sheet.append(["region", "amount", "day", None, "amount"])
    sheet.append(["north", 10, datetime(2024, 1, 3), 1, 7])
    sheet.append(["south", 12.5, datetime(2024, 1, 4), 2, 8])
    sheet.append([None, None, None, None, None])  # an empty row is dropped
    sheet.append(["east", 3, datetime(2024, 1, 5), 3, 9])
    book.create_sheet("Costs").append(["x"])
    buffer = io.BytesIO()
    book.save(buffer)

    record, frame = upload(store, "report.xlsx", buffer.getvalue())

    assert record.file_format is DataFormat.XLSX
    assert list(frame.columns) == ["region", "amount", "day", "column_4", "amount (2)"]
    assert frame["amount"].tolist() == [10, 12.5, 3]
    assert column(record, "day").kind is ColumnKind.DATETIME
    assert frame["day"].dt.day.tolist() == [3, 4, 5]
    assert len(frame) == 3
    assert any("I read the first sheet, 'Sales'; the workbook has 2 sheets (Sales, Costs)" in n for n in record.summary.notes)
    renamed = next(n for n in record.summary.notes if n.startswith("Some column names were empty or repeated"))
    assert "column 4 (no name) is now 'column_4'" in renamed
    assert "column 5 ('amount') is now 'amount (2)'" in renamed


def test_parquet_upload(store: Store) -> None:
    source = pd.DataFrame({"x": [1.0, 2.0, None], "label": ["a", "b", "a"], "when": pd.to_datetime(["2024-01-01"] * 3)})
    buffer = io.BytesIO()
    source.to_parquet(buffer, index=False)

    record, frame = upload(store, "table.parquet", buffer.getvalue())

    assert record.file_format is DataFormat.PARQUET
    assert frame["x"].isna().sum() == 1
    assert [c.kind for c in record.summary.columns] == [ColumnKind.NUMERIC, ColumnKind.TEXT, ColumnKind.DATETIME]


def test_parquet_with_an_index_named_like_a_column(store: Store) -> None:
    source = pd.DataFrame({"a": [1, 2], "b": [3, 4]}, index=pd.Index([5, 6], name="a"))
    buffer = io.BytesIO()
    source.to_parquet(buffer)  # the index is saved as a column named 'a' too

    record, frame = upload(store, "indexed.parquet", buffer.getvalue())

    assert list(frame.columns) == ["a", "a (2)", "b"]
    assert frame["a"].tolist() == [5, 6] and frame["a (2)"].tolist() == [1, 2]
    assert any("column 2 ('a') is now 'a (2)'" in note for note in record.summary.notes)


def test_xlsx_named_csv_is_read_by_content(store: Store) -> None:
    book = openpyxl.Workbook()
    book.active.append(["a", "b"])
    book.active.append([1, 2])
    buffer = io.BytesIO()
    book.save(buffer)
    record, frame = upload(store, "actually-excel.csv", buffer.getvalue())
    assert record.file_format is DataFormat.XLSX and frame["b"].tolist() == [2]


def test_date_detection(store: Store) -> None:
    data = (
        b"iso,european,code,mostly\n"
        b"2024-01-03,13/01/2024,A-1,2024-02-01\n"
        b"2024-01-04,14/02/2024,B-2,2024-02-02\n"
        + b"".join(f"2024-01-{d:02d},{d:02d}/03/2024,C-{d},2024-02-{d:02d}\n".encode() for d in range(5, 25))
        + b"2024-01-25,25/03/2024,D-9,not a date\n"
    )
    record, frame = upload(store, "dates.csv", data)

    assert str(frame["iso"].dtype).startswith("datetime64")
    assert frame["iso"].iloc[0] == pd.Timestamp("2024-01-03")
    assert frame["european"].iloc[0] == pd.Timestamp("2024-01-13")
    assert frame["european"].iloc[1] == pd.Timestamp("2024-02-14")
    assert column(record, "code").kind is ColumnKind.TEXT
    # 22 of 23 parse (96%): converted, and the summary says a value was lost.
    assert column(record, "mostly").kind is ColumnKind.DATETIME
    assert column(record, "mostly").missing == 1
    assert "I read 'european' as dates (day first)." in record.summary.notes
    assert "I read 'mostly' as dates; 1 value that were not dates are now missing." in record.summary.notes


def test_hostile_column_names_kept_verbatim(store: Store) -> None:
    names = [
        "x" * 300,
        "'; DROP TABLE models; --",
        '__import__("os").system("id")',
        "../../etc/passwd",
        "emoji 📈 ünïcode",
        "  spaced  ",
        'with "quotes"',
    ]
    header = ",".join('"' + n.replace('"', '""') + '"' for n in names)
    data = (header + "\n" + ",".join(str(i) for i in range(len(names))) + "\n").encode()

    record, frame = upload(store, "names.csv", data)

    assert list(frame.columns) == names
    assert record.summary.column_names == tuple(names)
    assert store.get_dataset(user_id=USER, dataset_id=record.dataset_id).summary.column_names == tuple(names)


def test_same_content_stored_once(store: Store, data_dir: Path) -> None:
    first = store.ingest_upload(user_id=USER, filename="a.csv", data=b"a,b\n1,2\n3,4\n")
    # The same table with another delimiter normalizes to the same Parquet bytes.
    again = store.ingest_upload(user_id=USER, filename="b.csv", data=b"a;b\n1;2\n3;4\n")
    other = store.ingest_upload(user_id="2002", filename="a.csv", data=b"a,b\n1,2\n3,4\n")

    assert not first.already_stored and again.already_stored
    assert again.dataset_id == first.dataset_id and again.filename == "a.csv"
    assert other.dataset_id != first.dataset_id and not other.already_stored
    assert [d.dataset_id for d in store.list_datasets(user_id=USER)] == [first.dataset_id]
    assert len(list((data_dir / "users" / USER / "datasets").iterdir())) == 1


def test_ingest_file_from_disk(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "local.csv"
    path.write_bytes(b"a,b\n1,2\n")
    record = store.ingest_file(user_id=USER, path=path)
    assert record.filename == "local.csv" and record.summary.rows == 1
    with pytest.raises(UploadError) as caught:
        store.ingest_file(user_id=USER, path=tmp_path / "missing.csv")
    assert caught.value.user_message == f"I cannot read the file {tmp_path / 'missing.csv'}."


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("empty.csv", b"", "This file is empty. Send a table as CSV, Excel (.xlsx) or Parquet."),
        ("blank.csv", b" \r\n\n", "This file is empty."),
        ("header.csv", b"a,b,c\n", "This file has column names but no rows of data."),
        ("header.csv", b"a,b,c\n,,\n", "This file has column names but no rows of data."),
        ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "This file is not a text table: it contains binary data."),
        ("report.pdf", b"%PDF-1.7 ...", "I cannot read .pdf files. Send a table as CSV, Excel (.xlsx) or Parquet."),
        ("old.xls", b"\xd0\xcf\x11\xe0", "Old Excel files (.xls) are not supported."),
        ("fake.xlsx", b"a,b\n1,2\n", "This file is named .xlsx but is not a valid .xlsx file."),
        ("broken.xlsx", b"PK\x03\x04 not really a zip", "I could not read this file as an Excel workbook (.xlsx)."),
        ("broken.parquet", b"PAR1 truncated", "I could not read this file as Parquet."),
        ("nohead.csv", b"1,2,3\n4,5,6\n", "The first row of this file holds numbers, not column names."),
        ("ragged.csv", b"a,b\n1,2\n3,4,5\n", "Line 3 has 3 values but the header names 2 columns."),
    ],
)
def test_unusable_files_get_specific_messages(store: Store, filename: str, data: bytes, message: str) -> None:
    assert message in refused(store, filename, data)
    assert store.list_datasets(user_id=USER) == []


def test_limits(data_dir: Path) -> None:
    uploads = UploadSettings(max_bytes=4096, max_rows=5, max_columns=3)
    with Store(data_dir=data_dir, uploads=uploads, quotas=QuotaSettings()) as store:
        assert refused(store, "big.csv", b"a\n" + b"1\n" * 3000) == (
            "This file is 5.9 KB; the limit is 4 KB. Send a smaller file or a sample of the rows."
        )
        assert refused(store, "wide.csv", b"a,b,c,d\n1,2,3,4\n") == (
            "This table has 4 columns; the limit is 3. Keep the columns you need and upload it again."
        )
        assert refused(store, "long.csv", b"a\n" + b"1\n" * 6) == (
            "This table has more than 5 rows; the limit is 5. Send a sample of the rows."
        )
        buffer = io.BytesIO()
        pd.DataFrame({"a": range(9)}).to_parquet(buffer)
        assert refused(store, "long.parquet", buffer.getvalue()).startswith("This table has 9 rows; the limit is 5.")
        assert store.ingest_upload(user_id=USER, filename="ok.csv", data=b"a,b,c\n" + b"1,2,3\n" * 5).summary.rows == 5


def test_default_size_limit_message(data_dir: Path) -> None:
    with Store(data_dir=data_dir, uploads=UploadSettings(), quotas=QuotaSettings()) as store:
        too_big = b"a\n" + b"1" * int(31.2 * 1024 * 1024)
        assert refused(store, "big.csv", too_big).startswith("This file is 31.2 MB; the limit is 20 MB.")
