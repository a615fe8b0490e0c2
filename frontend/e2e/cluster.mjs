#!/usr/bin/env node
// Browser tests of kiosk display keys and of the dashboard in a cluster, driven by Debian's
// Chromium through playwright-core against real servers:
//
//   keys     one responder (tests/harness/stack.mjs, nginx) with a --displays file: hall (no key)
//            and lobby (a key). A second screen is refused (409) and says so while the first
//            keeps its events; a screen with ?key= takes a display over and the first says it was
//            replaced; neither retries within 10 s; a wrong key is named; each browser has its
//            own random client id.
//   cluster  redis-server, three nodes and nginx round robin (tests/harness/cluster.mjs): the
//            dashboard lists every node's connections with their node and 3 nodes up; kill -9 of
//            a node makes its connections leave as "Node lost" within 3 heartbeats and the Nodes
//            panel says lost; a closed tab leaves the other tab's table within 1 s while that
//            tab's stats requests land on other nodes than its stream; Redis stopped: a banner
//            says the cluster is degraded (what works, what answers 503) until Redis is back.
//
//   node e2e/cluster.mjs [--only=keys,cluster] [--front=nginx|lighttpd] (keys: the front; default nginx)
//
// Env: CHROMIUM, E2E_DIST (the built dashboard to serve; default dist/), E2E_MARGIN_MS (1000: a
// figure over its bound but within the margin passes, and is named), SSE_FCGI_BIN (read by the
// harnesses). Prints one line per scenario and a last line "N passed, N failed"; exits 1 on any
// failure. Needs `npm run build` first (dist/). A cluster scenario that fails stops the ones after
// it (they build on its connections): they are reported as not run.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { exitWith, summarize } from './summary.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const frontendDir = resolve(here, '..');
const repoRoot = resolve(frontendDir, '..');
const distDir = resolve(process.env.E2E_DIST ?? resolve(frontendDir, 'dist'));

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a} (see the head of e2e/cluster.mjs)`);
    return [m[1], m[2] ?? 'true'];
  }),
);
if (args.help) {
  console.log('node e2e/cluster.mjs [--only=keys,cluster] [--front=nginx|lighttpd]');
  process.exit(0);
}
const only = new Set((args.only ?? 'keys,cluster').split(',').filter(Boolean));
const front = args.front ?? 'nginx';
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const MARGIN_MS = Number(process.env.E2E_MARGIN_MS ?? 1_000);
const HEARTBEAT = 1;
/** How long a refused or replaced screen is watched for retries. */
const RETRY_WATCH_MS = 10_000;

const launchOptions = {
  executablePath: chromiumPath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
};

const results = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let overBound = [];

class Failure extends Error {}
function check(cond, message) {
  if (!cond) throw new Failure(message);
}

function report(group, n, title, ok, ms, detail) {
  results.push(ok);
  console.log(`${ok ? 'ok  ' : 'FAIL'} [${group}] ${n}. ${title} (${(ms / 1000).toFixed(2)} s)${detail ? ` — ${detail}` : ''}`);
}

/** A bound with the margin: over the bound but within the margin passes, and is named. */
function within(ms, bound, what) {
  check(ms <= bound + MARGIN_MS, `${what} took ${ms} ms, over the bound of ${bound} ms (+${MARGIN_MS} ms margin)`);
  if (ms > bound) overBound.push(`${what} ${ms} ms > ${bound} ms`);
}

async function waitFor(fn, timeoutMs, what, explain = async () => '') {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return { value: v, ms: Date.now() - t0 };
    if (Date.now() - t0 > timeoutMs) throw new Failure(`${what} not seen within ${timeoutMs} ms${await explain()}`);
    await sleep(25);
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

async function waitBadge(page, state, timeout = 8_000) {
  await page.locator(`[data-testid="live-badge"][data-state="${state}"]`).first().waitFor({ timeout });
}

/** The times of the requests of a page whose path matches `re` (a stream route: not the page itself, /display/<name>). */
function countStreamRequests(page, re) {
  const seen = [];
  page.on('request', (req) => {
    if (re.test(new URL(req.url()).pathname)) seen.push(Date.now());
  });
  return seen;
}

/** What a kiosk's status says: { kind, status, text } or null while it is live. */
async function kioskStatus(page) {
  return page.evaluate(() => {
    const el = document.querySelector('[data-testid="kiosk-status"]');
    if (!el) return null;
    return { kind: el.getAttribute('data-kind'), status: el.getAttribute('data-status'), text: el.textContent ?? '' };
  });
}

/** The event ids a kiosk shows (oldest first). */
async function kioskIds(page) {
  return page.evaluate(() => (document.querySelector('[data-testid="kiosk"]')?.getAttribute('data-event-ids') ?? '').split(' ').filter(Boolean));
}

async function publish(client, body) {
  const r = await client.api('publish', { method: 'POST', body });
  check(r.status === 200, `publish: HTTP ${r.status} ${r.text.slice(0, 200)}`);
  return r.json.data;
}

// ---- keys: display credentials and superseding, one responder ---------------------------------

const LOBBY_KEY = 'k3y-0f-the-lobby-screen-2026';

const keyScenarios = [
  {
    n: 1,
    title: 'a second screen for a live display without a key: 409 on its screen, no takeover, at most 1 stream request in 10 s',
    async run({ stack, browser }) {
      const a = await browser.newContext();
      const b = await browser.newContext();
      try {
        const first = await a.newPage();
        await first.goto(`${stack.baseUrl}/display/hall`);
        await waitBadge(first, 'open');
        const second = await b.newPage();
        const requests = countStreamRequests(second, /\/api\/v1\/events\/display\/hall$/);
        const opened = Date.now();
        await second.goto(`${stack.baseUrl}/display/hall`);
        const { value: st, ms } = await waitFor(async () => {
          const s = await kioskStatus(second);
          return s?.kind === 'conflict' ? s : null;
        }, 5_000, 'the second screen saying 409', async () => `: ${JSON.stringify(await kioskStatus(second))}`);
        check(st.status === '409', `status ${st.status}, expected 409`);
        check(/Display hall is live on another screen/.test(st.text), `the screen says: ${st.text}`);
        // The first keeps its stream and its events.
        const stats = await stack.stats();
        const halls = stats.connections.filter((c) => c.display === 'hall');
        check(halls.length === 1, `${halls.length} hall streams in stats`);
        const ev = await publish(stack, { event: 'announcement', data: { message: 'hall: doors open' }, target: 'display', display: 'hall' });
        await waitFor(async () => (await kioskIds(first)).includes(String(ev.id)), 3_000, `event ${ev.id} on the first screen`);
        check(!(await kioskIds(second)).includes(String(ev.id)), 'the refused screen shows the event');
        check((await kioskStatus(first)) === null, 'the first screen shows a status');
        const left = RETRY_WATCH_MS - (Date.now() - opened);
        if (left > 0) await sleep(left);
        const inWindow = requests.filter((t) => t - opened <= RETRY_WATCH_MS).length;
        check(inWindow <= 1, `${inWindow} stream requests in ${RETRY_WATCH_MS / 1000} s`);
        check((await stack.stats()).connections.filter((c) => c.display === 'hall').length === 1, 'hall was taken over');
        return `409 shown in ${ms} ms; the first screen got event ${ev.id}; ${inWindow} stream request in ${RETRY_WATCH_MS / 1000} s`;
      } finally {
        await a.close();
        await b.close();
      }
    },
  },
  {
    n: 2,
    title: 'a screen with ?key= takes the display over; the first says it was replaced and does not retry within 10 s; client ids differ',
    async run({ stack, browser }) {
      const a = await browser.newContext();
      const b = await browser.newContext();
      try {
        const first = await a.newPage();
        const firstRequests = countStreamRequests(first, /\/api\/v1\/events\/display\/lobby$/);
        await first.goto(`${stack.baseUrl}/display/lobby?key=${encodeURIComponent(LOBBY_KEY)}`);
        await waitBadge(first, 'open');
        const before = (await stack.stats()).connections.find((c) => c.display === 'lobby');
        check(before, 'lobby not in stats');
        const second = await b.newPage();
        await second.goto(`${stack.baseUrl}/display/lobby?key=${encodeURIComponent(LOBBY_KEY)}`);
        await waitBadge(second, 'open');
        const taken = Date.now();
        const { value: st, ms } = await waitFor(async () => {
          const s = await kioskStatus(first);
          return s?.kind === 'superseded' ? s : null;
        }, 3_000, 'the first screen saying it was replaced', async () => `: ${JSON.stringify(await kioskStatus(first))}`);
        check(/Another screen took over display lobby/.test(st.text), `the first screen says: ${st.text}`);
        const after = (await stack.stats()).connections.filter((c) => c.display === 'lobby');
        check(after.length === 1 && after[0].id !== before.id, `lobby streams after: ${JSON.stringify(after.map((c) => c.id))}`);
        const closed = (await stack.api('closed')).json.data.closed.find((c) => c.id === before.id);
        check(closed?.reason === 'superseded', `the first stream closed as ${closed?.reason}`);
        // Random per browser, never the display name.
        check(before.client && after[0].client && before.client !== after[0].client, `client ids ${before.client} / ${after[0].client}`);
        for (const id of [before.client, after[0].client]) check(!id.includes('lobby'), `client id ${id} holds the display name`);
        const ev = await publish(stack, { event: 'announcement', data: { message: 'lobby: moved' }, target: 'display', display: 'lobby' });
        await waitFor(async () => (await kioskIds(second)).includes(String(ev.id)), 3_000, `event ${ev.id} on the new screen`);
        check(!(await kioskIds(first)).includes(String(ev.id)), 'the replaced screen got the event');
        const left = RETRY_WATCH_MS - (Date.now() - taken);
        if (left > 0) await sleep(left);
        const retries = firstRequests.filter((t) => t > taken).length;
        check(retries <= 1, `the replaced screen made ${retries} stream requests in ${RETRY_WATCH_MS / 1000} s`);
        return `replaced shown in ${ms} ms; client ids ${before.client} / ${after[0].client}; ${retries} retries in ${RETRY_WATCH_MS / 1000} s`;
      } finally {
        await a.close();
        await b.close();
      }
    },
  },
  {
    n: 3,
    title: 'a kiosk with a wrong key says so (401) and does not retry within 10 s',
    async run({ stack, browser }) {
      const ctx = await browser.newContext();
      try {
        const page = await ctx.newPage();
        const requests = countStreamRequests(page, /\/api\/v1\/events\/display\/lobby$/);
        const opened = Date.now();
        await page.goto(`${stack.baseUrl}/display/lobby?key=not-the-key-of-this-display`);
        const { value: st, ms } = await waitFor(async () => {
          const s = await kioskStatus(page);
          return s?.kind === 'key' ? s : null;
        }, 5_000, 'the wrong key named', async () => `: ${JSON.stringify(await kioskStatus(page))}`);
        check(st.status === '401', `status ${st.status}`);
        check(/Wrong key for this display/.test(st.text), `the screen says: ${st.text}`);
        check(!st.text.includes('not-the-key'), 'the screen shows the key');
        const left = RETRY_WATCH_MS - (Date.now() - opened);
        if (left > 0) await sleep(left);
        const n = requests.filter((t) => t - opened <= RETRY_WATCH_MS).length;
        check(n <= 1, `${n} stream requests in ${RETRY_WATCH_MS / 1000} s`);
        return `"Wrong key for this display" in ${ms} ms; ${n} stream request in ${RETRY_WATCH_MS / 1000} s`;
      } finally {
        await ctx.close();
      }
    },
  },
];

async function runKeys(browser) {
  const { startStack } = await import(pathToFileURL(resolve(repoRoot, 'tests/harness/stack.mjs')).href);
  const dir = mkdtempSync(join(tmpdir(), 'sse-fcgi-e2e-keys-'));
  const displays = join(dir, 'displays');
  writeFileSync(displays, `hall\nlobby ${LOBBY_KEY}\n`, { mode: 0o600 });
  let stack;
  try {
    stack = await startStack({ front, heartbeat: HEARTBEAT, staticDir: distDir, daemonArgs: ['--displays', displays] });
  } catch (err) {
    for (const s of keyScenarios) report(`keys ${front}`, s.n, s.title, false, 0, `stack did not start: ${err.message}`);
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  try {
    for (const s of keyScenarios) await runOne(`keys ${front}`, s, { stack, browser }, async () => {
      await waitFor(async () => (await stack.stats()).total_connections === 0, 8_000, 'an empty registry');
    });
  } finally {
    await stack.stop().catch((err) => console.log(`# stack.stop failed: ${err.message}`));
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- cluster: three nodes behind nginx round robin ------------------------------------------

