// Opens each page of a plan in headless Chromium and reports, per page and width, what a
// person with a phone, a keyboard or a screen reader would run into:
// - axe-core's violations (WCAG 2.0/2.1 A and AA, plus best practices such as unique landmarks),
// - horizontal overflow (WCAG 1.4.10 reflow: the page must fit 320 CSS pixels), naming the
//   elements that stick out,
// - chart labels drawn smaller than 12 px (a chart scaled down to a phone),
// - errors in the console (a Content-Security-Policy violation, a script error) and any
//   request of the page that failed or answered 4xx/5xx (a missing favicon, a broken image).
//
// Usage: node audit.mjs plan.json > report.json, where the plan is
//   { "base": "http://127.0.0.1:PORT", "chromium": "/usr/bin/chromium", "widths": [1280, 320],
//     "html_dir": "/tmp/...", "pages": [{ "label": "...", "path": "/...", "status": 200,
//       "cookies": [{ "name": "...", "value": "..." }],
//       "steps": [{ "fill": "#title", "value": "" }, { "click": "button[value=save]" }] }] }
// A step may also choose a file: { "upload": "#upload-file", "name": "a.png", "type": "image/png",
// "content": "<base64>" }.
// Each page's source, as served, is saved as html_dir/{index}.html for the Nu HTML Checker.
// The test (tests/app/browser.rs) reads the report and fails with its findings.

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const plan = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const browser = await chromium.launch({
  executablePath: plan.chromium,
  // Flags the machine needs: no sandbox as root, and no calls home on a closed network.
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

// Two pages at a time: the server and the browser take turns on a small machine.
const jobs = plan.pages.flatMap((page, index) =>
  plan.widths.map((width, w) => ({ page, index, width, first: w === 0 })),
);
const report = new Array(jobs.length);
let next = 0;
async function worker() {
  while (next < jobs.length) {
    const n = next++;
    const { page, index, width, first } = jobs[n];
    // The source is the same at every width: saved once, for the HTML checker.
    const save = first ? `${plan.html_dir}/${index}.html` : null;
    // A page that cannot be opened at all is a finding too, not the end of the run.
    report[n] = await audit(page, width, save).catch((e) => ({
      label: page.label,
      path: page.path,
      width,
      axe: [],
      overflow: null,
      problems: [`could not be audited: ${e.message.split('\n')[0]}`],
    }));
  }
}
await Promise.all([worker(), worker()]);
await browser.close();
process.stdout.write(JSON.stringify(report, null, 1));

async function audit(entry, width, save) {
  const context = await browser.newContext({ viewport: { width, height: 800 } });
  if (entry.cookies.length) {
    await context.addCookies(
      entry.cookies.map((c) => ({ name: c.name, value: c.value, url: plan.base })),
    );
  }
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (r.status() >= 400 && r.request().resourceType() !== 'document') {
      problems.push(`subresource ${r.status()}: ${r.url()}`);
    }
  });
  let response = await page.goto(plan.base + entry.path, { waitUntil: 'load' });
  // A form filled in and sent as a person would: the page audited is the one that answers.
  for (const step of entry.steps) {
    if ('fill' in step) {
      await page.fill(step.fill, step.value);
    } else if ('upload' in step) {
      await page.setInputFiles(step.upload, {
        name: step.name,
        mimeType: step.type,
        buffer: Buffer.from(step.content, 'base64'),
      });
    } else {
      // The navigation's response is the last of its redirects (a form that answers 303).
      [response] = await Promise.all([
        page.waitForNavigation({ waitUntil: 'load' }),
        page.click(step.click),
      ]);
    }
  }
  const status = response ? response.status() : 0;
  if (save) {
    writeFileSync(save, await response.body());
  }
  if (status !== entry.status) {
    problems.push(`status ${status}, expected ${entry.status}`);
  }
  // Through the DevTools protocol, not a <script> element: the page's CSP (script-src 'self')
  // would rightly refuse an inline one.
  await page.evaluate(axeSource);
  const axe = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: {
        type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'],
      },
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
    }));
  });
  const overflow = await page.evaluate(() => {
    const limit = document.documentElement.clientWidth;
    const wide = document.documentElement.scrollWidth;
    if (wide <= limit) return null;
    // The elements that stick out and are not inside a box that scrolls or clips them,
    // innermost first: those are the ones to fix.
    const clipped = (el) => {
      // Taken out of the flow, it may escape a scroll box that is not its containing block.
      if (['absolute', 'fixed'].includes(getComputedStyle(el).position)) return false;
      for (let p = el.parentElement; p; p = p.parentElement) {
        const o = getComputedStyle(p).overflowX;
        if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') return true;
      }
      return false;
    };
    const name = (el) =>
      el.tagName.toLowerCase() +
      (el.id ? `#${el.id}` : '') +
      (el.classList.length ? `.${[...el.classList].join('.')}` : '');
    const path = (el) => {
      const parts = [];
      for (let e = el; e && e !== document.body; e = e.parentElement) parts.unshift(name(e));
      return parts.slice(-4).join(' > ');
    };
    const out = [...document.body.querySelectorAll('*')]
      .filter((el) => el.getBoundingClientRect().right > limit + 1 && !clipped(el))
      .filter((el, _, all) => !all.some((other) => other !== el && el.contains(other)))
      .slice(0, 8)
      .map((el) => `${path(el)} (${Math.round(el.getBoundingClientRect().right)} px)`);
    return { width: wide, elements: out };
  });
  // A chart's labels are drawn at its scale: on a phone they must stay readable (12 px, the
  // smallest size Lighthouse counts as legible).
  const tiny = await page.evaluate(() =>
    [...document.querySelectorAll('svg.chart text')]
      .map((t) => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)
      .filter((px) => px < 11.95)
      .map((px) => px.toFixed(1)),
  );
  if (tiny.length) {
    problems.push(`chart labels drawn at ${[...new Set(tiny)].join(', ')} px`);
  }
  await context.close();
  return { label: entry.label, path: entry.path, width, axe, overflow, problems };
}
