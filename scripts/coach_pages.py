#!/usr/bin/env python3
"""Times the coaches' pages that summarise the whole catalog: the review queue and the
quarterly review of the current quarter (opened if it is not yet).

Usage: coach_pages.py BASE_URL [RUNS]   (the hub must be in local sign-in mode)
Prints one line per page: path, the median and the slowest of RUNS loads in milliseconds.
"""
import datetime
import http.cookiejar
import re
import sys
import time
import urllib.parse
import urllib.request

base = sys.argv[1].rstrip("/")
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


opener = urllib.request.build_opener(
    urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect
)


def get(path):
    try:
        with opener.open(base + path) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def post(path, fields):
    try:
        with opener.open(base + path, urllib.parse.urlencode(fields).encode()) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def csrf(page):
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


_, page = get("/signin")
post("/signin/local", {"csrf": csrf(page), "name": "Bench Coach", "role": "coach", "team": "", "next": "/"})
today = datetime.date.today()
quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
_, page = get("/plc")
post("/plc", {"csrf": csrf(page), "quarter": quarter, "held_on": today.isoformat(), "notes": ""})
for path in ["/review", f"/plc/{quarter}"]:
    times = []
    for _ in range(runs):
        started = time.monotonic()
        status, body = get(path)
        times.append((time.monotonic() - started) * 1000)
        assert status == 200, f"{path} answered {status}"
    times.sort()
    print(f"{path} median {times[len(times) // 2]:.0f} ms, slowest {times[-1]:.0f} ms, {len(body) // 1024} KB")