/** The rows of the live table: [{ id, node }]. */
async function tableRows(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('table[aria-label="Live SSE connections"] tbody tr[data-connection-id]')].map((tr) => ({
      id: tr.getAttribute('data-connection-id'),
      node: tr.querySelector('[data-testid="conn-node"]')?.textContent ?? null,
    })),
  );
}

/** The Nodes panel: [{ node, state }]. */
async function nodesShown(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('table[aria-label="Cluster nodes"] tbody tr[data-node]')].map((tr) => ({
      node: tr.getAttribute('data-node'),
      state: tr.getAttribute('data-state'),
    })),
  );
}

/** The rows of Recently closed, in order: [[id, reason in words]]. */
async function closedRows(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('table[aria-label="Recently closed connections"] tbody tr[data-connection-id]')].map((tr) => [
      tr.getAttribute('data-connection-id'),
      tr.querySelector('[data-reason]')?.textContent ?? '',
    ]),
  );
}

/** Recently closed as { id: reason in words }; fails if it lists an id twice. */
async function closedShown(page) {
  const rows = await closedRows(page);
  const ids = rows.map(([id]) => id);
  check(new Set(ids).size === ids.length, `Recently closed lists an id twice: ${ids.join(',')}`);
  return Object.fromEntries(rows);
}

