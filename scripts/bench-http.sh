#!/usr/bin/env bash
# HTTP load on a generated catalog: scripts/bench-http.sh [PRACTICES] (default 10000).
#
# Generates a catalog (kept in $BENCH_CATALOG, default $BENCH_HTTP_DIR/catalog, and reused next
# time), imports it with the CLI (timed), rebuilds the index with `brightspots reindex` offline
# (timed), starts the release server, and drives /healthz, /, /practices/{slug}, /search and
# /api/v1/search with wrk at several concurrency levels. Every figure is also printed as a
# ratio to /healthz in the same run. Then, while a search load runs, a coach vets practices one
# after another and the time until /api/v1/search returns each is measured, on the same
# instance; then a second instance B starts on the same database (its own port and index
# directory) and the same is measured across instances: vetted on A, searched on B, with the
# search load on B. Then the peak RSS of each instance, and the search paths again with the
# result cache off.
#
# BENCH_DATABASE=sqlite (default) or postgres:
#   sqlite    the database is $BENCH_HTTP_DIR/brightspots.db (default dir /tmp/bs-http-N); an
#             existing one is reused (no import) unless BENCH_REUSE=0. Instance B runs on the
#             same SQLite file, as two hubs on one machine may.
#   postgres  a fresh database bs_bench_N on $BENCH_PG_URL (default
#             postgres://postgres@127.0.0.1:5432), an old one dropped first unless BENCH_REUSE=1
#             (then an existing one is kept, not imported again); default dir /tmp/bs-http-pg-N.
# Other settings: PORT (3911), PORT_B (a free port), DURATION (10 s per wrk run), CONNECTIONS
# ("1 8 32"), TAIL_SHARE (0.25), NATURAL_ONLY=1 drives only /healthz and issue 20's natural
# queries (cache on, then off: no write-to-visible, no instance B), VISIBLE=N practices vetted per write-to-visible measurement
# (30), INSTANCE_B=0 skips instance B, BENCH_REINDEX=0 skips the offline reindex (the server
# then builds a missing index at start). BRIGHTSPOTS_BIN=PATH uses that binary instead of
# building the release one (the test suite runs this script on a tiny catalog that way).
# BENCH_PHASES="prepare serve" (the default) does all of it; "prepare" stops after the
# reindex, "serve" starts from the database and indexes an earlier "prepare" left (so that a
# comparison can import both backends first, then load them back to back).
# Besides the report on stdout, $BENCH_SUMMARY (default $BENCH_HTTP_DIR/summary.txt) gets one
# "key value" line per figure (scripts/bench-backends.sh reads it). Needs the Rust toolchain;
# wrk, curl, python3 and time are installed with apt if missing (psql too, for postgres).
set -euo pipefail

N=${1:-10000}
BACKEND=${BENCH_DATABASE:-sqlite}
PORT=${PORT:-3911}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-"1 8 32"}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BASE="http://127.0.0.1:$PORT"
case $BACKEND in
    sqlite)   DIR=${BENCH_HTTP_DIR:-/tmp/bs-http-$N}; REUSE=${BENCH_REUSE:-1} ;;
    postgres) DIR=${BENCH_HTTP_DIR:-/tmp/bs-http-pg-$N}; REUSE=${BENCH_REUSE:-0} ;;
    *) echo "BENCH_DATABASE must be sqlite or postgres, not $BACKEND" >&2; exit 2 ;;
esac
CATALOG=${BENCH_CATALOG:-$DIR/catalog}

missing=()
for tool in wrk curl python3; do command -v "$tool" >/dev/null || missing+=("$tool"); done
[ -x /usr/bin/time ] || missing+=(time)
[ "$BACKEND" = postgres ] && ! command -v psql >/dev/null && missing+=(postgresql-client)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}…" >&2
    sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ -n "${BRIGHTSPOTS_BIN:-}" ]; then
    BIN=$BRIGHTSPOTS_BIN
else
    (cd "$ROOT" && cargo build --release --quiet)
    BIN="$ROOT/target/release/brightspots"
