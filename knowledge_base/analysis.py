"""Per-language text analysis for the search index: tokenizing, normalizing, stop words and stemming.

English, Russian, Italian and Persian are stemmed with Snowball (PyStemmer); Bulgarian, which
Snowball lacks, with a light suffix stripper after Savoy's. Every analyzer keeps the character
offsets of the original text, so highlighting works on what the reader sees.
"""
from __future__ import annotations

import re
import unicodedata

from whoosh.analysis import Filter, RegexTokenizer
from whoosh.lang import stopwords_for_language

LANGUAGE_CODES = ("en", "ru", "it", "bg", "fa")

# Words with the marks, tatweel and joiners that live inside Arabic-script and accented words,
# and dotted runs like 2.7.5 or e.g.
TOKEN_PATTERN = r"[\w\u0300-\u036f\u064b-\u065f\u0670\u0640\u200c\u200d]+(?:\.[\w]+)*"

ZWNJ = "\u200c"
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_PERSIAN_LETTERS = str.maketrans({
    "ي": "ی", "ى": "ی", "ئ": "ی",  # Arabic yeh and alef maksura -> Persian yeh
    "ك": "ک",  # Arabic kaf -> Persian keheh
    "ة": "ه", "ۀ": "ه", "ە": "ه",
    "أ": "ا", "إ": "ا", "ٱ": "ا",
    "ؤ": "و",
    "\u0640": None,  # tatweel
    "\u200d": None,  # zero-width joiner
})
_ARABIC_MARKS = re.compile("[\u064b-\u065f\u0670]")
_PERSIAN_AFFIXES = {"می", "نمی", "ها", "های", "هایی", "ای", "ی", "تر", "ترین", "ام", "ات", "اش", "مان", "تان", "شان"}
# Latin letters typed by mistake inside Cyrillic words look the same but do not match.
_LATIN_TO_CYRILLIC = str.maketrans("aceopxyiABCEHKMOPTXY", "асеорхуіАВСЕНКМОРТХУ")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff]")


def fold_digits(text: str) -> str:
    return text.translate(_DIGITS)


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


def normalize_persian(word: str) -> str:
    """Arabic letter forms to Persian, marks and tatweel away, digits to ASCII, verb/plural parts
    written with a zero-width non-joiner taken off (می‌خواهم -> خواهم, کتاب‌ها -> کتاب)."""
    word = _ARABIC_MARKS.sub("", word.translate(_PERSIAN_LETTERS)).translate(_DIGITS)
    if ZWNJ in word:
        parts = [p for p in word.split(ZWNJ) if p]
        core = [p for p in parts if p not in _PERSIAN_AFFIXES]
        word = "".join(core or parts)
    return word


def normalize_bulgarian(word: str) -> str:
    """Stress marks away, ѝ as и, Latin look-alikes inside a Cyrillic word made Cyrillic."""
    word = word.replace("ѝ", "и").replace("\u0300", "").replace("\u0301", "")
    if _CYRILLIC.search(word):
        word = word.translate(_LATIN_TO_CYRILLIC).replace("і", "и")
    return fold_digits(word)


def normalize_russian(word: str) -> str:
    return fold_digits(word.replace("ё", "е"))


def normalize_latin(word: str) -> str:
    return fold_digits(word)


NORMALIZERS = {
    "en": normalize_latin,
    "it": normalize_latin,
    "ru": normalize_russian,
    "bg": normalize_bulgarian,
    "fa": normalize_persian,
}


def normalize_word(language: str, word: str) -> str:
    return NORMALIZERS[language](word.lower())


def bulgarian_stem(word: str) -> str:
    w = list(word)
    n = len(w)
    if n < 4:
        return word

    def ends(suffix: str) -> bool:
        return n >= len(suffix) and "".join(w[n - len(suffix):n]) == suffix

    if n > 5 and ends("ища"):
        return "".join(w[: n - 3])
    # definite articles
    if n > 6 and ends("ият"):
        n -= 3
    elif n > 5 and (ends("ът") or ends("то") or ends("те") or ends("та") or ends("ия")):
        n -= 2
    elif n > 4 and ends("ят"):
        n -= 2
    # plurals
    if n > 6 and ends("ове"):
        n -= 3
    elif n > 6 and ends("еве"):
        w[n - 3] = "й"
        n -= 2
    elif n > 5 and ends("ища"):
        n -= 3
    elif n > 5 and ends("та"):
        n -= 2
    elif n > 5 and ends("ци"):
        w[n - 2] = "к"
        n -= 1
    elif n > 5 and ends("зи"):
        w[n - 2] = "г"
        n -= 1
    elif n > 4 and ends("си"):
        w[n - 2] = "х"
        n -= 1
    elif n > 4 and ends("и"):
        n -= 1
    if n > 3:
        if ends("я"):
            n -= 1
        if ends("а") or ends("о") or ends("е"):
            n -= 1
    if n > 4 and ends("ен"):
        w[n - 2] = "н"
        n -= 1
    if n > 5 and w[n - 2] == "ъ":
        w[n - 2] = w[n - 1]
        n -= 1
    return "".join(w[:n])


