"""Pure rules of import and export: reading bytes of unknown encoding as CSV rows, mapping
columns to fields, parsing values, and making exported cells safe for spreadsheets."""
from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import charset_normalizer

ENCODINGS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with byte order mark",
    "utf-16": "UTF-16",
    "cp1252": "Windows-1252 (Western European)",
    "latin-1": "ISO-8859-1 (Latin-1)",
    "cp1250": "Windows-1250 (Central European)",
    "cp1251": "Windows-1251 (Cyrillic)",
    "iso-8859-15": "ISO-8859-15 (Latin-9)",
    "mac-roman": "Mac Roman",
}
DELIMITERS = {",": "Comma", ";": "Semicolon", "\t": "Tab", "|": "Vertical bar"}
MAX_STORED_ERRORS = 1000


class FileError(ValueError):
    """The file as a whole cannot be read (from `line` on, when known)."""

    def __init__(self, reason: str, line: int | None = None):
        super().__init__(reason)
        self.reason, self.line = reason, line


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    help: str = ""


FIELDS: dict[str, tuple[Field, ...]] = {
    "organization": (
        Field("name", "Name", True, ("organization", "organisation", "company", "account", "account name")),
        Field("domain", "Email domain", aliases=("website", "web", "domain name")),
        Field("phone", "Phone", aliases=("telephone", "tel", "phone number")),
    ),
    "contact": (
        Field("name", "Name", True, ("full name", "contact", "contact name", "display name")),
        Field("email", "Email", aliases=("e-mail", "email address", "mail")),
        Field("phone", "Phone", aliases=("telephone", "tel", "mobile", "phone number")),
        Field("organization", "Organization", aliases=("organisation", "company", "account", "account name"),
              help="By name; a missing organization is created."),
    ),
    "product": (
        Field("name", "Name", True, ("product", "product name")),
        Field("code", "Code", True, ("sku", "product code", "part number")),
        Field("category", "Category", aliases=("type", "product category")),
    ),
    "asset": (
        Field("serial_number", "Serial number", True, ("serial", "serial no", "s/n", "sn")),
        Field("product", "Product", True, ("product code", "product name", "sku"), "By code or name."),
        Field("contact", "Contact email", aliases=("contact", "email", "customer email", "owner")),
        Field("organization", "Organization", aliases=("organisation", "company", "account")),
        Field("status", "Status"),
        Field("date_sold", "Date sold", aliases=("sold", "sold on", "purchase date", "date of sale"),
              help="YYYY-MM-DD"),
        Field("warranty_end", "Warranty end", aliases=("warranty", "warranty until", "warranty end date"),
              help="YYYY-MM-DD"),
        Field("notes", "Notes", aliases=("note", "comments", "description")),
    ),
    "case": (
        Field("subject", "Subject", True, ("title", "summary")),
        Field("body", "Description", True, ("description", "body", "message", "details", "problem")),
        Field("contact_email", "Contact email", aliases=("email", "contact", "customer email", "from")),
        Field("contact_name", "Contact name", aliases=("name", "customer", "customer name")),
        Field("priority", "Priority", help="Low, Normal, High or Urgent"),
        Field("tags", "Tags", aliases=("tag", "labels"), help="Separated by commas"),
        Field("product", "Product", aliases=("product code", "product name", "sku"), help="By code or name."),
        Field("asset", "Asset serial number", aliases=("asset", "serial", "serial number", "s/n")),
    ),
}
KIND_LABELS = {"organization": "Organizations", "contact": "Contacts", "product": "Products", "asset": "Assets",
               "case": "Cases"}


# --- bytes to rows -------------------------------------------------------------------------