fi
mkdir -p "$DIR"
SUMMARY=${BENCH_SUMMARY:-$DIR/summary.txt}
: >"$SUMMARY"
PHASES=${BENCH_PHASES:-"prepare serve"}
phase() { [[ " $PHASES " == *" $1 "* ]]; }
say() { echo "$1 $2" >>"$SUMMARY"; } # key value

if [ ! -d "$CATALOG/practices" ]; then
    echo "generating $N practices into $CATALOG…" >&2
    rm -rf "$CATALOG.partial"
    "$BIN" generate --practices "$N" --seed 42 --out "$CATALOG.partial" >/dev/null
    mv "$CATALOG.partial" "$CATALOG"
fi

timed() { # label, command… → runs it with stdout on stderr; prints "label: S s, peak RSS K KB"
    local label=$1
    shift
    /usr/bin/time -o "$DIR/$label.time" -f "%e %M" "$@" >&2
    read -r secs kb <"$DIR/$label.time"
    echo "$label: $secs s, peak RSS $kb KB" >&2
    say "${label}_s" "$secs"
    say "${label}_rss_kb" "$kb"
}

fresh=1
phase prepare || fresh=0 # serve alone: the database prepared by an earlier run
if [ "$BACKEND" = sqlite ]; then
    URL="sqlite:$DIR/brightspots.db"
    if [ "$fresh" = 0 ] || { [ "$REUSE" = 1 ] && [ -f "$DIR/brightspots.db" ]; }; then
        fresh=0
    else
        rm -f "$DIR/brightspots.db" "$DIR/brightspots.db-wal" "$DIR/brightspots.db-shm"
    fi
    db_size() { du -sh "$DIR/brightspots.db" | cut -f1; }
else
    PG=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
    DB="bs_bench_$N"
    URL="$PG/$DB"
    psql_admin() { PGOPTIONS="-c client_min_messages=warning" psql "$PG/postgres" -v ON_ERROR_STOP=1 -qAt "$@"; }
    if [ "$fresh" = 0 ] || { [ "$REUSE" = 1 ] && [ "$(psql_admin -c "select 1 from pg_database where datname = '$DB'")" = 1 ]; }; then
        fresh=0
    else
        psql_admin -c "drop database if exists $DB with (force)"
        psql_admin -c "create database $DB"
    fi
    db_size() { psql "$URL" -qAt -c "select pg_size_pretty(pg_database_size(current_database()))"; }
