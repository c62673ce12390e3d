"""The ingest command: an uploaded CSV, Excel or Parquet file in, a typed Parquet table out.

The upload is hostile until proven otherwise. Every budget of `IngestLimits` is checked
before the thing it limits is unpacked: a CSV's rows and cells from a count of its lines,
a workbook's size and sheets from its zip directory, a Parquet file's shape and size from
its footer. Every failure is a JobError with one sentence the user can act on.

Column names are kept verbatim; only empty or repeated names are changed (and the summary
says so), because a Parquet table needs one unique name per column.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import time
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from xml.parsers import expat

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from openpyxl.cell.cell import ERROR_CODES
from pandas.io.parsers import TextParser

from runner._columns import column_kind, id_reason
from runner._errors import JobError
from runner._paths import JobPaths
from runner._progress import Reporter
from runner.spec import (
    ColumnKind,
    ColumnSummary,
    DataFormat,
    DatasetSummary,
    ErrorCode,
    IngestLimits,
    IngestOutcome,
    IngestSpec,
)

_SUPPORTED = "Send a table as CSV, Excel (.xlsx) or Parquet."
_FEWER_COLUMNS = "keep the columns you need and upload it again"
_EXTENSIONS = {
    ".csv": DataFormat.CSV,
    ".tsv": DataFormat.CSV,
    ".tab": DataFormat.CSV,
    ".txt": DataFormat.CSV,
    "": DataFormat.CSV,
    ".xlsx": DataFormat.XLSX,
    ".xlsm": DataFormat.XLSX,
    ".parquet": DataFormat.PARQUET,
    ".pq": DataFormat.PARQUET,
}
_DELIMITERS = ",\t;|"  # ties go to the earlier one, as csv.Sniffer prefers them
_SNIFF_LINES = 200
_CONSISTENT = 0.9  # share of lines with the header's delimiter count
# UTF-32 before UTF-16: the UTF-32-LE mark begins with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?(\d+|\d{1,3}(\.\d{3})+)(,\d+)?")
_DATE_SHAPES = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?"
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}( \d{1,2}:\d{2}(:\d{2})?)?"
    r"|\d{1,2}[ -][A-Za-z]{3,9}[ -]\d{2,4}"
    r"|[A-Za-z]{3,9} \d{1,2},? \d{4}"
)
_DAY_FIRST = re.compile(r"(1[3-9]|2\d|3[01])[-/.]\d{1,2}[-/.]\d{2,4}")
_NEARLY_ALL = 0.95
_MIXED_FORMATS_MAX = 50_000
_EXAMPLES = 3
_EXAMPLE_CHARS = 40
_MAX_CATEGORIES = 50
_NOTE_CHARS = 300
_MAX_NOTES = 20
_SHEETS_NAMED = 5  # in the note about the other sheets; `sheets` lists them all
# Deflate cannot pack better than about 1:1000; real workbooks pack about 1:20.
_MAX_RATIO = 200
# Parts of a workbook's zip: a real one has a few per sheet, and `max_sheets` caps sheets.
_MAX_ZIP_ENTRIES = 10_000
_EOCD_SEARCH = 22 + 65_535  # the end record and the longest comment it may carry
_RATIO_FROM_BYTES = 1 << 20
_WORKBOOK_TYPES = (
    "spreadsheetml.sheet.main+xml",
    "spreadsheetml.template.main+xml",
    "ms-excel.sheet.macroEnabled.main+xml",
    "ms-excel.template.macroEnabled.main+xml",
)


@dataclass(frozen=True)
class _Table:
    frame: pd.DataFrame
    notes: list[str]
    sheets: tuple[str, ...] = ()


def ingest(job: IngestSpec, paths: JobPaths, reporter: Reporter) -> IngestOutcome:
    """Read input/upload under the job's budgets, write output/data.parquet, summarize the table."""
    limits = job.limits
    upload = paths.upload_file
    if not upload.is_file():
        raise JobError(ErrorCode.UNREADABLE_DATA, "The uploaded file is missing.")
    if _is_blank(upload):
        raise _empty()
    with upload.open("rb") as handle:
        file_format = _detect_format(job.filename, handle.read(4))
    reporter.stage("reading", 5, f"Reading the {file_format.value} file")
    if file_format is DataFormat.CSV:
        table = _read_csv(upload, limits, reporter)
    elif file_format is DataFormat.XLSX:
        table = _read_xlsx(upload, limits, reporter)
    else:
        table = _read_parquet(upload, limits)

    frame = table.frame.dropna(how="all").reset_index(drop=True)
    if frame.empty:
        raise JobError(
            ErrorCode.EMPTY_DATA,
            "This file has column names but no rows of data. Add the rows and upload it again.",
        )
    _check_shape(len(frame), frame.shape[1], limits, rows_known=False)
    reporter.stage("saving", 85, f"Saving {len(frame):,} rows and {frame.shape[1]:,} columns")
    paths.output_dir.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(paths.output_data_file, index=False, engine="pyarrow")
    return IngestOutcome(file_format=file_format, summary=_summarize(frame, table.notes, table.sheets))


