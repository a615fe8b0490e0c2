#!/usr/bin/env node
// Browser tests of the dashboard against the real stack: sse-fcgi behind
// lighttpd and behind nginx, serving frontend/dist, driven by Debian's
// Chromium through playwright-core. Every scenario asserts on the server's
// stats route, the truth about who is connected.
//
//   node e2e/run.mjs [--front=lighttpd,nginx] [--only=1,4,7] [--screenshot=PATH | --no-screenshot]
//
// Env: E2E_FRONTS, E2E_HARNESS (path to stack.mjs), CHROMIUM (browser path),
// E2E_HEARTBEAT (seconds, default 1), FULL=1 (the duplicated-tab scenario
// watches for flapping for 30 s instead of 10 s). Prints one line per
// scenario and a last line "N passed, N failed"; exits 1 on any failure.
//
// --break=push (or E2E_BREAK=push) breaks the pushed monitor on purpose, to
// show that the scenarios of the monitor notice: every page drops the
// `summary`, `changes` and `resync` events from its admin stream before its
// scripts read them (the stream and its `"monitor": true` stay).

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { exitWith, summarize } from './summary.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const frontendDir = resolve(here, '..');
const repoRoot = resolve(frontendDir, '..');

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a}`);
    return [m[1], m[2] ?? 'true'];
  }),
);
const fronts = (args.front ?? process.env.E2E_FRONTS ?? 'lighttpd,nginx').split(',').filter(Boolean);
const only = args.only ? new Set(args.only.split(',').map(Number)) : null;
const harnessPath = resolve(repoRoot, args.harness ?? process.env.E2E_HARNESS ?? 'tests/harness/stack.mjs');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const heartbeat = Number(process.env.E2E_HEARTBEAT ?? 1);
// How long a duplicated tab is watched for flapping: 30 s
// with FULL=1, 10 s by default to keep routine runs short.
const duplicateWatchSeconds = process.env.FULL === '1' ? 30 : 10;
const distDir = resolve(frontendDir, 'dist');
// Every run leaves a screenshot in e2e/out/ (ignored by git); `npm run e2e:docs`
// refreshes the committed one with --screenshot=docs/monitor.png.
const screenshotPath = args['no-screenshot'] ? null : resolve(frontendDir, args.screenshot ?? 'e2e/out/monitor.png');
const breakPush = (args.break ?? process.env.E2E_BREAK ?? '') === 'push';

const results = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function report(front, n, title, ok, ms, detail) {
  results.push(ok);
  const line = `${ok ? 'ok  ' : 'FAIL'} [${front}] ${n}. ${title} (${(ms / 1000).toFixed(2)} s)${detail ? ` — ${detail}` : ''}`;
  console.log(line);
}

class Failure extends Error {}
function check(cond, message) {
  if (!cond) throw new Failure(message);
}

function summary(s) {
  const list = (s.connections ?? []).map((c) => `${c.type}:${c.user ?? c.display}`).join(',');
  return `total=${s.total_connections} admin=${s.admin_connections} display=${s.display_connections} [${list}]`;
}

function adminIds(s) {
  return (s.connections ?? []).filter((c) => c.type === 'admin').map((c) => c.id);
}

/** GET {prefix}/closed: { capacity, closed: [...newest first], totals }. */
async function closedList(stack) {
  const r = await stack.api('closed');
  if (r.status !== 200 || !r.json?.data) throw new Failure(`closed: HTTP ${r.status} ${r.text.slice(0, 200)}`);
  return r.json.data;
}

/**
 * A TCP proxy in front of the stack that loses the browser's hangups, as a
 * network that drops packets does: when the browser closes a connection, the
 * proxy keeps its upstream half open and keeps reading (and discarding) what
 * the server writes, so neither the web server nor the responder can see that
 * the tab is gone. Only the page's beacon, superseding or missing acks can
 * remove its stream then. Returns { baseUrl, close }.
 */
async function hangupLosingProxy(port) {
  const upstreams = new Set();
  const server = net.createServer((client) => {
    const up = net.connect(port, '127.0.0.1');
    upstreams.add(up);
    client.pipe(up, { end: false });
    up.pipe(client);
    const forget = () => {
      client.unpipe(up);
      up.unpipe(client);
      up.on('data', () => {}); // keep reading: the server's writes keep succeeding
    };
    client.on('end', forget);
    client.on('close', forget);
    client.on('error', () => {});
    up.on('error', () => client.destroy());
    up.on('close', () => {
      upstreams.delete(up);
      client.destroy();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    baseUrl: `http://127.0.0.1:${server.address().port}`,
    close: async () => {
      for (const up of upstreams) up.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A temporary --displays file; returns { file, remove }. */
function displaysFile(names) {
  const dir = mkdtempSync(join(tmpdir(), 'sse-fcgi-e2e-'));
  const file = join(dir, 'displays');
  writeFileSync(file, `${names.join('\n')}\n`);
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

// ---- reading the monitor page -----------------------------------------------

/**
 * In the page: records what it shows every time that changes. A
 * MutationObserver reads, after each DOM change, what matters on a monitor
 * page (`kind` 'monitor': the counts of the stat cards, the ids of the live
 * table's rows by type, the ids and reasons of Recently closed) or on a kiosk
 * ('kiosk': the status across the top of the screen and the badge), and when
 * that differs from the last state appends it to window.__shown with
 * Date.now(): the time React committed it, not the time a test looked.
 */
function recordShown(kind) {
  if (window.__shown) return;
  const count = (id) => {
    const text = document.querySelector(`[data-testid="${id}"]`)?.textContent.trim() ?? '';
    return /^[0-9]+$/.test(text) ? Number(text) : null;
  };
  const ids = (sel) => [...document.querySelectorAll(sel)].map((r) => r.dataset.connectionId);
  const live = 'table[aria-label="Live SSE connections"] tbody tr[data-connection-id]';
  const readers = {
    monitor: () => ({
      total: count('stat-total'),
      admin: count('stat-admin'),
      display: count('stat-display'),
      adminRows: ids(`${live}[data-type="admin"]`),
      displayRows: ids(`${live}[data-type="display"]`),
      closed: [...document.querySelectorAll('table[aria-label="Recently closed connections"] tbody tr[data-connection-id]')].map(
        (r) => `${r.dataset.connectionId}:${r.dataset.reason}`,
      ),
      mode: document.querySelector('[data-testid="live-status"]')?.dataset.mode ?? null,
    }),
    kiosk: () => {
      const status = document.querySelector('[data-testid="kiosk-status"]');
      return {
        kind: status?.dataset.kind ?? null,
        title: status?.querySelector('p')?.textContent ?? null,
        badge: document.querySelector('[data-testid="live-badge"]')?.dataset.state ?? null,
      };
    },
  };
  const read = readers[kind];
  const log = [];
  let last = '';
  const note = () => {
    const state = read();
    const key = JSON.stringify(state);
    if (key === last) return;
    last = key;
    log.push({ t: Date.now(), ...state });
  };
  window.__shown = log;
  new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  note();
}

/**
 * In the page (--break=push): the admin stream's `summary`, `changes` and
 * `resync` events are dropped before the page's scripts read the stream.
 */
function dropMonitorPushes() {
  const realFetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    const response = await realFetch(input, init);
    const stream = response.ok && /text\/event-stream/.test(response.headers.get('content-type') ?? '');
    if (!/\/admin\?(.*&)?monitor=1/.test(url) || !stream || !response.body) return response;
    const decoder = new TextDecoder();
    const encoder = new TextEncoder();
    let text = '';
    const body = response.body.pipeThrough(
      new TransformStream({
        transform(chunk, out) {
          text += decoder.decode(chunk, { stream: true });
          const blocks = text.split(/\r\n\r\n|\n\n|\r\r/);
          text = blocks.pop();
          const kept = blocks.filter((b) => !/^event: ?(summary|changes|resync)\r?$/m.test(b));
          if (kept.length) out.enqueue(encoder.encode(kept.map((b) => `${b}\n\n`).join('')));
        },
      }),
    );
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/**
 * What a page shows, over time (recordShown, `kind` 'monitor' or 'kiosk').
 * `waitFor(pred, {since})` resolves { entry, ms }: the first state from
 * `since` on (the one showing at `since` included) for which pred holds, and
 * how long after `since` it began (0 if it was showing already).
 */
async function watchShown(page, kind = 'monitor') {
  await page.evaluate(recordShown, kind);
  const log = () => page.evaluate(() => window.__shown);
  return {
    log,
    async waitFor(pred, { since = 0, timeoutMs = 5_000, what = 'the page to show it' } = {}) {
      let all = [];
      const { entry } = await waitForValue(
        async () => {
          all = await log();
          const from = Math.max(0, all.findLastIndex((e) => e.t <= since));
          const found = all.slice(from).find(pred);
          return found && { entry: found };
        },
        timeoutMs,
        what,
        () => `; it shows ${kind === 'monitor' ? describeShown(all.at(-1)) : JSON.stringify(all.at(-1))}`,
      );
      return { entry, ms: Math.max(0, entry.t - since) };
    },
  };
}

/** A monitor tab whose page is recorded (watchShown), once it is live and shows its counts. */
async function openWatchedMonitor(env, ctx) {
  const page = await env.openMonitoring(ctx);
  const shown = await watchShown(page);
  await shown.waitFor((s) => s.mode === 'live' && s.admin !== null, { what: 'the monitor live, with its counts' });
  return { page, shown };
}

/**
 * A first monitor tab, recorded (watchShown), listing itself, done with the
 * fetches of its load, its stats requests watched from now on:
 * { page, shown, id, requests }.
 */
async function firstTab(env, ctx) {
  const { page, shown } = await openWatchedMonitor(env, ctx);
  const { stats } = await env.waitStats((s) => s.admin_connections === 1, 1_000, '1 admin');
  const id = adminIds(stats)[0];
  await shown.waitFor((s) => s.admin === 1 && sameIds(s.adminRows, [id]), { what: 'the first tab listing itself' });
  const requests = watchStatsRequests(page);
  await statsQuiet(requests);
  return { page, shown, id, requests };
}

/** A second monitor tab beside the one whose stream is `firstId`: { page, conn } (its connection in stats). */
async function secondTab(env, ctx, firstId) {
  const page = await env.openMonitoring(ctx);
  const { stats } = await env.waitStats((s) => s.admin_connections === 2, 2_000, '2 admin');
  return { page, conn: stats.connections.find((c) => c.type === 'admin' && c.id !== firstId) };
}

/** The tab of firstTab() made no stats request since `since`, on the same stream: what it shows was pushed. */
async function noStatsRequests(env, tab, since) {
  await stillLive(env, tab.id, 'the first tab');
  const made = tab.requests.filter((r) => r.t >= since);
  check(!made.some((r) => isFullStats(r.query)), `the first tab polled stats: ${made.map((r) => r.query || '(no query)').join(' ')}`);
  check(made.length === 0, `the first tab fetched stats although the push told it: ${made.map((r) => r.query).join(' ')}`);
}

/**
 * A monitor tab (recorded) and a kiosk for each of `names` (one browser
 * context, without credentials), once the monitor lists them, within the
 * bound: { ctx, page, shown, kioskCtx, kiosks, conns, listed } (kiosks and
 * conns in the order of names; listed.ms counts from the last registration).
 */
async function monitorWithKiosks(env, names) {
  const ctx = await env.newContext();
  const { page, shown } = await openWatchedMonitor(env, ctx);
  const kioskCtx = await env.newContext({ auth: false });
  const kiosks = [];
  for (const name of names) kiosks.push(await env.openKiosk(kioskCtx, name));
  const { stats } = await env.waitStats((s) => s.display_connections === names.length, 2_000, `${names.length} display(s)`);
  const conns = names.map((name) => stats.connections.find((c) => c.display === name));
  const listed = await shown.waitFor((s) => s.display === names.length && sameIds(s.displayRows, conns.map((c) => c.id)), {
    since: Math.max(...conns.map((c) => Date.parse(c.connected_at))),
    what: `the kiosks (${names.join(', ')}) listed`,
  });
  within(listed.ms, SHOW_BOUND_MS, 'the kiosks listed');
  return { ctx, page, shown, kioskCtx, kiosks, conns, listed };
}

/**
 * Confirm the monitor's open Disconnect dialog; resolves with the time the
 * page sent its DELETE (the click itself first waits for the dialog's
 * fade-in, a few hundred ms that are the test's, not the page's).
 */
async function confirmDisconnect(page) {
  const sent = new Promise((resolve) => {
    const seen = (r) => {
      if (r.method() !== 'DELETE') return;
      page.off('request', seen);
      resolve(Date.now());
    };
    page.on('request', seen);
  });
  await page.getByRole('dialog').getByRole('button', { name: 'Disconnect', exact: true }).click();
  return sent;
}

/** The same ids, in any order. */
function sameIds(a, b) {
  return a.length === b.length && [...a].sort().join() === [...b].sort().join();
}

/** "a×2, b×1". */
function countBy(list) {
  const m = new Map();
  for (const x of list) m.set(x, (m.get(x) ?? 0) + 1);
  return [...m].map(([k, n]) => `${k}×${n}`).join(', ') || 'none';
}

/** Resolves fn()'s first truthy value, polled every 25 ms; throws after timeoutMs, with explain()'s words. */
async function waitForValue(fn, timeoutMs, what, explain = () => '') {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Failure(`${what}: not within ${timeoutMs} ms${explain()}`);
    await sleep(25);
  }
}

/**
 * How long, at most in one stretch, the page (recordShown's log) showed
 * more admin connections (count or rows) than were live, between `from` and
 * `to`. `live` is every admin stream as [opened, closed) in ms.
 */
function overTheTruth(log, live, from, to) {
  const liveAt = (t) => live.filter(([a, b]) => a <= t && t < b).length;
  const shownAt = (t) => {
    const s = log.findLast((e) => e.t <= t);
    return s ? Math.max(s.admin ?? 0, s.adminRows.length) : 0;
  };
  const inside = (t) => t > from && t < to;
  const points = [...new Set([from, to, ...live.flat().filter(inside), ...log.map((e) => e.t).filter(inside)])].sort((a, b) => a - b);
  let stretch = 0;
  let longest = 0;
  let at = null;
  let maxShown = 0;
  let maxLive = 0;
  for (let i = 0; i + 1 < points.length; i++) {
    const t = points[i];
    const n = shownAt(t);
    const truth = liveAt(t);
    maxShown = Math.max(maxShown, n);
    maxLive = Math.max(maxLive, truth);
    if (n > truth) {
      if (stretch === 0) at = t;
      stretch += points[i + 1] - t;
      longest = Math.max(longest, stretch);
    } else {
      stretch = 0;
    }
  }
  return { longest, at, maxShown, maxLive };
}

/**
 * The stream `id` is still live: else the page had a new stream meanwhile
 * (and fetched everything again, as it must), and the scenario cannot judge
 * its pushes; says why it closed (an ack_timeout: the browser got no CPU for
 * 3 heartbeats).
 */
async function stillLive(env, id, what) {
  const s = await env.stack.stats();
  if (s.connections.some((c) => c.id === id)) return;
  const entry = (await closedList(env.stack)).closed.find((c) => c.id === id);
  throw new Failure(`${what}'s stream ${id} closed during the scenario (${entry?.reason ?? 'not in /closed'}): ${summary(s)}`);
}

/** A monitor's state of recordShown, in a few words. */
function describeShown(s) {
  if (!s) return 'nothing';
  return `total ${s.total} admin ${s.admin} display ${s.display}, rows admin [${s.adminRows}] display [${s.displayRows}], mode ${s.mode}`;
}

/** Every request for {prefix}/stats the page makes, with when: [{t, query}]. */
function watchStatsRequests(page) {
  const seen = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.endsWith('/stats')) seen.push({ t: Date.now(), query: u.search });
  });
  return seen;
}

