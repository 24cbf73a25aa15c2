import codecs

import pytest

from helpdesk.imports import policies


@pytest.mark.parametrize("encoding, data", [
    ("utf-8", "Name\nZoë Müller\n".encode("utf-8")),
    ("utf-8-sig", codecs.BOM_UTF8 + "Name\nZoë Müller\n".encode("utf-8")),
    ("utf-16", "Name\nZoë Müller\n".encode("utf-16")),
    ("cp1252", "Name\nZoë Müller – “quoted”\n".encode("cp1252")),
])
def test_detect_encoding(encoding, data):
    assert policies.detect_encoding(data) == encoding
    assert "Zoë Müller" in policies.decode(data, policies.detect_encoding(data))


def test_latin1_only_bytes_are_read_as_windows_1252_western_text():
    data = ("Name,City\n" + "\n".join(f"Jürgen Größe {i},Köln" for i in range(20)) + "\n").encode("latin-1")
    enc = policies.detect_encoding(data)
    assert enc in ("cp1252", "latin-1") and "Jürgen Größe 3" in policies.decode(data, enc)


def test_bytes_invalid_in_the_chosen_encoding_are_found_per_cell():
    text = policies.decode("ok,Caf\xe9\n".encode("latin-1"), "utf-8")
    cells = text.strip().split(",")
    assert policies.undecodable(cells[0]) is None
    assert policies.undecodable(cells[1]) == "0xE9"


def test_records_give_the_line_each_record_starts_on():
    text = 'name,notes\nAnn,"two\nlines"\n\nBob,one\n'
    assert list(policies.records(text, ",")) == [(1, ["name", "notes"]), (2, ["Ann", "two\nlines"]), (5, ["Bob", "one"])]


def test_malformed_csv_names_its_line():
    with pytest.raises(policies.FileError) as err:
        list(policies.records('name\nAnn\n"Bob\n', ","))
    assert err.value.line == 3 or err.value.line == 4


def test_sniffs_semicolons_and_tabs():
    assert policies.sniff_delimiter("name;email\nAnn;a@x.org\n") == ";"
    assert policies.sniff_delimiter("name\temail\nAnn\ta@x.org\n") == "\t"


def test_guess_mapping_by_name_and_alias():
    mapping = policies.guess_mapping("contact", ["E-mail", "Full Name", "Company", "Mobile"])
    assert mapping == {"name": 1, "email": 0, "phone": 3, "organization": 2}
    assert [f.key for f in policies.missing_required("contact", policies.guess_mapping("contact", ["Email"]))] == ["name"]


@pytest.mark.parametrize("raw, ok", [("2024-02-29", True), ("2024-02-30", False), ("31/12/2024", False),
                                     ("2024-13-01", False), ("", True), ("2024-05-01T10:00:00", True)])
def test_parse_date(raw, ok):
    if ok:
        policies.parse_date(raw)
    else:
        with pytest.raises(ValueError, match="YYYY-MM-DD"):
            policies.parse_date(raw)


@pytest.mark.parametrize("value, shown", [
    ("=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("+44 20 7946 0000", "+44 20 7946 0000"),
    ("-3.5", "-3.5"),
    ("Plain text", "Plain text"),
    (None, ""),
])
def test_safe_cell_guards_against_formula_injection(value, shown):
    assert policies.safe_cell(value) == shown


def test_our_own_guard_is_undone_on_import():
    assert policies.clean_cell("'=SUM(A1)") == "=SUM(A1)"
    assert policies.clean_cell("'quoted'") == "'quoted'"


def test_cyrillic_windows_file_is_not_taken_for_western():
    data = "Имя,Город\nИван Петров,Москва\nОльга Смирнова,Санкт-Петербург\n".encode("cp1251")
    assert policies.detect_encoding(data) == "cp1251"
