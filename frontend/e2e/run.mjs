#!/usr/bin/env node
// Browser tests of the dashboard against the real stack: sse-fcgi behind
// lighttpd and behind nginx, serving frontend/dist, driven by Debian's
// Chromium through playwright-core. Every scenario asserts on the server's
// stats route, the truth about who is connected.
//
//   node e2e/run.mjs [--front=lighttpd,nginx] [--only=1,4,7] [--screenshot=PATH | --no-screenshot]
//
// Env: E2E_FRONTS, E2E_HARNESS (path to stack.mjs), CHROMIUM (browser path),
// E2E_HEARTBEAT (seconds, default 1). Prints one line per scenario and a last
// line "N passed, N failed"; exits 1 on any failure.

import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

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
const distDir = resolve(frontendDir, 'dist');
// Every run leaves a screenshot in e2e/out/ (ignored by git); `npm run e2e:docs`
// refreshes the committed one with --screenshot=docs/monitor.png.
const screenshotPath = args['no-screenshot'] ? null : resolve(frontendDir, args.screenshot ?? 'e2e/out/monitor.png');

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

// ---- the scenarios ----------------------------------------------------------

/** Everything a scenario needs: the stack, a browser, helpers bound to them. */
function makeEnv(stack, browser, front) {
  const base = stack.baseUrl;
  const contexts = [];

  async function newContext({ auth = true } = {}) {
    const ctx = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      ...(auth ? { httpCredentials: { username: stack.user, password: stack.password } } : {}),
    });
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

  return { stack, browser, base, front, newContext, waitStats, badge, waitBadge, openMonitoring, tableRows, waitRowCount, closeAll };
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
      return `stats 1 admin after ${ms} ms; row ${rowId}`;
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
];

// ---- the screenshot ---------------------------------------------------------

async function takeScreenshot(env, path) {
  const ctx = await env.newContext();
  const page = await env.openMonitoring(ctx);
  await env.openMonitoring(ctx);
  const kioskCtx = await env.newContext({ auth: false });
  for (const name of ['lobby', 'reception', 'cafeteria']) {
    const k = await kioskCtx.newPage();
    await k.goto(`${env.base}/display/${name}`);
    await env.waitBadge(k, 'open');
  }
  await env.waitStats((s) => s.total_connections === 5, 2_000, '2 admin + 3 display');
  await page.getByLabel('Message').fill('Lunch is served in the cafeteria');
  await page.getByRole('button', { name: 'Send test event' }).click();
  await page.getByTestId('received-events').waitFor();
  await sleep(1_500); // let durations and pings move on
  await page.getByRole('button', { name: 'Refresh', exact: true }).click();
  await env.waitRowCount(page, 5);
  await sleep(300);
  mkdirSync(dirname(path), { recursive: true });
  await page.screenshot({ path, fullPage: true });
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
      const env = makeEnv(stack, browser, front);
      const t0 = Date.now();
      try {
        // Start from an empty registry so counts mean what they say.
        await env.waitStats((x) => x.total_connections === 0, 5_000, 'an empty registry before the scenario');
        const detail = await withTimeout(s.run(env), 30_000, 'scenario');
        report(front, s.n, s.title, true, Date.now() - t0, detail);
      } catch (err) {
        const why = err instanceof Failure ? err.message : (err?.stack ?? String(err)).split('\n').slice(0, 3).join(' | ');
        report(front, s.n, s.title, false, Date.now() - t0, why);
      } finally {
        await env.closeAll();
      }
    }
    if (wantScreenshot) {
      const env = makeEnv(stack, browser, front);
      try {
        await env.waitStats((x) => x.total_connections === 0, 5_000, 'an empty registry before the screenshot');
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
    await runFront(front, startStack, i === 0 && screenshotPath !== null && !only);
  }
  const passed = results.filter(Boolean).length;
  const failed = results.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 && results.length > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.log(`# ${err?.stack ?? err}`);
    console.log(`${results.filter(Boolean).length} passed, ${results.filter((r) => !r).length + 1} failed`);
    process.exit(1);
  },
);
