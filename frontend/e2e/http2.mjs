#!/usr/bin/env node
// The dashboard over HTTP/2, in a real browser: sse-fcgi behind nginx and behind lighttpd, each
// with its shipped TLS + HTTP/2 file (contrib/<front>/sse-fcgi-tls.conf, a self-signed
// certificate), frontend/dist served on both the HTTPS port and the plain one, driven by Debian's
// Chromium through playwright-core. Over HTTP/1.1 a browser keeps at most 6 connections per
// origin and every dashboard tab holds one for its stream; over HTTP/2 its tabs share one.
//
//   node e2e/http2.mjs [--front=nginx,lighttpd] [--tabs=10] [--no-http1] [--no-limit]
//
// For each front, in one browser context (ignoreHTTPSErrors: the certificate is self-signed):
//   1. N dashboard tabs (--tabs, default 10) over HTTPS: the pages and every tab's stream are
//      HTTP/2 (the page's navigation entry, and the stream's response as Chromium's network
//      layer saw it), all on one connection; stats lists N admin streams, every tab's monitor
//      shows N, and an event sent after all N opened reaches every tab.
//   2. Closing half of the tabs: each leaves stats within the bound the HTTP/1.1 scenarios use
//      (frontend/e2e/run.mjs 4 and 17: 1 s behind nginx, heartbeat + 1 s behind lighttpd, with
//      the same E2E_MARGIN_MS), the others stay live (their monitors show the rest, a second
//      event reaches each), and closing the rest leaves none.
//   Behind lighttpd, whose HTTP/2 allows 8 requests at once on a connection (compiled into
//   lighttpd 1.4, contrib/lighttpd/sse-fcgi-tls.conf), 1. and 2. open 7 tabs (each tab's stream,
//   and one request at a time left for what the pages fetch), and
//   3. shows that limit: 8 tabs' streams take all 8, and a 9th tab's stream does not open until
//      one of them closed (their acks wait too: the server closes them, ack_timeout).
//      --no-limit opens N tabs behind lighttpd in 1. instead (and fails).
//   Last, the problem itself (--no-http1 skips it): over HTTP/1.1, on the plain port, 6 tabs'
//   streams hold the browser's 6 connections to the origin, and a 7th tab's stream does not
//   open until one of them closed.
// Env: CHROMIUM (browser path), E2E_HEARTBEAT (seconds, default 1), E2E_MARGIN_MS (default
// 1000), E2E_FRONTS, SSE_FCGI_BIN (read by the harness). Prints one line per check, then
// "N passed, N failed"; exits 1 on any failure.