fi
say backend "$BACKEND"
say practices "$N"
COMMON=(--database-url "$URL" --content-dir "$CATALOG")
FLAGS=("${COMMON[@]}" --index-dir "$DIR/index" --bind "127.0.0.1:$PORT")
NATURAL_ONLY=${NATURAL_ONLY:-0}
[ "$NATURAL_ONLY" = 1 ] && INSTANCE_B=0
INSTANCE_B=${INSTANCE_B:-1}
if [ "$INSTANCE_B" = 1 ]; then
    PORT_B=${PORT_B:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
    BASE_B="http://127.0.0.1:$PORT_B"
    FLAGS_B=("${COMMON[@]}" --index-dir "$DIR/index-b" --bind "127.0.0.1:$PORT_B")
fi

if [ "$fresh" = 1 ]; then
    echo "importing $N practices into $BACKEND…" >&2
    rm -rf "$DIR/index" "$DIR/index-b"
    timed import "$BIN" "${FLAGS[@]}" import "$CATALOG"
    # What autovacuum does after a bulk load, within a minute on a default server (this one may
    # run with autovacuum off): statistics for the planner, the visibility map.
    # BENCH_PG_VACUUM=0 leaves the database as the import left it.
    if [ "$BACKEND" = postgres ] && [ "${BENCH_PG_VACUUM:-1}" = 1 ]; then
        timed vacuum psql "$URL" -v ON_ERROR_STOP=1 -qAt -c "vacuum (analyze)"
    fi
fi
if phase prepare && [ "${BENCH_REINDEX:-1}" = 1 ]; then
    # Offline: no hub runs on these index directories yet. B's index is rebuilt the same way
    # (a second sample of the same figure).
    timed reindex "$BIN" "${FLAGS[@]}" reindex
    [ "$INSTANCE_B" = 1 ] && timed reindex_b "$BIN" "${FLAGS_B[@]}" reindex
fi

phase serve || exit 0

SERVER=
SERVER_B=
LOAD=
up() { # pid, log: fails the run if the server has exited
    kill -0 "$1" 2>/dev/null || { echo "the server exited; its log ($2):" >&2; tail -20 "$2" >&2; exit 1; }
}
total() { # base URL → how many public practices its index finds (empty while not ready)
    curl -s "$1/api/v1/search?per_page=1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("total", ""))' 2>/dev/null || true
}
# Every load here comes from this machine's one address: the API's rate limits, which would
# refuse most of it, are lifted (the figures are the hub's speed, not its limits).
LIMITS=$'[api]\nper_address_per_minute = 4000000000\nper_token_per_minute = 4000000000\nmax_concurrent = 4096'
echo "$LIMITS" >"$DIR/bench.toml"
start_server() { # [settings file]
    RUST_LOG=warn "$BIN" "${FLAGS[@]}" --config "${1:-$DIR/bench.toml}" serve >"$DIR/server.log" 2>&1 &
    SERVER=$!
    until curl -sf "$BASE/readyz" >/dev/null; do up $SERVER "$DIR/server.log"; sleep 0.2; done
    # The index is caught up when a browse finds the whole public catalog.
    until [ "$(total "$BASE")" -gt 0 ] 2>/dev/null; do up $SERVER "$DIR/server.log"; sleep 0.5; done
}
trap 'kill $LOAD $SERVER $SERVER_B 2>/dev/null || true' EXIT
start_server

# Paths: 500 practices, and a mix of 400 searches (words, phrases, typos, synonyms, facets,
# sorts, deep pages) for the search endpoints. The words are the catalog's most frequent, so
# each search matches much of the catalog (the expensive end). Popularity follows Zipf's law,
# as search logs do: the k-th search is listed 200/k times and wrk picks lines at random. On
# top of that head, TAIL_SHARE of the searches (default 0.25) are two random words of the
# catalog's titles and summaries, drawn afresh for every request: the long tail of searches
# nobody has made before, which the result cache cannot answer.
python3 - "$BASE" "$DIR" <<'EOF'
import json, random, re, sys, urllib.parse, urllib.request
base, out = sys.argv[1], sys.argv[2]
random.seed(42)
slugs, vocabulary = [], set()
for page in range(1, 6):
    with urllib.request.urlopen(f"{base}/api/v1/search?sort=newest&per_page=100&page={page}") as r:
        hits = json.load(r)["hits"]
    slugs += [h["slug"] for h in hits]
    for h in hits:
        vocabulary.update(re.findall(r"[a-z]{4,}", (h["title"] + " " + h["summary"]).lower()))
    if len(hits) < 100:
        break
open(f"{out}/practices.txt", "w").write("".join(f"/practices/{s}\n" for s in slugs))
open(f"{out}/tail-words.txt", "w").write("".join(f"{w}\n" for w in sorted(vocabulary)))
words = ["students", "discussion", "reading", "attendance", "families", "writing", "feedback",
         "routine", "evidence", "math", "problem", "science", "teachers", "learners", "talk"]
queries = []
for _ in range(400):
    kind = random.random()
    if kind < 0.35:
        q = {"q": random.choice(words)}
    elif kind < 0.6:
        q = {"q": " ".join(random.sample(words, 3))}
    elif kind < 0.7:
        q = {"q": '"' + " ".join(random.sample(words, 2)) + '"'}
    elif kind < 0.78:
        q = {"q": random.choice(["disscussion", "attendence", "familes", "feedbak"])}
    elif kind < 0.86:
        q = {"q": random.choice(["ELL", "SEL", "MTSS", "PBIS", "absenteeism"])}
    elif kind < 0.94:
        q = {"q": random.choice(words), "grade": random.choice(["K-2", "3-5", "6-8", "9-12"]), "subject": "math"}
    else:
        q = {"challenge": random.choice(["writing", "academic-discourse", "english-learners"]), "sort": "newest"}
    if random.random() < 0.1:
        q["page"] = random.randint(2, 20)
    queries.append(urllib.parse.urlencode(q))
popular = [q for k, q in enumerate(queries) for _ in range(max(1, round(200 / (k + 1))))]
open(f"{out}/search.txt", "w").write("".join(f"/search?{q}\n" for q in popular))
open(f"{out}/api.txt", "w").write("".join(f"/api/v1/search?{q}\n" for q in popular))
EOF
# Issue 20's searches: 300 distinct queries as teachers type them (`brightspots generate
# --queries`: two to six everyday words from the catalog's vocabulary and the education
# synonyms), each listed once, so that with the result cache on they are cached after their
# first run, and with it off every request is a whole search.
"$BIN" generate --practices 0 --out "$DIR/queries-only" --queries "$DIR/queries.txt" >/dev/null
python3 - "$DIR" <<'EOF'
import sys, urllib.parse
out = sys.argv[1]
queries = open(f"{out}/queries.txt").read().splitlines()
open(f"{out}/natural.txt", "w").write(
    "".join(f"/api/v1/search?{urllib.parse.urlencode({'q': q})}\n" for q in queries))
EOF
NATURAL="/api/v1/search(natural):$DIR/natural.txt"

TAIL_SHARE=${TAIL_SHARE:-0.25}
wrk_paths() { # path file, [search path whose long tail to add], wrk arguments…
    local file=$1 tail=$2
    shift 2
    PATHS="$file" TAIL_WORDS="$DIR/tail-words.txt" TAIL_PREFIX="$tail?q=" \
        TAIL_SHARE=$([ -n "$tail" ] && echo "$TAIL_SHARE" || echo 0) \
        exec wrk -s "$ROOT/scripts/paths.lua" "$@" # exec: `kill $!` must reach wrk itself
}

run() { # connections, path file or "-", url, [search path] → "rps p50 p99"
    local c=$1 file=$2 url=$3 search=${4:-} out
    if [ "$file" = - ]; then
        out=$(wrk -t"$(( c < 2 ? c : 2 ))" -c"$c" -d"${DURATION}s" --latency "$url")
    else
        out=$(wrk_paths "$file" "$search" -t"$(( c < 2 ? c : 2 ))" -c"$c" -d"${DURATION}s" --latency "$url")
    fi
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    echo "$rps $p50 $p99"
}

ms() { # a wrk latency ("812.00us", "1.20ms", "2.01s", "1.50m") → milliseconds
    awk -v t="$1" 'BEGIN {
        n = t + 0; u = t; sub(/^[0-9.]+/, "", u)
        printf "%.6g\n", n * (u == "us" ? 0.001 : u == "ms" ? 1 : u == "s" ? 1000 : u == "m" ? 60000 : -1)
    }'
}