/** A stats request without summary or paging parameters: the full answer (what a poll fetched). */
function isFullStats(query) {
  const p = new URLSearchParams(query);
  return !['summary', 'limit', 'offset', 'type', 'state', 'q'].some((k) => p.has(k));
}

/** Resolves once the page has made no stats request for `ms` (its load's fetches are over). */
async function statsQuiet(requests, ms = 400, timeoutMs = 5_000) {
  const t0 = Date.now();
  while (Date.now() - (requests.at(-1)?.t ?? 0) < ms) {
    check(Date.now() - t0 < timeoutMs, `the page kept fetching stats for ${timeoutMs} ms: ${requests.slice(-5).map((r) => r.query).join(' ')}`);
    await sleep(50);
  }
}

/**
 * How long the server takes to notice a closed client: at once behind nginx;
 * behind lighttpd, which learns that a client closed only when it next
 * writes to it, at the next heartbeat. The page must show it within 1 s of
 * that.
 */
function closeBoundMs(front) {
  return front === 'nginx' ? 1_000 : heartbeat * 1_000 + 1_000;
}

/** The bound the page must meet: 1 s after what it shows happened. */
const SHOW_BOUND_MS = 1_000;

/**
 * Timing bounds are asserted with this margin (E2E_MARGIN_MS, default 1 s):
 * on 2 cores shared with other builds the browser itself waits for a CPU,
 * and a page that shows a change in 100 ms on a quiet machine took 1.4 s
 * there. A figure over the bound but within the margin passes and is named
 * in the scenario's line ("over the 1000 ms bound: ..."); E2E_MARGIN_MS=0
 * asserts the bounds themselves.
 */
const MARGIN_MS = Number(process.env.E2E_MARGIN_MS ?? 1_000);
/** Figures of the running scenario over their bound (within the margin). */
let overBound = [];

function within(ms, bound, what) {
  check(ms <= bound + MARGIN_MS, `${what} after ${ms} ms (bound ${bound} ms + margin ${MARGIN_MS} ms)`);
  if (ms > bound) overBound.push(`${what} ${ms} ms > ${bound} ms`);
}

/** The close reasons in the plain words the monitor must show (the code only on hover). */
const REASON_WORDS = {
  client_closed: 'Client went away',
  write_failed: 'Write failed',
  disconnect_route: 'Released by the page',
  superseded: 'Replaced',
  ack_timeout: 'No acknowledgement',
  slow_consumer: 'Too slow',
  admin_closed: 'Closed by an admin',
  shutdown: 'Server shut down',
};

/** Crash the page's renderer: nothing more runs in it (no pagehide, no beacon), as a kiosk that dies. */
async function crashPage(ctx, page) {
  const cdp = await ctx.newCDPSession(page);
  cdp.send('Page.crash').catch(() => {}); // never answers: the page is gone
}

// ---- the scenarios ----------------------------------------------------------

