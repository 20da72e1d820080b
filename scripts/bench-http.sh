#!/usr/bin/env bash
# HTTP load on a generated catalog: scripts/bench-http.sh [PRACTICES] (default 10000).
#
# Generates and imports a catalog (kept in $BENCH_HTTP_DIR, default /tmp/bs-http-N, and reused
# next time), starts the release server, and drives /healthz, /, /practices/{slug}, /search
# and /api/v1/search with wrk at several concurrency levels. Every figure is also printed as a
# ratio to /healthz in the same run. Then, while a search load runs, a coach vets practices one
# after another and the time until /api/v1/search returns each is measured. Finally the
# server's peak RSS. Needs the Rust toolchain; wrk, curl, python3 and time are installed with
# apt if missing. BRIGHTSPOTS_BIN=PATH uses that binary instead of building the release one (the test
# suite runs this script on a tiny catalog that way); VISIBLE=N vets N practices (default 30).
set -euo pipefail

N=${1:-10000}
PORT=${PORT:-3911}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-"1 8 32"}
DIR=${BENCH_HTTP_DIR:-/tmp/bs-http-$N}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BASE="http://127.0.0.1:$PORT"

missing=()
for tool in wrk curl python3; do command -v "$tool" >/dev/null || missing+=("$tool"); done
[ -x /usr/bin/time ] || missing+=(time)
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
FLAGS=(--database-url "sqlite:$DIR/brightspots.db" --index-dir "$DIR/index" --content-dir "$DIR/catalog" --bind "127.0.0.1:$PORT")
if [ ! -f "$DIR/brightspots.db" ]; then
    echo "generating and importing $N practices…" >&2
    "$BIN" generate --practices "$N" --seed 42 --out "$DIR/catalog" >/dev/null
    /usr/bin/time -f "import: %e s, peak RSS %M KB" "$BIN" "${FLAGS[@]}" import "$DIR/catalog" >&2
fi

SERVER=
start_server() { # [settings file]
    RUST_LOG=warn "$BIN" "${FLAGS[@]}" ${1:+--config "$1"} serve >"$DIR/server.log" 2>&1 &
    SERVER=$!
    until curl -sf "$BASE/readyz" >/dev/null; do sleep 0.2; done
    # The index is caught up when a browse finds the whole public catalog.
    until [ "$(curl -s "$BASE/api/v1/search?per_page=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')" -gt 0 ]; do sleep 0.5; done
}
trap 'kill $SERVER 2>/dev/null || true' EXIT
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

table() { # "path:file" targets (file "-": the path itself) → one row per connection level
    echo "| connections | path | requests/s | p50 | p99 | requests/s vs /healthz |"
    echo "|---:|---|---:|---:|---:|---:|"
    for c in $CONNECTIONS; do
        read -r base_rps base_p50 base_p99 < <(run "$c" - "$BASE/healthz")
        echo "| $c | /healthz | $base_rps | $base_p50 | $base_p99 | 1.00 |"
        for target in "$@"; do
            local name=${target%%:*} file=${target#*:} url=$BASE search=
            [ "$file" = - ] && url="$BASE$name"
            [[ $name == *search ]] && search=$name
            read -r rps p50 p99 < <(run "$c" "$file" "$url" "$search")
            echo "| $c | $name | $rps | $p50 | $p99 | $(python3 -c "print(f'{$rps / $base_rps:.3f}')") |"
        done
    done
}

echo
echo "$N practices, ${DURATION}s per run, wrk -t2 (on the same 2 cores as the server); $TAIL_SHARE of the searches are new ones"
echo
table "/:-" "/practices/{slug}:$DIR/practices.txt" "/search:$DIR/search.txt" "/api/v1/search:$DIR/api.txt"

echo
VISIBLE=${VISIBLE:-30}
echo "Write-to-visible while /api/v1/search runs at 8 connections (vetting $VISIBLE practices one after another):"
wrk_paths "$DIR/api.txt" /api/v1/search -t2 -c8 -d60s "$BASE" >/dev/null &
LOAD=$!
sleep 2
read -r v50 v95 v99 vn < <(python3 "$ROOT/scripts/write_to_visible.py" "$BASE" "$VISIBLE")
kill $LOAD 2>/dev/null || true
wait $LOAD 2>/dev/null || true
echo "p50 ${v50} ms, p95 ${v95} ms, p99 ${v99} ms ($vn practices)"

echo
echo "Server peak RSS: $(awk '/VmHWM/ {printf "%.0f MB", $2 / 1024}' "/proc/$SERVER/status") (now: $(awk '/RssAnon|RssFile/ {printf "%s %.0f MB ", $1, $2 / 1024}' "/proc/$SERVER/status")); database $(du -sh "$DIR/brightspots.db" | cut -f1), index $(du -sh "$DIR/index" | cut -f1)"

# The same searches with the result cache off: every request runs the search.
kill $SERVER && wait $SERVER 2>/dev/null || true
echo "search_cache_entries = 0" >"$DIR/no-result-cache.toml"
start_server "$DIR/no-result-cache.toml"
echo
echo "With the result cache off (search_cache_entries = 0):"
echo
table "/search:$DIR/search.txt" "/api/v1/search:$DIR/api.txt"
