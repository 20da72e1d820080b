#!/usr/bin/env bash
# SQLite and PostgreSQL side by side: scripts/bench-backends.sh [PRACTICES] (default 100000).
#
# Builds the release binary and generates one catalog (seed 42, kept in $BENCH_BACKENDS_DIR/catalog,
# default /tmp/bs-backends-N, and reused next time). Then, with scripts/bench-http.sh:
#   1. prepare each backend from nothing: SQLite a new file, PostgreSQL a new database
#      bs_bench_N on $BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432); the CLI
#      import and the offline `brightspots reindex` (of instance A's index, then B's) timed;
#   2. serve each, back to back: reading pages and search under wrk, write→searchable on the
#      same instance and across two instances on the same database (vetted on A, searched on
#      B), peak RSS, search with the result cache off. ROUNDS=N (default 1) repeats step 2,
#      alternating the order (SQLite, PostgreSQL, PostgreSQL, SQLite, …); the table then shows
#      the median of the rounds.
# The PostgreSQL database is dropped at the end unless BENCH_KEEP_DB=1. The full reports go to
# $BENCH_BACKENDS_DIR/{sqlite,postgres}[-serve-R].log; stdout gets one table of both.
#
# Settings passed on to bench-http.sh: CONNECTIONS (default here "8"), DURATION (10), VISIBLE
# (30), TAIL_SHARE (0.25), PORT (3911 for SQLite; PostgreSQL uses PORT+10).
set -euo pipefail

N=${1:-100000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_BACKENDS_DIR:-/tmp/bs-backends-$N}
PORT=${PORT:-3911}
ROUNDS=${ROUNDS:-1}
export CONNECTIONS=${CONNECTIONS:-8}
mkdir -p "$WORK"

if [ -n "${BRIGHTSPOTS_BIN:-}" ]; then
    BIN=$BRIGHTSPOTS_BIN
else
    (cd "$ROOT" && cargo build --release --quiet)
    BIN="$ROOT/target/release/brightspots"
fi
if [ ! -d "$WORK/catalog/practices" ]; then
    echo "generating $N practices into $WORK/catalog…" >&2
    rm -rf "$WORK/catalog.partial"
    /usr/bin/time -f "generate: %e s" "$BIN" generate --practices "$N" --seed 42 --out "$WORK/catalog.partial" >/dev/null
    mv "$WORK/catalog.partial" "$WORK/catalog"
fi

load() { cut -d' ' -f1-3 /proc/loadavg | tr ' ' /; }
bench() { # backend, phase, name of the run
    local backend=$1 phase=$2 name=$3 port=$PORT
    [ "$backend" = postgres ] && port=$((PORT + 10))
    echo "$name: started $(date -u +%FT%TZ), load average $(load)" >&2
    echo "load_start $(load)" >"$WORK/$name.load"
    BENCH_DATABASE=$backend BENCH_PHASES=$phase BENCH_REUSE=0 BRIGHTSPOTS_BIN=$BIN \
        BENCH_HTTP_DIR="$WORK/$backend" BENCH_SUMMARY="$WORK/$name.summary" \
        BENCH_CATALOG="$WORK/catalog" PORT=$port \
        bash "$ROOT/scripts/bench-http.sh" "$N" >"$WORK/$name.log" 2>"$WORK/$name.err" ||
        { echo "$name failed; see $WORK/$name.log and $WORK/$name.err" >&2; tail -20 "$WORK/$name.err" >&2; exit 1; }
    echo "load_end $(load)" >>"$WORK/$name.load"
    echo "$name: done $(date -u +%FT%TZ), load average $(load)" >&2
}
for backend in sqlite postgres; do
    bench $backend prepare "$backend-prepare"
done
order=(sqlite postgres)
for round in $(seq "$ROUNDS"); do
    for backend in "${order[@]}"; do
        bench "$backend" serve "$backend-serve-$round"
    done
    order=("${order[1]}" "${order[0]}")
done
if [ "${BENCH_KEEP_DB:-0}" != 1 ]; then
    PGOPTIONS="-c client_min_messages=warning" psql "${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}/postgres" \
        -qAt -c "drop database if exists bs_bench_$N with (force)"
fi

# The connection level of the table: 8 if it was run, else the first.
level=$(for c in $CONNECTIONS; do echo "$c"; done | grep -x 8 || echo "${CONNECTIONS%% *}")
python3 - "$WORK" "$N" "$level" "$ROUNDS" <<'EOF'
import statistics
import sys

work, n, c, rounds = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])


def read(name):
    d = {}
    for f in (f"{work}/{name}.summary", f"{work}/{name}.load"):
        for line in open(f):
            k, _, v = line.rstrip("\n").partition(" ")
            d[k] = v.split()
    return d


def num(x):
    try:
        return float(x)
    except ValueError:
        return float("nan")


prep = {b: read(f"{b}-prepare") for b in ("sqlite", "postgres")}
serve = {b: [read(f"{b}-serve-{r}") for r in range(1, rounds + 1)] for b in ("sqlite", "postgres")}
med = statistics.median


def over_rounds(b, f):
    """The median over the rounds of f(one round's figures); nan if a round lacks them."""
    try:
        return med(f(d) for d in serve[b])
    except (KeyError, IndexError):
        return float("nan")


def fmt(x, unit):
    if x != x:
        return "–"
    if unit == "/s":
        return f"{x:,.0f}/s"
    if unit == "ms":
        return f"{x:.3g} ms" if x < 100 else f"{x:,.0f} ms"
    return f"{x:.3g}"


def row(label, s, p, note=""):
    print(f"| {label} | {s} | {p} | {note} |")