def _is_blank(path: Path) -> bool:
    with path.open("rb") as handle:
        return not any(block.strip() for block in iter(lambda: handle.read(1 << 20), b""))


def _empty() -> JobError:
    return JobError(ErrorCode.EMPTY_DATA, "This file is empty. " + _SUPPORTED)


def _detect_format(filename: str, head: bytes) -> DataFormat:
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".xls":
        raise JobError(
            ErrorCode.UNSUPPORTED_FORMAT,
            "Old Excel files (.xls) are not supported. Save it as .xlsx or CSV and upload it again.",
        )
    if suffix not in _EXTENSIONS:
        raise JobError(ErrorCode.UNSUPPORTED_FORMAT, f"I cannot read {suffix} files. {_SUPPORTED}")
    # The content decides between the supported formats: an .xlsx saved as "data.csv" still reads.
    if head.startswith(b"PAR1"):
        return DataFormat.PARQUET
    if head.startswith(b"PK\x03\x04"):
        return DataFormat.XLSX
    if _EXTENSIONS[suffix] is not DataFormat.CSV:
        raise JobError(
            ErrorCode.UNSUPPORTED_FORMAT,
            f"This file is named {suffix} but is not a valid {suffix} file. {_SUPPORTED}",
        )
    return DataFormat.CSV


# ---------------------------------------------------------------- budgets


def _check_shape(rows: int, columns: int, limits: IngestLimits, *, rows_known: bool = True) -> None:
    """Refuse a table over the column, row or cell budget. `rows_known`: else rows were cut off
    past the budget, so the message says "more than"."""
    if columns > limits.max_columns:
        raise _too_many("columns", columns, limits.max_columns, _FEWER_COLUMNS)
    if rows > limits.max_rows:
        raise _too_many("rows", rows if rows_known else None, limits.max_rows, "send a sample of the rows")
    if rows * columns > limits.max_cells:
        raise JobError(
            ErrorCode.OVER_LIMIT,
            f"This table has {rows * columns:,} cells ({rows:,} rows of {columns:,} columns); the limit "
            f"is {limits.max_cells:,} cells, so send fewer rows or columns.",
        )


def _too_many(what: str, count: int | None, limit: int, advice: str) -> JobError:
    """`count` None: more than `limit` were seen before reading stopped."""
    has = f"{count:,}" if count is not None else f"more than {limit:,}"
    message = f"This table has {has} {what}; the limit is {limit:,}, so {advice}."
    return JobError(ErrorCode.OVER_LIMIT, message)


def _too_many_cells(limits: IngestLimits) -> JobError:
    return JobError(
        ErrorCode.OVER_LIMIT,
        f"This table has more than {limits.max_cells:,} cells; the limit is {limits.max_cells:,} cells, "
        "so send fewer rows or columns.",
    )


def _check_names(header: Sequence[object], limits: IngestLimits) -> None:
    for position, value in enumerate(header, start=1):
        length = len(value) if isinstance(value, str) else len(str(value))
        if length > limits.max_name_chars:
            # The name itself is not echoed: it may be the whole file.
            raise JobError(
                ErrorCode.OVER_LIMIT,
                f"Column {position:,}'s name is {length:,} characters long; the limit is "
                f"{limits.max_name_chars:,} characters, so shorten it and upload the file again.",
            )


def _too_big(what: str, size: int, limits: IngestLimits, advice: str) -> JobError:
    return JobError(
        ErrorCode.OVER_LIMIT,
        f"This {what} unpacks to {_human_size(size)}; the limit is "
        f"{_human_size(limits.max_unpacked_bytes)}, so {advice}.",
    )