import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { exitWith, summarize } from './summary.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const frontendDir = resolve(here, '..');
const repoRoot = resolve(frontendDir, '..');
const distDir = resolve(frontendDir, 'dist');

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a}`);
    return [m[1], m[2] ?? 'true'];
  }),
);
if (args.help) {
  console.log('usage: node e2e/http2.mjs [--front=nginx,lighttpd] [--tabs=10] [--no-http1] [--no-limit]');
  process.exit(0);
}
const fronts = (args.front ?? process.env.E2E_FRONTS ?? 'nginx,lighttpd').split(',').filter(Boolean);
const tabCount = Number(args.tabs ?? 10);
const withHttp1 = !args['no-http1'];
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const heartbeat = Number(process.env.E2E_HEARTBEAT ?? 1);
const MARGIN_MS = Number(process.env.E2E_MARGIN_MS ?? 1_000);
/** What the page must show, 1 s after it happened (as in run.mjs). */
const SHOW_BOUND_MS = 1_000;
/** Requests one HTTP/2 connection carries at once behind lighttpd 1.4 (its h2con.r[8]). */
const LIGHTTPD_H2_STREAMS = 8;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
class Failure extends Error {}
function check(cond, message) {
  if (!cond) throw new Failure(message);
}

/** A closed tab leaves stats: at once behind nginx; behind lighttpd, over HTTP/1.1, at its next
 *  write (a heartbeat). The bound of run.mjs's closeBoundMs. */
function closeBoundMs(front) {
  return front === 'nginx' ? 1_000 : heartbeat * 1_000 + 1_000;
}

let overBound = [];
function within(ms, bound, what) {
  check(ms <= bound + MARGIN_MS, `${what} after ${ms} ms (bound ${bound} ms + margin ${MARGIN_MS} ms)`);
  if (ms > bound) overBound.push(`${what} ${ms} ms > ${bound} ms`);
}

const results = [];
function report(front, n, title, ok, ms, detail) {
  results.push(ok);
  console.log(`${ok ? 'ok  ' : 'FAIL'} [${front}] ${n}. ${title} (${(ms / 1000).toFixed(2)} s)${detail ? ` — ${detail}` : ''}`);
}

function summary(s) {
  return `total=${s.total_connections} admin=${s.admin_connections} display=${s.display_connections}`;
}

const adminIds = (s) => s.connections.filter((c) => c.type === 'admin').map((c) => c.id);

/** Polls the stats route until pred(stats) holds: { stats, ms }; throws after timeoutMs. */
async function waitStats(stack, pred, timeoutMs, what) {
  const t0 = Date.now();
  for (;;) {
    const last = await stack.stats();
    if (pred(last)) return { stats: last, ms: Date.now() - t0 };
    if (Date.now() - t0 > timeoutMs) throw new Failure(`${what}: not within ${timeoutMs} ms: ${summary(last)}`);
    await sleep(20);
  }
}

/** Resolves fn()'s first truthy value, polled every 25 ms; throws after timeoutMs. */
async function waitForValue(fn, timeoutMs, what) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return { value: v, ms: Date.now() - t0 };
    if (Date.now() - t0 > timeoutMs) throw new Failure(`${what}: not within ${timeoutMs} ms`);
    await sleep(25);
  }
}

const launchOptions = {
  executablePath: chromiumPath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
};

/**
 * A dashboard tab: the page, and what Chromium's network layer saw of its stream (the admin
 * stream's response: protocol, connectionId), through a CDP session of its own.
 */
async function openTab(ctx, url, { waitOpen = true, timeout = 10_000 } = {}) {
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  const tab = { page, cdp, stream: null };
  cdp.on('Network.responseReceived', (e) => {
    if (new URL(e.response.url).pathname.endsWith('/api/v1/events/admin')) {
      tab.stream = { protocol: e.response.protocol, connectionId: e.response.connectionId, status: e.response.status };
      tab.streamAt = Date.now();
    }
  });
  await cdp.send('Network.enable');
  if (waitOpen) {
    await page.goto(url);
    await page.locator('[data-testid="live-badge"][data-state="open"]').first().waitFor({ timeout });
  }
  return tab;
}

/** The protocol the page's own document came over (Navigation Timing's nextHopProtocol). */
const pageProtocol = (page) => page.evaluate(() => performance.getEntriesByType('navigation')[0]?.nextHopProtocol ?? null);

/** The number the monitor of `page` shows as admin connections, or null. */
const shownAdmin = (page) =>
  page.evaluate(() => {
    const t = document.querySelector('[data-testid="stat-admin"]')?.textContent.trim() ?? '';
    return /^[0-9]+$/.test(t) ? Number(t) : null;
  });

/**
 * Sends a test event (POST /test, system.test_event: the type the Debug Tools of every tab
 * listen to) with the message `message`, and waits until every tab lists it: the wait in ms.
 */
async function eventReachesAll(stack, tabs, message) {
  const r = await stack.api('test', { method: 'POST', body: { type: 'test_event', message } });
  check(r.status === 200, `POST /test: HTTP ${r.status} ${r.text.slice(0, 200)}`);
  const sent = Date.now();
  check(r.json.data.connections_notified === tabs.length, `the event went to ${r.json.data.connections_notified} streams, not ${tabs.length}`);
  const late = [];
  await Promise.all(
    tabs.map(async (t, i) => {
      const item = t.page.locator('[data-testid="received-event"][data-event-type="system.test_event"]', { hasText: message });
      try {
        await item.first().waitFor({ timeout: SHOW_BOUND_MS + MARGIN_MS + 2_000 });
      } catch {
        late.push(i + 1);
      }
    }),
  );
  check(late.length === 0, `"${message}" did not reach tab(s) ${late.join(', ')} of ${tabs.length}`);
  const ms = Date.now() - sent;
  within(ms, SHOW_BOUND_MS, `the event shown in all ${tabs.length} tabs`);
  return ms;
}

/** Every tab's monitor shows n admin connections: the longest wait in ms from `since`. */
async function monitorsShow(tabs, n, since, what) {
  let worst = 0;
  for (const [i, t] of tabs.entries()) {
    await waitForValue(async () => (await shownAdmin(t.page)) === n, SHOW_BOUND_MS + MARGIN_MS + 2_000, `tab ${i + 1}'s monitor to show ${n} admin (${what})`);
    worst = Math.max(worst, Date.now() - since);
  }
  return worst;
}

