// Drives Debian's headless Chromium through a served perfguide site and reports what it saw
// as JSON on stdout; tests/it/browser.rs starts the server, runs this script and asserts.
//
//   node site.mjs CONFIG.json
//
// CONFIG: { base, fileBase, pages: [path], chapter, navFrom, search: {query},
//           artifacts, chromium, timeoutMs }
// Nothing here decides pass or fail, so a failing check reads as a Rust assertion with the
// whole report beside it.

import { chromium } from "playwright-core";
import { readFileSync, mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const AXE = require.resolve("axe-core/axe.min.js");
const STEP = 20000;

// Never hang: the whole run is bounded.
const watchdog = setTimeout(() => {
  process.stderr.write("site.mjs: timed out\n");
  process.exit(3);
}, config.timeoutMs || 240000);

const report = {
  browser: null,
  pages: [],
  search: {},
  keyboard: {},
  theme: {},
  arrows: {},
  axe: [],
  screenshots: [],
  fileSearch: {},
  errors: []
};

const profile = mkdtempSync(join(tmpdir(), "perfguide-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: config.chromium || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync"
  ],
  viewport: { width: 1280, height: 800 },
  // The site must work offline: anything not from the server or the disk is recorded and
  // refused below.
  serviceWorkers: "block"
});
report.browser = context.browser() ? context.browser().version() : "chromium";

/* ---------- Network and console bookkeeping, per page ---------- */

let current = null; // the record of the page being checked
function fresh(path) {
  current = {
    path,
    consoleErrors: [],
    pageErrors: [],
    failedRequests: [],
    externalRequests: [],
    badResponses: []
  };
  return current;
}
const isLocal = (url) =>
  url.startsWith(config.base) ||
  url.startsWith("file://") ||
  url.startsWith("data:") ||
  url.startsWith("blob:") ||
  url.startsWith("about:");
const isEvents = (url) => url.includes("/__perfguide/events");

// Requests started and not yet answered, with when they started: a step that times out
// reports them, so a stall names the request it waited for.
const inFlight = new Map();
context.on("request", (req) => inFlight.set(req, { url: req.url(), t: Date.now() }));
context.on("requestfinished", (req) => inFlight.delete(req));
context.on("requestfailed", (req) => inFlight.delete(req));
const pending = () =>
  [...inFlight.values()].map((r) => `${r.url} (${Date.now() - r.t} ms)`);

await context.route("**/*", (route) => {
  const url = route.request().url();
  if (isLocal(url)) return route.continue();
  if (current) current.externalRequests.push(url);
  return route.abort("blockedbyclient");
});
context.on("requestfailed", (req) => {
  const url = req.url();
  const why = req.failure() ? req.failure().errorText : "failed";
  // The live-reload stream is cut when a page is left; that is not a failure.
  if (isEvents(url) && /ERR_ABORTED/.test(why)) return;
  if (!isLocal(url)) return; // recorded as external already
  if (current) current.failedRequests.push(`${url}: ${why}`);
});
context.on("response", (resp) => {
  if (resp.status() >= 400 && current && !(current.allow404 && resp.status() === 404)) {
    current.badResponses.push(`${resp.status()} ${resp.url()}`);
  }
});

function watch(page) {
  page.on("console", (msg) => {
    if (msg.type() !== "error" || !current) return;
    // Visiting a missing page on purpose: Chromium logs the 404 of the document itself.
    if (current.allow404 && /status of 404/.test(msg.text())) return;
    current.consoleErrors.push(msg.text());
  });
  page.on("pageerror", (err) => {
    if (current) current.pageErrors.push(String(err));
  });
  return page;
}

const page = watch(context.pages()[0] || (await context.newPage()));
page.setDefaultTimeout(STEP);
const url = (path) => config.base + path;

async function setTheme(pref) {
  await page.evaluate((p) => {
    if (p === "system") localStorage.removeItem("perfguide-theme");
    else localStorage.setItem("perfguide-theme", p);
  }, pref);
}

async function step(name, fn) {
  try {
    return await fn();
  } catch (e) {
    report.errors.push(`${name}: ${e && e.stack ? e.stack : e}\npending requests: ${pending().join(", ")}`);
    return undefined;
  }
}

/* ---------- Every page: console errors, failed and external requests ---------- */