/** Everything a scenario needs: the stack, a browser, helpers bound to them. */
function makeEnv(stack, browser, front, startStack) {
  const base = stack.baseUrl;
  const contexts = [];

  async function newContext({ auth = true } = {}) {
    const ctx = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      ...(auth ? { httpCredentials: { username: stack.user, password: stack.password } } : {}),
    });
    if (breakPush) await ctx.addInitScript(dropMonitorPushes);
    contexts.push(ctx);
    return ctx;
  }

  /** Poll the stats route until pred(stats) holds; throws with the last stats after timeoutMs. */
  async function waitStats(pred, timeoutMs, what) {
    const t0 = Date.now();
    for (;;) {
      const last = await stack.stats();
      if (pred(last)) return { stats: last, ms: Date.now() - t0 };
      if (Date.now() - t0 > timeoutMs) throw new Failure(`${what} not reached within ${timeoutMs} ms: ${summary(last)}`);
      await sleep(20);
    }
  }

  async function badge(page) {
    return page.getByTestId('live-badge').first();
  }

  async function waitBadge(page, state, timeout = 5_000) {
    await page.locator(`[data-testid="live-badge"][data-state="${state}"]`).first().waitFor({ timeout });
  }

  async function openMonitoring(ctx) {
    const page = await ctx.newPage();
    await page.goto(`${base}/admin/monitoring`);
    await waitBadge(page, 'open');
    return page;
  }

  function tableRows(page, type) {
    const sel = type ? `tbody tr[data-connection-id][data-type="${type}"]` : 'tbody tr[data-connection-id]';
    return page.getByRole('table', { name: 'Live SSE connections' }).locator(sel);
  }

  async function waitRowCount(page, n, type, timeout = 3_000) {
    const t0 = Date.now();
    for (;;) {
      const count = await tableRows(page, type).count();
      if (count === n) return;
      if (Date.now() - t0 > timeout) throw new Failure(`table shows ${count} ${type ?? ''} row(s), expected ${n}`);
      await sleep(50);
    }
  }

  async function closeAll() {
    for (const ctx of contexts.splice(0)) await ctx.close().catch(() => {});
  }

  async function openKiosk(ctx, name) {
    const page = await ctx.newPage();
    await page.goto(`${base}/display/${name}`);
    await waitBadge(page, 'open');
    return page;
  }

  /** Another stack of the same front (e.g. with daemonArgs), and an env on it. */
  async function withStack(options, fn) {
    const other = await startStack({ front, heartbeat, staticDir: distDir, ...options });
    const env = makeEnv(other, browser, front, startStack);
    try {
      return await fn(env);
    } finally {
      await env.closeAll();
      await other.stop().catch(() => {});
    }
  }

  return {
    stack, browser, base, front, newContext, waitStats, badge, waitBadge, openMonitoring, openKiosk, tableRows, waitRowCount,
    closeAll, withStack,
  };
}

