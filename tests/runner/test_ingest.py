"""`python -m runner ingest` in-process: formats, encodings, types, budgets, clear refusals,
and the hostile corpus, each file first in a memory-capped subprocess."""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import subprocess
import sys
import textwrap
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl.styles import Font

import runner._ingest
from runner import spec as contract
from runner._paths import JobPaths
from runner._progress import Reporter
from runner.cli import JobRun, run_job
from runner.spec import (
    ColumnKind,
    ColumnSummary,
    DataFormat,
    DatasetSummary,
    ErrorCode,
    ExitCode,
    IngestLimits,
    IngestSpec,
    ProgressEvent,
)

from tests.hostile_corpus import ACCEPTED, TEXT_TABLE, XFD_ROWS, HostileFile, corpus

_ids = itertools.count(1)
CORPUS = {upload.name: upload for upload in corpus()}


@dataclass(frozen=True)
class Ingested:
    run: JobRun
    root: Path

    @property
    def ok(self) -> bool:
        return self.run.result.ok

    @property
    def summary(self) -> DatasetSummary:
        assert self.run.result.ingest is not None, self.run.result.error
        return self.run.result.ingest.summary

    @property
    def file_format(self) -> DataFormat:
        assert self.run.result.ingest is not None, self.run.result.error
        return self.run.result.ingest.file_format

    @property
    def code(self) -> ErrorCode:
        assert self.run.result.error is not None, "the upload was accepted"
        return self.run.result.error.code

    @property
    def message(self) -> str:
        assert self.run.result.error is not None, "the upload was accepted"
        return self.run.result.error.message

    @property
    def table_file(self) -> Path:
        return self.root / contract.OUTPUT_DIR / contract.DATA_FILE

    @property
    def result_file(self) -> Path:
        return self.root / contract.OUTPUT_DIR / contract.RESULT_FILE

    def frame(self) -> pd.DataFrame:
        return pd.read_parquet(self.table_file)

    def column(self, name: str) -> ColumnSummary:
        return next(c for c in self.summary.columns if c.name == name)


def lay_out(root: Path, filename: str, data: bytes | None, **limits: Any) -> Path:
    """root/input/job.json and root/input/upload, as the host lays out an ingest job."""
    (root / contract.INPUT_DIR).mkdir(parents=True)
    (root / contract.OUTPUT_DIR).mkdir()
    job = IngestSpec(
        job_id=f"job_{next(_ids):012x}", user_id="tester", filename=filename, limits=IngestLimits(**limits)
    )
    (root / contract.INPUT_DIR / contract.SPEC_FILE).write_text(job.model_dump_json(), encoding="utf-8")
    if data is not None:
        (root / contract.INPUT_DIR / contract.UPLOAD_FILE).write_bytes(data)
    return root


def ingest(
    tmp_path: Path, filename: str, data: bytes | None, *, events: TextIO | None = None, **limits: Any
) -> Ingested:
    root = lay_out(tmp_path / f"job{next(_ids)}", filename, data, **limits)
    ingested = Ingested(run_job("ingest", JobPaths(root), Reporter(events=events)), root)
    # result.json is what the host reads: it must say the same as the run.
    assert json.loads(ingested.result_file.read_text()) == json.loads(ingested.run.result.model_dump_json())
    assert ingested.run.exit_code == (ExitCode.OK if ingested.ok else ExitCode.BAD_INPUT)
    assert ingested.table_file.exists() == ingested.ok
    return ingested


