"""Turn raw MIME bytes into a ParsedEmail: decoded headers, text, sanitized HTML and attachments.

Built on `email.message_from_bytes(raw, policy=compat32)`, which never raises and is ten times
faster than policy.default, with our own forgiving decoding of headers and charsets on top.
"""
from __future__ import annotations

import binascii
import codecs
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header
from email.message import Message as MimeMessage
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser

from helpdesk.cases.services import sanitize_html

# Charset names seen in the wild that Python does not know, or knows as a narrower charset
# than the mail really uses.
_CHARSET_ALIASES = {
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "ks_c_5601-1989": "cp949", "euc-kr": "cp949",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "chinese": "gb18030",
    "big5": "big5hkscs", "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "windows-31j": "cp932", "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
    "iso-8859-8-i": "iso-8859-8", "iso-8859-6-i": "iso-8859-6", "windows-874": "cp874",
    "x-mac-roman": "mac_roman", "macintosh": "mac_roman", "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8", "unicode": "utf-8", "x-unknown": "", "unknown-8bit": "", "unknown": "",
    "default": "", "x-user-defined": "", "us-ascii": "utf-8", "ascii": "utf-8", "ansi_x3.4-1968": "utf-8",
}
_SINGLE_BYTE = re.compile(r"^(cp12\d\d|iso8859_\d+|latin_1|koi8_[ru]|mac_\w+|cp874|cp437|cp850)$")
_WS = re.compile(r"\s+")
_MSGID = re.compile(r"<[^<>\s]+>")
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?]*\?=")


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None
    inline: bool = False


@dataclass
class ParsedEmail:
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    subject: str
    from_name: str
    from_addr: str
    to: list[tuple[str, str]]
    cc: list[tuple[str, str]]
    reply_to: list[tuple[str, str]]
    date: object | None
    headers: dict[str, str]  # lower-case name -> first value, decoded
    text: str  # the whole plain text (derived from HTML when there is no text part)
    html: str | None  # sanitized; quoted history folded into <details>
    visible_text: str  # the text without the quoted history
    quoted_text: str
    attachments: list[Attachment] = field(default_factory=list)
    content_type: str = "text/plain"
    report_type: str | None = None  # "delivery-status", "feedback-report", … for multipart/report
    delivery_status: str | None = None  # the message/delivery-status part, as text
    defects: list[str] = field(default_factory=list)

    @property
    def all_recipients(self) -> list[str]:
        return [a for _, a in self.to + self.cc if a]


