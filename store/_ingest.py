"""Uploads to Parquet: read a CSV, Excel or Parquet file, fix up types, summarize it.

Every failure is an `UploadError` whose `user_message` says what is wrong with the file.
Column names are kept verbatim; only empty or repeated names are changed (and the summary
says so), because a Parquet table needs one unique name per column.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import PurePath

import pandas as pd
import pyarrow.parquet as pq

from config import UploadSettings
from config.errors import UploadError
from store._records import ColumnKind, ColumnSummary, DataFormat, DatasetSummary

_SUPPORTED = "Send a table as CSV, Excel (.xlsx) or Parquet."
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
_DELIMITERS = ",;\t|"
_SNIFF_CHARS = 64 * 1024
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


@dataclass(frozen=True)
class Ingested:
    parquet: bytes
    file_format: DataFormat
    summary: DatasetSummary


def ingest(*, filename: str, data: bytes, limits: UploadSettings) -> Ingested:
    """Read an upload into a typed table and its Parquet bytes; raise UploadError if it cannot be used."""
    check_size(len(data), limits)
    if not data.strip():
        raise _empty()
    file_format = _detect_format(filename, data)
    if file_format is DataFormat.CSV:
        frame, notes = _read_csv(data, limits)
    elif file_format is DataFormat.XLSX:
        frame, notes = _read_xlsx(data, limits)
    else:
        frame, notes = _read_parquet(data, limits)

    frame = frame.dropna(how="all").reset_index(drop=True)
    if frame.empty:
        raise UploadError(
            "no data rows",
            user_message="This file has column names but no rows of data. Add the rows and upload it again.",
        )
    if len(frame) > limits.max_rows:
        raise UploadError(
            f"more than {limits.max_rows} rows",
            user_message=f"This table has more than {limits.max_rows:,} rows; the limit is "
            f"{limits.max_rows:,}. Send a sample of the rows.",
        )
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, engine="pyarrow")
    return Ingested(buffer.getvalue(), file_format, _summarize(frame, notes))


def check_size(size: int, limits: UploadSettings) -> None:
    """Refuse a file over the upload limit (before reading it, where the size is known)."""
    if size > limits.max_bytes:
        raise UploadError(
            f"upload of {size} bytes over the limit of {limits.max_bytes}",
            user_message=f"This file is {human_size(size)}; the limit is "
            f"{human_size(limits.max_bytes)}. Send a smaller file or a sample of the rows.",
        )


def human_size(size: float) -> str:
    """1536 -> '1.5 KB', 20971520 -> '20 MB'."""
    if size < 1024:
        return f"{size} bytes"
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            break
    return f"{size:.1f}".removesuffix(".0") + f" {unit}"


def _empty() -> UploadError:
    return UploadError("empty upload", user_message="This file is empty. " + _SUPPORTED)


def _detect_format(filename: str, data: bytes) -> DataFormat:
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".xls":
        raise UploadError(
            "legacy .xls upload",
            user_message="Old Excel files (.xls) are not supported. Save it as .xlsx or CSV and upload it again.",
        )
    if suffix not in _EXTENSIONS:
        raise UploadError(
            f"unsupported extension {suffix!r}",
            user_message=f"I cannot read {suffix} files. {_SUPPORTED}",
        )
    # The content decides between the supported formats: an .xlsx saved as "data.csv" still reads.
    if data.startswith(b"PAR1"):
        return DataFormat.PARQUET
    if data.startswith(b"PK\x03\x04"):
        return DataFormat.XLSX
    if _EXTENSIONS[suffix] is not DataFormat.CSV:
        raise UploadError(
            f"{suffix} upload without its file signature",
            user_message=f"This file is named {suffix} but is not a valid {suffix} file. {_SUPPORTED}",
        )
    return DataFormat.CSV


# ---------------------------------------------------------------- CSV


def _read_csv(data: bytes, limits: UploadSettings) -> tuple[pd.DataFrame, list[str]]:
    text = _decode(data).lstrip("\r\n")
    if not text.strip():
        raise _empty()
    dialect = _sniff(text)
    try:
        header = next(csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:  # a header cell over the csv module's field limit
        raise UploadError(str(exc), user_message=_csv_problem(str(exc))) from exc
    _check_columns(len(header), limits)
    _require_header(header)
    names, notes = _unique_names(header)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=dialect.delimiter,
            quotechar=dialect.quotechar,
            doublequote=True,
            skipinitialspace=dialect.skipinitialspace,
            names=names,
            header=0,
            index_col=False,
            nrows=limits.max_rows + 1,
            low_memory=False,
        )
    except pd.errors.ParserError as exc:
        raise UploadError(str(exc), user_message=_csv_problem(str(exc))) from exc
    notes += _refine_types(frame, decimal_comma=dialect.delimiter != ",")
    return frame, notes


def _decode(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise UploadError(
                    f"bad {encoding}: {exc}",
                    user_message=f"This file is marked as {encoding.upper()} text but is not valid "
                    "text in that encoding. Save it again as CSV (UTF-8) and upload it.",
                ) from exc
    if b"\x00" in data[:_SNIFF_CHARS]:
        raise _binary()
    for encoding in ("utf-8", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = data.decode("latin-1")  # never fails
    sample = text[:_SNIFF_CHARS]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n")
    if controls > len(sample) / 100:
        raise _binary()
    return text


def _binary() -> UploadError:
    return UploadError(
        "binary content where a text table was expected",
        user_message="This file is not a text table: it contains binary data. " + _SUPPORTED,
    )


def _sniff(text: str) -> type[csv.Dialect]:
    """Delimiter, quote character and spacing from a sample; quotes are always doubled
    to escape them (RFC 4180), which the sniffer cannot tell reliably."""
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
        found = {
            "delimiter": sniffed.delimiter,
            "quotechar": sniffed.quotechar or '"',
            "skipinitialspace": sniffed.skipinitialspace,
        }
    except csv.Error:
        # One column, or too few lines to tell: take the candidate the first line uses most.
        first_line = sample.split("\n", 1)[0]
        delimiter = max(_DELIMITERS, key=first_line.count)
        found = {"delimiter": delimiter if delimiter in first_line else ","}
    return type("Sniffed", (csv.excel,), found)


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


# ---------------------------------------------------------------- Excel, Parquet


def _read_xlsx(data: bytes, limits: UploadSettings) -> tuple[pd.DataFrame, list[str]]:
    try:
        with warnings.catch_warnings(), pd.ExcelFile(io.BytesIO(data), engine="openpyxl") as book:
            warnings.simplefilter("ignore")  # openpyxl warns about every feature it skips
            sheets = list(book.sheet_names)
            raw = pd.read_excel(book, sheet_name=sheets[0], header=None, nrows=limits.max_rows + 2)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise UploadError(
            f"unreadable workbook: {exc!r}",
            user_message="I could not read this file as an Excel workbook (.xlsx). "
            "Save it again as .xlsx or CSV and upload it.",
        ) from exc
    notes = []
    if len(sheets) > 1:
        notes.append(
            f"I read the first sheet, '{sheets[0]}'; the workbook has {len(sheets)} sheets "
            f"({', '.join(sheets)}). Upload the others as separate files if you need them."
        )
    raw = raw.dropna(how="all")
    if raw.empty:
        raise UploadError(
            "first sheet empty",
            user_message=f"The first sheet ('{sheets[0]}') of this workbook is empty. "
            "Put the table on the first sheet and upload it again.",
        )
    header, body = raw.iloc[0], raw.iloc[1:]
    # Formatted but empty cells beside the table come in as unnamed, empty columns.
    keep = [i for i in range(raw.shape[1]) if pd.notna(header.iloc[i]) or body.iloc[:, i].notna().any()]
    header, body = header.iloc[keep], body.iloc[:, keep]
    _check_columns(len(keep), limits)
    _require_header(list(header))
    names, name_notes = _unique_names(list(header))
    body = body.set_axis(names, axis=1).reset_index(drop=True).infer_objects()
    return body, notes + name_notes + _refine_types(body, decimal_comma=False)


def _read_parquet(data: bytes, limits: UploadSettings) -> tuple[pd.DataFrame, list[str]]:
    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise _unreadable_parquet(exc) from exc
    rows = parquet.metadata.num_rows
    if rows > limits.max_rows:  # refused before a huge table is unpacked
        raise UploadError(
            f"{rows} rows",
            user_message=f"This table has {rows:,} rows; the limit is {limits.max_rows:,}. "
            "Send a sample of the rows.",
        )
    _check_columns(len(parquet.schema_arrow), limits)
    try:
        frame = parquet.read().to_pandas()
    except Exception as exc:
        raise _unreadable_parquet(exc) from exc
    if not isinstance(frame.index, pd.RangeIndex):  # a pandas index saved in the file is data
        frame = frame.reset_index(allow_duplicates=True)  # a name it shares with a column is renamed below
    names, notes = _unique_names(list(frame.columns))
    return frame.set_axis(names, axis=1), notes


def _unreadable_parquet(exc: Exception) -> UploadError:
    return UploadError(
        f"unreadable parquet: {exc!r}",
        user_message="I could not read this file as Parquet. Export it again, or send it as CSV.",
    )


# ---------------------------------------------------------------- names, types


def _check_columns(count: int, limits: UploadSettings) -> None:
    if count > limits.max_columns:
        raise UploadError(
            f"{count} columns",
            user_message=f"This table has {count:,} columns; the limit is {limits.max_columns:,}. "
            "Keep the columns you need and upload it again.",
        )


def _require_header(header: list[object]) -> None:
    cells = [str(c).strip() for c in header if pd.notna(c)]
    if len(cells) == len(header) and all(_NUMBER.fullmatch(c) for c in cells):
        raise UploadError(
            "first row is all numbers",
            user_message="The first row of this file holds numbers, not column names. "
            "Add a header row that names every column and upload it again.",
        )


def _unique_names(header: list[object]) -> tuple[list[str], list[str]]:
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
            old = f"'{given}'" if given.strip() else "no name"
            renamed.append(f"column {position} ({old}) is now '{name}'")
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
    if decimal_comma and text.str.contains(",", regex=False).any() and text.str.fullmatch(_DECIMAL_COMMA.pattern).all():
        plain = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        return pd.to_numeric(plain), f"I read the decimal commas in '{name}' as numbers."
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
    note = f"I read '{name}' as dates" + (" (day first)" if day_first else "")
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


def _summarize(frame: pd.DataFrame, notes: list[str]) -> DatasetSummary:
    columns = []
    for position, name in enumerate(frame.columns):
        column = frame.iloc[:, position]
        present = column.dropna()
        try:
            distinct_values = present.drop_duplicates()
        except TypeError:  # unhashable cells (lists from a nested Parquet column)
            distinct_values = present.map(str).drop_duplicates()
        columns.append(
            ColumnSummary(
                name=name,
                kind=_kind(column, present, len(distinct_values)),
                dtype=str(column.dtype),
                missing=int(column.isna().sum()),
                distinct=len(distinct_values),
                examples=tuple(_example(v) for v in distinct_values.head(_EXAMPLES)),
            )
        )
    return DatasetSummary(rows=len(frame), columns=tuple(columns), notes=tuple(notes))


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
    return text if len(text) <= _EXAMPLE_CHARS else text[: _EXAMPLE_CHARS - 3] + "..."