print(f"{n:,} practices, {c} connections, median of {rounds} round(s). In brackets: the ratio to `/healthz` "
      "of the same backend's run (requests/s ÷ its requests/s; a latency ÷ its latency). Last column: "
      "PostgreSQL's cost over SQLite's, each figure first scaled by the machine's speed in its own run "
      "(`/healthz` requests/s; a latency × it, requests/s ÷ it), then the plain quotient in brackets: "
      "above 1 is PostgreSQL slower; the goal is ≤ 1.5.")
loads = []
order = ["sqlite-prepare", "postgres-prepare"]
for r in range(1, rounds + 1):  # the serving rounds alternate: SQLite first in odd ones
    order += [f"{b}-serve-{r}" for b in (("sqlite", "postgres") if r % 2 else ("postgres", "sqlite"))]
for name in order:
    d = read(name)
    loads.append(f"{name} {d['load_start'][0]} → {d['load_end'][0]}")
print("Load average (1/5/15 min) at start → end of each run: " + "; ".join(loads) + ".")
print()
print("| | SQLite | PostgreSQL | PostgreSQL ÷ SQLite |")
print("|---|---:|---:|---:|")
for k, label in (("import", "import (CLI)"), ("vacuum", "`vacuum (analyze)` after the import"),
                 ("reindex", "reindex (offline, instance A's index)"),
                 ("reindex_b", "reindex (offline, instance B's index)")):
    s, p = prep["sqlite"], prep["postgres"]
    if f"{k}_s" in s and f"{k}_s" in p:
        ss, ps = num(s[f"{k}_s"][0]), num(p[f"{k}_s"][0])
        sm, pm = num(s[f"{k}_rss_kb"][0]) / 1024, num(p[f"{k}_rss_kb"][0]) / 1024
        row(label + ", peak RSS", f"{ss:.1f} s, {sm:,.0f} MB", f"{ps:.1f} s, {pm:,.0f} MB", f"{ps / ss:.2f}")
    elif f"{k}_s" in p:
        row(label, "–", f"{num(p[f'{k}_s'][0]):.1f} s", "")
goals = []
for key, name in (("cached", None), ("uncached", "result cache off")):
    paths = ["/healthz", "/", "/practices/{slug}", "/search", "/api/v1/search"] if key == "cached" else ["/api/v1/search"]
    for path in paths:
        label = f"`{path}`" + (f", {name}" if name else "")
        for i, what in ((0, "requests/s"), (1, "p50"), (2, "p99")):
            unit = "/s" if i == 0 else "ms"
            fig = lambda d: num(d[f"{key}:{c}:{path}"][i])
            hz = lambda d: num(d[f"{key}:{c}:/healthz"][i])
            speed = lambda d: num(d[f"{key}:{c}:/healthz"][0])
            sv, pv = over_rounds("sqlite", fig), over_rounds("postgres", fig)
            if sv != sv or pv != pv:
                continue
            if path == "/healthz":
                row(f"{label} {what}", fmt(sv, unit), fmt(pv, unit), f"({pv / sv:.2f})")
                continue
            sr, pr = over_rounds("sqlite", lambda d: fig(d) / hz(d)), over_rounds("postgres", lambda d: fig(d) / hz(d))
            if i == 0:  # requests/s: fewer is the cost
                scaled = over_rounds("sqlite", lambda d: fig(d) / speed(d)) / over_rounds("postgres", lambda d: fig(d) / speed(d))
                raw = sv / pv
            else:
                scaled = over_rounds("postgres", lambda d: fig(d) * speed(d)) / over_rounds("sqlite", lambda d: fig(d) * speed(d))
                raw = pv / sv
            row(f"{label} {what}", f"{fmt(sv, unit)} ({sr:.3g})", f"{fmt(pv, unit)} ({pr:.3g})", f"{scaled:.2f} ({raw:.2f})")
            if key == "cached" and path in ("/practices/{slug}", "/api/v1/search"):
                goals.append((f"{path} {what}", scaled))
for k, label in (("visible_b", "write→searchable, other instance (vetted on A, searched on B), p50 / p95"),
                 ("visible", "write→searchable, same instance, p50 / p95")):
    cells = []
    for b in ("sqlite", "postgres"):
        p50, p95 = over_rounds(b, lambda d: num(d[k][0])), over_rounds(b, lambda d: num(d[k][1]))
        count = sum(int(d[k][3]) for d in serve[b] if k in d)
        cells.append(f"{p50:.0f} / {p95:.0f} ms ({count} practices)")
    row(label, *cells)
cells = [f"{over_rounds(b, lambda d: num(d['ready_b_s'][0])):.1f} s" for b in ("sqlite", "postgres")]
row("instance B ready and caught up, after its start", *cells)
cells = []
for b in ("sqlite", "postgres"):
    a = max(num(d["rss_mb"][0]) for d in serve[b])
    bb = max((num(d["rss_b_mb"][0]) for d in serve[b] if "rss_b_mb" in d), default=float("nan"))
    cells.append(f"{a:.0f} MB; {bb:.0f} MB")
row("server peak RSS (A; B)", *cells)
print()
worst = max(goals, key=lambda g: g[1])
print(f"Goal, `/practices/{{slug}}` and `/api/v1/search` within 1.5× of SQLite (scaled): "
      f"{'met' if worst[1] <= 1.5 else 'NOT met'} (largest: {worst[0]} at {worst[1]:.2f}×).")
p95 = over_rounds("postgres", lambda d: num(d["visible_b"][1]))
print(f"Goal, write→searchable across instances p95 ≤ 1 s on PostgreSQL: {'met' if p95 <= 1000 else 'NOT met'} ({p95:.0f} ms).")
EOF