_BG_STOP = set("""а аз ако ала бе без би бил била били било без в вас ви все всички всичко всеки във вие все
да дали до докато е едва ето за защото и из или им има има ли като кой коя което които кога когато
към ли между ме мен ми много му на над не него нея ни но някой някои няма нещо о обаче около от ето
по под поне при пред преди са се си след сме със също та така там те тези то това този той тук ти
тя у че чрез ще щом я""".split())
_FA_STOP = set("""و در به از که این را با است برای آن یک تا هم بر هر یا اما اگر نیز شود شده می نمی
های ها ای ی باید هست بود چه چرا کرد کند کنید کنم پس روی زیر ما من شما او آنها دیگر همه""".split())
_IT_ELISIONS = {"l", "un", "dell", "all", "dall", "nell", "sull", "quest", "quell", "c", "d", "m", "t", "s", "v", "n"}

STOP_WORDS = {
    "en": frozenset(stopwords_for_language("en")),
    "ru": frozenset(stopwords_for_language("ru")),
    "it": frozenset(stopwords_for_language("it")) | _IT_ELISIONS,
    "bg": frozenset(_BG_STOP),
    "fa": frozenset(normalize_persian(w) for w in _FA_STOP),
}
_SNOWBALL = {"en": "english", "ru": "russian", "it": "italian", "fa": "persian"}


_MISSING = object()
_CACHE_MAX = 200_000


class LanguageFilter(Filter):
    """Lower case, normalization, stop words, stemming (and for en/it accent folding) of one
    language in one step, remembered per word: indexing does one dictionary look-up per token."""

    def __init__(self, language: str, stem: bool = True, stop: bool = True):
        self.language, self.stem, self.stop = language, stem, stop
        self._cache: dict[str, str | None] = {}
        self._stemmer = None

    def __getstate__(self):  # the schema is pickled into the index; the C stemmer is not picklable
        return {"language": self.language, "stem": self.stem, "stop": self.stop}

    def __setstate__(self, state):
        self.__init__(**state)

    def __eq__(self, other):
        return other.__class__ is self.__class__ and other.__getstate__() == self.__getstate__()

    def term(self, word: str) -> str | None:
        """The index term of a word, "" for nothing, None for a stop word."""
        found = self._cache.get(word, _MISSING)
        if found is _MISSING:
            if len(self._cache) > _CACHE_MAX:
                self._cache.clear()
            found = self._cache[word] = self._term(word)
        return found

    def _term(self, word: str) -> str | None:
        lang = self.language
        text = NORMALIZERS[lang](word.lower())
        if not text:
            return ""
        if self.stop and text in STOP_WORDS[lang]:
            return None
        if self.stem:
            if lang == "bg":
                text = bulgarian_stem(text)
            else:
                if self._stemmer is None:
                    import Stemmer

                    self._stemmer = Stemmer.Stemmer(_SNOWBALL[lang])
                text = self._stemmer.stemWord(text)
        if lang in ("en", "it") and not text.isascii():
            text = strip_accents(text)
        return text

    def __call__(self, tokens):
        term = self.term
        for t in tokens:
            found = term(t.text)
            if found is None:
                if t.removestops:
                    continue
                t.stopped = True
                yield t
            elif found:
                t.text = found
                t.stopped = False
                yield t


def tokenizer() -> RegexTokenizer:
    return RegexTokenizer(TOKEN_PATTERN)


_ANALYZERS: dict[tuple[str, bool], object] = {}


def text_analyzer(language: str):
    """The analyzer of the title, summary and body fields of one language (one per process)."""
    key = (language, True)
    if key not in _ANALYZERS:
        _ANALYZERS[key] = tokenizer() | LanguageFilter(language)
    return _ANALYZERS[key]


def spelling_analyzer(language: str):
    """Whole normalized words (no stop words, no stemming): the dictionary of "did you mean"."""
    key = (language, False)
    if key not in _ANALYZERS:
        _ANALYZERS[key] = tokenizer() | LanguageFilter(language, stem=False, stop=False)
    return _ANALYZERS[key]


def script_analyzer():
    """For text of unknown language (cases): the word's script picks the rules (Cyrillic: Russian,
    Arabic script: Persian, anything else: English)."""
    return tokenizer() | ScriptFilter()


class ScriptFilter(Filter):
    def __init__(self):
        self._by_script = {"ru": LanguageFilter("ru", stop=False), "fa": LanguageFilter("fa", stop=False),
                           "en": LanguageFilter("en", stop=False)}

    def __getstate__(self):
        return {}

    def __setstate__(self, state):
        self.__init__()

    def __eq__(self, other):
        return other.__class__ is self.__class__

    def __call__(self, tokens):
        for t in tokens:
            text = t.text
            if _CYRILLIC.search(text):
                found = self._by_script["ru"].term(normalize_bulgarian(text.lower()))
            elif _ARABIC_SCRIPT.search(text):
                found = self._by_script["fa"].term(text)
            else:
                found = self._by_script["en"].term(text)
            if found:
                t.text = found
                yield t


def analyze(language: str, text: str) -> list[str]:
    """The index terms of a text (for tests and for query building)."""
    return [t.text for t in text_analyzer(language)(text)]