/** Notes, in the page, which node answered each of its stats requests. */
function watchStatsNodes(page) {
  const answers = [];
  page.on('response', async (res) => {
    if (!/\/stats$/.test(new URL(res.url()).pathname)) return;
    try {
      const j = await res.json();
      answers.push({ at: Date.now(), node: j?.data?.cluster?.node ?? null, state: j?.data?.cluster?.state ?? null, query: new URL(res.url()).search });
    } catch {
      // a body that is gone (page closed) says nothing
    }
  });
  return answers;
}

const clusterScenarios = [
  {
    n: 4,
    title: 'the dashboard behind round robin lists every node\'s connections with their node, and 3 nodes up',
    async run(env) {
      const { c, page } = env;
      // A display on each node, opened at that node's own door.
      env.displays = [];
      for (const n of c.nodes) env.displays.push(await n.openStream(`display/k-${n.name}`));
      const { ms } = await waitFor(async () => {
        const rows = await tableRows(page);
        const stats = await c.front.stats();
        return stats.connections.length === rows.length &&
          stats.connections.every((s) => rows.some((r) => r.id === s.id && r.node === s.node));
      }, 5_000, 'every connection listed with its node', async () => `: ${JSON.stringify(await tableRows(page))}`);
      const nodes = await nodesShown(page);
      check(nodes.length === 3 && nodes.every((x) => x.state === 'up'), `Nodes panel: ${JSON.stringify(nodes)}`);
      const rows = await tableRows(page);
      const byNode = [...new Set(rows.map((r) => r.node))].sort();
      check(byNode.join(',') === 'node-1,node-2,node-3', `rows on nodes ${byNode.join(',')}`);
      return `${rows.length} rows on ${byNode.join(', ')} listed ${ms} ms after the last opened; Nodes: 3 up`;
    },
  },
  {
    n: 5,
    title: 'kill -9 of a node: its connections leave as "Node lost" within 3 heartbeats, the Nodes panel says lost',
    async run(env) {
      const { c, page } = env;
      const stats = await c.front.stats();
      // Not the node of the tab's own stream: the tab would reconnect, not watch.
      const tabNode = stats.connections.find((x) => x.id === env.tabId)?.node;
      const victim = c.nodes.find((n) => n.name !== tabNode && stats.connections.some((x) => x.node === n.name));
      check(victim, `no node to kill (tab on ${tabNode})`);
      const gone = stats.connections.filter((x) => x.node === victim.name).map((x) => x.id);
      const t0 = Date.now();
      await victim.kill9();
      const left = await waitFor(async () => {
        const rows = await tableRows(page);
        return gone.every((id) => !rows.some((r) => r.id === id));
      }, 3 * HEARTBEAT * 1000 + MARGIN_MS + 2_000, `${victim.name}'s connections gone from the table`);
      const leftMs = Date.now() - t0;
      within(leftMs, 3 * HEARTBEAT * 1000, `${victim.name}'s connections left the table`);
      const words = await closedShown(page);
      for (const id of gone) check(words[id] === 'Node lost', `Recently closed says "${words[id]}" for ${id}`);
      const lost = await waitFor(async () => (await nodesShown(page)).find((x) => x.node === victim.name && x.state === 'lost'), 3_000, `${victim.name} lost in the Nodes panel`);
      const lostMs = Date.now() - t0;
      const closedData = (await c.front.api('closed')).json.data.closed;
      for (const id of gone) check(closedData.find((x) => x.id === id)?.reason === 'node_lost', `/closed: ${id} not node_lost`);
      void left;
      void lost;
      return `${gone.length} connection(s) of ${victim.name} left the table ${leftMs} ms after kill -9 (bound ${3 * HEARTBEAT * 1000} ms), shown "Node lost"; panel: lost after ${lostMs} ms`;
    },
  },
  {
    n: 6,
    title: 'a closed tab leaves the other tab\'s table within 1 s although its stats requests land on other nodes',
    async run(env) {
      const { c, page, ctx, statsAnswers } = env;
      const second = await ctx.newPage();
      await second.goto(`${c.front.baseUrl}/admin/monitoring`);
      await waitBadge(second, 'open');
      const secondId = await waitFor(async () => {
        const s = await c.front.stats();
        const ids = s.connections.filter((x) => x.type === 'admin' && x.id !== env.tabId).map((x) => x.id);
        return ids.length === 1 ? ids[0] : null;
      }, 5_000, 'the second tab in stats');
      await waitFor(async () => (await tableRows(page)).some((r) => r.id === secondId.value), 3_000, 'the second tab in the first tab\'s table');
      // Broadcasts make the first tab fetch its rows' counters (at most every 2 s), through the round
      // robin, until one of those answers comes from another node than its stream's. Round robin
      // gives each request the next node, this test's requests included: every other round sends
      // one more request first, so that the tab's fetch does not land on the same node each time.
      const since = Date.now();
      const tabNode = (await c.front.stats()).connections.find((x) => x.id === env.tabId)?.node;
      const answered = () => statsAnswers.filter((a) => a.at >= since).map((a) => a.node);
      for (let i = 0; i < 6 && !answered().some((n) => n && n !== tabNode); i++) {
        if (i % 2 === 1) await c.front.api('health', { auth: false });
        await c.front.api('test', { method: 'POST', body: { message: `counters ${i}` } });
        await sleep(2_200);
      }
      check(answered().some((n) => n && n !== tabNode), `no stats answer came from another node than the stream's (${tabNode}): ${answered().join(',')}`);
      const t0 = Date.now();
      await second.close();
      await waitFor(async () => !(await tableRows(page)).some((r) => r.id === secondId.value), 1_000 + MARGIN_MS + 2_000, 'the closed tab gone from the table');
      const ms = Date.now() - t0;
      within(ms, 1_000, 'the closed tab left the table');
      const rows = await tableRows(page);
      const truth = (await c.front.stats()).connections.map((x) => x.id).sort();
      check(JSON.stringify(rows.map((r) => r.id).sort()) === JSON.stringify(truth), `table ${JSON.stringify(rows.map((r) => r.id))} vs stats ${JSON.stringify(truth)}`);
      const closed = await closedShown(page);
      check(closed[secondId.value], 'the closed tab is not in Recently closed');
      return `gone in ${ms} ms; stream on ${tabNode}, stats answered by ${answered().join(',')}; closed as "${closed[secondId.value]}"`;
    },
  },
  {
    n: 7,
    title: 'Redis stopped: a banner names the degraded nodes, what still works and what answers 503; it goes when Redis is back',
    async run(env) {
      const { c, page } = env;
      const banner = () => page.evaluate(() => document.querySelector('[data-testid="cluster-degraded"]')?.textContent ?? null);
      check((await banner()) === null, 'a degraded banner before Redis stopped');
      const t0 = Date.now();
      await c.redis.stop();
      let restarted = false;
      try {
        const shown = await waitFor(banner, 3 * HEARTBEAT * 1000 + 2_000, 'the degraded banner');
        const shownMs = Date.now() - t0;
        within(shownMs, 2 * HEARTBEAT * 1000, 'the degraded banner shown');
        const text = shown.value;
        check(/cannot reach Redis/.test(text) && /Still works/.test(text) && /Answers 503/.test(text), `the banner says: ${text}`);
        const pub = await c.front.api('publish', { method: 'POST', body: { event: 'announcement', data: { message: 'x' } } });
        check(pub.status === 503, `publish while degraded: HTTP ${pub.status}, the banner says 503`);
        const t1 = Date.now();
        await c.redis.start();
        restarted = true;
        const answersSince = () => env.statsAnswers.filter((a) => a.at >= t1).map((a) => `${a.at - t1}ms ${a.node} ${a.state} ${a.query}`);
        await waitFor(async () => (await banner()) === null, 20_000, 'the banner gone',
          async () => `: ${(await banner())?.slice(0, 60)}; stats answers since Redis started: ${answersSince().join('; ') || 'none'}`);
        const goneMs = Date.now() - t1;
        await c.waitNodes();
        const nodes = await nodesShown(page);
        check(nodes.filter((x) => x.state === 'up').length === 2, `Nodes panel after Redis came back: ${JSON.stringify(nodes)}`);
        const named = /Nodes? ([\w, -]+) cannot reach Redis/.exec(text)?.[1] ?? '?';
        return `banner ${shownMs} ms after Redis stopped (naming ${named}); publish answered 503; gone ${goneMs} ms after Redis started`;
      } finally {
        if (!restarted) await c.redis.start().catch(() => {});
      }
    },
  },
];