def _human_size(size: float) -> str:
    """1536 -> '1.5 KB', 536870912 -> '512 MB'."""
    if size < 1024:
        return f"{size} bytes"
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            break
    return f"{size:.1f}".removesuffix(".0") + f" {unit}"


# ---------------------------------------------------------------- CSV


def _read_csv(path: Path, limits: IngestLimits, reporter: Reporter) -> _Table:
    text = _decode(path.read_bytes(), limits).lstrip("\r\n")
    if not text.strip():
        raise _empty()
    dialect = _sniff(text, limits)
    # Budgets from a count of records, before anything is parsed: a short file with a wide
    # header and many short lines would otherwise become rows x columns cells in pandas.
    columns, rows = _shape(text, dialect)
    _check_shape(rows, columns, limits)
    try:
        header = next(csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise JobError(
                ErrorCode.OVER_LIMIT,
                f"A column name in the first row is over {csv.field_size_limit():,} characters long; the "
                f"limit is {limits.max_name_chars:,} characters, so shorten it and upload the file again.",
            ) from exc
        raise JobError(ErrorCode.UNREADABLE_DATA, _csv_problem(str(exc))) from exc
    _check_names(header, limits)
    _require_header(header)
    names, notes = _unique_names(header)
    reporter.progress(20, f"Parsing about {rows:,} rows of {len(names):,} columns")
    try:
        frame = pd.read_csv(
            io.BytesIO(text.encode("utf-8")),
            encoding="utf-8",
            sep=dialect.delimiter,
            quotechar=dialect.quotechar,
            doublequote=True,
            skipinitialspace=dialect.skipinitialspace,
            names=names,
            header=0,
            index_col=False,
            nrows=limits.max_rows + 1,  # a bound even if the count above were wrong
            low_memory=False,
        )
    except pd.errors.ParserError as exc:
        raise JobError(ErrorCode.UNREADABLE_DATA, _csv_problem(str(exc))) from exc
    reporter.stage("typing", 60, "Recognizing numbers and dates")
    notes += _refine_types(frame, decimal_comma=dialect.delimiter != ",")
    return _Table(frame, notes)


def _decode(data: bytes, limits: IngestLimits) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise JobError(
                    ErrorCode.UNREADABLE_DATA,
                    f"This file is marked as {encoding.upper()} text but is not valid "
                    "text in that encoding. Save it again as CSV (UTF-8) and upload it.",
                ) from exc
    if b"\x00" in data[: limits.sniff_bytes]:
        raise _binary()
    for encoding in ("utf-8", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = data.decode("latin-1")  # never fails
    sample = text[: limits.sniff_bytes]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n")
    if controls > len(sample) / 100:
        raise _binary()
    return text


def _binary() -> JobError:
    return JobError(
        ErrorCode.UNSUPPORTED_FORMAT,
        "This file is not a text table: it contains binary data. " + _SUPPORTED,
    )


def _sniff(text: str, limits: IngestLimits) -> type[csv.Dialect]:
    """Delimiter, quote character and spacing, in one linear pass over the first lines.

    Not csv.Sniffer: its regular expressions take quadratic time on some inputs (64 KB of
    ` "a` takes seconds). Quotes are always doubled to escape them (RFC 4180).
    """
    deadline = time.monotonic() + limits.sniff_seconds
    sample = text[: limits.sniff_bytes]
    if len(text) > len(sample) and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    quotechar = "'" if _wraps(sample, "'") >= 2 and not _wraps(sample, '"') else '"'
    # Quoted values may hold delimiters and line breaks: count outside them.
    bare = re.sub(rf"{quotechar}[^{quotechar}]*+{quotechar}", "", sample)
    lines = [line for line in bare.replace("\r\n", "\n").replace("\r", "\n").split("\n") if line.strip()]
    lines = lines[:_SNIFF_LINES]
    header = lines[0] if lines else ""
    expected = {d: header.count(d) for d in _DELIMITERS if d in header}
    agreeing = dict.fromkeys(expected, 0)
    body = 0
    for line in lines[1:]:
        if time.monotonic() > deadline:
            break
        body += 1
        for d, count in expected.items():
            agreeing[d] += line.count(d) == count
    consistent = [d for d in expected if body and agreeing[d] >= _CONSISTENT * body]
    if consistent:
        delimiter = max(consistent, key=lambda d: (agreeing[d], expected[d]))
    else:
        # One line, or no delimiter agrees: take the candidate the first line uses most.
        delimiter = max(_DELIMITERS, key=header.count) if expected else ","
    spaced = header.count(delimiter) > 0 and header.count(delimiter + " ") == header.count(delimiter)
    found = {"delimiter": delimiter, "quotechar": quotechar, "skipinitialspace": spaced}
    return type("Sniffed", (csv.excel,), found)


def _wraps(sample: str, quote: str) -> int:
    """How many values `quote` wraps: opened at a value's start, closed at its end."""
    delimiters = re.escape(_DELIMITERS)
    wrapped = rf"(?m)(?:^|[{delimiters}]) ?{quote}[^{quote}\r\n]*+{quote} ?(?=[{delimiters}\r]|$)"
    return sum(1 for _ in re.finditer(wrapped, sample))


def _shape(text: str, dialect: type[csv.Dialect]) -> tuple[int, int]:
    """(columns of the header, data records), counted without parsing: quoted values are
    blanked first (a quote opens one only at a value's start, as pandas reads it), then
    non-empty lines are counted."""
    quote, delimiter = dialect.quotechar or '"', dialect.delimiter
    if quote in text:
        q, d = re.escape(quote), re.escape(delimiter)
        if dialect.skipinitialspace:
            opening = rf"(?<![^\r\n{d}]) *{q}"
        else:  # the same, starting with the quote so that the search can skip ahead
            opening = rf"{q}(?<![^\r\n{d}]{q})"
        text = re.sub(rf"{opening}[^{q}]*+(?:{q}{q}[^{q}]*+)*+{q}", "_", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    while "\n\n" in text:  # empty lines are no records
        text = text.replace("\n\n", "\n")
    end = text.find("\n")
    header = text if end < 0 else text[:end]
    records = text.count("\n") + (not text.endswith("\n"))
    return header.count(delimiter) + 1, max(records - 1, 0)


def _csv_problem(detail: str) -> str:
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", detail)
    if fields:
        expected, line, saw = fields.groups()
        return (
            f"Line {line} has {saw} values but the header names {expected} columns. "
            "Check the delimiter and the quotes on that line."
        )
    if "EOF inside string" in detail:
        return "A quoted value in this file is never closed. Check the quotes and upload it again."
    return "I could not read this file as a CSV table. Check its delimiter and quotes, or send it as .xlsx."


# ---------------------------------------------------------------- Excel


def _read_xlsx(path: Path, limits: IngestLimits, reporter: Reporter) -> _Table:
    _check_zip_entries(path)
    try:
        with zipfile.ZipFile(path) as archive:
            _check_zip(archive, limits)
            _count_sheets(archive, limits)
        # A handle, not the path: openpyxl refuses a path without an Excel extension.
        with warnings.catch_warnings(), path.open("rb") as handle:
            warnings.simplefilter("ignore")  # openpyxl warns about every feature it skips
            book = openpyxl.load_workbook(handle, read_only=True, data_only=True, keep_links=False)
            try:
                sheets = tuple(book.sheetnames)
                sheet = book[sheets[0]]
                # Else every row is as wide as the sheet's declared dimension (up to XFD).
                sheet.reset_dimensions()
                rows, used = _sheet_rows(sheet.iter_rows(values_only=True), limits)
            finally:
                book.close()
    except JobError:
        raise
    except Exception as exc:  # zipfile, expat and openpyxl raise many types for a damaged workbook
        raise JobError(
            ErrorCode.UNREADABLE_DATA,
            "I could not read this file as an Excel workbook (.xlsx). "
            "Save it again as .xlsx or CSV and upload it.",
            details={"reason": str(exc)[:500]},
        ) from exc
    notes = []
    if len(sheets) > 1:
        named = ", ".join(_clip(s, _EXAMPLE_CHARS) for s in sheets[:_SHEETS_NAMED])
        if len(sheets) > _SHEETS_NAMED:
            named += f" and {len(sheets) - _SHEETS_NAMED} more"
        notes.append(
            f"I read the first sheet, {_quote(sheets[0])}; the workbook has {len(sheets)} sheets "
            f"({named}). Upload the others as separate files if you need them."
        )
    if not used:  # no row holds a value (error cells are no values)
        raise _empty_sheet(sheets[0])
    reporter.progress(40, f"Read {len(rows):,} rows of the sheet {_quote(sheets[0])}")
    # Type inference exactly as pandas.read_excel does it, on the cells kept.
    raw = TextParser(_keep_columns(rows, used), header=None, skip_blank_lines=False).read()
    raw = raw.dropna(how="all")
    if raw.empty:
        raise _empty_sheet(sheets[0])
    header, body = raw.iloc[0], raw.iloc[1:]
    # Formatted but empty cells beside the table come in as unnamed, empty columns.
    keep = [i for i in range(raw.shape[1]) if pd.notna(header.iloc[i]) or body.iloc[:, i].notna().any()]
    header, body = header.iloc[keep], body.iloc[:, keep]
    _check_names(list(header), limits)
    _require_header(list(header))
    names, name_notes = _unique_names(list(header))
    body = body.set_axis(names, axis=1).reset_index(drop=True).infer_objects()
    reporter.stage("typing", 60, "Recognizing numbers and dates")
    return _Table(body, notes + name_notes + _refine_types(body, decimal_comma=False), sheets)


def _check_zip_entries(path: Path) -> None:
    """Refuse a zip whose directory lists more parts than any workbook has, from the count in its
    end record, before `zipfile` builds an object per entry."""
    with path.open("rb") as file:
        file.seek(max(path.stat().st_size - _EOCD_SEARCH, 0))
        tail = file.read()
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or len(tail) < end + 12:
        return  # not a zip: zipfile says so below
    entries = int.from_bytes(tail[end + 10 : end + 12], "little")  # 0xFFFF: the count is in a ZIP64 record
    if entries > _MAX_ZIP_ENTRIES:
        raise JobError(
            ErrorCode.OVER_LIMIT,
            f"This workbook is packed from {'more than 65,000' if entries == 0xFFFF else f'{entries:,}'} "
            f"parts; a workbook has at most {_MAX_ZIP_ENTRIES:,}, so save it again from Excel or send the "
            "table as CSV.",
        )


def _check_zip(archive: zipfile.ZipFile, limits: IngestLimits) -> None:
    """Refuse a workbook by the sizes its zip directory declares, before anything is unpacked
    (zipfile never inflates an entry past its declared size, so the declaration binds)."""
    entries = archive.infolist()
    for entry in entries:
        if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # Excel only deflates; other methods cannot be read in bounded steps.
            raise zipfile.BadZipFile(f"compression method {entry.compress_type}")
    total = sum(entry.file_size for entry in entries)
    if total > limits.max_unpacked_bytes:
        raise _too_big("workbook", total, limits, "send the table as CSV or in a smaller workbook")
    ratio = max(
        (e.file_size / max(e.compress_size, 1) for e in entries if e.file_size > _RATIO_FROM_BYTES), default=0
    )
    if ratio > _MAX_RATIO:
        raise JobError(
            ErrorCode.OVER_LIMIT,
            f"A part of this workbook unpacks to {ratio:,.0f} times its packed size; the limit is "
            f"{_MAX_RATIO} times, so save it again from Excel or send the table as CSV.",
        )


def _count_sheets(archive: zipfile.ZipFile, limits: IngestLimits) -> None:
    # [Content_Types].xml names the workbook part; everyone puts it at xl/workbook.xml.
    part = next(
        (
            attrs.get("PartName", "").lstrip("/")
            for attrs in _xml_elements(archive, "[Content_Types].xml", "Override")
            if attrs.get("ContentType", "").endswith(_WORKBOOK_TYPES)
        ),
        "xl/workbook.xml",
    )
    for count, _ in enumerate(_xml_elements(archive, part, "sheet"), start=1):
        if count > limits.max_sheets:
            raise JobError(
                ErrorCode.OVER_LIMIT,
                f"This workbook has more than {limits.max_sheets:,} sheets; the limit is "
                f"{limits.max_sheets:,}, so save the sheet with the table as a workbook of its own and upload that.",
            )


def _xml_elements(archive: zipfile.ZipFile, member: str, name: str) -> Iterator[dict[str, str]]:
    """The attributes of each element called `name` in a zip entry, streamed: no tree is built."""
    found: list[dict[str, str]] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag.rpartition("}")[2] == name:
            found.append(attrs)

    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = start
    with archive.open(member) as source:
        for block in iter(lambda: source.read(1 << 16), b""):
            parser.Parse(block, False)
            yield from found
            found.clear()
        parser.Parse(b"", True)
    yield from found


def _sheet_rows(
    sheet_rows: Iterable[Sequence[object]], limits: IngestLimits
) -> tuple[list[list[object]], set[int]]:
    """A sheet's non-empty rows, converted as pandas.read_excel converts cells, and the
    positions of the columns holding any value.

    Rows are streamed under the cell budget twice over: the cells the sheet stores (a cell
    in column XFD makes its row 16,384 cells wide, not every row), and rows x columns kept.
    """
    rows: list[list[object]] = []
    used: set[int] = set()
    dense = 0  # positions below this all hold a value somewhere
    scanned = 0
    for values in sheet_rows:
        scanned += len(values) or 1
        if scanned > limits.max_cells:
            raise _too_many_cells(limits)
        cells = [_cell(value) for value in values]
        while cells and cells[-1] == "":
            cells.pop()
        if not cells:
            continue
        if len(rows) > limits.max_rows:  # the first row is the header
            raise _too_many("rows", None, limits.max_rows, "send a sample of the rows")
        rows.append(cells)
        for position in range(dense, len(cells)):
            value = cells[position]
            if value != "" and value == value:  # not empty, not an error (NaN)
                used.add(position)
        while dense in used:
            dense += 1
        if len(used) > limits.max_columns:
            raise _too_many("columns", None, limits.max_columns, _FEWER_COLUMNS)
        if len(rows) * len(used) > limits.max_cells:
            raise _too_many_cells(limits)
    return rows, used


def _cell(value: object) -> object:
    """One value as pandas.read_excel has it: empty as "", errors as NaN, whole floats as int."""
    if value is None:
        return ""
    if isinstance(value, str):
        return float("nan") if value in ERROR_CODES else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _keep_columns(rows: list[list[object]], used: set[int]) -> list[list[object]]:
    """Rows of the columns in `used`, all as wide; replaces `rows` in place to free them as it goes."""
    positions = sorted(used)
    width = len(positions)
    if positions == list(range(width)):
        for i, row in enumerate(rows):
            rows[i] = row[:width] + [""] * (width - len(row))
    else:
        for i, row in enumerate(rows):
            rows[i] = [row[p] if p < len(row) else "" for p in positions]
    return rows


def _empty_sheet(name: str) -> JobError:
    return JobError(
        ErrorCode.EMPTY_DATA,
        f"The first sheet ({_quote(name)}) of this workbook is empty. "
        "Put the table on the first sheet and upload it again.",
    )


# ---------------------------------------------------------------- Parquet


def _read_parquet(path: Path, limits: IngestLimits) -> _Table:
    try:
        parquet = pq.ParquetFile(path)
        metadata, schema = parquet.metadata, parquet.schema_arrow
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise _unreadable_parquet(exc) from exc
    _check_shape(metadata.num_rows, metadata.num_columns, limits)
    for field in schema:
        if _nested(field.type):
            raise JobError(
                ErrorCode.UNSUPPORTED_FORMAT,
                f"Column '{_clip(field.name, _EXAMPLE_CHARS)}' holds nested values (lists, records or maps); "
                "save the table with one plain value per cell and upload it again.",
            )
    _check_names(schema.names, limits)
    # The footer sizes every column chunk unpacked: a small file of compressed zeros must not
    # become gigabytes in memory.
    unpacked = 0
    delta_encoded: set[int] = set()
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for c in range(group.num_columns):
            chunk = group.column(c)
            unpacked += chunk.total_uncompressed_size
            if any("BYTE_ARRAY" in encoding for encoding in chunk.encodings):
                delta_encoded.add(c)
    if unpacked > limits.max_unpacked_bytes:
        raise _too_big("Parquet file", unpacked, limits, "send fewer rows or columns")
    try:
        frame = _read_texts_bounded(parquet, path, delta_encoded, limits).to_pandas()
    except JobError:
        raise
    except Exception as exc:
        raise _unreadable_parquet(exc) from exc
    if not isinstance(frame.index, pd.RangeIndex):  # a pandas index saved in the file is data
        frame = frame.reset_index(allow_duplicates=True)  # a name it shares with a column is renamed below
    names, notes = _unique_names(list(frame.columns))
    return _Table(frame.set_axis(names, axis=1), notes)


def _read_texts_bounded(
    parquet: pq.ParquetFile, path: Path, delta_encoded: set[int], limits: IngestLimits
) -> pa.Table:
    """The table, its text columns first read as dictionaries and sized decoded: one long
    value repeated a million times is small on disk and in the footer's page sizes.

    pyarrow cannot read delta-encoded text as a dictionary; the footer sizes those pages
    (a prefix-shared DELTA_BYTE_ARRAY column is left to the container's memory cap).
    """
    schema = parquet.schema_arrow
    # By position: names may repeat. A flat schema's fields are its leaf columns.
    texts = [
        position
        for position, field in enumerate(schema)
        if position not in delta_encoded
        and (
            pa.types.is_string(field.type)
            or pa.types.is_large_string(field.type)
            or pa.types.is_binary(field.type)
            or pa.types.is_large_binary(field.type)
        )
    ]
    if not texts:
        return parquet.read()
    table = pq.ParquetFile(path, read_dictionary=texts).read()
    decoded = 0
    for position in texts:
        for chunk in table.column(position).chunks:
            lengths = pc.binary_length(chunk.dictionary)
            decoded += pc.sum(pc.take(lengths, chunk.indices)).as_py() or 0
    if decoded > limits.max_unpacked_bytes:
        raise _too_big("Parquet file", decoded, limits, "send fewer rows or columns")
    return table.cast(schema)


def _nested(data_type: pa.DataType) -> bool:
    if isinstance(data_type, pa.ExtensionType):
        data_type = data_type.storage_type
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    return pa.types.is_nested(data_type)


def _unreadable_parquet(exc: Exception) -> JobError:
    return JobError(
        ErrorCode.UNREADABLE_DATA,
        "I could not read this file as Parquet. Export it again, or send it as CSV.",
        details={"reason": str(exc)[:500]},
    )


# ---------------------------------------------------------------- names, types


def _require_header(header: Sequence[object]) -> None:
    cells = [str(c).strip() for c in header if pd.notna(c)]
    if len(cells) == len(header) and all(_NUMBER.fullmatch(c) for c in cells):
        raise JobError(
            ErrorCode.UNREADABLE_DATA,
            "The first row of this file holds numbers, not column names. "
            "Add a header row that names every column and upload it again.",
        )


def _unique_names(header: Sequence[object]) -> tuple[list[str], list[str]]:
    """Column names as given; an empty name becomes column_N, a repeated one 'name (2)'."""
    names: list[str] = []
    renamed: list[str] = []
    seen: set[str] = set()
    for position, value in enumerate(header, start=1):
        given = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
        base = given if given.strip() else f"column_{position}"
        name, copy = base, 2
        while name in seen:
            name, copy = f"{base} ({copy})", copy + 1
        seen.add(name)
        names.append(name)
        if name != given:
            old = _quote(given) if given.strip() else "no name"
            renamed.append(f"column {position} ({old}) is now {_quote(name)}")
    notes = []
    if renamed:
        shown = "; ".join(renamed[:5]) + (f"; and {len(renamed) - 5} more" if len(renamed) > 5 else "")
        notes.append(f"Some column names were empty or repeated, so I renamed them: {shown}.")
    return names, notes


def _refine_types(frame: pd.DataFrame, *, decimal_comma: bool) -> list[str]:
    """Turn text columns into numbers or dates where (nearly) every value is one. In place."""
    notes = []
    for position, name in enumerate(frame.columns):
        column = frame.iloc[:, position]
        if not (column.dtype == object or isinstance(column.dtype, pd.StringDtype)):
            continue
        present = column.dropna()
        if present.empty or _all_bool(present):
            continue
        text = present.astype("str").str.strip()
        converted, note = _as_numbers(text, decimal_comma, name)
        if converted is None:
            converted, note = _as_dates(text, name)
        if converted is None:
            converted = present.astype("str")  # one type per column, as Parquet needs
        frame.isetitem(position, converted.reindex(column.index))
        if note:
            notes.append(note)
    return notes


def _as_numbers(text: pd.Series, decimal_comma: bool, name: str) -> tuple[pd.Series | None, str | None]:
    for values in (text.head(1000), text):  # a sample first: most text columns stop there
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.isna().any():
            break
    else:
        return numbers, None
    commas = decimal_comma and text.str.contains(",", regex=False).any()
    if commas and text.str.fullmatch(_DECIMAL_COMMA.pattern).all():
        plain = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        return pd.to_numeric(plain), f"I read the decimal commas in {_quote(name)} as numbers."
    return None, None


def _as_dates(text: pd.Series, name: str) -> tuple[pd.Series | None, str | None]:
    for values in (text.head(1000), text):  # a sample first: most text columns stop there
        if values.str.fullmatch(_DATE_SHAPES.pattern).mean() < _NEARLY_ALL:
            return None, None
    day_first = bool(text.str.match(_DAY_FIRST.pattern).any())
    # Year-first values are parsed apart: pandas applies dayfirst to 2024-01-03 as well.
    year_first = text.str.match(r"\d{4}[-/.]")
    parts = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns when it falls back to parsing one by one
        try:
            for part, first in ((text[year_first], False), (text[~year_first], day_first)):
                if not part.empty:
                    parts.append(_parse_dates(part, day_first=first))
            dates = pd.concat(parts).reindex(text.index)
        except (ValueError, TypeError, OverflowError):  # mixed time zones, out-of-range years
            return None, None
    failed = int(dates.isna().sum())
    if not pd.api.types.is_datetime64_any_dtype(dates) or failed > len(text) * (1 - _NEARLY_ALL):
        return None, None
    note = f"I read {_quote(name)} as dates" + (" (day first)" if day_first else "")
    if failed:
        note += f"; {failed} value{'s' if failed > 1 else ''} that were not dates are now missing"
    return dates, note + "."


def _parse_dates(text: pd.Series, *, day_first: bool) -> pd.Series:
    # The format of the first value, applied to all (fast); value by value only when that
    # leaves some unparsed in a column small enough to afford it.
    dates = pd.to_datetime(text, errors="coerce", dayfirst=day_first)
    if dates.isna().any() and len(text) <= _MIXED_FORMATS_MAX:
        dates = pd.to_datetime(text, errors="coerce", dayfirst=day_first, format="mixed")
    return dates


# ---------------------------------------------------------------- summary


def _summarize(frame: pd.DataFrame, notes: list[str], sheets: tuple[str, ...]) -> DatasetSummary:
    columns = []
    for position, name in enumerate(frame.columns):
        column = frame.iloc[:, position]
        present = column.dropna()
        distinct_values = present.drop_duplicates()
        kind = column_kind(column)
        columns.append(
            ColumnSummary(
                name=name,
                kind=_kind(column, present, len(distinct_values)),
                dtype=str(column.dtype),
                missing=int(column.isna().sum()),
                distinct=len(distinct_values),
                examples=tuple(_example(v) for v in distinct_values.head(_EXAMPLES)),
                id_reason=None if kind is None else id_reason(column, kind),
            )
        )
    return DatasetSummary(
        rows=len(frame),
        columns=tuple(columns),
        notes=_clip_notes(notes),
        sheets=tuple(_clip(s, _NOTE_CHARS) for s in sheets),
    )


def _clip_notes(notes: list[str]) -> tuple[str, ...]:
    """At most _MAX_NOTES notes of at most _NOTE_CHARS each: result.json stays small."""
    if len(notes) > _MAX_NOTES:
        notes = notes[: _MAX_NOTES - 1] + [f"And {len(notes) - _MAX_NOTES + 1} more changes like these."]
    return tuple(_clip(note, _NOTE_CHARS) for note in notes)


def _kind(column: pd.Series, present: pd.Series, distinct: int) -> ColumnKind:
    if pd.api.types.is_bool_dtype(column.dtype) or (not present.empty and _all_bool(present)):
        return ColumnKind.BOOLEAN
    if pd.api.types.is_numeric_dtype(column.dtype):
        return ColumnKind.NUMERIC
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return ColumnKind.DATETIME
    if 0 < distinct <= _MAX_CATEGORIES and distinct <= len(present) / 2:
        return ColumnKind.CATEGORICAL
    return ColumnKind.TEXT


def _all_bool(present: pd.Series) -> bool:
    return pd.api.types.infer_dtype(present, skipna=True) == "boolean"


def _example(value: object) -> str:
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        text = value.date().isoformat()
    elif isinstance(value, float):
        text = str(round(value, 4))
    else:
        text = str(value)
    return _clip(text, _EXAMPLE_CHARS)


def _quote(name: str) -> str:
    return f"'{_clip(name, _EXAMPLE_CHARS)}'"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
