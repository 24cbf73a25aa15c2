"""Parsing: charsets, encoded words, raw 8-bit headers, line ends, HTML, quotes, attachments."""
from __future__ import annotations

import json

import pytest

from mailroom.parsing import decode_bytes, decode_header_value, html_to_text, parse, split_quoted
from tests.mailroom.conftest import CORPUS


def test_encoded_words_and_raw_8bit_headers_decode():
    assert decode_header_value("=?utf-8?q?Caf=C3=A9?= =?utf-8?b?w6k=?=") == "Caféé"
    assert decode_header_value("=?windows-1251?b?z/Do4uXy?=") == "Привет"
    raw8 = "Приве́т".encode("utf-8").decode("ascii", "surrogateescape")
    assert decode_header_value(raw8) == "Приве́т"
    cp1251 = "Счёт".encode("cp1251").decode("ascii", "surrogateescape")
    assert decode_header_value(cp1251, "windows-1251") == "Счёт"  # the body's charset as the hint


def test_mislabelled_and_unknown_charsets_fall_back():
    assert decode_bytes("Grüße".encode("utf-8"), "iso-8859-1") == "Grüße"  # UTF-8 labelled Latin-1
    assert decode_bytes("Grüße".encode("cp1252"), "utf-8") == "Grüße"
    assert decode_bytes("Grüße".encode("utf-8"), "x-no-such-charset") == "Grüße"
    assert decode_bytes("naïve".encode("utf-8"), "us-ascii") == "naïve"


@pytest.mark.parametrize("sep", [b"\n", b"\r\n", b"\r"])
def test_line_ends(sep):
    raw = sep.join([b"From: a@b.example", b"Subject: Line ends", b"Message-ID: <le@b.example>", b"",
                    b"one", b"two", b"C:\\path\\to\\file"])
    mail = parse(raw)
    assert mail.subject == "Line ends"
    assert mail.message_id == "<le@b.example>"
    assert mail.text.split("\n") == ["one", "two", "C:\\path\\to\\file"]


def test_html_only_mail_keeps_line_breaks_and_is_sanitized():
    raw = (b"From: a@b.example\nSubject: x\nContent-Type: text/html; charset=utf-8\n\n"
           b"<p>Hello<br>there</p><script>alert(1)</script><p>Second</p><img src=x onerror=alert(1)>")
    mail = parse(raw)
    assert mail.text == "Hello\nthere\n\nSecond"
    assert "<script" not in mail.html and "onerror" not in mail.html


def test_html_to_text_lists_and_tables():
    assert html_to_text("<ul><li>a</li><li>b</li></ul>") == "- a\n- b"


def test_nested_message_becomes_an_eml_attachment():
    raw = (CORPUS / "cpython/Lib/test/test_email/data/msg_11.txt").read_bytes()
    mail = parse(raw)
    assert any(a.content_type == "message/rfc822" and a.filename.endswith(".eml") for a in mail.attachments)


def test_inline_cid_image_is_an_attachment_and_a_placeholder():
    raw = (b'From: a@b.example\nSubject: pic\nMIME-Version: 1.0\nContent-Type: multipart/related; boundary="B"\n\n'
           b'--B\nContent-Type: text/html; charset=utf-8\n\n<p>See <img src="cid:img1@x"></p>\n'
           b"--B\nContent-Type: image/png\nContent-ID: <img1@x>\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--B--\n")
    mail = parse(raw)
    assert mail.attachments[0].content_id == "img1@x" and mail.attachments[0].inline
    assert "/mailroom/cid/img1@x" in mail.html


def test_rfc2231_filename():
    raw = (b'From: a@b.example\nSubject: f\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n'
           b"--B\nContent-Type: text/plain\n\nbody\n"
           b"--B\nContent-Type: application/pdf\nContent-Disposition: attachment; filename*=utf-8''%D0%A1%D1%87%D1%91%D1%82.pdf\n\n%PDF\n--B--\n")
    assert parse(raw).attachments[0].filename == "Счёт.pdf"


def test_quote_stripping_scores_on_talons_standard_replies():
    from email import message_from_bytes
    from email.policy import compat32

    from mailroom.parsing import _part_text

    expected = json.loads((CORPUS / "talon/EXPECTED_standard_replies.json").read_text())["expected_reply_text"]
    right = []
    for name, want in expected.items():
        msg = message_from_bytes((CORPUS / "talon/tests/fixtures/standard_replies" / name).read_bytes(), policy=compat32)
        part = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
        if split_quoted(_part_text(part))[0] == want:
            right.append(name)
    print(f"talon standard replies: {len(right)}/{len(expected)}")
    assert len(right) == len(expected)


def test_split_quoted_keeps_a_reply_without_quotes_whole():
    assert split_quoted("Hello\n\nThanks: see below\nbye") == ("Hello\n\nThanks: see below\nbye", "")