async function runCluster(browser) {
  const { startCluster } = await import(pathToFileURL(resolve(repoRoot, 'tests/harness/cluster.mjs')).href);
  let c;
  try {
    c = await startCluster({ nodes: 3, heartbeat: HEARTBEAT, staticDir: distDir, front: 'nginx' });
  } catch (err) {
    for (const s of clusterScenarios) report('cluster nginx', s.n, s.title, false, 0, `cluster did not start: ${err.message.split('\n')[0]}`);
    return;
  }
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, httpCredentials: { username: c.user, password: c.password } });
  const env = { c, ctx, displays: [] };
  let failed = false;
  try {
    env.page = await ctx.newPage();
    env.statsAnswers = watchStatsNodes(env.page);
    await env.page.goto(`${c.front.baseUrl}/admin/monitoring`);
    await waitBadge(env.page, 'open');
    const { value } = await waitFor(async () => {
      const s = await c.front.stats();
      const admins = s.connections.filter((x) => x.type === 'admin');
      return admins.length === 1 ? admins[0].id : null;
    }, 5_000, 'the tab\'s stream in stats');
    env.tabId = value;
    for (const s of clusterScenarios) {
      if (failed) {
        report('cluster nginx', s.n, s.title, false, 0, 'not run: an earlier cluster scenario failed');
        continue;
      }
      if (!(await runOne('cluster nginx', s, env))) failed = true;
    }
  } catch (err) {
    report('cluster nginx', 0, 'the dashboard tab', false, 0, err.message);
  } finally {
    for (const s of env.displays) s.sock?.destroy();
    await ctx.close().catch(() => {});
    await c.stop().catch((err) => console.log(`# cluster stop failed: ${err.message}`));
  }
}

async function runOne(group, s, env, before = async () => {}) {
  const t0 = Date.now();
  try {
    await before();
    overBound = [];
    const detail = await withTimeout(s.run(env), s.timeoutMs ?? 40_000, 'scenario');
    const over = overBound.length ? ` [over the bound, within the margin: ${overBound.join('; ')}]` : '';
    report(group, s.n, s.title, true, Date.now() - t0, detail + over);
    return true;
  } catch (err) {
    const why = err instanceof Failure ? err.message : (err?.stack ?? String(err)).split('\n').slice(0, 3).join(' | ');
    report(group, s.n, s.title, false, Date.now() - t0, why);
    return false;
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
  const browser = await chromium.launch(launchOptions);
  try {
    if (only.has('keys')) await runKeys(browser);
    if (only.has('cluster')) await runCluster(browser);
  } finally {
    await browser.close().catch(() => {});
  }
  return summarize(results);
}

exitWith(main, results);
