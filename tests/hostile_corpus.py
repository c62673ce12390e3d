"""Hostile uploads, generated at test time: each is small to send and costly to read naively.

    from tests.hostile_corpus import ACCEPTED, corpus

    for upload in corpus():
        ...  # ingest upload.data named upload.filename, then check upload.expect

`expect` is a part of the one-sentence answer under the default `IngestLimits`, or
ACCEPTED for a file that must be read (the UTF-16 and Latin-1 files hold TEXT_TABLE).
Nothing binary is committed: all of it is built in a second or two.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ACCEPTED = "<accepted>"

# The table in the UTF-16 and Latin-1 files: decimal commas, ';' as the delimiter.
TEXT_TABLE = {"Straße": ["Müller", "Åsa"], "Größe": [1.5, 2.0], "Café": ["crème", "brûlée"]}
_TEXT = "Straße;Größe;Café\nMüller;1,5;crème\nÅsa;2;brûlée\n"

XFD_ROWS = 35_000  # data rows of the XFD workbook; its table is 2 columns wide
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
_OFFICE = "application/vnd.openxmlformats-officedocument"


@dataclass(frozen=True)
class HostileFile:
    """One upload: `name` identifies it, `filename` is what the user called it."""

    name: str
    filename: str
    data: bytes
    expect: str  # part of the refusal sentence, or ACCEPTED


def corpus() -> list[HostileFile]:
    """Every hostile upload, freshly generated."""
    return [
        # 2 MB: 500 names, then a million lines of "1" -> 500 million cells if parsed.
        HostileFile("wide_csv", "wide.csv", _wide_csv(), "the limit is 20,000,000 cells"),
        # csv.Sniffer takes seconds on this; it is one 64 KB column name.
        HostileFile("sniffer_csv", "sniff.csv", b' "a' * (64 * 1024 // 3), "the limit is 256 characters"),
        # One-cell rows and one cell in column XFD (16,384), inside a declared A1:XFD dimension.
        HostileFile("xfd_xlsx", "xfd.xlsx", _xfd_xlsx(XFD_ROWS), ACCEPTED),
        # 2 MB whose sharedStrings.xml unpacks to 2 GB.
        HostileFile(
            "shared_strings_bomb", "bomb.xlsx", _shared_strings_bomb(2048), "unpacks to 2 GB; the limit is 512 MB"
        ),
        # A sheet of 100 MB packed 1000:1, under the size budget.
        HostileFile("packed_sheet", "packed.xlsx", _packed_sheet(100), "the limit is 200 times"),
        HostileFile("many_sheets", "sheets.xlsx", _many_sheets(51), "the limit is 50,"),
        HostileFile("nested_parquet", "nested.parquet", _nested_parquet(), "holds nested values"),
        # 20 million rows of one dictionary value: a few hundred KB on disk.
        HostileFile(
            "dictionary_bomb", "dict.parquet", _dictionary_bomb(20, "x"), "20,000,000 rows; the limit is 1,000,000"
        ),
        # A million rows within every count budget, of one 1 KB value: 1 GB once decoded.
        HostileFile(
            "dictionary_value_bomb", "values.parquet", _dictionary_bomb(1, "v" * 1024), "the limit is 512 MB"
        ),
        HostileFile(
            "long_name_csv", "names.csv", b"x" * 100_000 + b",b\n1,2\n", "Column 1's name is 100,000 characters long"
        ),
        HostileFile("binary_csv", "junk.csv", random.Random(8).randbytes(64 * 1024), "it contains binary data"),
        HostileFile("utf16_csv", "utf16.csv", _TEXT.encode("utf-16"), ACCEPTED),
        HostileFile("latin1_csv", "latin1.csv", _TEXT.encode("latin-1"), ACCEPTED),
        HostileFile("empty", "empty.csv", b"", "This file is empty."),
        HostileFile("header_only", "header.csv", b"a,b,c\n", "no rows of data"),
    ]


def _wide_csv() -> bytes:
    return ",".join(f"c{i}" for i in range(500)).encode() + b"\n" + b"1\n" * 1_000_000


# ---------------------------------------------------------------- workbooks


def _xfd_xlsx(rows: int) -> bytes:
    # Values that do not pack well: a megabyte of few rows, which openpyxl reads quickly.
    values = random.Random(16384).randbytes(16 * rows).hex()
    body = "".join(
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{values[32 * (r - 3):32 * (r - 2)]}</t></is></c></row>'
        for r in range(3, rows + 2)
    )
    sheet = (
        f'<worksheet xmlns="{_MAIN}"><dimension ref="A1:XFD{rows + 1}"/><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>value</t></is></c></row>'
        '<row r="2"><c r="A2"><v>2</v></c><c r="XFD2"><v>1</v></c></row>'
        f"{body}</sheetData></worksheet>"
    )
    return _xlsx(_workbook_parts(1, sheet))


def _shared_strings_bomb(mebibytes: int) -> bytes:
    head = f'<sst xmlns="{_MAIN}" count="1" uniqueCount="1"><si><t>'.encode()
    strings = _repeated(head, b"A" * (1 << 20), mebibytes, b"</t></si></sst>")
    cell = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    sheet = f'<worksheet xmlns="{_MAIN}"><sheetData>{cell}</sheetData></worksheet>'
    return _xlsx(_workbook_parts(1, sheet, shared=True), {"xl/sharedStrings.xml": strings})


def _packed_sheet(mebibytes: int) -> bytes:
    head = f'<worksheet xmlns="{_MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'.encode()
    sheet = _repeated(head, b"A" * (1 << 20), mebibytes, b"</t></is></c></row></sheetData></worksheet>")
    return _xlsx(_workbook_parts(1, ""), {"xl/worksheets/sheet1.xml": sheet})


def _many_sheets(count: int) -> bytes:
    sheet = f'<worksheet xmlns="{_MAIN}"><sheetData/></worksheet>'
    return _xlsx(_workbook_parts(count, sheet))


def _workbook_parts(sheets: int, sheet: str, *, shared: bool = False) -> dict[str, str]:
    """The XML parts of a minimal workbook whose every sheet is `sheet`."""
    numbers = range(1, sheets + 1)
    overrides = [
        f'<Override PartName="/xl/workbook.xml" ContentType="{_OFFICE}.spreadsheetml.sheet.main+xml"/>',
        *(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_OFFICE}.spreadsheetml.worksheet+xml"/>'
            for n in numbers
        ),
    ]
    relations = [
        f'<Relationship Id="rId{n}" Type="{_RELS}/worksheet" Target="worksheets/sheet{n}.xml"/>' for n in numbers
    ]
    if shared:
        overrides.append(
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_OFFICE}.spreadsheetml.sharedStrings+xml"/>'
        )
        relations.append(f'<Relationship Id="rIdS" Type="{_RELS}/sharedStrings" Target="sharedStrings.xml"/>')
    listing = "".join(f'<sheet name="Sheet{n}" sheetId="{n}" r:id="rId{n}"/>' for n in numbers)
    return {
        "[Content_Types].xml": (
            f'<Types xmlns="{_TYPES}"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            + "".join(overrides)
            + "</Types>"
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{_PACKAGE_RELS}"><Relationship Id="rId1" Type="{_RELS}/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": f'<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}"><sheets>{listing}</sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_PACKAGE_RELS}">{"".join(relations)}</Relationships>',
        **{f"xl/worksheets/sheet{n}.xml": sheet for n in numbers},
    }


def _xlsx(parts: dict[str, str], packed: dict[str, tuple[bytes, int, int]] | None = None) -> bytes:
    """A zip of the XML `parts`; `packed` entries (see _deflated) replace or add parts."""
    packed = packed or {}
    entries = [(name, *_deflated(text.encode())) for name, text in parts.items() if name not in packed]
    return _zip(entries + [(name, *entry) for name, entry in packed.items()])


def _deflated(data: bytes) -> tuple[bytes, int, int]:
    """(raw deflate stream, CRC-32, size) of `data`."""
    packer = zlib.compressobj(1, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush(), zlib.crc32(data), len(data)


def _repeated(head: bytes, block: bytes, times: int, tail: bytes) -> tuple[bytes, int, int]:
    """_deflated(head + block * times + tail), without making or packing the whole.

    After a full flush a deflate stream starts afresh at a byte boundary, so the packed
    block can be repeated; the CRC of the repeats comes from zlib's crc32_combine algebra.
    """

    def flushed(data: bytes, mode: int) -> bytes:
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        return packer.compress(data) + packer.flush(mode)

    packed_block = flushed(block, zlib.Z_FULL_FLUSH)
    stream = flushed(head, zlib.Z_FULL_FLUSH) + packed_block * times + flushed(tail, zlib.Z_FINISH)
    shift, block_crc, crc = _crc_shift(len(block)), zlib.crc32(block), zlib.crc32(head)
    for _ in range(times):
        crc = _gf2_times(shift, crc) ^ block_crc
    return stream, zlib.crc32(tail, crc), len(head) + len(block) * times + len(tail)


def _crc_shift(length: int) -> list[int]:
    """The GF(2) operator taking crc32(A) to the CRC part of crc32(A + `length` zero bytes)."""
    operator = [1 << i for i in range(32)]
    power = [0xEDB88320] + [1 << i for i in range(31)]  # one zero bit
    for _ in range(3):
        power = [_gf2_times(power, row) for row in power]  # ... eight: one zero byte
    while length:
        if length & 1:
            operator = [_gf2_times(power, row) for row in operator]
        power = [_gf2_times(power, row) for row in power]
        length >>= 1
    return operator


def _gf2_times(matrix: list[int], vector: int) -> int:
    total = 0
    for row in matrix:
        if not vector:
            break
        if vector & 1:
            total ^= row
        vector >>= 1
    return total


def _zip(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of already deflated entries (name, stream, CRC-32, size); sizes under 4 GB."""
    out, directory = bytearray(), bytearray()
    for name, stream, crc, size in entries:
        encoded, offset = name.encode(), len(out)
        # version 2.0, no flags, deflate, 1980-01-01 00:00
        fields = (8, 0, 0x21, crc, len(stream), size, len(encoded))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, *fields, 0) + encoded + stream
        directory += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, *fields, 0, 0, 0, 0, 0, offset) + encoded
    count = len(entries)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(directory), len(out), 0)
    return bytes(out + directory + end)


# ---------------------------------------------------------------- Parquet


def _nested_parquet() -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": [1, 2, 3], "tags": [[1, 2], [], [3]]}), buffer)
    return buffer.getvalue()


def _dictionary_bomb(millions: int, value: str) -> bytes:
    """`millions` million rows of one string column, every row the dictionary's one `value`.

    No Arrow schema is stored, so readers see a plain string column, not a categorical.
    """
    million = pa.DictionaryArray.from_arrays(pa.array(np.zeros(1_000_000, np.int32)), pa.array([value]))
    buffer = io.BytesIO()
    table = pa.table({"value": pa.chunked_array([million] * millions)})
    pq.write_table(table, buffer, compression="none", write_statistics=False, store_schema=False)
    return buffer.getvalue()
