"""Knowledge-base search at scale: search latency, full reindex time and save-to-findable delay.

    .venv/bin/python bench/kb.py [--articles 50000] [--queries 500] [--saves 10] [--no-worker]

Generates N articles in five languages (en, ru, it, bg, fa; 1/5 each, translations of one
another in groups of five) with a Zipf-distributed vocabulary of inflected words, seeds them into
a SQLite database under bench/.data/ (kept and reused for the same N), then:

1. times a full rebuild of the index (`knowledge_base.jobs.reindex_all`, what `flask kb reindex`
   runs) — target ≤ 60 s at 50,000 articles;
2. times `knowledge_base.queries.search()` as the portal calls it (index query, database check of
   every hit, highlighted snippets, "did you mean"): 1–3 words of mid frequency, a tenth of them
   with a typo, in a random language, as a public or customer viewer — target p95 ≤ 15 ms;
3. starts redis-server and one `rq worker` on the `search` queue and times, for --saves articles,
   the delay from the commit of a new published article to the moment search() finds it —
   target ≤ 1 s. (--no-worker measures the embedded mode instead: the job runs after the commit.)

Prints the figures and writes them to bench/results/kb-N.json.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA_DIR = Path(__file__).resolve().parent / ".data"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
LANGS = ("en", "ru", "it", "bg", "fa")
ALPHABETS = {
    "en": ("b c d f g h k l m n p r s t v w", "a e i o u"),
    "it": ("b c d f g l m n p r s t v z", "a e i o u"),
    "ru": ("б в г д ж з к л м н п р с т ф х ч ш", "а е и о у ы я ю"),
    "bg": ("б в г д ж з к л м н п р с т ф х ч ш щ", "а е и о у ъ я ю"),
    "fa": ("ب پ ت ج چ خ د ر ز س ش ف ک گ ل م ن ه", "ا و ی"),
}
SUFFIXES = {
    "en": ["", "", "", "s", "ing", "ed", "er"],
    "it": ["", "", "i", "e", "are", "ato"],
    "ru": ["", "", "ы", "ами", "ов", "ом", "ой"],
    "bg": ["", "", "ът", "та", "ите", "и"],
    "fa": ["", "", "\u200cها", "ها", "ی", "\u200cهای"],
}
VOCABULARY = 20_000
TYPO_SHARE = 0.1


def make_vocabulary(lang: str, rng: random.Random) -> list[str]:
    consonants, vowels = (part.split() for part in ALPHABETS[lang])
    words, seen = [], set()
    while len(words) < VOCABULARY:
        word = "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


class Language:
    def __init__(self, lang: str, rng: random.Random):
        self.lang = lang
        self.words = make_vocabulary(lang, rng)
        self.cum = []
        total = 0.0
        for rank in range(1, len(self.words) + 1):
            total += 1.0 / rank
            self.cum.append(total)
        self.rng = rng

    def text(self, n: int) -> str:
        picks = self.rng.choices(self.words, cum_weights=self.cum, k=n)
        return " ".join(w + self.rng.choice(SUFFIXES[self.lang]) for w in picks)

    def mid_words(self, k: int) -> list[str]:
        return [self.words[self.rng.randint(200, 5000)] for _ in range(k)]


def seed(path: Path, n: int) -> None:
    """Articles, their first versions and translation groups, straight into SQLite."""
    from sqlalchemy import insert

    from helpdesk.extensions import db
    from helpdesk.people.models import User
    from knowledge_base.models import Article, ArticleStatus, ArticleVersion, TranslationGroup, Visibility

    rng = random.Random(42)
    languages = {lang: Language(lang, rng) for lang in LANGS}
    db.session.execute(insert(User), [dict(id=1, email="bench@staff.example", name="Bench", password_hash="x",
                                           role="manager", session_token="x")])
    groups = (n + len(LANGS) - 1) // len(LANGS)
    db.session.execute(insert(TranslationGroup), [dict(id=i + 1) for i in range(groups)])
    batch, versions = [], []
    visibilities = [Visibility.PUBLIC, Visibility.PUBLIC, Visibility.CUSTOMERS, Visibility.INTERNAL]
    for i in range(n):
        lang = LANGS[i % len(LANGS)]
        gen = languages[lang]
        title = gen.text(rng.randint(4, 8)).capitalize()
        summary = gen.text(rng.randint(10, 20))
        body = gen.text(rng.randint(60, 260))
        status = ArticleStatus.PUBLISHED if rng.random() < 0.9 else ArticleStatus.DRAFT
        batch.append(dict(id=i + 1, translation_group_id=i // len(LANGS) + 1, language=lang, slug=f"a-{i + 1}",
                          title=title[:300], summary=summary[:1000], body=body, body_html=f"<p>{body}</p>", body_text=body,
                          tags=[], status=status, visibility=rng.choice(visibilities), author_id=1, version_number=1))
        versions.append(dict(article_id=i + 1, number=1, title=title[:300], summary=summary[:1000], body=body, tags=[], author_id=1))
        if len(batch) == 2000:
            db.session.execute(insert(Article), batch)
            db.session.execute(insert(ArticleVersion), versions)
            batch, versions = [], []
    if batch:
        db.session.execute(insert(Article), batch)
        db.session.execute(insert(ArticleVersion), versions)
    db.session.commit()


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the index writer's processes)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def make_app(db_path: Path, index_dir: Path, redis_url: str | None = None):
    from helpdesk import create_app

    return create_app({
        "ENV": "testing", "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
        "INSTANCE_PATH": str(db_path.parent / "instance"), "ATTACHMENT_DIR": str(db_path.parent / "attachments"),
        "OUTBOX_DIR": str(db_path.parent / "outbox"), "EDGE_PACKAGES": ["knowledge_base"], "REDIS_URL": redis_url,
        "SMTP_HOST": None, "KB_SEARCH_INDEX_DIR": str(index_dir),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--saves", type=int, default=10)
    parser.add_argument("--skip-reindex", action="store_true", help="search the index a previous run built")
    parser.add_argument("--no-worker", action="store_true", help="time the embedded mode instead of an rq worker")
    args = parser.parse_args()

    from helpdesk.extensions import db
    from knowledge_base import jobs, queries, search, services
    from knowledge_base.queries import Viewer

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    db_path = DATA_DIR / f"kb-{args.articles}.sqlite"
    index_dir = DATA_DIR / f"kb-{args.articles}-index"
    app = make_app(db_path, index_dir)
    with app.app_context():
        fresh = not db_path.exists() or db_path.stat().st_size == 0
        db.create_all()
        from knowledge_base.models import Article

        if fresh or (db.session.scalar(db.select(db.func.count(Article.id))) or 0) < args.articles:
            db.drop_all()
            db.create_all()
            started = time.perf_counter()
            seed(db_path, args.articles)
            print(f"seeded {args.articles} articles in {time.perf_counter() - started:.1f} s")
        words = db.session.scalar(db.select(db.func.sum(db.func.length(Article.body_text) - db.func.length(
            db.func.replace(Article.body_text, " ", "")) + 1)))
        print(f"{args.articles} articles, about {words / 1e6:.1f} M body words")

        # 1. full reindex
        reindex_s = None
        if not args.skip_reindex:
            started, cpu = time.perf_counter(), _cpu()
            counts = jobs.reindex_all()
            reindex_s = time.perf_counter() - started
            print(f"full reindex: {reindex_s:.1f} s for {counts['articles']} articles (target ≤ 60 s), "
                  f"{_cpu() - cpu:.0f} CPU s in all processes; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

        # 2. search latency through the public API
        rng = random.Random(7)
        gens = {lang: Language(lang, random.Random(42)) for lang in LANGS}  # same vocabulary as the seed
        from helpdesk.people.models import Contact

        contact = Contact(name="Bench Customer", email="customer@bench.example")
        db.session.add(contact)
        db.session.commit()
        viewers = [Viewer.public(), Viewer.customer(contact)]
        plans = []
        for _ in range(args.queries):
            lang = rng.choice(LANGS)
            terms = gens[lang].mid_words(rng.randint(1, 3))
            if rng.random() < TYPO_SHARE:
                w = terms[0]
                pos = rng.randrange(1, len(w))
                terms[0] = w[:pos] + w[pos + 1:]
            plans.append((" ".join(terms), lang, rng.choice(viewers)))
        for text, lang, viewer in plans[:20]:  # warm-up
            queries.search(text, viewer=viewer, language=lang, log=False)
        times, found = [], 0
        for text, lang, viewer in plans:
            t = time.perf_counter()
            results = queries.search(text, viewer=viewer, language=lang, log=False)
            times.append((time.perf_counter() - t) * 1000)
            found += bool(results.hits)
        p50, p95, p99 = percentile(times, 50), percentile(times, 95), percentile(times, 99)
        print(f"search ({args.queries} queries, {found} with results): p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
              f"p99 {p99:.1f} ms, max {max(times):.1f} ms (target p95 ≤ 15 ms)")

    # 3. save-to-findable
    delays = save_to_findable(args, db_path, index_dir)
    print(f"save to findable ({'embedded' if args.no_worker else 'rq worker'}, {len(delays)} saves): "
          f"p50 {statistics.median(delays):.2f} s, max {max(delays):.2f} s (target ≤ 1 s)")

    RESULTS_DIR.mkdir(exist_ok=True)
    result = {"articles": args.articles, "reindex_s": reindex_s and round(reindex_s, 2), "search_ms": {"p50": round(p50, 2),
              "p95": round(p95, 2), "p99": round(p99, 2), "max": round(max(times), 2)}, "queries": args.queries,
              "queries_with_results": found, "save_to_findable_s": {"p50": round(statistics.median(delays), 3),
              "max": round(max(delays), 3)}, "mode": "embedded" if args.no_worker else "rq worker",
              "load_average": os.getloadavg()}
    (RESULTS_DIR / f"kb-{args.articles}.json").write_text(json.dumps(result, indent=2))


def save_to_findable(args, db_path: Path, index_dir: Path) -> list[float]:
    from helpdesk.extensions import db
    from knowledge_base import queries, search, services
    from knowledge_base.queries import Viewer
    from helpdesk.people.models import User

    def measure(app) -> list[float]:
        delays = []
        with app.app_context():
            editor = db.session.get(User, 1)
            for i in range(args.saves):
                word = "zq" + uuid.uuid4().hex[:12]  # unknown until indexed, and far from every other word
                article = services.create_article(editor, title=f"Fresh note {word}", body="Just saved.", visibility="public")
                services.change_status(editor, article, "published")
                db.session.commit()
                saved = time.perf_counter()
                while True:
                    if queries.search(word, viewer=Viewer.public(), language="en", log=False).hits:
                        break
                    if time.perf_counter() - saved > 30:
                        raise SystemExit(f"article {article.id} not findable after 30 s")
                    time.sleep(0.01)
                delays.append(time.perf_counter() - saved)
        return delays

    if args.no_worker:
        return measure(make_app(db_path, index_dir))
    from tests.services import redis_server, stop_process

    with redis_server(DATA_DIR / "kb-redis") as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
        env.update(HELPDESK_ENV="testing", HELPDESK_SECRET_KEY="bench", HELPDESK_REDIS_URL=url,
                   HELPDESK_DATABASE_URL=f"sqlite:///{db_path}", HELPDESK_INSTANCE_PATH=str(db_path.parent / "instance"),
                   HELPDESK_SEARCH_INDEX_DIR=str(index_dir), HELPDESK_EDGE_PACKAGES="knowledge_base")
        rq = str(Path(sys.executable).parent / "rq")
        worker = subprocess.Popen([rq, "worker", "--worker-class", "helpdesk.jobs.Worker", "--url", url, "search"],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(3)  # the worker builds its app once
            return measure(make_app(db_path, index_dir, redis_url=url))
        finally:
            stop_process(worker)


if __name__ == "__main__":
    main()