for (const path of config.pages) {
  const rec = fresh(path);
  await step(`visit ${path}`, async () => {
    const t0 = Date.now();
    const resp = await page.goto(url(path), { waitUntil: "load" });
    rec.loadMs = Date.now() - t0;
    rec.status = resp ? resp.status() : null;
    // Let late scripts and images finish.
    await page.waitForLoadState("networkidle", { timeout: 5000 }).catch(() => {});
    rec.title = await page.title();
  });
  report.pages.push(rec);
}
{
  const rec = fresh("no-such-page.html");
  rec.allow404 = true;
  await step("404", async () => {
    const resp = await page.goto(url("no/such/page.html"), { waitUntil: "load" });
    rec.status = resp ? resp.status() : null;
    rec.text = (await page.textContent("main")) || "";
    await page.waitForLoadState("networkidle", { timeout: 5000 }).catch(() => {});
  });
  report.pages.push(rec);
}

/* ---------- Search ---------- */

fresh("search");
await step("search", async () => {
  await page.goto(url("index.html"));
  const indexRequests = [];
  page.on("request", (r) => {
    if (r.url().includes("search-index.js")) indexRequests.push(r.url());
  });
  report.search.indexLoadedBeforeUse = await page.evaluate(() => !!window.perfguideSearchIndex);
  // "/" focuses the box.
  await page.locator("body").click({ position: { x: 5, y: 300 } }).catch(() => {});
  await page.keyboard.press("/");
  report.keyboard.slashFocuses = await page.evaluate(() => document.activeElement && document.activeElement.id === "search");
  await page.keyboard.type(config.search.query, { delay: 20 });
  await page.waitForSelector("#search-results a", { timeout: STEP });
  report.search.indexRequests = indexRequests.slice();
  report.search.results = await page.$$eval("#search-results li a", (as) =>
    as.map((a) => ({
      href: a.getAttribute("href"),
      title: a.querySelector(".result-title") ? a.querySelector(".result-title").textContent : "",
      snippet: a.querySelector(".result-snippet") ? a.querySelector(".result-snippet").innerHTML : ""
    }))
  );
  report.search.status = await page.textContent("#search-status");
  // Keyboard: arrows move through the results, Escape closes, Enter opens.
  await page.keyboard.press("ArrowDown");
  report.keyboard.downFocusesFirst = await page.evaluate(() => {
    const a = document.querySelector("#search-results li a");
    return document.activeElement === a;
  });
  await page.keyboard.press("ArrowDown");
  report.keyboard.downMoves = await page.evaluate(() => {
    const as = document.querySelectorAll("#search-results li a");
    return as.length < 2 || document.activeElement === as[1];
  });
  await page.keyboard.press("ArrowUp");
  await page.keyboard.press("ArrowUp");
  report.keyboard.upReturnsToBox = await page.evaluate(() => document.activeElement.id === "search");
  await page.keyboard.press("Escape");
  report.keyboard.escapeCloses = await page.evaluate(() => document.getElementById("search-results").hidden);
  // In-browser query latency, on the loaded index.
  report.search.latency = await page.evaluate((queries) => {
    const out = [];
    for (const q of queries) {
      const t0 = performance.now();
      let n = 0;
      for (let i = 0; i < 5; i++) n = window.perfguideSearch.query(q).length;
      out.push({ q, ms: (performance.now() - t0) / 5, results: n });
    }
    // Typing: the input handler searches and renders the list synchronously.
    const box = document.getElementById("search");
    const t0 = performance.now();
    for (const q of queries) {
      box.value = q;
      box.dispatchEvent(new Event("input"));
    }
    out.push({ q: "(typing, with rendering, per query)", ms: (performance.now() - t0) / queries.length });
    return out;
  }, config.search.latencyQueries);
  report.search.indexBytes = await page.evaluate(() => JSON.stringify(window.perfguideSearchIndex).length);
  // Enter opens the first result.
  await page.fill("#search", "");
  await page.focus("#search");
  await page.keyboard.type(config.search.query, { delay: 10 });
  await page.waitForSelector("#search-results a");
  const first = await page.getAttribute("#search-results li a", "href");
  await Promise.all([page.waitForURL((u) => u.href.split("#")[0] === new URL(first, page.url()).href.split("#")[0]), page.keyboard.press("Enter")]);
  report.keyboard.enterOpens = page.url();
  report.keyboard.enterExpected = new URL(first, config.base).href;
  // "s" focuses the box too.
  await page.locator("main").click({ position: { x: 2, y: 2 } }).catch(() => {});
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.keyboard.press("s");
  report.keyboard.sFocuses = await page.evaluate(() => document.activeElement && document.activeElement.id === "search");
});
report.search.network = current;

/* ---------- Theme toggle persists across pages ---------- */

