"""vCard 3.0 and 4.0 contacts in and out, through the vobject library (no parser of our own).

vobject reads both versions (4.0 changed parameters and TEL values, not the line syntax it
parses) and writes whatever VERSION it is given; this module picks the properties each
version expects."""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import vobject

COLUMNS = ("Name", "Email", "Phone", "Organization")
VERSIONS = ("3.0", "4.0")
_BEGIN = re.compile(r"^BEGIN:VCARD\s*$", re.IGNORECASE)


def looks_like_vcard(filename: str, data: bytes) -> bool:
    head = data[:200].lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \r\n\t").replace(b"\x00", b"").upper()
    return filename.lower().endswith((".vcf", ".vcard")) or head.startswith(b"BEGIN:VCARD")


def parse(text: str) -> Iterator[tuple[int, dict[str, str], str | None]]:
    """(line of BEGIN:VCARD, contact fields, problem or None) for every card in the text."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if _BEGIN.match(line)]
    if not starts and text.strip():
        yield 1, {}, "No BEGIN:VCARD found: this is not a vCard file"
        return
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        chunk = "\r\n".join(lines[start:end]).strip() + "\r\n"
        try:
            card = vobject.readOne(chunk, validate=False)
            yield start + 1, _fields(card), None
        except Exception as exc:  # vobject raises several types for a malformed card
            # vobject counts lines from the card's start; the line we report is the file's.
            reason = re.sub(r"^At line \d+:\s*", "", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            yield start + 1, {}, f"not a valid vCard ({reason[:200]})"


def _fields(card) -> dict[str, str]:
    def first(name: str) -> str:
        items = card.contents.get(name) or []
        return items[0].value if items else ""

    name = first("fn")
    if not name and card.contents.get("n"):
        n = card.n.value
        name = " ".join(p for p in (getattr(n, "prefix", ""), getattr(n, "given", ""), getattr(n, "additional", ""),
                                     getattr(n, "family", "")) if isinstance(p, str) and p)
    org = first("org")
    if isinstance(org, list):
        org = org[0] if org else ""
    phone = first("tel")
    phone = phone[4:] if isinstance(phone, str) and phone.lower().startswith("tel:") else phone
    return {"name": str(name or "").strip(), "email": str(first("email") or "").strip(),
            "phone": str(phone or "").strip(), "organization": str(org or "").strip()}


def to_vcard(name: str, email: str | None, phone: str | None, organization: str | None, version: str = "4.0",
             uid: str | None = None) -> str:
    """One contact as a vCard of the given version."""
    if version not in VERSIONS:
        raise ValueError(f"vCard version must be one of {', '.join(VERSIONS)}")
    card = vobject.vCard()
    card.add("version").value = version
    card.add("fn").value = name
    parts = name.rsplit(" ", 1)
    card.add("n").value = vobject.vcard.Name(family=parts[-1] if len(parts) > 1 else name,
                                             given=parts[0] if len(parts) > 1 else "")
    if email:
        item = card.add("email")
        item.value = email
        item.type_param = "work" if version == "4.0" else "INTERNET"
    if phone:
        item = card.add("tel")
        if version == "4.0":
            item.value = "tel:" + re.sub(r"[^\d+]", "", phone) if re.sub(r"[^\d+]", "", phone) else phone
            item.params["VALUE"] = ["uri"]
        else:
            item.value = phone
        item.type_param = "work" if version == "4.0" else "WORK"
    if organization:
        card.add("org").value = [organization]
    if uid:
        card.add("uid").value = uid
    return card.serialize()


def to_vcards(contacts: Iterable, version: str) -> Iterator[str]:
    for c in contacts:
        yield to_vcard(c.name, c.email, c.phone, c.organization.name if c.organization else None, version,
                       uid=f"urn:helpdesk:contact:{c.id}")