/** Opens tabs one by one: each gets its page, its stream, and its id in stats. */
async function openTabs(stack, ctx, url, count, before = 0) {
  const tabs = [];
  let ids = adminIds(await stack.stats());
  for (let i = 1; i <= count; i++) {
    const tab = await openTab(ctx, url);
    const { stats } = await waitStats(stack, (s) => s.admin_connections === before + i, 3_000, `tab ${i}: ${before + i} admin streams`);
    const now = adminIds(stats);
    tab.id = now.find((id) => !ids.includes(id));
    tab.openedAt = Date.now();
    ids = now;
    tabs.push(tab);
  }
  return tabs;
}

/**
 * `held` tabs (open, their streams live) take every request the browser may have open at once
 * to the origin of `url`; one tab more then loads. Its stream must not open while all of them
 * are live: only after one of them closed. Their acks wait for a free request too, so after 3
 * heartbeats the server closes them (ack_timeout), which frees one. Watches for 3 heartbeats
 * + 2 s; resolves a description.
 */
async function oneTooMany(stack, ctx, url, held, protocol) {
  const protocols = [...new Set(held.map((t) => t.stream?.protocol))];
  check(protocols.length === 1 && protocols[0] === protocol, `the streams came over ${protocols.join(', ')}, not ${protocol}`);
  const n = held.length;
  const extra = await openTab(ctx, url, { waitOpen: false });
  const t0 = Date.now();
  extra.page.goto(url).catch(() => {}); // it may never finish loading
  let most = 0;
  while (Date.now() - t0 < heartbeat * 3_000 + 2_000) {
    most = Math.max(most, (await stack.stats()).admin_connections);
    await sleep(50);
  }
  const closed = (await stack.api('closed')).json.data.closed.filter((c) => held.some((t) => t.id === c.id));
  const firstClose = Math.min(...closed.map((c) => Date.parse(c.closed_at)));
  const reasons = closed.map((c) => c.reason);
  check(most <= n, `${most} admin streams at once with ${n + 1} tabs: more than the ${n} requests the browser keeps open`);
  if (extra.stream) {
    check(
      closed.length > 0 && extra.streamAt >= firstClose - 50,
      `tab ${n + 1}'s stream opened ${extra.streamAt - t0} ms after it loaded, while the ${n} others were live`,
    );
  }
  const what = extra.stream
    ? `tab ${n + 1}'s stream opened only ${extra.streamAt - firstClose} ms after one of the ${n} closed`
    : `tab ${n + 1}'s stream never opened in ${Math.round((Date.now() - t0) / 1000)} s`;
  return `${n} streams over ${protocol}, at most ${most} in stats; ${what}; the ${n} tabs' acks waited too: ${closed.length} of their streams closed meanwhile (${countBy(reasons)})`;
}

/** "a×2, b×1". */
function countBy(list) {
  const m = new Map();
  for (const x of list) m.set(x, (m.get(x) ?? 0) + 1);
  return [...m].map(([k, v]) => `${k}×${v}`).join(', ') || 'none';
}