def detect_encoding(data: bytes) -> str:
    """The file's encoding from its byte order mark, strict UTF-8, or charset-normalizer's guess."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A cut multi-byte character at the very end of a sample is still UTF-8.
        if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    sample = data[:256 * 1024]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4:
        return "utf-16-le"
    if len(sample) >= 4 and sample[0::2].count(0) > len(sample) // 4:
        return "utf-16-be"
    results = charset_normalizer.from_bytes(sample)
    best = results.best()
    name = codecs.lookup(best.encoding).name if best is not None else "cp1252"
    # Short Western files read the same in several code pages (é is 0xE9 in cp1250 and cp1252):
    # prefer Windows-1252 when it reads the bytes as well as the guess does.
    if name != "cp1252" and best is not None:
        try:
            as_1252 = data.decode("cp1252")
        except UnicodeDecodeError:
            as_1252 = None
        if as_1252 is not None and (as_1252 == data.decode(name, errors="replace") or any(
                codecs.lookup(r.encoding).name == "cp1252" and r.chaos <= best.chaos + 0.02 for r in results)):
            name = "cp1252"
    # Western files are nearly always Windows-1252, which the guess often calls latin-1.
    if name in ("latin-1", "iso8859-1", "ascii", "iso8859-15", "cp1252"):
        name = "cp1252"
        try:
            data.decode(name)
        except UnicodeDecodeError:
            name = "latin-1"
    return name


def decode(data: bytes, encoding: str) -> str:
    """The text of the file. Bytes that are not valid in `encoding` become lone surrogates
    (surrogateescape), so the rows holding them can be reported one by one."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise FileError(f"Unknown encoding {encoding!r}.") from None
    try:
        return data.decode(encoding, errors="surrogateescape")
    except UnicodeDecodeError as exc:  # UTF-16 with an odd byte count, etc.
        line = data[: exc.start].count(b"\n" if "16" not in encoding else "\n".encode(encoding)) + 1
        raise FileError(f"The file is not valid {ENCODINGS.get(encoding, encoding)}: {exc.reason} "
                        f"near line {line}. Choose the file's encoding.", line) from None


_BAD_BYTES = re.compile("[\udc80-\udcff]+")


def undecodable(value: str) -> str | None:
    """The bytes in `value` that were not valid in the chosen encoding, shown as hex, or None."""
    found = _BAD_BYTES.search(value)
    if not found:
        return None
    return " ".join(f"0x{ord(c) - 0xDC00:02X}" for c in found.group()[:4])


def sniff_delimiter(text: str) -> str:
    sample = "\n".join(text[:64 * 1024].splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        return max(DELIMITERS, key=first.count) if first and any(d in first for d in DELIMITERS) else ","


def records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, its cells) for every non-blank record, header included."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileError(f"Line {reader.line_num}: the file is not valid CSV ({exc}).", reader.line_num) from None
        if any(c.strip() for c in cells):
            yield line, cells
        line = reader.line_num + 1


# --- columns and values --------------------------------------------------------------------


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9/]+", " ", (name or "").lower()).strip()


def guess_mapping(kind: str, header: list[str]) -> dict[str, int | None]:
    """Field key -> column index, by the column's name (or an alias); None where nothing fits."""
    names = [_norm(h) for h in header]
    mapping, taken = {}, set()
    for f in FIELDS[kind]:
        wanted = [_norm(f.key.replace("_", " ")), _norm(f.label), *map(_norm, f.aliases)]
        mapping[f.key] = None
        for candidate in wanted:
            hits = [i for i, n in enumerate(names) if n == candidate and i not in taken]
            if hits:
                mapping[f.key] = hits[0]
                taken.add(hits[0])
                break
    return mapping


def missing_required(kind: str, mapping: dict) -> list[Field]:
    return [f for f in FIELDS[kind] if f.required and mapping.get(f.key) is None]


def row_values(kind: str, mapping: dict, cells: list[str]) -> dict[str, str]:
    """The mapped cells of one record, stripped; a mapped column the row lacks is empty."""
    out = {}
    for f in FIELDS[kind]:
        index = mapping.get(f.key)
        out[f.key] = clean_cell(cells[index]) if index is not None and index < len(cells) else ""
    return out


def clean_cell(value: str) -> str:
    value = (value or "").strip()
    # Undo our own export's guard ('=SUM(...) -> =SUM(...) stays text only in a spreadsheet).
    if len(value) > 1 and value[0] == "'" and value[1] in _FORMULA_START:
        value = value[1:]
    return value


def parse_date(raw: str) -> date | None:
    """An ISO date (YYYY-MM-DD) or None for an empty cell; ValueError says what is wrong."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10] if re.match(r"^\d{4}-\d{2}-\d{2}[T ]", raw) else raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a date; write it as YYYY-MM-DD") from None


# --- export --------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "|")
_PLAIN_NUMBER = re.compile(r"^[+-]?[\d\s().,/-]*\d[\d\s().,/-]*$")


def safe_cell(value) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (OWASP CSV injection):
    text starting with = + - @ tab, CR or | gets a leading apostrophe; plain numbers and
    phone numbers (+44 20 7946 0000, -3.5) stay as they are."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    if text and text[0] in _FORMULA_START and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def csv_line(cells) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([safe_cell(c) for c in cells])
    return buffer.getvalue()
