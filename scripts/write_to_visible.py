#!/usr/bin/env python3
"""Write-to-visible over HTTP: a coach vets submitted practices one after another; for each,
the time from the vet response to the first /api/v1/search answer that contains it.

Usage: write_to_visible.py BASE_URL COUNT [--read-from URL]   (the hub must be in local sign-in mode)
The coach vets through BASE_URL; the searches go to URL if given (another instance of the hub
on the same database: the time until *its* index has the practice), else to BASE_URL.
Prints: p50 p95 p99 in milliseconds, and the number of practices vetted.
"""
import http.cookiejar
import json
import re
import sys
import time
import urllib.parse
import urllib.request

args = sys.argv[1:]
read_from = None
if "--read-from" in args:
    i = args.index("--read-from")
    read_from = args[i + 1].rstrip("/")
    del args[i : i + 2]
if len(args) != 2:
    raise SystemExit("usage: write_to_visible.py BASE_URL COUNT [--read-from URL]")
base, count = args[0].rstrip("/"), int(args[1])
read_from = read_from or base
jar = http.cookiejar.CookieJar()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)


def get(path):
    try:
        with opener.open(base + path) as r:
            return r.read().decode()
    except urllib.error.HTTPError as e:
        return e.read().decode()


def search(query):
    """The search answer of the instance read from (anonymous there if it is another one)."""
    if read_from == base:
        return json.loads(get("/api/v1/search?" + query))
    try:
        with urllib.request.urlopen(read_from + "/api/v1/search?" + query) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.loads(e.read().decode() or "{}")


def post(path, fields):
    data = urllib.parse.urlencode(fields).encode()
    try:
        with opener.open(base + path, data) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def csrf(page):
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


page = get("/signin")
post("/signin/local", {"csrf": csrf(page), "name": "Bench Coach", "role": "coach", "team": "", "next": "/"})
queue = re.findall(r'href="/review/([a-z0-9-]+)"', get("/review"))
times = []
for slug in queue:
    if len(times) == count:
        break
    page = get("/review/" + slug)
    revision = re.search(r'name="revision" value="(\d+)"', page).group(1)
    title = re.search(r"<h1>Review: (.*?)</h1>", page).group(1)
    query = urllib.parse.urlencode({"q": '"' + title + '"', "per_page": 100})
    # A generated title of stop words alone ("The in in") is left out of a search (the
    # answer says so in its notice): nothing could find it by its title, so skip it.
    if "notice" in search(query):
        continue
    fields = {"csrf": csrf(page), "revision": revision, "decision": "vet", "comment": ""}
    for i in range(len(re.findall(r'name="score-\d+" value="meets"', page))):
        fields[f"score-{i}"] = "meets"
    status = post("/review/" + slug, fields)
    written = time.monotonic()
    assert status == 303, f"vetting {slug} answered {status}"
    while True:
        hits = search(query).get("hits", [])
        if any(h["slug"] == slug for h in hits):
            break
        if time.monotonic() - written > 30:
            raise SystemExit(f"{slug} not searchable after 30 s")
        time.sleep(0.002)
    times.append((time.monotonic() - written) * 1000)

if not times:  # the review queue ran out (a tiny catalog)
    print("- - - 0")
    raise SystemExit(0)
times.sort()
pick = lambda p: times[min(len(times) - 1, round((len(times) - 1) * p))]
print(f"{pick(0.5):.0f} {pick(0.95):.0f} {pick(0.99):.0f} {len(times)}")