fresh("theme");
await step("theme", async () => {
  await page.goto(url(config.navFrom));
  await setTheme("system");
  await page.reload();
  const prefs = [];
  for (let i = 0; i < 3; i++) {
    const p = await page.getAttribute("html", "data-theme-pref");
    prefs.push(p);
    if (p === "dark") break;
    await page.click("#theme-toggle");
  }
  report.theme.cycle = prefs;
  report.theme.before = await page.getAttribute("html", "data-theme");
  const next = await page.getAttribute('.pager a[rel="next"]', "href");
  await Promise.all([page.waitForNavigation(), page.click('.pager a[rel="next"]')]);
  report.theme.nextPage = page.url();
  report.theme.after = await page.getAttribute("html", "data-theme");
  report.theme.afterPref = await page.getAttribute("html", "data-theme-pref");
  report.theme.expectedNext = next;
  await setTheme("system");
});

/* ---------- Left/right arrows ---------- */

fresh("arrows");
await step("arrows", async () => {
  await page.goto(url(config.navFrom));
  const start = page.url();
  const next = new URL(await page.getAttribute('.pager a[rel="next"]', "href"), start).href;
  const prev = new URL(await page.getAttribute('.pager a[rel="prev"]', "href"), start).href;
  await page.locator("main h1").click();
  await Promise.all([page.waitForURL(next), page.keyboard.press("ArrowRight")]);
  report.arrows.right = page.url();
  report.arrows.expectedRight = next;
  await Promise.all([page.waitForURL(start), page.keyboard.press("ArrowLeft")]);
  report.arrows.left = page.url();
  report.arrows.expectedLeft = start;
  await Promise.all([page.waitForURL(prev), page.keyboard.press("ArrowLeft")]);
  report.arrows.left2 = page.url();
  report.arrows.expectedLeft2 = prev;
});

/* ---------- axe-core: index, a rich chapter, search results; both themes ---------- */

async function axe(name) {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 6).map((n) => n.target.join(" ") + " :: " + (n.failureSummary || "").split("\n").slice(0, 3).join(" "))
    }));
  });
  report.axe.push({ name, violations });
}

fresh("axe");
for (const theme of ["light", "dark"]) {
  await step(`axe index ${theme}`, async () => {
    await page.goto(url("index.html"));
    await setTheme(theme);
    await page.reload();
    await axe(`index.html (${theme})`);
  });
  await step(`axe chapter ${theme}`, async () => {
    await page.goto(url(config.chapter));
    await axe(`${config.chapter} (${theme})`);
  });
  await step(`axe search ${theme}`, async () => {
    await page.goto(url("index.html"));
    await page.focus("#search");
    await page.keyboard.type(config.search.query, { delay: 5 });
    await page.waitForSelector("#search-results a");
    await axe(`search results (${theme})`);
  });
}

/* ---------- Screenshots: 1280 and 390 px, light and dark ---------- */

mkdirSync(config.artifacts, { recursive: true });
fresh("screenshots");
for (const width of [1280, 390]) {
  for (const theme of ["light", "dark"]) {
    await step(`screenshots ${width} ${theme}`, async () => {
      await page.setViewportSize({ width, height: width > 500 ? 800 : 844 });
      await page.goto(url("index.html"));
      await setTheme(theme);
      for (const [name, path] of [["index", "index.html"], ["chapter", config.chapter]]) {
        await page.goto(url(path));
        await page.waitForLoadState("networkidle", { timeout: 5000 }).catch(() => {});
        const file = join(config.artifacts, `${name}-${width}-${theme}.png`);
        await page.screenshot({ path: file });
        report.screenshots.push(file);
      }
      // A screenshot with search results open.
      await page.goto(url("index.html"));
      await page.focus("#search");
      await page.keyboard.type(config.search.query, { delay: 5 });
      await page.waitForSelector("#search-results a");
      const file = join(config.artifacts, `search-${width}-${theme}.png`);
      await page.screenshot({ path: file });
      report.screenshots.push(file);
    });
  }
}
await page.setViewportSize({ width: 1280, height: 800 });
await step("reset theme", () => setTheme("system"));

/* ---------- Search from disk (file://) ---------- */

if (config.fileBase) {
  fresh("file");
  await step("file search", async () => {
    await page.goto(config.fileBase + "index.html");
    await page.focus("#search");
    await page.keyboard.type(config.search.query, { delay: 5 });
    await page.waitForSelector("#search-results a");
    report.fileSearch.first = await page.getAttribute("#search-results li a", "href");
    report.fileSearch.count = await page.$$eval("#search-results li a", (a) => a.length);
  });
  report.fileSearch.network = current;
}

await context.close();
rmSync(profile, { recursive: true, force: true });
clearTimeout(watchdog);
process.stdout.write(JSON.stringify(report, null, 1) + "\n");