const scenarios = [
  {
    n: 1,
    title: 'open /admin/monitoring => exactly 1 admin connection, table shows 1 row',
    async run(env) {
      const ctx = await env.newContext();
      const page = await env.openMonitoring(ctx);
      const { stats, ms } = await env.waitStats((s) => s.admin_connections === 1, 1_000, 'admin_connections == 1');
      check(stats.total_connections === 1, `expected 1 connection in all: ${summary(stats)}`);
      check(adminIds(stats).length === 1, `connections list disagrees with the count: ${summary(stats)}`);
      await env.waitRowCount(page, 1);
      const rowId = await env.tableRows(page).first().getAttribute('data-connection-id');
      check(rowId === adminIds(stats)[0], `table row ${rowId} is not the server's ${adminIds(stats)[0]}`);
      const rowText = await env.tableRows(page).first().textContent();
      check(rowText.includes('this tab'), 'the row of this tab is not marked "this tab"');
      check((await page.getByTestId('roster').count()) === 0, 'a roster panel is shown although the daemon has no --displays');
      return `stats 1 admin after ${ms} ms; row ${rowId} marked this tab; no roster`;
    },
  },
  {
    n: 2,
    title: 'reload 5 times => still exactly 1 (checked within 1 s of each load)',
    async run(env) {
      const ctx = await env.newContext();
      const page = await env.openMonitoring(ctx);
      const { stats } = await env.waitStats((s) => s.admin_connections === 1, 1_000, 'first load: 1 admin');
      let previous = adminIds(stats)[0];
      const times = [];
      for (let i = 1; i <= 5; i++) {
        await page.reload({ waitUntil: 'load' });
        const { stats: s, ms } = await env.waitStats(
          (x) => x.admin_connections === 1 && x.total_connections === 1 && adminIds(x)[0] !== previous,
          1_000,
          `reload ${i}: exactly 1 admin connection, not the old one`,
        );
        previous = adminIds(s)[0];
        times.push(ms);
        // A person reloads a page they have seen: wait until it is Live (it
        // knows its connection id) before the next reload.
        await env.waitBadge(page, 'open');
      }
      await env.waitBadge(page, 'open');
      await env.waitRowCount(page, 1);
      await env.waitStats((s) => s.admin_connections === 1, 1_000, 'after the reloads: 1 admin');
      return `1 admin after each load, in ${times.join('/')} ms`;
    },
  },
  {
    n: 3,
    title: 'navigate to another admin page and back => still 1',
    async run(env) {
      const ctx = await env.newContext();
      const page = await env.openMonitoring(ctx);
      const { stats } = await env.waitStats((s) => s.admin_connections === 1, 1_000, '1 admin');
      const id = adminIds(stats)[0];
      // In-app navigation keeps the tab's one stream.
      await page.getByRole('link', { name: 'Displays', exact: true }).click();
      await page.getByRole('heading', { name: 'Displays', level: 1 }).waitFor();
      let r = await env.waitStats((s) => s.admin_connections === 1, 1_000, 'on Displays: 1 admin');
      check(adminIds(r.stats)[0] === id, 'the stream was replaced by in-app navigation');
      await page.getByRole('link', { name: 'System Monitoring', exact: true }).click();
      await page.getByRole('heading', { name: 'System Monitoring', level: 1 }).waitFor();
      r = await env.waitStats((s) => s.admin_connections === 1, 1_000, 'back on Monitoring: 1 admin');
      check(adminIds(r.stats)[0] === id, 'the stream was replaced by in-app navigation');
      await env.waitRowCount(page, 1);
      // Full page loads: the old stream is released, the new one counted once.
      await page.goto(`${env.base}/admin/displays`);
      await env.waitBadge(page, 'open');
      r = await env.waitStats((s) => s.admin_connections === 1 && adminIds(s)[0] !== id, 1_000, 'full load of Displays: 1 new admin');
      const id2 = adminIds(r.stats)[0];
      await page.goBack({ waitUntil: 'load' });
      await env.waitBadge(page, 'open');
      await env.waitStats((s) => s.admin_connections === 1 && adminIds(s)[0] !== id2, 1_000, 'back: 1 new admin');
      await env.waitRowCount(page, 1);
      return 'same stream across in-app navigation; 1 after full loads and Back';
    },
  },
  {
    n: 4,
    title: 'close the tab => 0 within 1 s',
    async run(env) {
      const ctx = await env.newContext();
      const page = await env.openMonitoring(ctx);
      await env.waitStats((s) => s.admin_connections === 1, 1_000, '1 admin');
      await page.close();
      const { ms } = await env.waitStats((s) => s.total_connections === 0, 1_000, 'no connection after closing the tab');
      return `0 after ${ms} ms`;
    },
  },
  {
    n: 5,
    title: 'Debug Tools Disconnect => 0 at once, badge shows Offline',
    async run(env) {
      const ctx = await env.newContext();
      const page = await env.openMonitoring(ctx);
      await env.waitStats((s) => s.admin_connections === 1, 1_000, '1 admin');
      await page.getByRole('button', { name: 'Disconnect', exact: true }).click();
      const { ms } = await env.waitStats((s) => s.total_connections === 0, 500, 'no connection after Disconnect');
      await env.waitBadge(page, 'closed', 1_000);
      const text = (await (await env.badge(page)).textContent()).trim();
      check(text === 'Offline', `badge says "${text}"`);
      // No automatic reconnect behind the user's back.
      await page.waitForTimeout(1_500);
      const later = await env.stack.stats();
      check(later.total_connections === 0, `reconnected by itself: ${summary(later)}`);
      await page.getByRole('button', { name: 'Reconnect', exact: true }).click();
      await env.waitBadge(page, 'open');
      await env.waitStats((s) => s.admin_connections === 1, 1_000, 'Reconnect: 1 admin');
      return `0 after ${ms} ms, badge Offline, stays offline; Reconnect => 1`;
    },
  },
  {
    n: 6,
    title: 'two tabs => 2; /display/lobby => listed by the monitor as a display',
    async run(env) {
      const ctx = await env.newContext();
      const tab1 = await env.openMonitoring(ctx);
      const tab2 = await env.openMonitoring(ctx);
      await env.waitStats((s) => s.admin_connections === 2 && s.total_connections === 2, 1_000, '2 admin connections');
      const kioskCtx = await env.newContext({ auth: false });
      const kiosk = await kioskCtx.newPage();
      await kiosk.goto(`${env.base}/display/lobby`);
      await env.waitBadge(kiosk, 'open');
      const { stats } = await env.waitStats(
        (s) => s.display_connections === 1 && s.admin_connections === 2,
        1_000,
        '2 admin + 1 display',
      );
      const lobby = stats.connections.find((c) => c.type === 'display');
      check(lobby?.display === 'lobby', `display connection is ${JSON.stringify(lobby)}`);
      await tab1.getByRole('button', { name: 'Refresh', exact: true }).click();
      await env.waitRowCount(tab1, 1, 'display');
      await env.waitRowCount(tab1, 2, 'admin');
      const row = env.tableRows(tab1, 'display').first();
      check((await row.textContent()).includes('lobby'), 'the display row does not name lobby');
      check((await row.getAttribute('data-connection-id')) === lobby.id, 'the display row is not the server’s');
      await tab2.close();
      await env.waitStats((s) => s.admin_connections === 1, 1_000, 'tab 2 closed: 1 admin');
      return '2 admin tabs counted 2; lobby listed as display';
    },
  },
  {
    n: 7,
    title: 'SIGKILL the browser (no beacon) => 0 within one heartbeat + 1 s',
    async run(env) {
      const { browser, server } = await launchKillableBrowser();
      try {
        const own = makeEnv(env.stack, browser, env.front);
        const ctx = await own.newContext();
        await own.openMonitoring(ctx);
        const kioskPage = await ctx.newPage();
        await kioskPage.goto(`${env.base}/display/lobby`);
        await own.waitBadge(kioskPage, 'open');
        await env.waitStats((s) => s.admin_connections === 1 && s.display_connections === 1, 1_000, '1 admin + 1 display');
        killBrowser(server);
        const limit = heartbeat * 1_000 + 1_000;
        const { ms } = await env.waitStats((s) => s.total_connections === 0, limit, 'no connection after SIGKILL');
        return `0 after ${ms} ms (limit ${limit} ms)`;
      } finally {
        await browser.close().catch(() => {});
        await server.close().catch(() => {});
      }
    },
  },
  {
    n: 8,
    title: 'a test event from Debug Tools arrives in the page and events-sent goes up',
    async run(env) {
      const ctx = await env.newContext();
      const page = await env.openMonitoring(ctx);
      const { stats } = await env.waitStats((s) => s.admin_connections === 1, 1_000, '1 admin');
      const id = adminIds(stats)[0];
      const before = stats.connections.find((c) => c.id === id).events_sent;
      await env.waitRowCount(page, 1);
      const cell = env.tableRows(page).first().getByTestId('events-sent');
      const shownBefore = Number(await cell.textContent());
      const message = `e2e ${env.front} ${Date.now()}`;
      await page.getByLabel('Message').fill(message);
      const t0 = Date.now();
      await page.getByRole('button', { name: 'Send test event' }).click();
      await page.getByTestId('received-events').getByText(message).waitFor({ timeout: 3_000 });
      const arrived = Date.now() - t0;
      const resultText = await page.getByTestId('test-result').textContent();
      check(/system\.test_event/.test(resultText), `result says: ${resultText}`);
      const r = await env.waitStats(
        (s) => (s.connections.find((c) => c.id === id)?.events_sent ?? -1) > before,
        2_000,
        'events_sent of this connection goes up',
      );
      const after = r.stats.connections.find((c) => c.id === id).events_sent;
      const t1 = Date.now();
      for (;;) {
        const shown = Number(await cell.textContent());
        if (shown > shownBefore) break;
        check(Date.now() - t1 < 3_000, `table still shows ${shown} events sent`);
        await sleep(50);
      }
      return `arrived in ${arrived} ms; events_sent ${before} -> ${after}`;
    },
  },
  {
    n: 9,
    title: 'reload with the disconnect beacon lost => exactly 1 within 1 s (superseded)',
    async run(env) {
      // 1. A plain reload: the browser's hangup reaches the server, and
      //    superseding races it; either way the count must be 1 within 1 s.
      const plain = await reloadWithoutBeacon(env, env.base);
      // 2. The same through a network that also loses the hangup: only
      //    superseding can remove the old stream now (acks would take 3
      //    heartbeats), so it must be 1 within 1 s with reason superseded.
      const proxy = await hangupLosingProxy(env.stack.port);
      try {
        const lost = await reloadWithoutBeacon(env, proxy.baseUrl);
        check(lost.reason === 'superseded', `with the hangup lost, the old stream closed with reason ${lost.reason}`);
        return `plain reload: 1 after ${plain.ms} ms (old: ${plain.reason}); hangup lost too: 1 after ${lost.ms} ms (old: ${lost.reason})`;
      } finally {
        await proxy.close();
      }
    },
  },
  {
    n: 10,
    title: `a duplicated tab (sessionStorage copied) => 2 connections, no flapping over ${duplicateWatchSeconds} s`,
    timeoutMs: (duplicateWatchSeconds + 25) * 1_000,
    async run(env) {
      const ctx = await env.newContext();
      const first = await env.openMonitoring(ctx);
      const { stats } = await env.waitStats((s) => s.admin_connections === 1, 1_000, '1 admin');
      const original = stats.connections[0];
      const storage = await first.evaluate(() => JSON.stringify(Object.entries(sessionStorage)));
      check(storage.includes(original.client), `sessionStorage ${storage} does not hold the client id ${original.client}`);
      // "Duplicate tab": a new page that starts with a copy of the first one's sessionStorage.
      const copy = await ctx.newPage();
      await copy.addInitScript((entries) => {
        if (sessionStorage.getItem('e2e.copied')) return;
        for (const [k, v] of JSON.parse(entries)) sessionStorage.setItem(k, v);
        sessionStorage.setItem('e2e.copied', '1');
      }, storage);
      await copy.goto(`${env.base}/admin/monitoring`);
      await env.waitBadge(copy, 'open');
      const { stats: two, ms } = await env.waitStats((s) => s.admin_connections === 2 && s.total_connections === 2, 2_000, '2 admin');
      const clients = two.connections.map((c) => c.client);
      check(new Set(clients).size === 2, `both tabs use one client id: ${clients}`);
      check(clients.includes(original.client), `the original tab lost its client id ${original.client}: ${clients}`);
      const ids = two.connections.map((c) => c.id).sort().join(',');
      const supersededBefore = (await env.stack.stats()).closed_by_reason?.superseded ?? 0;
      const samples = [];
      for (let i = 0; i < duplicateWatchSeconds; i++) {
        await sleep(1_000);
        const s = await env.stack.stats();
        samples.push(s.admin_connections);
        check(s.admin_connections === 2 && s.total_connections === 2, `second ${i + 1}: ${summary(s)} (samples ${samples.join(',')})`);
        check(s.connections.map((c) => c.id).sort().join(',') === ids, `second ${i + 1}: the connections changed (flapping): ${summary(s)}`);
      }
      const end = await env.stack.stats();
      check((end.closed_by_reason?.superseded ?? 0) === supersededBefore, 'a stream was superseded while the two tabs were open');
      for (const p of [first, copy]) {
        const state = await (await env.badge(p)).getAttribute('data-state');
        check(state === 'open', `a tab's badge says ${state}`);
      }
      return `2 after ${ms} ms, distinct client ids; ${duplicateWatchSeconds} samples: ${samples.join(',')}, same ids, no superseded`;
    },
  },
  {
    n: 11,
    title: "a row's Disconnect button closes that connection; Recently closed shows admin_closed",
    async run(env) {
      const ctx = await env.newContext();
      const page = await env.openMonitoring(ctx);
      const other = await env.openMonitoring(ctx);
      const { stats } = await env.waitStats((s) => s.admin_connections === 2, 1_000, '2 admin');
      await page.getByRole('button', { name: 'Refresh', exact: true }).click();
      await env.waitRowCount(page, 2, 'admin');
      // Disconnect the other tab's row, not this tab's own.
      const mine = await page.locator('tbody tr[data-connection-id]', { hasText: 'this tab' }).getAttribute('data-connection-id');
      const target = stats.connections.find((c) => c.id !== mine);
      check(mine && target, `cannot tell the other tab's row (mine ${mine}): ${summary(stats)}`);
      const row = page.locator(`table[aria-label="Live SSE connections"] tr[data-connection-id="${target.id}"]`);
      await row.getByTestId('row-disconnect').click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      check((await dialog.textContent()).includes(target.id), 'the confirmation does not name the connection');
      const sentAt = await confirmDisconnect(page);
      const { ms } = await env.waitStats((s) => !s.connections.some((c) => c.id === target.id), 1_000, `${target.id} gone from stats`);
      const sentToGone = Date.now() - sentAt;
      const closedRow = page.locator(
        `table[aria-label="Recently closed connections"] tr[data-connection-id="${target.id}"][data-reason="admin_closed"]`,
      );
      await closedRow.waitFor({ timeout: 3_000 });
      const entry = (await closedList(env.stack)).closed.find((c) => c.id === target.id);
      check(entry?.reason === 'admin_closed', `/closed says ${JSON.stringify(entry)}`);
      await page.locator(`table[aria-label="Live SSE connections"] tr[data-connection-id="${target.id}"]`).waitFor({ state: 'detached', timeout: 3_000 });
      // The closed tab was told (event: closed) and comes back with backoff, as a new connection.
      const back = await env.waitStats(
        (s) => s.admin_connections === 2 && !s.connections.some((c) => c.id === target.id),
        5_000,
        'the disconnected tab reconnects',
      );
      await env.waitBadge(other, 'open');
      return `gone from stats ${sentToGone} ms after the page sent DELETE (${ms} ms polling); row admin_closed; tab back after ${back.ms} ms`;
    },
  },
  {
    n: 12,
    title: 'roster (--displays) => the monitor shows the missing displays',
    async run(env) {
      const roster = displaysFile(['cafeteria', 'lobby', 'reception']);
      try {
        return await env.withStack({ daemonArgs: ['--displays', roster.file] }, async (own) => {
          const ctx = await own.newContext();
          const page = await own.openMonitoring(ctx);
          const panel = page.getByTestId('roster');
          await panel.waitFor({ timeout: 3_000 });
          await page.getByTestId('roster-missing').getByText('3 displays are missing:').waitFor({ timeout: 3_000 });
          const kioskCtx = await own.newContext({ auth: false });
          await own.openKiosk(kioskCtx, 'lobby');
          await own.waitStats(
            (s) => s.expected_displays?.find((d) => d.display === 'lobby')?.state === 'connected',
            2_000,
            'lobby connected in expected_displays',
          );
          await page.getByRole('button', { name: 'Refresh', exact: true }).click();
          await panel.locator('li[data-display="lobby"][data-state="connected"]').waitFor({ timeout: 3_000 });
          const missing = await page.getByTestId('roster-missing').textContent();
          check(/2 displays are missing/.test(missing), `missing alert says: ${missing}`);
          for (const name of ['cafeteria', 'reception']) {
            check(missing.includes(name), `${name} is not shown as missing: ${missing}`);
            check((await panel.locator(`li[data-display="${name}"][data-state="missing"]`).count()) === 1, `${name} not listed as missing`);
          }
          check(!missing.includes('lobby'), 'lobby is shown as missing');
          const summaryText = await page.getByTestId('roster-summary').textContent();
          return `roster: ${summaryText}`;
        });
      } finally {
        roster.remove();
      }
    },
  },
  {
    n: 13,
    title: 'dashboard and kiosk streams are acked: live, with an RTT, after 3 heartbeats',
    async run(env) {
      const ctx = await env.newContext();
      const page = await env.openMonitoring(ctx);
      const kioskCtx = await env.newContext({ auth: false });
      await env.openKiosk(kioskCtx, 'lobby');
      await env.waitStats((s) => s.admin_connections === 1 && s.display_connections === 1, 2_000, '1 admin + 1 display');
      const ackTimeoutsBefore = (await env.stack.stats()).closed_by_reason?.ack_timeout ?? 0;
      await sleep(heartbeat * 3_500);
      const s = await env.stack.stats();
      const describeConn = (c) => `${c.type}:${c.user ?? c.display} ack=${c.ack} state=${c.state} rtt=${c.last_ack_rtt_ms}`;
      check(s.total_connections === 2, `not 2 connections: ${summary(s)}`);
      for (const c of s.connections) {
        check(c.ack === true, `not acked: ${describeConn(c)}`);
        check(c.state === 'live', `not live: ${describeConn(c)}`);
        check(typeof c.last_ack_rtt_ms === 'number', `no RTT: ${describeConn(c)}`);
      }
      check((s.closed_by_reason?.ack_timeout ?? 0) === ackTimeoutsBefore, 'a stream was closed for ack_timeout');
      await page.getByRole('button', { name: 'Refresh', exact: true }).click();
      const own = page.locator('tbody tr[data-connection-id]', { hasText: 'this tab' });
      await own.waitFor();
      // The row may still show the stats fetched before the first ack, until
      // the refresh's answer is rendered: wait for that, not for the row.
      let rtt = '—';
      for (const t0 = Date.now(); Date.now() - t0 < 5_000; await sleep(100)) {
        rtt = (await own.getByTestId('rtt').textContent()).trim();
        if (rtt !== '—') break;
      }
      check(rtt !== '—', 'the RTT column is empty for this tab 5 s after Refresh');
      return `${s.connections.map(describeConn).join('; ')}; table RTT ${rtt}`;
    },
  },
  {
    n: 14,
    title: 'web server restarted while events are published => monitor and kiosk get every id once, in order',
    timeoutMs: 60_000,
    async run(env) {
      return replayAcrossFrontRestart(env);
    },
  },
  {
    n: 15,
    title: 'responder restarted => reset: the kiosk clears, the monitor logs it and reloads',
    timeoutMs: 45_000,
    async run(env) {
      const ctx = await env.newContext();
      const page = await env.openMonitoring(ctx);
      const kioskCtx = await env.newContext({ auth: false });
      const kiosk = await env.openKiosk(kioskCtx, 'lobby');
      await env.waitStats((s) => s.admin_connections === 1 && s.display_connections === 1, 2_000, '1 admin + 1 display');
      const publish = async (message) => {
        const r = await env.stack.api('publish', { method: 'POST', body: { event: 'message', target: 'all', data: { message } } });
        check(r.status === 200, `publish: HTTP ${r.status} ${r.text.slice(0, 200)}`);
        return String(r.json.data.id);
      };
      const old = [await publish('before the restart 1'), await publish('before the restart 2')];
      const kioskRoot = kiosk.getByTestId('kiosk');
      await kiosk.locator(`[data-testid="kiosk"][data-event-ids="${old.join(' ')}"]`).waitFor({ timeout: 3_000 });
      const restart = await env.stack.restartResponder();
      // The pages come back with ?lastEventId= of the old responder: reset.
      await page.locator('[data-testid="received-event"][data-event-type="reset"]').waitFor({ timeout: 10_000 });
      await kiosk.locator('[data-testid="kiosk"][data-event-ids=""]').waitFor({ timeout: 10_000 });
      const waiting = await kioskRoot.textContent();
      check(waiting.includes('Waiting for announcements'), `the kiosk does not wait for new events after the reset: ${waiting.slice(0, 200)}`);
      check(!waiting.includes('before the restart'), 'the kiosk still shows events from before the reset');
      await page.getByTestId('own-connection').getByText(/Missed events lost/).waitFor({ timeout: 3_000 });
      // The monitor reloaded: its table shows the new streams.
      const { stats } = await env.waitStats((s) => s.admin_connections === 1 && s.display_connections === 1, 5_000, 'both pages back');
      const mine = stats.connections.find((c) => c.type === 'admin').id;
      await page.locator(`table[aria-label="Live SSE connections"] tr[data-connection-id="${mine}"]`).waitFor({ timeout: 3_000 });
      const next = await publish('after the restart');
      await kiosk.locator(`[data-testid="kiosk"][data-event-ids="${next}"]`).waitFor({ timeout: 3_000 });
      await page.locator(`[data-testid="received-event"][data-event-id="${next}"]`).waitFor({ timeout: 3_000 });
      return `responder restarted in ${Math.round(restart.ms)} ms; ids ${old.at(-1)} then ${next}; both pages got reset, kiosk cleared, monitor reloaded; the next event shown`;
    },
  },
  {
    n: 16,
    title: 'monitor: a second admin tab opens => the first tab shows 2 within 1 s, pushed (no stats request)',
    async run(env) {
      const ctx = await env.newContext();
      const first = await firstTab(env, ctx);
      const t0 = Date.now();
      const { conn: second } = await secondTab(env, ctx, first.id);
      const registered = Date.parse(second.connected_at);
      const count = await first.shown.waitFor((s) => s.admin === 2 && s.total === 2, { since: registered, what: 'the count of 2 admin connections' });
      const row = await first.shown.waitFor((s) => sameIds(s.adminRows, [first.id, second.id]), { since: registered, what: "the second tab's row" });
      within(count.ms, SHOW_BOUND_MS, 'the count 2 shown');
      within(row.ms, SHOW_BOUND_MS, "the second tab's row shown");
      // ... and in the second after it, still no request.
      await sleep(Math.max(0, Math.max(count.entry.t, row.entry.t) + 1_000 - Date.now()));
      await noStatsRequests(env, first, t0);
      return `count 2 shown ${count.ms} ms and the row ${row.ms} ms after the second tab's stream was registered; no stats request by the first tab in ${Date.now() - t0} ms`;
    },
  },
  {
    n: 17,
    title: 'monitor: the second tab closes => the first tab shows 1 within 1 s (lighttpd: heartbeat + 1 s)',
    async run(env) {
      const ctx = await env.newContext();
      const first = await firstTab(env, ctx);
      const { page: tab, conn: second } = await secondTab(env, ctx, first.id);
      await first.shown.waitFor((s) => s.admin === 2 && sameIds(s.adminRows, [first.id, second.id]), { what: 'both tabs listed' });
      const bound = closeBoundMs(env.front);
      const t0 = Date.now();
      await tab.close();
      const gone = await first.shown.waitFor((s) => s.admin === 1 && s.total === 1 && sameIds(s.adminRows, [first.id]), {
        since: t0,
        timeoutMs: bound + 5_000,
        what: 'the count back to 1, the row gone',
      });
      within(gone.ms, bound, 'the count 1 and the row gone');
      const entry = (await closedList(env.stack)).closed.find((c) => c.id === second.id);
      check(entry, `the closed tab ${second.id} is not in /closed`);
      const closedAt = Date.parse(entry.closed_at);
      await sleep(Math.max(0, gone.entry.t + 1_000 - Date.now()));
      await noStatsRequests(env, first, t0);
      return (
        `1 shown ${gone.ms} ms after the tab closed (bound ${bound} ms): the server closed it after ${closedAt - t0} ms ` +
        `(${entry.reason}), the page showed it ${gone.entry.t - closedAt} ms later; no stats request`
      );
    },
  },
  {
    n: 18,
    title: 'monitor: five quick reloads of a tab => settles on 1 for it within 1 s of the last load, never over the truth for more than 1 s',
    async run(env) {
      const ctx = await env.newContext();
      const { shown } = await openWatchedMonitor(env, ctx);
      const { stats } = await env.waitStats((s) => s.admin_connections === 1, 1_000, '1 admin');
      const watcher = stats.connections[0];
      const tab = await env.openMonitoring(ctx);
      const { stats: two } = await env.waitStats((s) => s.admin_connections === 2, 2_000, '2 admin');
      const client = two.connections.find((c) => c.id !== watcher.id).client;
      check(client, 'the tab has no client id');
      await shown.waitFor((s) => s.admin === 2 && s.adminRows.length === 2, { what: 'both tabs listed' });
      const start = Date.now();
      // Quick: the next reload as soon as the page has loaded, or a moment
      // later, so that some go before the stream opens, some after.
      const pauses = [0, 150, 300, 500];
      for (let i = 0; i < 5; i++) {
        await tab.reload({ waitUntil: 'load' });
        if (i < pauses.length) await sleep(pauses[i]);
      }
      const lastLoad = await tab.evaluate(() => Math.round(performance.timeOrigin + performance.getEntriesByType('navigation')[0].loadEventStart));
      await env.waitBadge(tab, 'open');
      const { stats: after } = await env.waitStats(
        (s) => s.admin_connections === 2 && s.total_connections === 2 && s.connections.some((c) => c.id !== watcher.id && c.client === client),
        3_000,
        "2 admin: the watcher and the tab's new stream, with the tab's client id",
      );
      const mine = after.connections.find((c) => c.id !== watcher.id);
      const right = (s) => s.admin === 2 && s.total === 2 && sameIds(s.adminRows, [watcher.id, mine.id]);
      await shown.waitFor(right, { since: lastLoad, timeoutMs: 5_000, what: 'the watcher and the new stream' });
      await sleep(1_500); // ... and it stays so
      const end = Date.now();
      const log = await shown.log();
      // What was really live: every admin stream (the registry was empty when
      // the scenario began), from stats and /closed.
      const closed = (await closedList(env.stack)).closed.filter((c) => c.type === 'admin' && Date.parse(c.closed_at) >= start - 60_000);
      const live = [
        [Date.parse(watcher.connected_at), Infinity],
        [Date.parse(mine.connected_at), Infinity],
        ...closed.map((c) => [Date.parse(c.opened_at), Date.parse(c.closed_at)]),
      ];
      // On failure: what was live and what the page showed, second.millisecond.
      const hms = (t) => (Number.isFinite(t) ? new Date(t).toISOString().slice(17, 23) : '…');
      const timeline = () =>
        ` — live ${live.map(([x, y]) => `${hms(x)}-${hms(y)}`).join(' ')}; last load ${hms(lastLoad)}; shown ` +
        log.filter((e) => e.t >= start - 100).map((e) => `${hms(e.t)}:${e.admin}/${e.adminRows.length}`).join(' ');
      const lastWrong = log.findLastIndex((e) => !right(e));
      check(lastWrong < log.length - 1, `not right at the end: ${describeShown(log.at(-1))}${timeline()}`);
      const settle = lastWrong < 0 ? 0 : Math.max(0, log[lastWrong + 1].t - lastLoad);
      const over = overTheTruth(log, live, start, end);
      try {
        within(settle, SHOW_BOUND_MS, 'settled on the right connections');
        within(over.longest, SHOW_BOUND_MS, `more admin connections shown than were live (from ${hms(over.at)})`);
      } catch (err) {
        throw new Failure(err.message + timeline());
      }
      const reasons = closed.filter((c) => Date.parse(c.closed_at) >= start).map((c) => c.reason);
      check(closed.filter((c) => Date.parse(c.closed_at) >= start).every((c) => c.client === client), 'a stream of another client closed meanwhile');
      return (
        `${reasons.length} streams of the tab closed (${countBy(reasons)}); settled ${settle} ms after the last load; ` +
        `showed at most ${over.maxShown} while at most ${over.maxLive} were live; longest over the truth ${over.longest} ms`
      );
    },
  },
  {
    n: 19,
    title: 'monitor: a kiosk crashes (no beacon) => gone from the monitor within 1 s (lighttpd: heartbeat + 1 s)',
    async run(env) {
      const { shown, kioskCtx, kiosks: [kiosk], conns: [lobby], listed } = await monitorWithKiosks(env, ['lobby']);
      const bound = closeBoundMs(env.front);
      const t0 = Date.now();
      await crashPage(kioskCtx, kiosk);
      const gone = await shown.waitFor((s) => s.display === 0 && s.total === 1 && s.displayRows.length === 0, {
        since: t0,
        timeoutMs: bound + 5_000,
        what: 'the kiosk gone',
      });
      within(gone.ms, bound, 'the kiosk gone from the monitor');
      const entry = (await closedList(env.stack)).closed.find((c) => c.id === lobby.id);
      check(entry, `the kiosk's stream ${lobby.id} is not in /closed`);
      check(entry.reason !== 'disconnect_route', 'the crashed kiosk released its stream: the test did not kill it');
      const closedAt = Date.parse(entry.closed_at);
      return (
        `listed ${listed.ms} ms after it connected; gone ${gone.ms} ms after the crash (bound ${bound} ms): ` +
        `the server closed it after ${closedAt - t0} ms (${entry.reason}), the page showed it ${gone.entry.t - closedAt} ms later`
      );
    },
  },
  {
    n: 20,
    title: 'kiosk closed from the monitor => "Closed by an administrator" on its screen, cleared once live again',
    async run(env) {
      const { page, shown, kiosks: [kiosk], conns: [lobby] } = await monitorWithKiosks(env, ['lobby']);
      const screen = await watchShown(kiosk, 'kiosk');
      const row = page.locator(`table[aria-label="Live SSE connections"] tr[data-connection-id="${lobby.id}"]`);
      await row.getByTestId('row-disconnect').click();
      await page.getByRole('dialog').waitFor();
      const t0 = Date.now();
      const clicked = await confirmDisconnect(page);
      const { entry: banner } = await screen.waitFor((e) => e.t >= t0 && e.kind === 'closed', { since: t0, what: 'the banner on the kiosk' });
      check(banner.title?.includes('Closed by an administrator'), `the kiosk says "${banner.title}"`);
      const { entry: cleared } = await screen.waitFor((e) => e.t > banner.t && e.kind === null, { since: banner.t, timeoutMs: 10_000, what: 'the banner to clear' });
      check(cleared.badge === 'open', `the banner went while the kiosk was not live (badge ${cleared.badge})`);
      const between = (await screen.log()).filter((e) => e.t >= banner.t && e.t < cleared.t);
      check(between.every((e) => e.kind === 'closed'), `the screen said other things meanwhile: ${between.map((e) => e.kind).join(',')}`);
      within(Math.max(0, banner.t - clicked), SHOW_BOUND_MS, 'the banner shown');
      // The monitor: the old stream in Recently closed as admin_closed, the kiosk back as a new one.
      const back = await shown.waitFor(
        (s) => s.display === 1 && s.displayRows.length === 1 && s.displayRows[0] !== lobby.id && s.closed.includes(`${lobby.id}:admin_closed`),
        { since: t0, timeoutMs: 5_000, what: 'the kiosk back as a new connection, the old one closed by an admin' },
      );
      return (
        `banner ${banner.t - clicked} ms after the page sent DELETE, cleared ${cleared.t - banner.t} ms later when live again; ` +
        `back on the monitor after ${back.ms} ms`
      );
    },
  },
  {
    n: 21,
    title: 'at --max-streams-per-user 1 a second tab shows the 429 reason and what to do, not "Error / Connection lost"',
    timeoutMs: 60_000,
    async run(env) {
      return env.withStack({ daemonArgs: ['--max-streams-per-user', '1'] }, async (own) => {
        const ctx = await own.newContext();
        const first = await own.openMonitoring(ctx);
        await own.waitStats((s) => s.admin_connections === 1, 2_000, '1 admin');
        const second = await ctx.newPage();
        const tries = []; // the second tab's stream requests
        second.on('response', (r) => {
          if (/\/admin\?/.test(r.url())) tries.push({ t: Date.now(), status: r.status(), retryAfter: Number(r.headers()['retry-after']) });
        });
        await second.goto(`${own.base}/admin/monitoring`);
        const banner = second.getByTestId('stream-problem');
        await banner.waitFor({ timeout: 5_000 });
        const said = (await banner.innerText()).replace(/\s+/g, ' ');
        for (const want of ['Too many streams for this user', 'HTTP 429', 'TOO_MANY_REQUESTS', 'Close dashboard tabs you do not need', 'Trying again in']) {
          check(said.includes(want), `the banner does not say "${want}": ${said}`);
        }
        const badge = (await (await own.badge(second)).textContent()).trim();
        check(badge === 'Refused', `the badge says "${badge}"`);
        const page = await second.locator('body').innerText();
        check(!/connection lost/i.test(page), 'the page says "Connection lost"');
        const status = await second.getByTestId('live-status').innerText();
        check(/refused this tab's stream \(HTTP 429\)/.test(status), `the monitor's status says "${status}"`);
        const shown = await watchShown(second);
        await shown.waitFor((s) => s.admin === 1 && s.adminRows.length === 1, { what: 'the refused tab listing the first tab' });
        const retryAfter = tries.find((r) => r.status === 429)?.retryAfter;
        check(retryAfter > 0, `the 429 has no Retry-After: ${JSON.stringify(tries)}`);
        // The first tab goes: the second gets in on a later try, never sooner than Retry-After.
        const t0 = Date.now();
        await first.close();
        await own.waitBadge(second, 'open', (retryAfter * 3 + 5) * 1_000);
        await banner.waitFor({ state: 'detached', timeout: 2_000 });
        const gaps = tries.slice(1).map((r, i) => r.t - tries[i].t);
        check(gaps.every((g) => g >= retryAfter * 1_000 - 100), `the tab tried again sooner than Retry-After (${retryAfter} s): ${gaps.join(', ')} ms apart`);
        return (
          `"${said.slice(0, 90)}…"; badge Refused; ${tries.length - 1} refusals, Retry-After ${retryAfter} s, tries ${gaps.join('/')} ms apart; ` +
          `live ${Date.now() - t0} ms after the first tab closed`
        );
      });
    },
  },
  {
    n: 22,
    title: 'publish form: an announcement to one display reaches that kiosk only; the form says 1 connection notified',
    async run(env) {
      // The admin sees the kiosks on the monitor, then publishes to one of them.
      const { page, kiosks: [lobby, reception], listed } = await monitorWithKiosks(env, ['lobby', 'reception']);
      const form = page.getByTestId('publish');
      await form.getByLabel('Send to').selectOption('display');
      await form.getByLabel('Display name').fill('lobby');
      await form.getByLabel('Event type').fill('announcement');
      const text = `Fire drill at 15:00 (${env.front} ${Date.now()})`;
      await form.getByLabel('Announcement').fill(text);
      const t0 = Date.now();
      await form.getByRole('button', { name: 'Publish', exact: true }).click();
      const result = form.getByTestId('publish-result');
      await result.waitFor({ timeout: 3_000 });
      const said = (await result.innerText()).trim();
      check(/to display lobby: 1 connection notified/.test(said), `the form says "${said}"`);
      const id = /#([0-9]+)/.exec(said)?.[1];
      check(id, `the form names no event id: "${said}"`);
      const shownThere = lobby.locator(`[data-testid="kiosk-latest"][data-event-id="${id}"]`);
      await shownThere.waitFor({ timeout: 3_000 });
      const arrived = Date.now() - t0;
      const onScreen = await shownThere.innerText();
      check(onScreen.includes(text), `the lobby kiosk shows "${onScreen}"`);
      await sleep(300);
      const elsewhere = (await reception.getByTestId('kiosk').getAttribute('data-event-ids')) ?? '';
      check(!elsewhere.split(' ').includes(id), 'the reception kiosk got the announcement for lobby');
      check((await reception.getByTestId('kiosk').innerText()).includes('Waiting for announcements'), 'the reception kiosk is not waiting');
      return `kiosks listed ${listed.ms} ms after they connected; "${said}"; on the lobby screen ${arrived} ms after Publish, not on reception`;
    },
  },
  {
    n: 23,
    title: 'Recently closed lists a closed tab and a crashed kiosk as they close, the reason in plain words, the code on hover',
    async run(env) {
      const { ctx, page, shown, kioskCtx, kiosks: [kiosk], conns: [lobby] } = await monitorWithKiosks(env, ['lobby']);
      const { page: tab, conn: second } = await secondTab(env, ctx, adminIds(await env.stack.stats())[0]);
      const [tabId, kioskId] = [second.id, lobby.id];
      await shown.waitFor((s) => s.adminRows.includes(tabId), { what: 'the second tab listed' });
      const bound = closeBoundMs(env.front);
      const listedClosed = async (id, close, what) => {
        const t0 = Date.now();
        await close();
        return shown.waitFor((s) => s.closed.some((c) => c.startsWith(`${id}:`)), { since: t0, timeoutMs: bound + 5_000, what });
      };
      const tabClosed = await listedClosed(tabId, () => tab.close(), 'the closed tab in Recently closed');
      within(tabClosed.ms, bound, 'the closed tab in Recently closed');
      const kioskClosed = await listedClosed(kioskId, () => crashPage(kioskCtx, kiosk), 'the crashed kiosk in Recently closed');
      within(kioskClosed.ms, bound, 'the crashed kiosk in Recently closed');
      const server = (await closedList(env.stack)).closed;
      const words = [];
      for (const [id, what, ms] of [
        [tabId, 'the closed tab', tabClosed.ms],
        [kioskId, 'the crashed kiosk', kioskClosed.ms],
      ]) {
        const entry = server.find((c) => c.id === id);
        check(entry, `${what} (${id}) is not in /closed`);
        const row = page.locator(`table[aria-label="Recently closed connections"] tr[data-connection-id="${id}"]`);
        check((await row.getAttribute('data-reason')) === entry.reason, `${what}: the row's reason is not the server's ${entry.reason}`);
        const badge = row.locator(`span[data-reason="${entry.reason}"]`);
        const label = (await badge.innerText()).trim();
        check(label === REASON_WORDS[entry.reason], `${what}: the reason reads "${label}", not "${REASON_WORDS[entry.reason]}" (${entry.reason})`);
        check(!(await row.innerText()).includes(entry.reason), `${what}: the row shows the code ${entry.reason}`);
        const hover = await badge.getAttribute('title');
        check(hover?.endsWith(`(${entry.reason})`), `${what}: the hover says "${hover}"`);
        words.push(`${what} after ${ms} ms: "${label}", hover "${hover}"`);
      }
      return words.join('; ');
    },
  },
];

/**
 * Nothing lost across reconnects. A monitor tab (its Debug Tools
 * log lists every event with its id and the stream it came on) and a kiosk
 * (its `data-event-ids`) watch while `message` events for everyone are
 * published through POST {prefix}/publish at 10 a second; the web server is
 * restarted in the middle (publishing pauses for the restart only: the
 * publish route is behind the same web server, and a request cut by the
 * restart could publish an id we never learn), then publishing goes on
 * until both pages are back on new streams and 1.5 s more. Both pages must
 * show exactly the published ids, in order. Reports how many each got by
 * replay: ids first received after the restart whose publish was answered
 * before the page's new stream was registered (connected_at in stats).
 */
async function replayAcrossFrontRestart(env) {
  const ctx = await env.newContext();
  const page = await env.openMonitoring(ctx);
  const kioskCtx = await env.newContext({ auth: false });
  const kiosk = await env.openKiosk(kioskCtx, 'lobby');
  const { stats: first } = await env.waitStats(
    (s) => s.admin_connections === 1 && s.display_connections === 1,
    2_000,
    '1 admin + 1 display',
  );
  const oldIds = new Set(first.connections.map((c) => c.id));

  const pageIds = async () =>
    (
      await page
        .locator('[data-testid="received-event"][data-event-type="message"]')
        .evaluateAll((els) => els.map((e) => ({ id: e.dataset.eventId ?? '', stream: e.dataset.stream ?? '' })))
    ).reverse(); // the log is newest first
  const kioskIds = async () => ((await kiosk.getByTestId('kiosk').getAttribute('data-event-ids')) ?? '').split(' ').filter(Boolean);

  const published = []; // { id, sentAt, answeredAt } in publishing order
  const MAX = 90; // the kiosk keeps 100 events
  let stop = false;
  let gate = null; // a promise while publishing is paused
  let idle = Promise.resolve(); // settles when no publish is in flight
  const publisher = (async () => {
    for (let i = 1; !stop && published.length < MAX; i++) {
      if (gate) await gate;
      const tick = Date.now();
      let done;
      idle = new Promise((r) => {
        done = r;
      });
      try {
        const r = await env.stack.api('publish', {
          method: 'POST',
          body: { event: 'message', target: 'all', data: { message: `replay test ${i}`, seq: i } },
        });
        check(r.status === 200 && r.json?.data?.id, `publish ${i}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
        published.push({ id: String(r.json.data.id), sentAt: tick, answeredAt: Date.now() });
      } finally {
        done();
      }
      await sleep(Math.max(0, 100 - (Date.now() - tick)));
    }
  })();
  let publisherError = null;
  publisher.catch((err) => {
    publisherError = err;
  });

  try {
    await sleep(1_000);
    // Pause between two publishes, let the last one arrive, note what each page has.
    let release;
    gate = new Promise((r) => {
      release = r;
    });
    await idle;
    await sleep(200);
    const before = { page: new Set((await pageIds()).map((e) => e.id)), kiosk: new Set(await kioskIds()) };
    const publishedBefore = published.length;
    const restart = await env.stack.restartFront();
    gate = null;
    release();
    const { stats: back, ms: backMs } = await env.waitStats(
      (s) => s.admin_connections === 1 && s.display_connections === 1 && s.connections.every((c) => !oldIds.has(c.id)),
      15_000,
      'both pages back on new streams',
    );
    await sleep(1_500);
    stop = true;
    await publisher;
    check(!publisherError, `publisher: ${publisherError?.message}`);

    const want = published.map((p) => p.id);
    const compare = (name, got) => {
      const seen = new Set();
      const dups = got.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
      const missing = want.filter((id) => !seen.has(id));
      const extra = got.filter((id) => !want.includes(id));
      return { ok: got.length === want.length && got.every((id, i) => id === want[i]), dups, missing, extra, got };
    };
    // Allow the last events a moment to arrive.
    let pageResult;
    let kioskResult;
    const t0 = Date.now();
    for (;;) {
      pageResult = compare('monitor', (await pageIds()).map((e) => e.id));
      kioskResult = compare('kiosk', await kioskIds());
      if ((pageResult.ok && kioskResult.ok) || Date.now() - t0 > 3_000) break;
      await sleep(100);
    }
    for (const [name, r] of [
      ['monitor', pageResult],
      ['kiosk', kioskResult],
    ]) {
      check(
        r.ok,
        `${name}: ${r.got.length} of ${want.length} ids; missing [${r.missing.join(',')}] duplicated [${r.dups.join(',')}] ` +
          `unexpected [${r.extra.join(',')}]${r.ok ? '' : ` order ${r.got.join(',') === [...r.got].sort().join(',') ? 'kept' : 'broken'}`}`,
      );
    }

    // How many came by replay: first received after the restart, published before the new stream was registered.
    const registered = (type) => Date.parse(back.connections.find((c) => c.type === type).connected_at);
    const replayed = (have, at) => published.filter((p) => !have.has(p.id) && p.answeredAt < at).length;
    const unsure = (have, at) => published.filter((p) => !have.has(p.id) && p.answeredAt >= at && p.sentAt <= at).length;
    const streams = new Set((await pageIds()).map((e) => e.stream));
    const adminAt = registered('admin');
    const displayAt = registered('display');
    const line = (name, have, at) => {
      const u = unsure(have, at);
      return `${name} ${replayed(have, at)} replayed${u ? ` (+${u} published as it reconnected)` : ''}`;
    };
    const dupsDropped = await page.evaluate(() => document.querySelector('[data-testid="own-connection"]')?.textContent ?? '');
    const dropped = /Duplicates dropped(\d+)/.exec(dupsDropped)?.[1] ?? '0';
    return (
      `${want.length} published (${publishedBefore} before the restart), each received once and in order by both pages; ` +
      `${env.front} restarted in ${Math.round(restart.ms)} ms, pages back on new streams after ${backMs} ms more ` +
      `(monitor used ${streams.size} streams); ${line('monitor', before.page, adminAt)}, ${line('kiosk', before.kiosk, displayAt)}; ` +
      `duplicates dropped by the monitor's client: ${dropped}`
    );
  } finally {
    stop = true;
    gate = null;
    await publisher.catch(() => {});
  }
}

/** How many disconnect requests the responder has answered (its /metrics). */
async function disconnectRequests(stack) {
  const n = (await stack.metrics()).get('sse_request_duration_seconds_count{route="disconnect"}');
  check(n !== undefined, 'metrics have no count of disconnect requests');
  return n;
}

/** sessionStorage key of loseDisconnects(): present = lose, value = how many were lost. */
const LOST_DISCONNECTS = 'e2e-lost-disconnects';

/**
 * An init script that loses the page's disconnect requests once the tab's
 * sessionStorage has LOST_DISCONNECTS, as an ad blocker or a dropped packet
 * would: sendBeacon says it queued the request and a keepalive fetch resolves,
 * but nothing leaves the page. Each one lost is counted in the same
 * sessionStorage, at once and in the page that sent it, so the count survives
 * the reload. (page.route is not used: in one CI run its handler never saw
 * the beacon sent as the page unloaded, and the test could not tell whether
 * the beacon had been sent, blocked late or let through.)
 */
function loseDisconnects(key) {
  const losing = (url) => sessionStorage.getItem(key) !== null && /\/disconnect(\?|$)/.test(String(url));
  const lose = () => sessionStorage.setItem(key, String(Number(sessionStorage.getItem(key)) + 1));
  const beacon = navigator.sendBeacon.bind(navigator);
  navigator.sendBeacon = (url, data) => {
    if (!losing(url)) return beacon(url, data);
    lose();
    return true;
  };
  const realFetch = window.fetch.bind(window);
  window.fetch = (input, init) => {
    if (!losing(input instanceof Request ? input.url : input)) return realFetch(input, init);
    lose();
    return Promise.resolve(new Response(null, { status: 204 }));
  };
}

/**
 * Open the monitor at `base`, lose its disconnect requests from then on,
 * reload: exactly 1 admin connection (the new one, same client id) within 1 s
 * of the load, and it stays 1. Returns { ms, reason } (why the old stream
 * closed, from /closed).
 */
async function reloadWithoutBeacon(env, base) {
  const ctx = await env.newContext();
  const page = await ctx.newPage();
  await page.addInitScript(loseDisconnects, LOST_DISCONNECTS);
  await page.goto(`${base}/admin/monitoring`);
  await env.waitBadge(page, 'open');
  await page.evaluate((key) => sessionStorage.setItem(key, '0'), LOST_DISCONNECTS);
  const answeredBefore = await disconnectRequests(env.stack);
  const { stats } = await env.waitStats((s) => s.admin_connections === 1, 1_000, '1 admin');
  const old = stats.connections[0];
  check(old.client, `the dashboard's stream has no client id: ${JSON.stringify(old)}`);
  check(old.ack === true, `the dashboard's stream is not acked: ${JSON.stringify(old)}`);
  await page.reload({ waitUntil: 'load' });
  const { stats: after, ms } = await env.waitStats(
    (s) => s.total_connections === 1 && s.admin_connections === 1 && adminIds(s)[0] !== old.id,
    1_000,
    'exactly 1 admin connection, the new one',
  );
  const entry = (await closedList(env.stack)).closed.find((c) => c.id === old.id);
  check(entry, `the old stream ${old.id} is not in /closed`);
  const lost = Number(await page.evaluate((key) => sessionStorage.getItem(key), LOST_DISCONNECTS));
  check(lost > 0, `the page sent no disconnect request to lose (the old stream closed as ${entry.reason})`);
  check(after.connections[0].client === old.client, `the reloaded tab took a new client id ${after.connections[0].client} (was ${old.client})`);
  await env.waitBadge(page, 'open');
  // Stays 1 for longer than the ack timeout (3 heartbeats): nothing comes back.
  await sleep(heartbeat * 3_000 + 500);
  const later = await env.stack.stats();
  check(later.total_connections === 1 && adminIds(later)[0] === adminIds(after)[0], `not settled at 1: ${summary(later)}`);
  const reached = (await disconnectRequests(env.stack)) - answeredBefore;
  check(reached === 0, `${reached} disconnect requests reached the server although the page lost ${lost}`);
  await ctx.close();
  await env.waitStats((s) => s.total_connections === 0, 5_000, 'no connection after closing the tab');
  return { ms, reason: entry.reason };
}

// ---- the screenshot ---------------------------------------------------------

/**
 * The monitor of docs/monitor.png, on its own stack with a roster of four
 * displays (one missing): two admin tabs, three kiosks, a test event, and a
 * few closed connections (a kiosk replaced by a newer one, a closed tab, one
 * disconnected by an administrator).
 */
async function takeScreenshot(env, path) {
  const roster = displaysFile(['cafeteria', 'entrance', 'lobby', 'reception']);
  try {
    await env.withStack({ daemonArgs: ['--displays', roster.file] }, async (own) => {
      const ctx = await own.newContext();
      const page = await own.openMonitoring(ctx);
      await own.openMonitoring(ctx);
      const closing = await own.openMonitoring(ctx);
      await closing.close();
      const kioskCtx = await own.newContext({ auth: false });
      const replaced = await own.openKiosk(kioskCtx, 'lobby');
      for (const name of ['lobby', 'reception', 'cafeteria']) await own.openKiosk(kioskCtx, name);
      // The same browser opened lobby again: the older page steps aside for a minute.
      await replaced.locator('[data-testid="kiosk-status"][data-kind="superseded"]').waitFor({ timeout: 3_000 });
      await own.waitStats((s) => s.total_connections === 5, 3_000, '2 admin + 3 display');
      await sleep(heartbeat * 1_500); // pings, acks and RTTs
      const { stats } = await own.waitStats((s) => s.total_connections === 5, 3_000, '2 admin + 3 display');
      const cafeteria = stats.connections.find((c) => c.display === 'cafeteria');
      await own.stack.api(`connections/${cafeteria.id}`, { method: 'DELETE' });
      await own.waitStats((s) => s.display_connections === 3 && !s.connections.some((c) => c.id === cafeteria.id), 5_000, 'cafeteria back');
      await page.getByLabel('Message').fill('Fire drill at 15:00');
      await page.getByRole('button', { name: 'Send test event' }).click();
      await page.getByTestId('received-events').waitFor();
      const form = page.getByTestId('publish');
      await form.getByLabel('Display name').fill('lobby');
      await form.getByLabel('Announcement').fill('Lunch is served in the cafeteria');
      await form.getByRole('button', { name: 'Publish', exact: true }).click();
      await form.getByTestId('publish-result').waitFor();
      await sleep(1_500); // let durations and pings move on
      await page.getByRole('button', { name: 'Refresh', exact: true }).click();
      await own.waitRowCount(page, 5);
      await page.getByRole('table', { name: 'Recently closed connections' }).locator('tbody tr[data-reason]').first().waitFor();
      await sleep(300);
      mkdirSync(dirname(path), { recursive: true });
      await page.screenshot({ path, fullPage: true });
    });
  } finally {
    roster.remove();
  }
}

// ---- browser and stack --------------------------------------------------------

const launchOptions = {
  executablePath: chromiumPath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
};

async function launchBrowser() {
  return chromium.launch(launchOptions);
}

/** A browser whose process we can reach: { browser, server } (server.process() is the Chromium). */
async function launchKillableBrowser() {
  const server = await chromium.launchServer(launchOptions);
  const browser = await chromium.connect(server.wsEndpoint());
  return { browser, server };
}

/** SIGKILL the browser and its children: a crash, nothing runs in the page. */
function killBrowser(server) {
  const proc = server.process();
  if (!proc?.pid) throw new Failure('no browser process to kill');
  try {
    process.kill(-proc.pid, 'SIGKILL'); // Playwright starts it as a process group leader
  } catch {
    process.kill(proc.pid, 'SIGKILL');
  }
}

async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Failure(`${what} timed out after ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function runFront(front, startStack, wantScreenshot) {
  const selected = scenarios.filter((s) => !only || only.has(s.n));
  let stack;
  try {
    stack = await startStack({ front, heartbeat, staticDir: distDir });
  } catch (err) {
    for (const s of selected) report(front, s.n, s.title, false, 0, `stack did not start: ${err.message}`);
    return;
  }
  let browser;
  try {
    browser = await launchBrowser();
    for (const s of selected) {
      if (!browser.isConnected()) browser = await launchBrowser();
      const env = makeEnv(stack, browser, front, startStack);
      const t0 = Date.now();
      try {
        // Start from an empty registry so counts mean what they say.
        await env.waitStats((x) => x.total_connections === 0, 5_000, 'an empty registry before the scenario');
        overBound = [];
        const detail = await withTimeout(s.run(env), s.timeoutMs ?? 30_000, 'scenario');
        const over = overBound.length ? ` [over the bound, within the margin: ${overBound.join('; ')}]` : '';
        report(front, s.n, s.title, true, Date.now() - t0, detail + over);
      } catch (err) {
        const why = err instanceof Failure ? err.message : (err?.stack ?? String(err)).split('\n').slice(0, 3).join(' | ');
        report(front, s.n, s.title, false, Date.now() - t0, why);
      } finally {
        await env.closeAll();
      }
    }
    if (wantScreenshot) {
      const env = makeEnv(stack, browser, front, startStack);
      try {
        await takeScreenshot(env, screenshotPath);
        console.log(`# screenshot saved to ${screenshotPath}`);
      } catch (err) {
        console.log(`# screenshot failed: ${err.message}`);
      } finally {
        await env.closeAll();
      }
    }
  } finally {
    await browser?.close().catch(() => {});
    await stack.stop().catch((err) => console.log(`# stack.stop failed: ${err.message}`));
  }
}

async function main() {
  if (!existsSync(resolve(distDir, 'index.html'))) {
    console.log(`# ${distDir}/index.html is missing: run "npm run build" first`);
    console.log('0 passed, 1 failed');
    return 1;
  }
  if (!existsSync(harnessPath)) {
    console.log(`# the stack harness ${harnessPath} is missing`);
    console.log('0 passed, 1 failed');
    return 1;
  }
  if (!existsSync(chromiumPath)) {
    console.log(`# no browser at ${chromiumPath} (apt-get install chromium)`);
    console.log('0 passed, 1 failed');
    return 1;
  }
  const { startStack } = await import(pathToFileURL(harnessPath).href);
  for (const [i, front] of fronts.entries()) {
    // With --only, a screenshot only when asked for by --screenshot=PATH.
    await runFront(front, startStack, i === 0 && screenshotPath !== null && (!only || args.screenshot !== undefined));
  }
  return summarize(results);
}

exitWith(main, results);
