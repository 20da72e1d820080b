#!/usr/bin/env bash
# Lighthouse's four scores (performance, accessibility, best practices, SEO) for the home, a
# practice, the catalog (`/search`) and a search results page of a hub on its embedded
# defaults (the seed catalog), with Lighthouse's default mobile emulation (slow 4G, 4x CPU
# slowdown): a Markdown table for BENCHMARKS.md. Exits non-zero when any score is below 100
# (but the results page's SEO, see PAGES), after printing what cost it.
#
# Needs Node.js with npm and Debian's Chromium (apt-get install chromium). Lighthouse is
# installed, as locked in scripts/lighthouse/, under target/lighthouse. BRIGHTSPOTS_BIN=PATH
# uses that binary instead of `cargo build --release`. Performance depends on the machine:
# run it with nothing else busy.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-3977}
CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
export CHROME_PATH

TOOLS="$ROOT/target/lighthouse"
if ! cmp -s "$ROOT/scripts/lighthouse/package-lock.json" "$TOOLS/installed-lock.json"; then
    rm -rf "$TOOLS" && mkdir -p "$TOOLS"
    cp "$ROOT/scripts/lighthouse/package.json" "$ROOT/scripts/lighthouse/package-lock.json" "$TOOLS/"
    # `npm install` from the lock, not `npm ci`: one of Lighthouse's dependencies asks for
    # another at "latest", which `npm ci` refuses as out of sync with any lock.
    (cd "$TOOLS" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error)
    cp "$ROOT/scripts/lighthouse/package-lock.json" "$TOOLS/installed-lock.json"
fi

if [ -n "${BRIGHTSPOTS_BIN:-}" ]; then
    BIN=$(realpath "$BRIGHTSPOTS_BIN")
else
    (cd "$ROOT" && cargo build --release --quiet)
    BIN="$ROOT/target/release/brightspots"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bs-lighthouse.XXXXXX")
cleanup() {
    [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
ln -s "$ROOT/content" "$WORK/content"
(cd "$WORK" && BRIGHTSPOTS_BIND="127.0.0.1:$PORT" "$BIN" >"$WORK/server.log" 2>&1) &
SERVER=$!
for _ in $(seq 1 600); do
    curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null || { cat "$WORK/server.log"; exit 1; }

FLAGS="--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run"
FLAGS="$FLAGS --disable-background-networking --disable-component-update --disable-sync"
# The results of a search are noindex on purpose (robots.txt and the page say so), which
# Lighthouse's SEO audit "is-crawlable" counts against them: that audit alone is expected to
# fail there, and the table says so.
PAGES=("/" "/practices/number-talks-sentence-frames" "/search" "/search?q=attendance")

echo "| Page | Performance | Accessibility | Best practices | SEO |"
echo "|---|---|---|---|---|"
failed=0
for page in "${PAGES[@]}"; do
    out="$WORK/report.json"
    "$TOOLS/node_modules/.bin/lighthouse" "http://127.0.0.1:$PORT$page" --quiet \
        --chrome-flags="$FLAGS" --output=json --output-path="$out" >/dev/null 2>&1
    python3 - "$page" "$out" >>"$WORK/table" 2>>"$WORK/costs" <<'EOF' || failed=1
import json, sys
page, path = sys.argv[1], sys.argv[2]
report = json.load(open(path))
cats = report["categories"]
order = ["performance", "accessibility", "best-practices", "seo"]

results = "?" in page
ok = True
for c in order:
    if round(cats[c]["score"] * 100) == 100:
        continue
    for ref in cats[c]["auditRefs"]:
        audit = report["audits"][ref["id"]]
        if ref["weight"] > 0 and audit["score"] is not None and audit["score"] < 1:
            if results and ref["id"] == "is-crawlable":
                continue
            ok = False
            print(f"{page}: {c}: {ref['id']} {audit['score']} {audit.get('displayValue', '')}",
                  file=sys.stderr)
note = " (noindex on purpose: search results stay out of search engines)" if results else ""
print(f"| `{page}`{note} | " + " | ".join(str(round(cats[c]["score"] * 100)) for c in order) + " |")
sys.exit(0 if ok else 1)
EOF
done
cat "$WORK/table"
if [ "$failed" -ne 0 ]; then
    echo
    echo "Below 100:"
    cat "$WORK/costs"
    exit 1
fi
