"""The Whoosh indexes (articles and FAQ; cases): schema, writing (jobs only) and querying.

Only knowledge_base.jobs calls the writing functions here, on the `search` queue, so each index
has one writer. A full rebuild goes into a fresh folder that a symlink swap makes current, so
searches keep working meanwhile and never see half an index.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein
from whoosh import index as whoosh_index
from whoosh.fields import ID, KEYWORD, NUMERIC, TEXT, Schema
from whoosh.highlight import ContextFragmenter, HtmlFormatter, WholeFragmenter, highlight
from whoosh.matching.wrappers import RequireMatcher
from whoosh.query import And, Require, Term
from whoosh.query import Or as _WhooshOr

from knowledge_base.analysis import (
    LANGUAGE_CODES,
    normalize_word,
    script_analyzer,
    spelling_analyzer,
    text_analyzer,
    tokenizer,
)

class Or(_WhooshOr):
    """A union walked as a tree of matchers; Whoosh would preload every posting into arrays
    the size of the segment for segments under 5,000 documents, slower for our many-term queries."""

    matcher_type = _WhooshOr.DEFAULT_MATCHER


ARTICLES = "articles"
CASES = "cases"
BOOSTS = {"title": 3.0, "summary": 2.0, "body": 1.0}
TAG_BOOST = 2.0
FUZZY_CANDIDATES = 6
SNIPPET_SOURCE_MAX = 4000
_SCRIPTS = {
    "en": re.compile("[A-Za-z]"),
    "it": re.compile("[A-Za-z]"),
    "ru": re.compile("[\u0400-\u04ff]"),
    "bg": re.compile("[\u0400-\u04ff]"),
    "fa": re.compile("[\u0600-\u06ff]"),
}
_WORDS = tokenizer()


def article_schema() -> Schema:
    fields = dict(
        id=ID(stored=True, unique=True),  # "a:12" for an article, "f:3" for an FAQ
        kind=ID(stored=True),
        group=ID(stored=True),  # the translation group
        language=ID(stored=True),
        category=KEYWORD,  # the category and its ancestors: "c3 c7"
        # Who may find it, in which language, as what: "staff|en|article customers|en|article ...".
        access=KEYWORD,
        tags=KEYWORD(lowercase=True, commas=True, scorable=True),
    )
    for lang in LANGUAGE_CODES:
        analyzer = text_analyzer(lang)
        for name in BOOSTS:
            fields[f"{name}_{lang}"] = TEXT(analyzer=analyzer, phrase=False)
        fields[f"spell_{lang}"] = TEXT(analyzer=spelling_analyzer(lang), phrase=False)
    return Schema(**fields)


def case_schema() -> Schema:
    analyzer = script_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        number=ID(stored=True),
        subject=TEXT(analyzer=analyzer, phrase=False),
        messages=TEXT(analyzer=analyzer, phrase=False),
        updated=NUMERIC(stored=True, bits=64),
    )


SCHEMAS = {ARTICLES: article_schema, CASES: case_schema}


# --- where the indexes live ----------------------------------------------------------------


def index_root() -> Path:
    return Path(current_app.config["KB_SEARCH_INDEX_DIR"])


def _link(name: str) -> Path:
    return index_root() / name


def open_index(name: str, create: bool = True):
    """The current index called `name`, created empty the first time (by a writer)."""
    link = _link(name)
    if not link.exists():
        if not create:
            return None
        target = _new_folder(name)
        whoosh_index.create_in(str(target), SCHEMAS[name]())
        _swap(name, target)
    return whoosh_index.open_dir(str(link.resolve()))


def _new_folder(name: str) -> Path:
    root = index_root()
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"{name}-{time.time_ns()}"
    target.mkdir()
    return target


def _swap(name: str, target: Path) -> None:
    link = _link(name)
    old = link.resolve() if link.is_symlink() else None
    tmp = link.with_name(f".{name}-{time.time_ns()}.link")
    os.symlink(target.name, tmp)
    os.replace(tmp, link)  # atomic: a reader sees the old index or the new one
    if old is not None and old != target.resolve() and old.exists():
        shutil.rmtree(old, ignore_errors=True)


# --- writing (called from knowledge_base.jobs only) -------------------------------------------


def writer(name: str):
    return open_index(name).writer(timeout=60.0, delay=0.05)


class Rebuild:
    """A whole index written afresh into its own folder, made current by commit()."""

    def __init__(self, name: str, limitmb: int = 256):
        self.name = name
        self.folder = _new_folder(name)
        self.index = whoosh_index.create_in(str(self.folder), SCHEMAS[name]())
        procs = int(current_app.config.get("KB_INDEX_PROCS") or min(4, os.cpu_count() or 1))
        # Several processes analyze and write a segment each; the segments stay separate.
        options = dict(procs=procs, multisegment=True) if procs > 1 else {}
        self.writer = self.index.writer(limitmb=limitmb, **options)

    def add(self, doc: dict) -> None:
        self.writer.add_document(**doc)

    def commit(self) -> None:
        self.writer.commit()
        _swap(self.name, self.folder)
        _forget_searchers()

    def cancel(self) -> None:
        self.writer.cancel()
        shutil.rmtree(self.folder, ignore_errors=True)


# --- reading --------------------------------------------------------------------------------

_local = threading.local()


def searcher(name: str):
    """This thread's searcher of the current index, reopened when a writer committed since.

    (Whoosh's own refresh() keeps a segment's old deletions, so a deleted document would linger.)
    """
    link = _link(name)
    if not link.exists():
        return None
    real = os.path.realpath(link)
    cache = getattr(_local, "searchers", None)
    if cache is None:
        cache = _local.searchers = {}
    entry = cache.get(name)
    if entry is not None and entry[0] == real:
        ix, s, generation = entry[1], entry[2], entry[3]
        latest = ix.latest_generation()
        if latest == generation:
            return s
        s.close()
    else:
        if entry is not None:
            entry[2].close()
        try:
            ix = whoosh_index.open_dir(real)
        except (AttributeError, ImportError, EOFError) as exc:
            # An index written by an older version of the analyzers: searching finds nothing
            # until `flask kb reindex` rebuilds it.
            current_app.logger.error("The %s index cannot be read (%s); run `flask kb reindex`.", name, exc)
            return None
    generation = ix.latest_generation()
    s = ix.searcher()
    cache[name] = (real, ix, s, generation)
    return s


def _forget_searchers() -> None:
    cache = getattr(_local, "searchers", None) or {}
    for entry in cache.values():
        entry[2].close()
    cache.clear()


class _FilterMatcher(RequireMatcher):
    def skip_to_quality(self, minquality):
        # Whoosh 2.7's RequireMatcher asserts when the skip lands both sides on one document.
        skipped = self.a.skip_to_quality(minquality)
        if self.a.is_active() and self.b.is_active() and self.a.id() != self.b.id():
            self.child._find_next()
        return skipped


class Filtered(Require):
    """Documents of `a` that also match `b`, scored by `a` alone."""

    def matcher(self, searcher, context=None):
        return _FilterMatcher(self.a.matcher(searcher, context), self.b.matcher(searcher, searcher.boolean_context()))


@dataclass
class IndexHit:
    kind: str  # article or faq
    id: int
    group: str
    language: str
    score: float


@dataclass
class IndexResults:
    hits: list[IndexHit]
    total: int
    terms: dict[str, set[str]] = field(default_factory=dict)  # per language: the index terms that matched
    suggestion: str | None = None
    relaxed: bool = False  # no document had every word; these match some of them


def words_of(text: str) -> list[str]:
    return [t.text for t in _WORDS(text or "")]


def search_articles(text: str, *, languages: list[str], audience: str, category_id: int | None = None,
                    kinds: tuple[str, ...] = ("article",), limit: int = 10,
                    synonyms: dict[str, list[list[str]]] | None = None) -> IndexResults:
    """Every word must match (in title, summary, body or tags, in any of `languages`); when no
    document has them all, documents with some of them. A word found in none of the languages is
    matched within one or two typing errors of the indexed words, and "did you mean" offers the
    closest title words."""
    s = searcher(ARTICLES)
    words = words_of(text)[:12]
    if s is None or not words:
        return IndexResults([], 0)
    reader = s.reader()
    leaves = [leaf for leaf, _ in reader.leaf_readers()]
    exact = {lang: _exact(reader, lang, words, (synonyms or {}).get(lang, [])) for lang in languages}
    unknown = [i for i in range(len(words)) if not any(exact[lang][i] for lang in languages)]
    for i in unknown:
        for lang in languages:
            if _SCRIPTS[lang].search(words[i]):
                exact[lang][i] = _near(leaves, reader, lang, _stems(lang, words[i]))
    plans = {lang: [stems for stems in plan if stems] for lang, plan in exact.items()}
    terms = {lang: {t for clause in plan for t in clause} for lang, plan in plans.items()}
    allowed = [Term("access", f"{audience}|{lang}|{kind}") for lang in languages for kind in kinds]
    filters = Or(allowed) if len(allowed) > 1 else allowed[0]
    if category_id:
        filters = And([filters, Term("category", f"c{category_id}")])
    relaxed = False
    results = _run(s, plans, And, filters, limit)
    if results.scored_length() == 0 and len(words) > 1:
        results = _run(s, plans, Or, filters, limit)
        relaxed = True
    hits = []
    for hit in results:
        kind, _, raw_id = hit["id"].partition(":")
        hits.append(IndexHit("faq" if kind == "f" else "article", int(raw_id), hit["group"], hit["language"], hit.score))
    total = results.estimated_length() if hits else 0
    suggestion = _suggest(leaves, reader, words, unknown, languages) if unknown else None
    return IndexResults(hits, total, terms, suggestion, relaxed)


def _run(s, plans, combine, filters, limit):
    per_language = []
    for lang, plan in plans.items():
        clauses = [_clause(lang, stems) for stems in plan]
        if clauses:
            per_language.append(combine(clauses) if len(clauses) > 1 else clauses[0])
    if not per_language:
        return s.search(Term("id", "-none-"), limit=1)
    query = Filtered(Or(per_language) if len(per_language) > 1 else per_language[0], filters)
    return s.search(query, limit=limit)


def _clause(lang: str, stems: set[str]):
    parts = []
    for stem in sorted(stems):
        for name, boost in BOOSTS.items():
            parts.append(Term(f"{name}_{lang}", stem, boost=boost))
    return Or(parts)


def _stems(lang: str, word: str) -> set[str]:
    return {t.text for t in text_analyzer(lang)(word)}


def _exact(reader, lang: str, words: list[str], synonym_sets: list[list[str]]) -> list[set[str]]:
    """For each word of the query: the index terms it stands for in this language (its stem and
    its synonyms' stems) that the index holds."""
    plan = []
    for word in words:
        stems = _stems(lang, word)
        if stems:
            normalized = normalize_word(lang, word)
            for group in synonym_sets:
                if normalized in group:
                    for other in group:
                        stems |= _stems(lang, other)
        plan.append({t for t in stems if _in_language(reader, lang, t)})
    return plan


def _in_language(reader, lang: str, term: str) -> bool:
    return any((f"{name}_{lang}", term) in reader for name in BOOSTS)


_LEAF_TERMS: dict[tuple, dict[str, list[str]]] = {}
_LEAF_TERMS_MAX = 256


def _terms_by_initial(leaf, fieldname: str) -> dict[str, list[str]]:
    """A segment's terms of one field, grouped by first letter; segments never change, so this is
    read once per process and segment."""
    key = (leaf.segment().segment_id(), fieldname)
    found = _LEAF_TERMS.get(key)
    if found is None:
        found = {}
        if fieldname in leaf.indexed_field_names():
            for term in leaf.field_terms(fieldname):
                found.setdefault(term[:1], []).append(term)
        if len(_LEAF_TERMS) > _LEAF_TERMS_MAX:
            _LEAF_TERMS.clear()
        _LEAF_TERMS[key] = found
    return found


def _within(leaves, fieldname: str, text: str, maxdist: int) -> dict[str, int]:
    """Indexed terms within `maxdist` edits (transpositions count one) sharing the first letter."""
    found: dict[str, int] = {}
    for leaf in leaves:
        candidates = _terms_by_initial(leaf, fieldname).get(text[:1])
        if candidates:
            for term, dist, _ in process.extract(text, candidates, scorer=DamerauLevenshtein.distance,
                                                 score_cutoff=maxdist, limit=None):
                found[term] = min(dist, found.get(term, dist))
    return found


def _near(leaves, reader, lang: str, stems: set[str]) -> set[str]:
    found: dict[str, int] = {}
    for stem in stems:
        if len(stem) < 4:
            continue
        maxdist = 1 if len(stem) < 7 else 2
        for name in ("title", "body"):
            fieldname = f"{name}_{lang}"
            for term in _within(leaves, fieldname, stem, maxdist):
                found[term] = max(found.get(term, 0), reader.doc_frequency(fieldname, term))
    return set(sorted(found, key=lambda t: (-found[t], t))[:FUZZY_CANDIDATES])


def _suggest(leaves, reader, words: list[str], unknown: list[int], languages: list[str]) -> str | None:
    """"Did you mean": each unknown word replaced by the closest, most frequent title or summary word."""
    out, changed = list(words), False
    for i in unknown:
        best = None
        for lang in languages:
            if not _SCRIPTS[lang].search(words[i]):
                continue
            normalized = normalize_word(lang, words[i])
            fieldname = f"spell_{lang}"
            for candidate, dist in _within(leaves, fieldname, normalized, 2).items():
                key = (dist, -reader.doc_frequency(fieldname, candidate), candidate)
                if best is None or key < best:
                    best = key
        if best is not None:
            out[i] = best[2]
            changed = True
    return " ".join(out) if changed else None


def search_cases(text: str, limit: int = 10) -> list[tuple[int, float]]:
    """Case ids whose number, subject or messages match every word (else some of them)."""
    s = searcher(CASES)
    words = words_of(text)[:12]
    if s is None or not words:
        return []
    analyzer = script_analyzer()
    clauses = []
    for word in words:
        stems = {t.text for t in analyzer(word)}
        parts = [Term("number", word.upper())]
        for stem in stems:
            parts += [Term("subject", stem, boost=2.0), Term("messages", stem)]
        clauses.append(Or(parts))
    number = Term("number", text.strip().upper(), boost=10.0)
    results = s.search(Or([number, And(clauses)]), limit=limit)
    if results.scored_length() == 0 and len(clauses) > 1:
        results = s.search(Or(clauses), limit=limit)
    return [(int(hit["id"]), hit.score) for hit in results]


def read_watermark(name: str) -> float:
    """The `updated` stamp up to which an index has been brought (0 before the first run)."""
    path = index_root() / f"{name}.watermark"
    try:
        return float(path.read_text().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0.0


def write_watermark(name: str, value: float) -> None:
    path = index_root() / f"{name}.watermark"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(repr(float(value)))
    os.replace(tmp, path)


# --- snippets -------------------------------------------------------------------------------

_FORMATTER = HtmlFormatter(tagname="mark", between=" … ")


def snippet(text: str, terms: set[str], language: str, chars: int = 220) -> str:
    """The passage of `text` that best shows the matched terms, with them marked (HTML-escaped)."""
    if not text or not terms:
        return ""
    fragmenter = ContextFragmenter(maxchars=chars, surround=60)
    # The passage is shown near the matches; a long article's tail rarely holds the best one.
    return highlight(text[:SNIPPET_SOURCE_MAX], terms, text_analyzer(language), fragmenter, _FORMATTER, top=2) or ""


def mark_all(text: str, terms: set[str], language: str) -> str:
    """The whole (short) text with matched terms marked, or "" when none is in it."""
    if not text or not terms:
        return ""
    return highlight(text, terms, text_analyzer(language), WholeFragmenter(), _FORMATTER, top=1) or ""