async function runFront(front, startStack) {
  let n = 0;
  const step = async (title, fn) => {
    n += 1;
    const t0 = Date.now();
    overBound = [];
    try {
      const detail = await fn();
      const over = overBound.length ? ` [over the bound, within the margin: ${overBound.join('; ')}]` : '';
      report(front, n, title, true, Date.now() - t0, detail + over);
      return true;
    } catch (err) {
      const why = err instanceof Failure ? err.message : (err?.stack ?? String(err)).split('\n').slice(0, 3).join(' | ');
      report(front, n, title, false, Date.now() - t0, why);
      return false;
    }
  };

  let stack;
  try {
    stack = await startStack({ front, heartbeat, staticDir: distDir, tls: true });
  } catch (err) {
    report(front, 0, 'the stack with HTTPS and HTTP/2', false, 0, `did not start: ${err.message.split('\n')[0]}`);
    return;
  }
  const browser = await chromium.launch(launchOptions);
  const newContext = () =>
    browser.newContext({
      viewport: { width: 1280, height: 900 },
      ignoreHTTPSErrors: true,
      httpCredentials: { username: stack.user, password: stack.password },
    });
  const limited = front === 'lighttpd' && !args['no-limit'];
  // Behind lighttpd: the tabs whose streams leave one request at a time for the pages' fetches.
  const tabsH2 = limited ? Math.min(tabCount, LIGHTTPD_H2_STREAMS - 1) : tabCount;
  const httpsPages = `${stack.httpsUrl}/admin/monitoring`;
  try {
    const ctx = await newContext();
    let tabs = [];
    const opened = await step(`HTTP/2: ${tabsH2} dashboard tabs in one browser => ${tabsH2} admin streams on one h2 connection, each monitor shows ${tabsH2}, an event reaches every tab`, async () => {
      tabs = await openTabs(stack, ctx, httpsPages, tabsH2);
      const lastOpened = tabs.at(-1).openedAt;
      const { stats } = await waitStats(stack, (s) => s.admin_connections === tabsH2 && s.total_connections === tabsH2, 1_000, `${tabsH2} admin`);
      check(new Set(tabs.map((t) => t.id)).size === tabsH2, `the tabs' streams are not ${tabsH2} different ones in stats: ${summary(stats)}`);
      const protocols = await Promise.all(tabs.map((t) => pageProtocol(t.page)));
      check(protocols.every((p) => p === 'h2'), `the pages came over ${[...new Set(protocols)].join(', ')}, not h2 only`);
      check(tabs.every((t) => t.stream), `no stream response seen in tab(s) ${tabs.flatMap((t, i) => (t.stream ? [] : [i + 1])).join(', ')}`);
      const streamProtocols = [...new Set(tabs.map((t) => t.stream.protocol))];
      check(streamProtocols.length === 1 && streamProtocols[0] === 'h2', `the streams came over ${streamProtocols.join(', ')}, not h2`);
      const connections = new Set(tabs.map((t) => t.stream.connectionId));
      check(connections.size === 1, `the ${tabsH2} streams are on ${connections.size} connections, not one`);
      const shown = await monitorsShow(tabs, tabsH2, lastOpened, 'all opened');
      within(shown, SHOW_BOUND_MS, `${tabsH2} shown in every monitor`);
      const eventMs = await eventReachesAll(stack, tabs, `after all ${tabsH2} tabs opened`);
      return (
        `stats ${tabsH2} admin; pages and streams h2, all on connection ${[...connections][0]}; ` +
        `every monitor showed ${tabsH2} within ${shown} ms of the last tab's stream; the event reached all ${tabsH2} tabs in ${eventMs} ms`
      );
    });

    await step(`HTTP/2: closing ${Math.floor(tabsH2 / 2)} of the ${tabsH2} tabs => each leaves stats within ${closeBoundMs(front)} ms, the others stay live; closing the rest leaves none`, async () => {
      check(opened, 'not run: the tabs of 1. did not open');
      const closing = tabs.filter((_, i) => i % 2 === 1);
      const staying = tabs.filter((_, i) => i % 2 === 0);
      const times = [];
      const reasons = [];
      for (const t of closing) {
        const t0 = Date.now();
        await t.page.close();
        await waitStats(stack, (s) => !s.connections.some((c) => c.id === t.id), closeBoundMs(front) + MARGIN_MS + 5_000, `the closed tab's stream ${t.id} gone from stats`);
        const took = Date.now() - t0;
        within(took, closeBoundMs(front), 'a closed tab gone from stats');
        times.push(took);
      }
      const closed = (await stack.api('closed')).json.data.closed;
      for (const t of closing) reasons.push(closed.find((c) => c.id === t.id)?.reason ?? '?');
      const { stats } = await waitStats(stack, (s) => s.admin_connections === staying.length, 1_000, `${staying.length} admin left`);
      check(staying.every((t) => stats.connections.some((c) => c.id === t.id)), `a tab left open lost its stream: ${summary(stats)}`);
      const since = Date.now();
      const shown = await monitorsShow(staying, staying.length, since, 'after the closes');
      const eventMs = await eventReachesAll(stack, staying, `after ${closing.length} tabs closed`);
      const stillOne = new Set(staying.map((t) => t.stream.connectionId)).size === 1;
      for (const t of staying) await t.page.close();
      const { ms: lastMs } = await waitStats(stack, (s) => s.total_connections === 0, closeBoundMs(front) + MARGIN_MS + 5_000, 'no stream left after closing every tab');
      return (
        `closed tabs gone from stats after ${times.join('/')} ms (${[...new Set(reasons)].join(', ')}); the ${staying.length} others live ` +
        `(monitors showed ${staying.length} within ${shown} ms, an event reached each in ${eventMs} ms${stillOne ? ', one connection still' : ''}); ` +
        `none left ${lastMs} ms after closing them`
      );
    });
    await ctx.close();

    if (limited) {
      await step(`lighttpd's HTTP/2 limit: ${LIGHTTPD_H2_STREAMS} tabs' streams take the ${LIGHTTPD_H2_STREAMS} requests a connection may have open; a ${LIGHTTPD_H2_STREAMS + 1}th tab's stream does not open until one of them closes`, async () => {
        await waitStats(stack, (s) => s.total_connections === 0, 5_000, 'an empty registry');
        const full = await newContext();
        try {
          const held = await openTabs(stack, full, httpsPages, LIGHTTPD_H2_STREAMS);
          return await oneTooMany(stack, full, httpsPages, held, 'h2');
        } finally {
          await full.close();
        }
      });
    }

    if (withHttp1) {
      await step("HTTP/1.1 (the problem): 6 tabs' streams hold the browser's 6 connections to the origin; a 7th tab's stream does not open until one of them closes", async () => {
        await waitStats(stack, (s) => s.total_connections === 0, 5_000, 'an empty registry');
        const plain = await newContext();
        try {
          const url = `${stack.baseUrl}/admin/monitoring`;
          const held = await openTabs(stack, plain, url, 6);
          return await oneTooMany(stack, plain, url, held, 'http/1.1');
        } finally {
          await plain.close();
        }
      });
    }
  } finally {
    await browser.close().catch(() => {});
    await stack.stop().catch((err) => console.log(`# stack.stop failed: ${err.message}`));
  }
}

async function main() {
  if (!existsSync(resolve(distDir, 'index.html'))) {
    console.log(`# ${distDir}/index.html is missing: run "npm run build" first`);
    console.log('0 passed, 1 failed');
    return 1;
  }
  if (!existsSync(chromiumPath)) {
    console.log(`# no browser at ${chromiumPath} (apt-get install chromium)`);
    console.log('0 passed, 1 failed');
    return 1;
  }
  const { startStack } = await import(pathToFileURL(resolve(repoRoot, 'tests/harness/stack.mjs')).href);
  for (const front of fronts) await runFront(front, startStack);
  return summarize(results);
}

exitWith(main, results);
