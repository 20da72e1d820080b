#!/usr/bin/env bash
# Two Bright Spots instances on one PostgreSQL database behind Caddy (docs/Caddyfile), checked
# end to end on this machine:
#   (a) requests through the proxy reach both instances;
#   (b) a practice page is served through the proxy;
#   (c) with instance B killed (kill -9), every request through the proxy still answers 200;
#   (d) B restarted on an empty index directory gets no request until its /readyz answers 200;
#   (e) a rolling upgrade — A stopped and started again, then B — fails no request.
# Prints PASS or FAIL for each and exits non-zero if any fails. Everything it starts (a fresh
# database, both instances, Caddy, the load) is stopped and removed on exit.
#
# Needs PostgreSQL reachable with createdb/dropdb as $PGUSER at $PGHOST:$PGPORT (default
# postgres@127.0.0.1:5432, without a password: trust auth or ~/.pgpass), Caddy 2.6 or later
# (Debian: apt-get install caddy; this script runs its own Caddy, not the package's service),
# curl and wrk. BRIGHTSPOTS_BIN=PATH uses that binary instead of `cargo build --release`;
# PRACTICES=N (default 3000) sizes the catalog, enough that rebuilding an index takes a few
# seconds; CADDYFILE=PATH tries another Caddy configuration (the checks should catch what
# it lacks); KEEP=1 keeps the working directory with every log (kept anyway on failure).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PRACTICES=${PRACTICES:-3000}
CADDYFILE=${CADDYFILE:-$ROOT/docs/Caddyfile}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}

for tool in caddy curl wrk createdb dropdb; do
    if ! command -v "$tool" >/dev/null; then
        echo "error: $tool is missing (Debian: apt-get install caddy curl wrk postgresql-client)" >&2
        exit 2
    fi
done

if [ -n "${BRIGHTSPOTS_BIN:-}" ]; then
    BIN=$BRIGHTSPOTS_BIN
else
    (cd "$ROOT" && cargo build --release --quiet)
    BIN="$ROOT/target/release/brightspots"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bs-two-instances.XXXXXX")
DB="bs_two_instances_$$"
DATABASE="postgres://$PGUSER@$PGHOST:$PGPORT/$DB"
START=$(date +%s%3N)
FAILS=0
declare -A PID=()
LOAD_PIDS=()
CADDY_PID=

say() { # MESSAGE: with the seconds since the start, so the order of events can be read
    local ms=$(($(date +%s%3N) - START))
    printf '[%3d.%01ds] %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$*"
}

verdict() { # NAME OK(0|1) WHAT
    if [ "$2" = 0 ]; then
        printf 'PASS %s: %s\n' "$1" "$3"
    else
        printf 'FAIL %s: %s\n' "$1" "$3"
        FAILS=$((FAILS + 1))
    fi
}