table() { # summary key prefix, "path:file" targets (file "-": the path itself) → one row per connection level
    local key=$1
    shift
    echo "| connections | path | requests/s | p50 | p99 | requests/s vs /healthz |"
    echo "|---:|---|---:|---:|---:|---:|"
    for c in $CONNECTIONS; do
        read -r base_rps base_p50 base_p99 < <(run "$c" - "$BASE/healthz")
        echo "| $c | /healthz | $base_rps | $base_p50 | $base_p99 | 1.00 |"
        say "$key:$c:/healthz" "$base_rps $(ms "$base_p50") $(ms "$base_p99")"
        for target in "$@"; do
            local name=${target%%:*} file=${target#*:} url=$BASE search=
            [ "$file" = - ] && url="$BASE$name"
            [[ $name == *search ]] && search=$name
            read -r rps p50 p99 < <(run "$c" "$file" "$url" "$search")
            echo "| $c | $name | $rps | $p50 | $p99 | $(python3 -c "print(f'{$rps / $base_rps:.3f}')") |"
            say "$key:$c:$name" "$rps $(ms "$p50") $(ms "$p99")"
        done
    done
}

echo
if [ "$NATURAL_ONLY" = 1 ]; then
    echo "$N practices on $BACKEND, ${DURATION}s per run, wrk -t2 (on the same 2 cores as the server); 300 natural queries, picked at random"
else
    echo "$N practices on $BACKEND, ${DURATION}s per run, wrk -t2 (on the same 2 cores as the server); $TAIL_SHARE of the searches are new ones"
fi
echo
if [ "$NATURAL_ONLY" = 1 ]; then
    table cached "$NATURAL"
else
    table cached "/:-" "/practices/{slug}:$DIR/practices.txt" "/search:$DIR/search.txt" "/api/v1/search:$DIR/api.txt" "$NATURAL"
fi

visible() { # summary key, vetting base URL, search base URL → $DIR/visible.out "p50 p95 p99 n", with a search load on the latter
    local key=$1 write=$2 read=$3
    wrk_paths "$DIR/api.txt" /api/v1/search -t2 -c8 -d120s "$read" >/dev/null &
    LOAD=$!
    sleep 2
    local out
    out=$(python3 "$ROOT/scripts/write_to_visible.py" "$write" "$VISIBLE" --read-from "$read")
    kill $LOAD 2>/dev/null || true
    wait $LOAD 2>/dev/null || true
    LOAD=
    say "$key" "$out"
    echo "$out" >"$DIR/visible.out"
}

VISIBLE=${VISIBLE:-30}
if [ "$NATURAL_ONLY" != 1 ]; then
    echo
    echo "Write-to-visible while /api/v1/search runs at 8 connections (vetting $VISIBLE practices one after another; searched on the same instance):"
    visible visible "$BASE" "$BASE"
    read -r v50 v95 v99 vn <"$DIR/visible.out"
    echo "p50 ${v50} ms, p95 ${v95} ms, p99 ${v99} ms ($vn practices)"
fi

rss() { # pid → "peak MB (now: …)"
    awk '/VmHWM/ {printf "%.0f MB", $2 / 1024}' "/proc/$1/status"
    echo -n " (now: $(awk '/RssAnon|RssFile/ {printf "%s %.0f MB ", $1, $2 / 1024}' "/proc/$1/status"))"
}

if [ "$INSTANCE_B" = 1 ]; then
    started=$(date +%s.%N)
    RUST_LOG=warn "$BIN" "${FLAGS_B[@]}" --config "$DIR/bench.toml" serve >"$DIR/server-b.log" 2>&1 &
    SERVER_B=$!
    until curl -sf "$BASE_B/readyz" >/dev/null; do up $SERVER_B "$DIR/server-b.log"; sleep 0.2; done
    # Caught up: B's index finds as many public practices as A's.
    until [ "$(total "$BASE_B")" = "$(total "$BASE")" ]; do up $SERVER_B "$DIR/server-b.log"; sleep 0.2; done
    ready=$(python3 -c "print(f'{$(date +%s.%N) - $started:.1f}')")
    say ready_b_s "$ready"
    echo
    echo "Instance B on the same $BACKEND database (port $PORT_B, its own index directory): ready and caught up ${ready} s after its start."
    echo "Write-to-searchable across instances while /api/v1/search runs at 8 connections on B (vetting $VISIBLE practices on A one after another; each searched on B):"
    visible visible_b "$BASE" "$BASE_B"
    read -r b50 b95 b99 bn <"$DIR/visible.out"
    echo "on B: p50 ${b50} ms, p95 ${b95} ms, p99 ${b99} ms ($bn practices)"
fi

echo
echo "Server peak RSS: $(rss "$SERVER"); database $(db_size), index $(du -sh "$DIR/index" | cut -f1)"
say rss_mb "$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$SERVER/status")"
if [ -n "$SERVER_B" ]; then
    echo "Instance B peak RSS: $(rss "$SERVER_B")"
    say rss_b_mb "$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$SERVER_B/status")"
    kill $SERVER_B && wait $SERVER_B 2>/dev/null || true
    SERVER_B=
fi

# The same searches with the result cache off: every request runs the search.
kill $SERVER && wait $SERVER 2>/dev/null || true
printf 'search_cache_entries = 0\n%s\n' "$LIMITS" >"$DIR/no-result-cache.toml"
start_server "$DIR/no-result-cache.toml"
echo
echo "With the result cache off (search_cache_entries = 0):"
echo
if [ "$NATURAL_ONLY" = 1 ]; then
    table uncached "$NATURAL"
else
    table uncached "/search:$DIR/search.txt" "/api/v1/search:$DIR/api.txt" "$NATURAL"
fi