# --- headers ---------------------------------------------------------------------------------


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Bytes to text: the declared charset when it fits, else UTF-8, else a detected one.

    Never raises and never drops a byte silently: the last resort is cp1252/latin-1.
    """
    if not data:
        return ""
    try:
        if data.isascii():
            return data.decode("ascii")
    except AttributeError:  # pragma: no cover - bytes always have isascii on 3.7+
        pass
    name = _codec(declared)
    if name and _SINGLE_BYTE.match(name):
        # A single-byte label never fails, so a mislabelled UTF-8 mail would come out as
        # mojibake: UTF-8 that decodes cleanly wins.
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if name:
        try:
            return data.decode(name)
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return _detect(data)


def _detect(data: bytes) -> str:
    # On a few bytes detectors guess wildly; Western European mail is then the safest bet.
    if len(data) < 64 and _cp1252_ok(data):
        return data.decode("cp1252")
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:65536]).best()
        if best is not None and best.encoding:
            return data.decode(best.encoding, errors="replace")
    except Exception:  # the detector is a help, never a reason to fail
        pass
    return data.decode("cp1252", errors="strict") if _cp1252_ok(data) else data.decode("latin-1")


def _cp1252_ok(data: bytes) -> bool:
    try:
        data.decode("cp1252")
        return True
    except UnicodeDecodeError:
        return False


_codec_cache: dict[str, str] = {}


def _codec(declared: str | None) -> str:
    if not declared:
        return ""
    key = declared.strip().strip('"\'').lower()
    if key in _codec_cache:
        return _codec_cache[key]
    name = _CHARSET_ALIASES.get(key, key)
    if name:
        try:
            name = codecs.lookup(name).name
        except LookupError:
            name = ""
    _codec_cache[key] = name
    return name


def decode_header_value(value, hint: str | None = None) -> str:
    """A header as text: raw 8-bit bytes and RFC 2047 encoded words decoded, folding undone.

    Raw 8-bit bytes carry no charset; `hint` (the body's charset) is the best guess for them.
    """
    if value is None:
        return ""
    if not isinstance(value, str):  # an email.header.Header from compat32
        value = str(value)
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        value = decode_bytes(value.encode("ascii", "surrogateescape"), hint)
    value = value.replace("\r", "").replace("\n", "").replace("\x00", "")
    if "=?" not in value:
        return value.strip()
    try:
        parts = decode_header(value)
    except Exception:
        return value.strip()
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            chunk = chunk.replace(b"\x00", b"")
        if isinstance(chunk, bytes):
            out.append(decode_bytes(chunk, charset) if charset else decode_bytes(chunk))
        else:
            out.append(chunk)
    text = "".join(out)
    # Encoded words some clients split inside a word, or left undecoded by a bad neighbour.
    if _ENCODED_WORD.search(text):
        text = _ENCODED_WORD.sub(lambda m: decode_header_value(m.group(0).replace("?=", "?= ")).strip(), text)
    return text.strip()


def _addresses(msg: MimeMessage, name: str, hint: str | None = None) -> list[tuple[str, str]]:
    values = msg.get_all(name) or []
    if not values:
        return []
    decoded = [decode_header_value(v, hint) for v in values]
    result = []
    for display, addr in getaddresses(decoded):
        addr = addr.strip().strip("<>").lower()
        if "@" in addr:
            result.append((display.strip(), addr))
    return result


def message_ids(value: str | None) -> list[str]:
    if not value:
        return []
    found = _MSGID.findall(value)
    if found:
        return found
    value = value.strip()
    return [f"<{value}>"] if value and " " not in value and "@" in value else []


def content_hash(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


# --- the message ------------------------------------------------------------------------------


def normalize_line_ends(raw: bytes) -> bytes:
    """CR-only mail (old Macs) parses as one giant header; CRLF is fine for the parser."""
    if b"\r" in raw and b"\n" not in raw[:4096]:
        return raw.replace(b"\r", b"\n")
    return raw


OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def parse(raw: bytes) -> ParsedEmail:
    if raw.startswith(OLE_MAGIC):
        return _outlook_file(raw)
    raw = normalize_line_ends(raw)
    msg = message_from_bytes(raw, policy=compat32)
    get = msg.get
    hint = _charset_hint(msg)
    from_list = _addresses(msg, "from", hint) or _addresses(msg, "sender", hint) or _addresses(msg, "return-path")
    from_name, from_addr = from_list[0] if from_list else (decode_header_value(get("from"), hint).strip("<> "), "")
    date = None
    raw_date = get("date")
    if raw_date:
        try:
            date = parsedate_to_datetime(decode_header_value(raw_date))
        except (TypeError, ValueError, IndexError, OverflowError):
            date = None
    headers: dict[str, str] = {}
    for key, value in msg.items():
        k = key.lower()
        if k not in headers:
            headers[k] = decode_header_value(value, hint)
    mid = message_ids(headers.get("message-id"))
    body = _Body()
    body.walk(msg)
    text = body.text()
    html = body.html()
    if not text and html:
        text = html_to_text(html)
    visible, quoted = split_quoted(text)
    clean_html = fold_html_quotes(html) if html else None
    report_type = (msg.get_param("report-type") or "") if msg.get_content_type() == "multipart/report" else ""
    return ParsedEmail(
        message_id=mid[0] if mid else None,
        in_reply_to=message_ids(headers.get("in-reply-to")),
        references=message_ids(headers.get("references")),
        subject=_WS.sub(" ", headers.get("subject", "")).strip(),
        from_name=from_name,
        from_addr=from_addr,
        to=_addresses(msg, "to", hint),
        cc=_addresses(msg, "cc", hint),
        reply_to=_addresses(msg, "reply-to", hint),
        date=date,
        headers=headers,
        text=text,
        html=clean_html,
        visible_text=visible,
        quoted_text=quoted,
        attachments=body.attachments,
        content_type=msg.get_content_type(),
        report_type=str(report_type).lower() or None,
        delivery_status=body.delivery_status,
        defects=[type(d).__name__ for d in msg.defects],
    )


def _outlook_file(raw: bytes) -> ParsedEmail:
    """An Outlook .msg file handed in as if it were a mail: kept whole, as an attachment."""
    return ParsedEmail(
        message_id=None, in_reply_to=[], references=[], subject="Outlook message", from_name="", from_addr="",
        to=[], cc=[], reply_to=[], date=None, headers={}, text="(An Outlook .msg file; see the attachment.)",
        html=None, visible_text="(An Outlook .msg file; see the attachment.)", quoted_text="",
        attachments=[Attachment("message.msg", "application/vnd.ms-outlook", raw)],
        content_type="application/vnd.ms-outlook",
    )


def _charset_hint(msg: MimeMessage) -> str | None:
    """The first charset the mail declares anywhere: what its raw 8-bit headers most likely use."""
    for part in msg.walk():
        charset = part.get_param("charset")
        if isinstance(charset, tuple):
            charset = charset[2]
        if charset and str(charset).lower() not in ("us-ascii", "ascii"):
            return str(charset)
    return None


class _Body:
    """Walks the MIME tree once, picking the readable parts and collecting the attachments."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.htmls: list[str] = []
        self.attachments: list[Attachment] = []
        self.delivery_status: str | None = None

    def text(self) -> str:
        return "\n\n".join(t for t in self.texts if t.strip()).strip("\n")

    def html(self) -> str | None:
        return "\n".join(self.htmls) if self.htmls else None

    def walk(self, part: MimeMessage, in_alternative: bool = False) -> None:
        ctype = part.get_content_type()
        if ctype in ("message/delivery-status", "message/feedback-report", "message/global-delivery-status"):
            self.delivery_status = _status_text(part)
            return
        if part.is_multipart():
            payload = part.get_payload()
            if ctype == "multipart/alternative":
                self._alternative(payload)
            elif ctype == "message/rfc822" or ctype.startswith("message/"):
                self._attach_message(part, payload)
            else:
                for sub in payload:
                    if isinstance(sub, MimeMessage):
                        self.walk(sub)
            return
        disposition = str(part.get("content-disposition") or "").split(";")[0].strip().lower()
        filename = self._filename(part)
        if ctype in ("text/plain", "text/html", "text/enriched") and disposition != "attachment" and not (
            filename and disposition == "inline" and ctype != "text/plain"
        ) and not (filename and ctype == "text/plain" and disposition == "attachment"):
            content = _part_text(part)
            if ctype == "text/html":
                self.htmls.append(content)
                if not in_alternative:
                    self.texts.append(html_to_text(content))
            else:
                self.texts.append(_uudecode_into(content, self.attachments))
            return
        data = _payload_bytes(part)
        if data is None:
            return
        cid = str(part.get("content-id") or "").strip().strip("<>") or None
        name = filename or _default_name(ctype, len(self.attachments) + 1)
        if (ctype == "application/ms-tnef" or name.lower() == "winmail.dat") and self._tnef(data):
            return
        self.attachments.append(Attachment(name, ctype, data, cid, disposition == "inline" or bool(cid)))

    def _tnef(self, data: bytes) -> bool:
        """Outlook's winmail.dat: its files become attachments (and its body the text, when the
        mail has none). False, to keep the file as it is, when it cannot be read or holds nothing."""
        from tnefparse import TNEF

        try:
            tnef = TNEF(data)
            files = [(a.long_filename() or a.name or "", a.data) for a in tnef.attachments if a.data]
            html = tnef.htmlbody if isinstance(getattr(tnef, "htmlbody", None), (str, bytes)) else None
            body = tnef.body if isinstance(getattr(tnef, "body", None), (str, bytes)) else None
        except Exception:  # a damaged file: keep it for the agent to open
            return False
        if not files and not html and not body:
            return False
        for n, (name, content) in enumerate(files, 1):
            name = _safe_name(name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)) or f"attachment-{n}.bin"
            ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
            self.attachments.append(Attachment(name, ctype, content))
        if not self.texts and not self.htmls:
            if html:
                html = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
                self.htmls.append(html)
                self.texts.append(html_to_text(html))
            elif body:
                self.texts.append(body.decode("cp1252", "replace") if isinstance(body, bytes) else body)
        return True

    def _alternative(self, parts) -> None:
        parts = [p for p in parts if isinstance(p, MimeMessage)]
        plain = [p for p in parts if p.get_content_type() == "text/plain"]
        for p in parts:
            if p.get_content_type() == "text/plain":
                continue
            self.walk(p, in_alternative=bool(plain))
        for p in plain:
            self.texts.append(_part_text(p))

    def _attach_message(self, part: MimeMessage, payload) -> None:
        # A forwarded mail stays whole, as an .eml the agent can open.
        inner = payload[0] if isinstance(payload, list) and payload else None
        data = inner.as_bytes() if isinstance(inner, MimeMessage) else (_payload_bytes(part) or b"")
        subject = decode_header_value(inner.get("subject")) if isinstance(inner, MimeMessage) else ""
        name = self._filename(part) or (_safe_name(subject) or "forwarded message") + ".eml"
        self.attachments.append(Attachment(name, "message/rfc822", data))

    @staticmethod
    def _filename(part: MimeMessage) -> str | None:
        try:
            name = part.get_filename()  # RFC 2231 continuations and charsets included
        except Exception:
            name = None
        if name is None:
            return None
        name = decode_header_value(name) if isinstance(name, str) else decode_bytes(bytes(name))
        return name.replace("\x00", "").strip() or None