def workbook(*rows: list[Any], title: str = "Sheet", others: tuple[str, ...] = ()) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for name in others:
        book.create_sheet(name).append(["x"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def parquet(table: pd.DataFrame | pa.Table, **options: Any) -> bytes:
    buffer = io.BytesIO()
    if isinstance(table, pd.DataFrame):
        table.to_parquet(buffer, **options)
    else:
        pq.write_table(table, buffer, **options)
    return buffer.getvalue()


# ---------------------------------------------------------------- reading


def test_comma_csv_with_summary(tmp_path: Path) -> None:
    data = b"age,size,city,owner\n30,55.5,Oslo,true\n41,,Bergen,false\n30,70,Oslo,true\n52,80.25,Oslo,\n"
    ingested = ingest(tmp_path, "flats.csv", data)
    frame = ingested.frame()

    assert ingested.file_format is DataFormat.CSV
    assert ingested.summary.rows == 4 and len(frame) == 4
    assert ingested.summary.column_names == ("age", "size", "city", "owner")
    assert ingested.summary.notes == () and ingested.summary.sheets == ()
    age, size, city, owner = ingested.summary.columns
    assert (age.kind, age.dtype, age.missing, age.distinct, age.examples) == (
        ColumnKind.NUMERIC, "int64", 0, 3, ("30", "41", "52")
    )
    assert (size.kind, size.missing, size.examples) == (ColumnKind.NUMERIC, 1, ("55.5", "70.0", "80.25"))
    assert (city.kind, city.distinct, city.examples) == (ColumnKind.CATEGORICAL, 2, ("Oslo", "Bergen"))
    assert (owner.kind, owner.missing) == (ColumnKind.BOOLEAN, 1)
    assert frame["age"].tolist() == [30, 41, 30, 52]
    assert frame["owner"].tolist() == [True, False, True, None]


def test_the_summary_says_which_columns_name_or_number_the_rows(tmp_path: Path) -> None:
    data = b"id,code,year,size\n" + b"".join(
        f"{n},k{n:03d},{1990 + n},{n % 3}\n".encode() for n in range(1, 21)
    )
    reasons = {c.name: c.id_reason for c in ingest(tmp_path, "rows.csv", data).summary.columns}
    assert reasons == {
        "id": "it numbers the rows one by one, like an ID",
        "code": "it has a different value in every row, like an ID",
        "year": None,  # years count time: R's lm uses them
        "size": None,
    }


def test_progress_stages(tmp_path: Path) -> None:
    events = io.StringIO()
    ingest(tmp_path, "a.csv", b"a,b\n1,2\n", events=events)
    stages = [ProgressEvent.model_validate_json(line).stage for line in events.getvalue().splitlines()]
    assert stages[0] == "reading" and stages[-1] == "saving" and "typing" in stages


def test_semicolon_csv_with_bom_and_decimal_commas(tmp_path: Path) -> None:
    data = "\ufeffname;price;qty\nÆble;1,5;3\nPære;2,25;4\nKiwi;1.234,5;5\n".encode("utf-8")
    ingested = ingest(tmp_path, "prices.csv", data)
    frame = ingested.frame()

    assert list(frame.columns) == ["name", "price", "qty"]  # no BOM left on the first name
    assert frame["name"].tolist() == ["Æble", "Pære", "Kiwi"]
    assert frame["price"].tolist() == [1.5, 2.25, 1234.5]
    assert ingested.column("price").kind is ColumnKind.NUMERIC
    assert ingested.summary.notes == ("I read the decimal commas in 'price' as numbers.",)


def test_quoted_fields_with_delimiters_and_newlines(tmp_path: Path) -> None:
    data = b'id,"comment, long",score\n1,"fine, thanks",3\n2,"two\nlines ""quoted""",4\n3,plain,5\n'
    frame = ingest(tmp_path, "comments.csv", data).frame()

    assert list(frame.columns) == ["id", "comment, long", "score"]
    assert frame["comment, long"].tolist() == ["fine, thanks", 'two\nlines "quoted"', "plain"]
    assert frame["score"].tolist() == [3, 4, 5]


def test_tab_separated_txt(tmp_path: Path) -> None:
    frame = ingest(tmp_path, "export.txt", b"a\tb|c\n1\tx|y\n2\tz\n").frame()
    assert list(frame.columns) == ["a", "b|c"]
    assert frame["b|c"].tolist() == ["x|y", "z"]


@pytest.mark.parametrize(
    ("data", "table"),
    [
        (b"a|b|c\n1|2|3\n4|5|6\n", {"a": [1, 4], "b": [2, 5], "c": [3, 6]}),
        (b'a;"b;c";d\n1;"x;y";2,5\n3;"z";4\n', {"a": [1, 3], "b;c": ["x;y", "z"], "d": [2.5, 4.0]}),
        (b'a, b, c\n1, "x, y", 3\n', {"a": [1], "b": ["x, y"], "c": [3]}),  # spaces after the delimiter
        (b"name,note\n'a','x, y'\n'b','z'\n", {"name": ["a", "b"], "note": ["x, y", "z"]}),  # single quotes
        (b"name,n\nO'Brien,1\nD'Arcy,2\n", {"name": ["O'Brien", "D'Arcy"], "n": [1, 2]}),  # apostrophes
        (b"a,b\r\r\n1,2\r\r\n3,4\r\r\n", {"a": [1, 3], "b": [2, 4]}),  # blank lines between rows
        (b"a,b\n1,2\n,\n  \n3,4\n,\n", {"a": [1.0, 3.0], "b": [2.0, 4.0]}),  # empty rows dropped
        (b"name\nx\ny\n", {"name": ["x", "y"]}),  # one column
    ],
)
def test_dialects(tmp_path: Path, data: bytes, table: dict[str, list[Any]]) -> None:
    assert ingest(tmp_path, "t.csv", data).frame().to_dict("list") == table


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-8-sig", "cp1252", "latin-1"])
def test_encodings(tmp_path: Path, encoding: str) -> None:
    text = "Straße;Größe;Café\nMüller;1,5;crème\nÅsa;2;brûlée\n"
    assert ingest(tmp_path, f"{encoding}.csv", text.encode(encoding)).frame().to_dict("list") == TEXT_TABLE


def test_xlsx_first_sheet_types_and_other_sheets_noted(tmp_path: Path) -> None:
    data = workbook(
        ["region", "amount", "day", None, "amount"],
        ["north", 10, datetime(2024, 1, 3), 1, 7],
        ["south", 12.5, datetime(2024, 1, 4), 2, 8],
        [None, None, None, None, None],  # an empty row is dropped
        ["east", 3, datetime(2024, 1, 5), 3, 9],
        title="Sales",
        others=("Costs",),
    )
    ingested = ingest(tmp_path, "report.xlsx", data)
    frame = ingested.frame()

    assert ingested.file_format is DataFormat.XLSX
    assert ingested.summary.sheets == ("Sales", "Costs")
    assert list(frame.columns) == ["region", "amount", "day", "column_4", "amount (2)"]
    assert frame["amount"].tolist() == [10, 12.5, 3]
    assert ingested.column("day").kind is ColumnKind.DATETIME
    assert frame["day"].dt.day.tolist() == [3, 4, 5]
    assert len(frame) == 3
    assert ingested.summary.notes == (
        "I read the first sheet, 'Sales'; the workbook has 2 sheets (Sales, Costs). "
        "Upload the others as separate files if you need them.",
        "Some column names were empty or repeated, so I renamed them: "
        "column 4 (no name) is now 'column_4'; column 5 ('amount') is now 'amount (2)'.",
    )


def test_xlsx_cells_as_pandas_read_them(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["n", "text", "flag", "error", "when"])
    sheet.append([1.0, "1", True, "#N/A", datetime(2024, 5, 1)])
    sheet.append([2.5, "x", False, None, None])
    sheet["D3"].value, sheet["D3"].data_type = "#DIV/0!", "e"
    sheet.cell(40, 30).font = Font(bold=True)  # formatted but empty, far from the table
    buffer = io.BytesIO()
    book.save(buffer)

    ingested = ingest(tmp_path, "cells.xlsx", buffer.getvalue())
    frame = ingested.frame()

    assert ingested.summary.column_names == ("n", "text", "flag", "error", "when")
    assert frame["n"].tolist() == [1.0, 2.5]
    assert frame["error"].isna().all()  # error cells are missing values
    assert frame["text"].tolist() == ["1", "x"]
    assert frame["flag"].tolist() == [True, False]
    assert frame["when"].iloc[0] == pd.Timestamp("2024-05-01")


def test_xlsx_table_away_from_the_corner(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    for offset, row in enumerate((["a", None, "c"], [1, None, "x"], [None, None, None], [2, None, "y"])):
        for column, value in enumerate(row):
            book.active.cell(5 + offset, 3 + column, value)
    buffer = io.BytesIO()
    book.save(buffer)
    assert ingest(tmp_path, "offset.xlsx", buffer.getvalue()).frame().to_dict("list") == {
        "a": [1, 2], "c": ["x", "y"]
    }


def test_parquet_upload(tmp_path: Path) -> None:
    source = pd.DataFrame(
        {"x": [1.0, 2.0, None], "label": ["a", "b", "a"], "when": pd.to_datetime(["2024-01-01"] * 3)}
    )
    ingested = ingest(tmp_path, "table.parquet", parquet(source, index=False))
    frame = ingested.frame()

    assert ingested.file_format is DataFormat.PARQUET
    assert frame["x"].isna().sum() == 1
    assert frame["label"].tolist() == ["a", "b", "a"]
    assert [c.kind for c in ingested.summary.columns] == [ColumnKind.NUMERIC, ColumnKind.TEXT, ColumnKind.DATETIME]


def test_parquet_with_an_index_named_like_a_column(tmp_path: Path) -> None:
    source = pd.DataFrame({"a": [1, 2], "b": [3, 4]}, index=pd.Index([5, 6], name="a"))
    ingested = ingest(tmp_path, "indexed.parquet", parquet(source))  # the index is saved as a column 'a' too
    frame = ingested.frame()

    assert list(frame.columns) == ["a", "a (2)", "b"]
    assert frame["a"].tolist() == [5, 6] and frame["a (2)"].tolist() == [1, 2]
    assert ingested.summary.notes == (
        "Some column names were empty or repeated, so I renamed them: column 2 ('a') is now 'a (2)'.",
    )


def test_parquet_categories_and_delta_encoded_text(tmp_path: Path) -> None:
    categories = pd.DataFrame({"c": pd.Categorical(["a", "b", "a"]), "s": ["x", None, "z"]})
    frame = ingest(tmp_path, "c.parquet", parquet(categories)).frame()
    assert str(frame["c"].dtype) == "category" and frame["s"].isna().tolist() == [False, True, False]

    # pyarrow cannot read delta-encoded text as a dictionary: it is read as it is.
    delta = pa.table({"s": ["same prefix " + str(i) for i in range(100)]})
    data = parquet(delta, use_dictionary=False, column_encoding={"s": "DELTA_BYTE_ARRAY"})
    assert ingest(tmp_path, "d.parquet", data).frame()["s"].tolist() == delta.column("s").to_pylist()


def test_xlsx_named_csv_is_read_by_content(tmp_path: Path) -> None:
    ingested = ingest(tmp_path, "actually-excel.csv", workbook(["a", "b"], [1, 2]))
    assert ingested.file_format is DataFormat.XLSX and ingested.frame()["b"].tolist() == [2]


def test_date_detection(tmp_path: Path) -> None:
    data = (
        b"iso,european,code,mostly\n"
        b"2024-01-03,13/01/2024,A-1,2024-02-01\n"
        b"2024-01-04,14/02/2024,B-2,2024-02-02\n"
        + b"".join(f"2024-01-{d:02d},{d:02d}/03/2024,C-{d},2024-02-{d:02d}\n".encode() for d in range(5, 25))
        + b"2024-01-25,25/03/2024,D-9,not a date\n"
    )
    ingested = ingest(tmp_path, "dates.csv", data)
    frame = ingested.frame()

    assert str(frame["iso"].dtype).startswith("datetime64")
    assert frame["iso"].iloc[0] == pd.Timestamp("2024-01-03")
    assert frame["european"].iloc[0] == pd.Timestamp("2024-01-13")
    assert frame["european"].iloc[1] == pd.Timestamp("2024-02-14")
    assert ingested.column("code").kind is ColumnKind.TEXT
    # 22 of 23 parse (96%): converted, and the summary says a value was lost.
    assert ingested.column("mostly").kind is ColumnKind.DATETIME
    assert ingested.column("mostly").missing == 1
    assert ingested.summary.notes == (
        "I read 'iso' as dates.",
        "I read 'european' as dates (day first).",
        "I read 'mostly' as dates; 1 value that were not dates are now missing.",
    )


def test_hostile_column_names_kept_verbatim(tmp_path: Path) -> None:
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

    ingested = ingest(tmp_path, "names.csv", data, max_name_chars=300)

    assert list(ingested.frame().columns) == names
    assert ingested.summary.column_names == tuple(names)


def test_another_delimiter_gives_the_same_table(tmp_path: Path) -> None:
    comma = ingest(tmp_path, "a.csv", b"a,b\n1,2\n3,4\n")
    semicolon = ingest(tmp_path, "b.csv", b"a;b\n1;2\n3;4\n")
    assert comma.table_file.read_bytes() == semicolon.table_file.read_bytes()


def test_notes_and_examples_stay_small(tmp_path: Path) -> None:
    names = [f"{i:03d}" + "n" * 200 for i in range(25)]
    rows = [";".join(names), ";".join(["1,5"] * 25), ";".join(["2,25"] * 24 + ["x" * 500])]
    ingested = ingest(tmp_path, "many.csv", "\n".join(rows).encode())

    notes = ingested.summary.notes
    assert len(notes) == 20 and notes[-1] == "And 5 more changes like these."
    assert notes[0] == f"I read the decimal commas in '000{'n' * 34}...' as numbers."
    assert ingested.column(names[-1]).examples == ("1,5", "x" * 37 + "...")

    names = ",".join(["s" * 50] * 500)  # 499 renamed
    ingested = ingest(tmp_path, "wide.csv", f"{names}\n{','.join('1' * 500)}\n".encode())
    assert len(ingested.summary.notes) == 1 and len(ingested.summary.notes[0]) == 300
    assert ingested.summary.notes[0].endswith("...")
    assert len(ingested.result_file.read_bytes()) < 200_000


# ---------------------------------------------------------------- refusals

EMPTY = "This file is empty. Send a table as CSV, Excel (.xlsx) or Parquet."


@pytest.mark.parametrize(
    ("filename", "data", "code", "message"),
    [
        ("empty.csv", b"", ErrorCode.EMPTY_DATA, EMPTY),
        ("blank.csv", b" \r\n\n", ErrorCode.EMPTY_DATA, EMPTY),
        ("blank.pdf", b"\n", ErrorCode.EMPTY_DATA, EMPTY),
        ("header.csv", b"a,b,c\n", ErrorCode.EMPTY_DATA,
         "This file has column names but no rows of data. Add the rows and upload it again."),
        ("header.csv", b"a,b,c\n,,\n", ErrorCode.EMPTY_DATA,
         "This file has column names but no rows of data. Add the rows and upload it again."),
        ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), ErrorCode.UNSUPPORTED_FORMAT,
         "This file is not a text table: it contains binary data. Send a table as CSV, Excel (.xlsx) or Parquet."),
        ("report.pdf", b"%PDF-1.7 ...", ErrorCode.UNSUPPORTED_FORMAT,
         "I cannot read .pdf files. Send a table as CSV, Excel (.xlsx) or Parquet."),
        ("old.xls", b"\xd0\xcf\x11\xe0", ErrorCode.UNSUPPORTED_FORMAT,
         "Old Excel files (.xls) are not supported. Save it as .xlsx or CSV and upload it again."),
        ("fake.xlsx", b"a,b\n1,2\n", ErrorCode.UNSUPPORTED_FORMAT,
         "This file is named .xlsx but is not a valid .xlsx file. Send a table as CSV, Excel (.xlsx) or Parquet."),
        ("broken.xlsx", b"PK\x03\x04 not really a zip", ErrorCode.UNREADABLE_DATA,
         "I could not read this file as an Excel workbook (.xlsx). Save it again as .xlsx or CSV and upload it."),
        ("broken.parquet", b"PAR1 truncated", ErrorCode.UNREADABLE_DATA,
         "I could not read this file as Parquet. Export it again, or send it as CSV."),
        ("nohead.csv", b"1,2,3\n4,5,6\n", ErrorCode.UNREADABLE_DATA,
         "The first row of this file holds numbers, not column names. "
         "Add a header row that names every column and upload it again."),
        ("ragged.csv", b"a,b\n1,2\n3,4,5\n", ErrorCode.UNREADABLE_DATA,
         "Line 3 has 3 values but the header names 2 columns. Check the delimiter and the quotes on that line."),
        ("unclosed.csv", b'a,b\n1,"2\n3,4\n', ErrorCode.UNREADABLE_DATA,
         "A quoted value in this file is never closed. Check the quotes and upload it again."),
        ("odd.csv", b"\xff\xfea\x00b", ErrorCode.UNREADABLE_DATA,
         "This file is marked as UTF-16 text but is not valid text in that encoding. "
         "Save it again as CSV (UTF-8) and upload it."),
        ("empty.xlsx", workbook(title="Sales"), ErrorCode.EMPTY_DATA,
         "The first sheet ('Sales') of this workbook is empty. Put the table on the first sheet and upload it again."),
        ("nohead.xlsx", workbook([1, 2], [3, 4]), ErrorCode.UNREADABLE_DATA,
         "The first row of this file holds numbers, not column names. "
         "Add a header row that names every column and upload it again."),
    ],
)
def test_unusable_files_get_specific_messages(
    tmp_path: Path, filename: str, data: bytes, code: ErrorCode, message: str
) -> None:
    refused = ingest(tmp_path, filename, data)
    assert (refused.code, refused.message) == (code, message)


def test_missing_upload(tmp_path: Path) -> None:
    refused = ingest(tmp_path, "a.csv", None)
    assert (refused.code, refused.message) == (ErrorCode.UNREADABLE_DATA, "The uploaded file is missing.")


def test_row_column_and_cell_budgets(tmp_path: Path) -> None:
    small = {"max_rows": 5, "max_columns": 3, "max_cells": 12}
    cases = [
        ("wide.csv", b"a,b,c,d\n1,2,3,4\n",
         "This table has 4 columns; the limit is 3, so keep the columns you need and upload it again."),
        ("long.csv", b"a\n" + b"1\n" * 6, "This table has 6 rows; the limit is 5, so send a sample of the rows."),
        ("cells.csv", b"a,b,c\n" + b"1\n" * 5,
         "This table has 15 cells (5 rows of 3 columns); the limit is 12 cells, so send fewer rows or columns."),
        ("long.parquet", parquet(pd.DataFrame({"a": range(9)})),
         "This table has 9 rows; the limit is 5, so send a sample of the rows."),
        ("wide.parquet", parquet(pd.DataFrame({c: [1] for c in "abcd"})),
         "This table has 4 columns; the limit is 3, so keep the columns you need and upload it again."),
        ("cells.parquet", parquet(pd.DataFrame({c: range(5) for c in "abc"})),
         "This table has 15 cells (5 rows of 3 columns); the limit is 12 cells, so send fewer rows or columns."),
        ("long.xlsx", workbook(["a"], *[[i] for i in range(6)]),
         "This table has more than 5 rows; the limit is 5, so send a sample of the rows."),
        ("wide.xlsx", workbook(["a", "b", None, None], [1, 2, 3, 4]),
         "This table has more than 3 columns; the limit is 3, so keep the columns you need and upload it again."),
        ("cells.xlsx", workbook(["a", "b", "c"], *[[1]] * 4, [1, 2, 3]),
         "This table has more than 12 cells; the limit is 12 cells, so send fewer rows or columns."),
    ]
    for filename, data, message in cases:
        refused = ingest(tmp_path, filename, data, **small)
        assert (refused.code, refused.message) == (ErrorCode.OVER_LIMIT, message), filename
    assert ingest(tmp_path, "ok.csv", b"a,b\n" + b"1,2\n" * 5, **small).summary.rows == 5
    assert ingest(tmp_path, "ok.xlsx", workbook(["a", "b"], *[[1, 2]] * 5), **small).summary.rows == 5


def test_wide_csv_is_refused_before_pandas_parses_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def parse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("pandas was asked to parse the table")

    monkeypatch.setattr(runner._ingest.pd, "read_csv", parse)
    refused = ingest(tmp_path, "wide.csv", CORPUS["wide_csv"].data)
    assert (refused.code, refused.message) == (
        ErrorCode.OVER_LIMIT,
        "This table has 500,000,000 cells (1,000,000 rows of 500 columns); the limit is 20,000,000 cells, "
        "so send fewer rows or columns.",
    )


def test_column_name_length(tmp_path: Path) -> None:
    message = (
        "Column 2's name is 300 characters long; the limit is 256 characters, "
        "so shorten it and upload the file again."
    )
    long = "n" * 300
    for filename, data in [
        ("names.csv", f"a,{long}\n1,2\n".encode()),
        ("names.xlsx", workbook(["a", long], [1, 2])),
        ("names.parquet", parquet(pd.DataFrame({"a": [1], long: [2]}))),
    ]:
        refused = ingest(tmp_path, filename, data)
        assert (refused.code, refused.message) == (ErrorCode.OVER_LIMIT, message), filename

    over_csv_field_limit = ingest(tmp_path, "huge.csv", b"a" * 200_000 + b",b\n1,2\n")
    assert over_csv_field_limit.message == (
        "A column name in the first row is over 131,072 characters long; the limit is 256 characters, "
        "so shorten it and upload the file again."
    )


def test_workbook_budgets_are_checked_before_openpyxl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def load(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("openpyxl was asked to read the workbook")

    monkeypatch.setattr(runner._ingest.openpyxl, "load_workbook", load)
    data = workbook(["a"], [1], others=("b", "c"))
    unpacked = sum(entry.file_size for entry in zipfile.ZipFile(io.BytesIO(data)).infolist())

    refused = ingest(tmp_path, "sheets.xlsx", data, max_sheets=2)
    assert (refused.code, refused.message) == (
        ErrorCode.OVER_LIMIT,
        "This workbook has more than 2 sheets; the limit is 2, "
        "so save the sheet with the table as a workbook of its own and upload that.",
    )
    refused = ingest(tmp_path, "big.xlsx", data, max_unpacked_bytes=1024)
    assert (refused.code, refused.message) == (
        ErrorCode.OVER_LIMIT,
        f"This workbook unpacks to {f'{unpacked / 1024:.1f}'.removesuffix('.0')} KB; the limit is 1 KB, "
        "so send the table as CSV or in a smaller workbook.",
    )
    for name in ("shared_strings_bomb", "packed_sheet", "many_sheets"):
        assert ingest(tmp_path, "bomb.xlsx", CORPUS[name].data).code is ErrorCode.OVER_LIMIT, name


def test_a_zip_of_very_many_parts_is_refused_from_its_end_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(10_001):
            archive.writestr(f"p{n}", b"")

    def listed(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("zipfile read the directory")

    monkeypatch.setattr(zipfile.ZipFile, "__init__", listed)
    refused = ingest(tmp_path, "parts.xlsx", buffer.getvalue())
    assert (refused.code, refused.message) == (
        ErrorCode.OVER_LIMIT,
        "This workbook is packed from 10,001 parts; a workbook has at most 10,000, "
        "so save it again from Excel or send the table as CSV.",
    )


def test_parquet_budgets_are_checked_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def read(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the table was read")

    monkeypatch.setattr(pq.ParquetFile, "read", read)
    refused = ingest(tmp_path, "big.parquet", parquet(pd.DataFrame({"x": range(1000)})), max_unpacked_bytes=1024)
    assert refused.code is ErrorCode.OVER_LIMIT
    assert re.fullmatch(
        r"This Parquet file unpacks to [\d.]+ KB; the limit is 1 KB, so send fewer rows or columns\.", refused.message
    )
    refused = ingest(tmp_path, "nested.parquet", CORPUS["nested_parquet"].data)
    assert (refused.code, refused.message) == (
        ErrorCode.UNSUPPORTED_FORMAT,
        "Column 'tags' holds nested values (lists, records or maps); "
        "save the table with one plain value per cell and upload it again.",
    )
    assert ingest(tmp_path, "rows.parquet", CORPUS["dictionary_bomb"].data).code is ErrorCode.OVER_LIMIT


def test_parquet_text_is_sized_decoded(tmp_path: Path) -> None:
    # 10,000 rows of one 1 KB dictionary value: tiny pages, 10 MB once decoded.
    value = pa.DictionaryArray.from_arrays(pa.array([0] * 10_000, pa.int32()), pa.array(["v" * 1024]))
    data = parquet(pa.table({"v": value}), store_schema=False)
    refused = ingest(tmp_path, "values.parquet", data, max_unpacked_bytes=1 << 20)
    assert (refused.code, refused.message) == (
        ErrorCode.OVER_LIMIT,
        "This Parquet file unpacks to 9.8 MB; the limit is 1 MB, so send fewer rows or columns.",
    )
    accepted = ingest(tmp_path, "values.parquet", data, max_unpacked_bytes=16 << 20)
    assert accepted.frame()["v"].str.len().sum() == 10_240_000


# ---------------------------------------------------------------- the hostile corpus

# Each corpus file is first ingested in a child of one subprocess, under a cap on its address
# space and on its time, which records the child's peak memory: a regression fails there
# instead of taking this process (and the machine) with it.
_ADDRESS_SPACE = 1536 << 20
_PEAK_BUDGET_MB = 512
_SECONDS = 60  # as the host gives an ingest job
_BOUNDED = textwrap.dedent(
    """
    import json, os, resource, signal, sys
    from pathlib import Path
    import runner._ingest  # before forking: every child starts with it imported
    from runner._paths import JobPaths
    from runner._progress import Reporter
    from runner.cli import run_job

    cap, seconds, peaks = int(sys.argv[1]), int(sys.argv[2]), {}
    for root in sys.argv[3:]:
        child = os.fork()
        if child == 0:
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
            signal.alarm(seconds)
            os._exit(run_job("ingest", JobPaths(Path(root)), Reporter(events=None)).exit_code)
        _, status, usage = os.wait4(child, 0)
        peaks[root] = {"exit_code": os.waitstatus_to_exitcode(status), "peak_mb": usage.ru_maxrss // 1024}
    print(json.dumps(peaks))
    """
)


@dataclass(frozen=True)
class Bounded:
    exit_code: int
    peak_mb: int
    result: dict[str, Any] | None


@pytest.fixture(scope="session")
def bounded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Bounded]:
    base = tmp_path_factory.mktemp("bounded")
    roots = {name: lay_out(base / name, upload.filename, upload.data) for name, upload in CORPUS.items()}
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(Path(contract.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]),
        # One thread each, and the system allocator: arenas of other allocators count as address space.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "ARROW_DEFAULT_MEMORY_POOL": "system",
    }
    done = subprocess.run(
        [sys.executable, "-c", _BOUNDED, str(_ADDRESS_SPACE), str(_SECONDS), *map(str, roots.values())],
        capture_output=True,
        text=True,
        env=environment,
        timeout=480,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    peaks = json.loads(done.stdout.splitlines()[-1])
    runs = {}
    for name, root in roots.items():
        result_file = root / contract.OUTPUT_DIR / contract.RESULT_FILE
        result = json.loads(result_file.read_text()) if result_file.exists() else None
        runs[name] = Bounded(result=result, **peaks[str(root)])
    return runs


def _check_answer(upload: HostileFile, ok: bool, message: str | None) -> None:
    if upload.expect == ACCEPTED:
        assert ok, message
    else:
        assert not ok and message is not None and upload.expect in message, message


@pytest.mark.parametrize("name", list(CORPUS))
def test_hostile_upload_stays_bounded(name: str, bounded: dict[str, Bounded]) -> None:
    run, upload = bounded[name], CORPUS[name]
    assert run.exit_code in (ExitCode.OK, ExitCode.BAD_INPUT), f"the child ended with {run.exit_code}"
    assert run.result is not None
    _check_answer(upload, run.result["ok"], (run.result["error"] or {}).get("message"))
    assert run.peak_mb < _PEAK_BUDGET_MB


@pytest.mark.parametrize("name", list(CORPUS))
def test_hostile_upload_in_process(name: str, bounded: dict[str, Bounded], tmp_path: Path) -> None:
    upload, run = CORPUS[name], bounded[name]
    if run.exit_code not in (ExitCode.OK, ExitCode.BAD_INPUT) or run.peak_mb >= _PEAK_BUDGET_MB:
        pytest.fail("not run in this process: it was not bounded in a subprocess")
    started = time.monotonic()
    ingested = ingest(tmp_path, upload.filename, upload.data)
    if name == "sniffer_csv":
        assert time.monotonic() - started < 2  # csv.Sniffer takes 17 s on this
    _check_answer(upload, ingested.ok, None if ingested.ok else ingested.message)
    if not ingested.ok:
        assert len(ingested.message) < 250
    if not ingested.ok and ingested.code is ErrorCode.OVER_LIMIT:  # one sentence
        assert ingested.message.endswith(".") and ". " not in ingested.message


def test_hostile_files_that_must_be_read(tmp_path: Path) -> None:
    for name in ("utf16_csv", "latin1_csv"):
        upload = CORPUS[name]
        assert ingest(tmp_path, upload.filename, upload.data).frame().to_dict("list") == TEXT_TABLE

    ingested = ingest(tmp_path, "xfd.xlsx", CORPUS["xfd_xlsx"].data)
    frame = ingested.frame()
    assert list(frame.columns) == ["value", "column_2"]  # the cell in XFD is a column of its own
    assert len(frame) == XFD_ROWS and frame["column_2"].count() == 1