cleanup() {
    local rc=$?
    set +e
    touch "$WORK/stop-load"
    for p in "${LOAD_PIDS[@]}" $CADDY_PID "${PID[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${LOAD_PIDS[@]}" $CADDY_PID "${PID[@]}"; do
        wait "$p" 2>/dev/null
    done
    # (PostgreSQL checkpoints before it drops a database: slow on a busy server.)
    say "stopped everything; dropping database $DB"
    dropdb --if-exists --force "$DB" 2>/dev/null
    if [ "$rc" != 0 ] || [ -n "${KEEP:-}" ]; then
        echo "logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Four ports nobody listens on (a connection to them is refused).
ports=()
while [ ${#ports[@]} -lt 4 ]; do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && [[ " ${ports[*]} " != *" $p "* ]]; then
        ports+=("$p")
    fi
done
PORT_A=${ports[0]} PORT_B=${ports[1]} PORT_PROXY=${ports[2]} PORT_ADMIN=${ports[3]}
PROXY="http://127.0.0.1:$PORT_PROXY"

status() { # URL: the HTTP status, 000 when nothing answered
    curl -s -o /dev/null -m 10 -w '%{http_code}' "$1" || true
}

# Each instance logs every request it answers (tower_http's "finished processing request",
# inside a span that carries the URI); the checks tag their requests with ?probe=TAG, so
# counting a tag in an instance's log tells which instance answered.
LOG_LEVELS="brightspots=info,brightspots::web=debug,tower_http=debug"
served() { # a|b PATTERN [FROM_LINE]: requests answered whose URI contains probe=PATTERN
    tail -n +"${3:-1}" "$WORK/$1.log" | grep -F "finished processing request" |
        grep -cF "probe=$2" || true
}
begun() { # a|b PATTERN: requests received (answered or not) whose URI contains probe=PATTERN
    grep -F "started processing request" "$WORK/$1.log" | grep -cF "probe=$2" || true
}
lines() { wc -l <"$WORK/$1.log"; }

start_instance() { # a|b: serve on its own port and index directory, appending to its log
    local port=$PORT_A
    [ "$1" = b ] && port=$PORT_B
    NO_COLOR=1 RUST_LOG=$LOG_LEVELS "$BIN" --config "$WORK/brightspots.toml" \
        --database-url "$DATABASE" --bind "127.0.0.1:$port" --index-dir "$WORK/index-$1" \
        --content-dir "$WORK/catalog" serve >>"$WORK/$1.log" 2>&1 &
    PID[$1]=$!
}

url_of() { # a|b: the instance's own address, not the proxy's
    if [ "$1" = a ]; then echo "http://127.0.0.1:$PORT_A"; else echo "http://127.0.0.1:$PORT_B"; fi
}

wait_ready() { # a|b SECONDS: until the instance's own /readyz answers 200
    local deadline=$(($(date +%s) + $2))
    # ?poll: these show in the log apart from Caddy's health checks, which ask plain /readyz.
    until [ "$(status "$(url_of "$1")/readyz?poll")" = 200 ]; do
        if ! kill -0 "${PID[$1]}" 2>/dev/null || [ "$(date +%s)" -gt "$deadline" ]; then
            say "instance ${1^^} did not become ready; its log:"
            tail -n 20 "$WORK/$1.log"
            return 1
        fi
        sleep 0.1
    done
}

# A steady load through the proxy, the whole time some event happens: a curl loop (one
# request at a time, each status recorded: what a person browsing would have seen) and wrk
# (8 connections, as fast as they go, counting every answer that is not a 200).
cat >"$WORK/count.lua" <<'LUA'
-- Counts the answers that are not 200 (wrk itself only reports those >= 400).
not_ok = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function response(status, headers, body)
    if status ~= 200 then not_ok = not_ok + 1 end
end
function done(summary, latency, requests)
    local n = 0
    for _, t in ipairs(threads) do n = n + t:get("not_ok") end
    local e = summary.errors
    io.write(string.format("wrk: %d requests, %d not 200, %d socket errors\n",
        summary.requests, n, e.connect + e.read + e.write + e.timeout))
end
LUA
curl_loop() { # TAG
    local i=0
    while [ ! -e "$WORK/stop-load" ]; do
        i=$((i + 1))
        status "$PROXY/practices/$SLUG?probe=$1-$i" >>"$WORK/$1.codes"
        echo >>"$WORK/$1.codes"
    done
}
start_load() { # TAG
    rm -f "$WORK/stop-load"
    curl_loop "$1" &
    LOAD_PIDS=($!)
    wrk -t 2 -c 8 -d 600s -s "$WORK/count.lua" "$PROXY/practices/$SLUG?probe=$1-wrk" \
        >"$WORK/$1.wrk" 2>&1 &
    LOAD_PIDS+=($!)
}
LOAD_SUMMARY="" LOAD_FAILED=0
stop_load() { # TAG: sets LOAD_SUMMARY, and LOAD_FAILED to the requests that were not 200
    touch "$WORK/stop-load"
    kill -INT "${LOAD_PIDS[1]}" # wrk prints its summary on SIGINT
    wait "${LOAD_PIDS[@]}" || true
    LOAD_PIDS=()
    local total failed wrk_total wrk_not_ok wrk_errors wrk_bad
    total=$(grep -c . "$WORK/$1.codes" || true)
    failed=$(not_200 "$WORK/$1.codes")
    read -r wrk_total wrk_not_ok wrk_errors < <(sed -n \
        's/^wrk: \([0-9]*\) requests, \([0-9]*\) not 200, \([0-9]*\) socket errors$/\1 \2 \3/p' \
        "$WORK/$1.wrk") || true
    if [ -z "${wrk_errors:-}" ]; then # no summary: count it as a failure
        cat "$WORK/$1.wrk"
        wrk_total=0 wrk_not_ok=0 wrk_errors=1
    fi
    wrk_bad=$((wrk_not_ok + wrk_errors))
    LOAD_FAILED=$((failed + wrk_bad))
    LOAD_SUMMARY="curl loop $((total - failed))/$total answered 200, wrk $((wrk_total - wrk_bad))/$wrk_total"
}
not_200() { grep -cvE '^(200)?$' "$1" || true; } # FILE: status lines other than 200

# --- the database, a catalog, two instances, Caddy ------------------------------------------

say "database $DB on $PGHOST:$PGPORT; instances on ports $PORT_A (A) and $PORT_B (B); proxy on $PORT_PROXY"
createdb "$DB"
"$BIN" generate --practices "$PRACTICES" --seed 42 --out "$WORK/catalog" >/dev/null
say "$("$BIN" --database-url "$DATABASE" import "$WORK/catalog")"
# A practice anyone can read, and its title to look for on the page.
for SLUG_FILE in "$WORK"/catalog/practices/*.md; do
    grep -q '^status = "vetted"' "$SLUG_FILE" && break
done
SLUG=$(basename "$SLUG_FILE" .md)
TITLE=$(sed -n 's/^title = "\(.*\)"$/\1/p' "$SLUG_FILE" | head -n 1)

# Both instances read one settings file. public_url is the proxy's address, the one people
# use: links, sign-in redirects and cookies are made for it.
cat >"$WORK/brightspots.toml" <<EOF
public_url = "$PROXY"
EOF

start_instance a
start_instance b
wait_ready a 300
wait_ready b 300
say "A and B are ready (each built its index from the database)"

XDG_CONFIG_HOME="$WORK/caddy-config" XDG_DATA_HOME="$WORK/caddy-data" \
    BS_SITE="$PROXY" BS_PROXY_BIND=127.0.0.1 BS_CADDY_ADMIN="127.0.0.1:$PORT_ADMIN" \
    BS_UPSTREAM_A="127.0.0.1:$PORT_A" BS_UPSTREAM_B="127.0.0.1:$PORT_B" \
    caddy run --config "$CADDYFILE" --adapter caddyfile >"$WORK/caddy.log" 2>&1 &
CADDY_PID=$!
for _ in $(seq 100); do
    [ "$(status "$PROXY/healthz")" = 200 ] && break
    sleep 0.1
done
say "Caddy is proxying $PROXY to both ($(caddy version | cut -d' ' -f1))"

# --- (a) both instances answer through the proxy ---------------------------------------------

codes=""
for i in $(seq 20); do
    codes+="$(status "$PROXY/?probe=a-$i")"$'\n'
done
on_a=$(served a "a-") on_b=$(served b "a-") answered=$(grep -c '^200$' <<<"$codes" || true)
ok=1
[ "$on_a" -gt 0 ] && [ "$on_b" -gt 0 ] && [ $((on_a + on_b)) = 20 ] && [ "$answered" = 20 ] && ok=0
verdict "(a)" $ok "20 requests through the proxy, $answered answered 200: $on_a by A, $on_b by B"

# --- (b) a practice page through the proxy ----------------------------------------------------

page=$(curl -s -m 10 -w '\n%{http_code}' "$PROXY/practices/$SLUG?probe=b-1")
code=${page##*$'\n'}
ok=1
[ "$code" = 200 ] && grep -qF "$TITLE" <<<"$page" && ok=0
verdict "(b)" $ok "GET /practices/$SLUG through the proxy: $code, the page shows \"$TITLE\""

# --- (c) B killed ------------------------------------------------------------------------------

# Requests keep coming while B dies: those in flight on B, and those the proxy sends B before
# it notices, must be answered by A.
start_load c
sleep 2
kill -9 "${PID[b]}"
wait "${PID[b]}" 2>/dev/null || true
unset "PID[b]" # gone: the clean-up must not signal whatever reuses its number
say "killed B (kill -9) under load"
sleep 4
stop_load c
# Requests B had received but not answered when it died: the proxy must have had them
# answered by A, since every answer was a 200.
in_flight=$(($(begun b "c-") - $(served b "c-")))
# ...and, B being dead, a series of requests one after another.
codes=""
for i in $(seq 40); do
    codes+="$(status "$PROXY/?probe=c2-$i")"$'\n'
done
after_ok=$(grep -c '^200$' <<<"$codes" || true)
ok=1
[ "$LOAD_FAILED" = 0 ] && [ "$after_ok" = 40 ] && [ "$(served a "c2-")" = 40 ] && ok=0
verdict "(c)" $ok "B killed under load: $LOAD_SUMMARY ($in_flight requests were in flight \
on B when it died); then, B dead, $after_ok of 40 requests in a row answered 200, \
$(served a "c2-") of them by A"

# --- (d) B restarted on an empty index ---------------------------------------------------------

# Let the passive check forget B's failures (fail_duration), and send nothing through the
# proxy until B listens again: a request the proxy tried on B before that would fail to
# connect and keep B out for fail_duration more. So while B answers 503, only the active
# check on /readyz can keep it out.
sleep 6
rm -rf "$WORK/index-b"
from=$(($(lines b) + 1))
start_instance b
say "started B again on an empty index directory"
until [ "$(status "http://127.0.0.1:$PORT_B/readyz?poll")" != 000 ]; do
    kill -0 "${PID[b]}" || { tail -n 20 "$WORK/b.log"; exit 1; }
    sleep 0.05
done
say "B listens; its /readyz answers $(status "http://127.0.0.1:$PORT_B/readyz?poll")"
# Alternate: ask B's /readyz, send a request through the proxy, ask B's /readyz again. A
# request sent while B answered 503 both before and after it went out was sent while B was
# not ready; none of those may reach B.
n=0 not_ready=() while_503=0 codes=""
while :; do
    r1=$(status "http://127.0.0.1:$PORT_B/readyz?poll")
    [ "$r1" = 200 ] && break
    n=$((n + 1))
    codes+="$(status "$PROXY/?probe=d-$n-")"$'\n'
    r2=$(status "http://127.0.0.1:$PORT_B/readyz?poll")
    [ "$r2" != 200 ] && not_ready+=("$n")
    [ "$r1" = 503 ] && [ "$r2" = 503 ] && while_503=$((while_503 + 1))
    if ! kill -0 "${PID[b]}" 2>/dev/null; then
        say "B stopped; its log:" && tail -n 20 "$WORK/b.log"
        break
    fi
done
say "B's /readyz answers 200 (B ready)"
leaked=0
for k in "${not_ready[@]}"; do
    [ "$(served b "d-$k-" "$from")" = 0 ] || leaked=$((leaked + 1))
done
checks_503=$(tail -n +"$from" "$WORK/b.log" | grep -F "finished processing request" |
    grep -F "uri=/readyz version" | grep -cF "status=503" || true)
# Once ready, B must get traffic again within a few health-check intervals.
ready_at=$(date +%s%3N) m=0 joined=""
while [ $(($(date +%s%3N) - ready_at)) -lt 15000 ]; do
    m=$((m + 1))
    codes+="$(status "$PROXY/?probe=d-after-$m-")"$'\n'
    if [ "$(served b "d-after-$m-" "$from")" = 1 ]; then
        joined=$(($(date +%s%3N) - ready_at))
        break
    fi
done
failed=$(not_200 <(printf '%s' "$codes"))
ok=1
[ "$leaked" = 0 ] && [ "$while_503" -gt 0 ] && [ "$failed" = 0 ] && [ -n "$joined" ] && ok=0
[ "$while_503" = 0 ] && echo "(B was ready before anything could be sent: try a larger PRACTICES)"
verdict "(d)" $ok "while B rebuilt its index, ${#not_ready[@]} requests went through the \
proxy ($while_503 of them while B answered /readyz with 503, and Caddy's own checks got \
$checks_503 503s from B): $leaked reached B; after B's /readyz turned 200 the proxy sent B a \
request within ${joined:-(never, 15000)} ms; $failed of $((n + m)) answers were not 200"

# --- (e) rolling upgrade ----------------------------------------------------------------------

start_load e
sleep 2
upgraded=0
for name in a b; do
    NAME=${name^^}
    # "Stop the old version": SIGTERM, as systemctl stop sends; the hub finishes the requests
    # in flight and exits.
    kill -TERM "${PID[$name]}"
    wait "${PID[$name]}" 2>/dev/null || true
    unset "PID[$name]"
    say "stopped $NAME (SIGTERM)"
    from=$(($(lines "$name") + 1))
    # "Start the new version": the same binary stands in for it, on the same index.
    start_instance "$name"
    wait_ready "$name" 300
    say "$NAME's /readyz answers 200"
    # Before touching the other instance, make sure the proxy sends this one requests again:
    # otherwise the next stop could leave the proxy with no instance it trusts.
    for _ in $(seq 150); do
        [ "$(served "$name" "e-" "$from")" -gt 0 ] && break
        sleep 0.1
    done
    back=$(served "$name" "e-" "$from")
    if [ "$back" -gt 0 ]; then
        say "the proxy sends $NAME requests again ($back so far)"
        upgraded=$((upgraded + 1))
    else
        say "the proxy sent $NAME no request in 15 s"
    fi
done
sleep 2
stop_load e
ok=1
[ "$LOAD_FAILED" = 0 ] && [ "$upgraded" = 2 ] && ok=0
verdict "(e)" $ok "rolling restart, A then B, under load: $LOAD_SUMMARY"

echo
if [ "$FAILS" = 0 ]; then
    echo "all checks passed"
else
    echo "$FAILS check(s) failed"
    exit 1
fi