def _status_text(part: MimeMessage) -> str:
    """A delivery-status part: blocks of fields, which compat32 parses as a list of header-only messages."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return "\n\n".join("\n".join(f"{k}: {decode_header_value(v)}" for k, v in block.items())
                           for block in payload if isinstance(block, MimeMessage))
    return _part_text(part)


def _part_text(part: MimeMessage) -> str:
    data = _payload_bytes(part) or b""
    charset = part.get_param("charset")
    if isinstance(charset, tuple):  # RFC 2231-encoded parameter
        charset = charset[2]
    text = decode_bytes(data, charset)
    # NUL is no character anyone writes, and PostgreSQL text cannot hold it.
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def _payload_bytes(part: MimeMessage) -> bytes | None:
    try:
        data = part.get_payload(decode=True)
    except (binascii.Error, ValueError, AssertionError):
        data = None
    if data is None:
        payload = part.get_payload()
        if isinstance(payload, str):
            return payload.encode("ascii", "surrogateescape")
        if isinstance(payload, list):
            return b"".join(p.as_bytes() for p in payload if isinstance(p, MimeMessage))
        return None
    return data


_UU_BLOCK = re.compile(r"^begin [0-7]{3,4} (\S[^\n]*)\n(.*?)^end$", re.M | re.S)


def _uudecode_into(text: str, attachments: list[Attachment]) -> str:
    """Old clients put uuencoded files in the body text; they become attachments."""
    if "\nbegin " not in "\n" + text:
        return text

    def take(match: re.Match) -> str:
        data = bytearray()
        try:
            for line in match.group(2).splitlines():
                if line.strip() and line != "`":
                    data += binascii.a2b_uu(line)
        except binascii.Error:
            return match.group(0)
        attachments.append(Attachment(match.group(1).strip(), "application/octet-stream", bytes(data)))
        return ""

    return _UU_BLOCK.sub(take, text)


def _default_name(ctype: str, n: int) -> str:
    ext = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "application/pdf": "pdf",
           "text/plain": "txt", "text/html": "html", "application/ms-tnef": "dat"}.get(ctype, "bin")
    return "winmail.dat" if ctype == "application/ms-tnef" else f"attachment-{n}.{ext}"


def _safe_name(text: str) -> str:
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]+', " ", text).strip()[:100]


# --- HTML to text -----------------------------------------------------------------------------

_BLOCK = {"p", "div", "section", "article", "header", "footer", "blockquote", "pre", "table", "ul", "ol",
          "h1", "h2", "h3", "h4", "h5", "h6", "hr", "address", "center", "dl", "form", "fieldset"}
_SKIP = {"script", "style", "head", "title", "xml", "o:p"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.pre = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag in ("tr",):
            self.out.append("\n")
        elif tag in ("td", "th"):
            self.out.append("\t")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in _BLOCK:
            self.out.append("\n\n" if tag == "p" else "\n")
            if tag == "pre":
                self.pre += 1
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.out.append(f"[{alt}]")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self.out.append("\n\n" if tag == "p" else "\n")
            if tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_data(self, data):
        if self.skip:
            return
        self.out.append(data if self.pre else _WS.sub(" ", data))


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:
        return unescape(re.sub(r"<[^>]+>", " ", html))
    text = "".join(parser.out).replace("\xa0", " ")
    lines = [line.strip(" ") for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- quoted history ---------------------------------------------------------------------------

_ATTRIBUTION = re.compile(
    r"(wrote|writes|schrieb|a écrit|escribió|ha scritto|schreef|napisał|написал|написала|написал\(а\)|"
    r"skrev|kirjoitti|escreveu|yazdı|írta|napsal)\s*:?\s*$",
    re.I,
)
_SEPARATOR = re.compile(
    r"^\s*(-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|Messaggio originale|"
    r"Oorspronkelijk bericht|Исходное сообщение|Oryginalna wiadomość|Mensagem original)\s*-{2,}|_{20,})\s*$",
    re.I,
)
_HEADER_LINE = re.compile(r"^\s*\*?(From|Von|De|Da|Van|От|Od|Från)\s*:\*?\s", re.I)
_HEADER_NEXT = re.compile(r"^\s*\*?(Sent|Date|Gesendet|Datum|Envoyé|Enviado|Inviato|Verzonden|Отправлено|To|An|À|Para|A|Subject|Betreff|Objet|Asunto|Oggetto|Onderwerp|Тема)\s*:", re.I)


def split_quoted(text: str) -> tuple[str, str]:
    """(what the sender wrote now, the quoted history below it)."""
    if not text:
        return "", ""
    lines = text.split("\n")
    cut = _find_cut(lines)
    if cut is None:
        return text.strip(), ""
    reply = "\n".join(lines[:cut]).strip()
    if not reply:
        # The answer may sit below the quote (bottom posting): quote block, then the reply.
        end = cut
        while end < len(lines) and (lines[end].lstrip().startswith(">") or end == cut or not lines[end].strip()):
            end += 1
        below = "\n".join(lines[end:]).strip()
        if below and _find_cut(lines[end:]) is None:
            return below, "\n".join(lines[cut:end]).strip("\n")
        return text.strip(), ""  # all quote (a bare forward): show it all
    return reply, "\n".join(lines[cut:]).strip("\n")


def _find_cut(lines: list[str]) -> int | None:
    n = len(lines)
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if _SEPARATOR.match(line):
            return i
        if _HEADER_LINE.match(line) and any(_HEADER_NEXT.match(lines[j]) for j in range(i + 1, min(n, i + 4))):
            return i
        if stripped.startswith(">"):
            return _attribution_start(lines, i)
        if _ATTRIBUTION.search(stripped) or (stripped.endswith(":") and _quote_follows(lines, i)):
            start = _attribution_start(lines, i + 1)
            if _ATTRIBUTION.search(stripped) or start <= i:
                return start
    return None


def _quote_follows(lines: list[str], i: int) -> bool:
    for j in range(i + 1, min(len(lines), i + 3)):
        if lines[j].strip():
            return lines[j].lstrip().startswith(">")
    return False


def _attribution_start(lines: list[str], first_quote: int) -> int:
    """Where the quote begins: the quote itself, or the "On … wrote:" lines just above it."""
    j = first_quote - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j < 0 or not lines[j].rstrip().endswith(":"):
        return first_quote
    # An attribution may wrap over up to three lines.
    start = j
    for k in range(j - 1, max(-1, j - 3), -1):
        if not lines[k].strip():
            break
        start = k
    block = " ".join(lines[start:j + 1])
    if _ATTRIBUTION.search(block) or re.search(r"\d", block) or "@" in block:
        # Keep the wrapped lines above only when they look like an attribution, not like the reply.
        for k in range(start, j):
            if _ATTRIBUTION_START.match(lines[k]) or re.search(r"\d{1,4}[./:-]\d", lines[k]) or "@" in lines[k]:
                return k
    return j


_ATTRIBUTION_START = re.compile(r"^\s*(on|am|le|el|il|op|em|den|dnia|w dniu)\s", re.I)


_HTML_QUOTE = re.compile(
    r'<div class="gmail_quote|<blockquote type="cite"|<div id="divRplyFwdMsg"|<div class="moz-cite-prefix"|'
    r'<div class="yahoo_quoted"|<div id="appendonsend"|<hr id="stopSpelling"|'
    r"-{2,}\s*Original Message\s*-{2,}",
    re.I,
)


def fold_html_quotes(html: str) -> str:
    """Sanitize an HTML mail, its quoted history inside a <details>, one click away.

    The markers are classes and ids the sanitizer removes, so the split comes first.
    """
    html = _CID_SRC.sub(lambda m: f'{m.group(1)}{CID_PREFIX}{m.group(2)}', html)
    match = _HTML_QUOTE.search(html)
    if match is None or not html_to_text(html[: match.start()]).strip():
        return sanitize_html(html)
    head, tail = sanitize_html(html[: match.start()]), sanitize_html(html[match.start():])
    return f"{head}<details><summary>Show quoted text</summary>{tail}</details>"


# Inline images: the sanitizer drops cid: URLs, so they become a relative placeholder that the
# pipeline swaps for the stored attachment's address.
CID_PREFIX = "/mailroom/cid/"
_CID_SRC = re.compile(r"""(src\s*=\s*["']?)cid:([^"'\s>]+)""", re.I)
