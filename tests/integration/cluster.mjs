#!/usr/bin/env node
// The cluster suite: several responders joined through a real redis-server (--cluster), behind a
// real nginx or lighttpd (tests/harness/cluster.mjs), driven by real HTTP clients.
//
//   node tests/integration/cluster.mjs [--front nginx|lighttpd] [--mode direct|systemd]
//                                      [--restart-sec S] [--only TEXT]
//                                      [--heartbeat S] [--disconnects N] [--list] [--sanitized]
//
//   --front      what balances over the nodes: nginx (default; the round-robin upstream of
//                contrib/nginx/sse-fcgi-cluster.conf) or lighttpd (contrib/lighttpd/sse-fcgi.conf
//                with --enable cluster, least-connection; node-3 on TCP, as a node on another host)
//   --mode       how the nodes run: direct (default; sse-fcgi --socket ... --node node-N) or systemd
//                (contrib/systemd/sse-fcgi@.socket and sse-fcgi@.service, instance N, run through
//                tests/harness/socket-activate.pl)
//   --restart-sec  systemd: how long after a crash the supervisor starts the node again; default
//                the unit's RestartSec= (1 s)
//   --sanitized  SSE_FCGI_BIN is an ASan build (tests/sanitize/run-sanitizers): memory is not
//                compared after an outage (ASan keeps freed memory in quarantine; LeakSanitizer
//                checks for leaks when each node exits), file descriptors still are
//
// nginx in direct mode runs every test; the other fronts and modes run the tests that concern
// them (--list shows which). Every test starts a cluster of its own (redis-server, three nodes,
// nginx with a door to each node, and the front) and stops it after. Prints one line per test with
// what it measured, and last "N passed, N failed"; exit 0 only if nothing failed. SSE_FCGI_BIN
// runs another build (e.g. an ASan one: tests/sanitize).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startCluster, processUsage, verifyUnits } from '../harness/cluster.mjs';
import {
  REPO, findResponder, freePort, frontClient, httpRequest, now, parseUnit, renderTemplate, sleep, socketState,
  startProcess, stopProcess, tail, waitUntil,
} from '../harness/stack.mjs';

class AssertionError extends Error {}
function assert(cond, msg) {
  if (!cond) throw new AssertionError(msg);
}
const ms = (x) => `${Math.round(x)} ms`;
const pct = (v, p) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

function parseArgs(argv) {
  const o = { only: null, heartbeat: 1, disconnects: 100, list: false, sanitized: false, front: 'nginx', mode: 'direct', restartSec: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage();
      return argv[++i];
    };
    if (a === '--only') o.only = val();
    else if (a === '--heartbeat') o.heartbeat = Number(val());
    else if (a === '--disconnects') o.disconnects = Number(val());
    else if (a === '--list') o.list = true;
    else if (a === '--sanitized') o.sanitized = true;
    else if (a === '--front') o.front = val();
    else if (a === '--mode') o.mode = val();
    else if (a === '--restart-sec') o.restartSec = Number(val());
    else usage();
  }
  if (!['nginx', 'lighttpd'].includes(o.front) || !['direct', 'systemd'].includes(o.mode)) usage();
  return o;
}

function usage() {
  console.error('usage: cluster.mjs [--front nginx|lighttpd] [--mode direct|systemd] [--restart-sec S]\n' +
    '                  [--only TEXT] [--heartbeat S] [--disconnects N] [--list] [--sanitized]');
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------------------------------------
// Helpers

const other = (c, i, k = 1) => c.nodes[(i + k) % c.nodes.length];

/** Every running node's stats (full list), checked to agree: same count and the same ids. */
async function agreeingStats(c, what) {
  const all = (await c.allStats()).filter(Boolean);
  const ids = all.map((d) => d.connections.map((x) => x.id).sort().join(','));
  const totals = all.map((d) => d.total_connections);
  for (let i = 1; i < all.length; i++) {
    if (ids[i] !== ids[0] || totals[i] !== totals[0]) {
      throw new AssertionError(`${what}: nodes disagree: totals ${totals.join('/')}; ids:\n  ${ids.join('\n  ')}`);
    }
  }
  return all[0];
}

/** Waits until every running node's stats agree and satisfy pred(data). */
async function waitAgree(c, pred, { ms: limit = 5000, what = 'stats to agree' } = {}) {
  let last;
  try {
    return (await waitUntil(async () => {
      last = await agreeingStats(c, what).catch((e) => { last = e.message; return null; });
      return last && typeof last === 'object' && pred(last) ? last : null;
    }, { ms: limit, every: 50, what })).value;
  } catch (e) {
    throw new AssertionError(`${e.message}${typeof last === 'string' ? `\n${last}` : ''}`);
  }
}

async function publish(node, body, expect = 200) {
  const r = await node.api('publish', { method: 'POST', body });
  assert(r.status === expect, `publish on ${node.name}: ${r.status} ${r.text.slice(0, 200)} (want ${expect})`);
  return r;
}

/**
 * What a dashboard holds, kept as docs/api.md says: one stats answer (from wherever the request
 * lands) and, after it, the `changes` entries of its monitor stream whose seq is above the
 * answer's. Entries that came before the answer are logged and applied if above it.
 */
class MonitorView {
  constructor(stream, fetchStats) {
    this.stream = stream;
    this.fetchStats = fetchStats;
    this.rows = null;
    this.seq = -1;
    this.log = [];
    this.resyncs = 0;
    stream.onEvent((ev) => this.onEvent(ev));
  }

  async load() {
    this.log = [];
    this.rows = null;
    const d = await this.fetchStats();
    const rows = new Map(d.connections.map((x) => [x.id, x]));
    this.seq = d.seq;
    this.rows = rows;
    for (const e of this.log) this.apply(e);
    this.log = [];
  }

  onEvent(ev) {
    if (ev.event === 'resync') {
      this.resyncs++;
      this.load().catch((e) => { this.error = e; });
      return;
    }
    if (ev.event !== 'changes') return;
    const entries = [
      ...ev.json.opened.map((x) => ({ kind: 'o', x })),
      ...ev.json.updated.map((x) => ({ kind: 'u', x })),
      ...ev.json.closed.map((x) => ({ kind: 'c', x })),
    ].sort((a, b) => a.x.seq - b.x.seq);
    for (const e of entries) {
      if (this.rows === null) this.log.push(e);
      else this.apply(e);
    }
  }

  apply(e) {
    if (e.x.seq <= this.seq) return;
    if (e.kind === 'c') this.rows.delete(e.x.id);
    else this.rows.set(e.x.id, e.x);
  }

  ids() {
    return [...(this.rows?.keys() ?? [])].sort().join(',');
  }
}

function assertSameIds(a, b, what) {
  if (a === b) return;
  const A = new Set(a.split(',').filter(Boolean));
  const B = new Set(b.split(',').filter(Boolean));
  const onlyA = [...A].filter((x) => !B.has(x));
  const onlyB = [...B].filter((x) => !A.has(x));
  throw new AssertionError(`${what}: ${onlyA.length} only in the first (${onlyA.slice(0, 5).join(' ')}), ${onlyB.length} only in the second (${onlyB.slice(0, 5).join(' ')})`);
}

/** A client that keeps a stream open as a browser's EventSource does: reconnects through
 *  `client` (the front) with Last-Event-ID, and records every event id it got. */
class Resumer {
  constructor(client, path, { query, timeout = 5000 } = {}) {
    this.client = client;
    this.path = path;
    this.query = query;
    this.timeout = timeout;
    this.ids = [];
    this.names = [];
    this.reconnects = 0;
    this.stopped = false;
    this.closedReasons = [];
  }

  async open() {
    const headers = this.ids.length ? { 'Last-Event-ID': String(this.ids[this.ids.length - 1]) } : {};
    this.s = await this.client.openStream(this.path, { query: this.query, headers, timeout: this.timeout });
    if (this.s.status !== 200) throw new Error(`${this.path}: ${this.s.status} ${this.s.body}`);
    this.node = this.s.events.find((e) => e.event === 'connected')?.json?.node ?? null;
    const s = this.s;
    s.onEvent((ev) => {
      if (ev.id && ev.event !== 'connected') {
        this.ids.push(Number(ev.id));
        this.names.push(ev.event);
      }
    });
    for (const ev of s.events) if (ev.id && ev.event !== 'connected') { this.ids.push(Number(ev.id)); this.names.push(ev.event); }
    s.ended.then(async () => {
      if (this.stopped) return;
      this.reconnects++;
      for (let i = 0; i < 50 && !this.stopped; i++) {
        await sleep(100);
        try {
          await this.open();
          return;
        } catch { /* the front is still finding a live node */ }
      }
    });
    return this;
  }

  stop() {
    this.stopped = true;
    this.s?.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The tests: each gets a fresh cluster, throws on failure, returns a detail line.

const tests = [];
// setup: daemonArgs; fronts and modes it runs in (default: nginx, direct: the whole suite);
// own: it starts what it needs itself (no cluster is started for it).
const EVERY = { fronts: ['nginx', 'lighttpd'], modes: ['direct', 'systemd'] };
const test = (name, run, setup = {}) => tests.push({ name, run, setup: { fronts: ['nginx'], modes: ['direct'], ...setup } });
const nodeOf = (s) => s.events.find((e) => e.event === 'connected')?.json?.node;
const tally = (names) => {
  const m = {};
  for (const x of names) m[x] = (m[x] || 0) + 1;
  return m;
};

test('the cluster: every node lists every node, stats say redis and ok', async (c) => {
  const d = (await c.nodes[0].stats());
  assert(d.cluster?.backend === 'redis' && d.cluster.state === 'ok', `cluster: ${JSON.stringify(d.cluster)}`);
  assert(d.cluster.node === 'node-1', `cluster.node ${d.cluster.node}`);
  const names = d.nodes.map((x) => x.node).sort().join(',');
  assert(names === 'node-1,node-2,node-3', `nodes: ${names}`);
  for (const x of d.nodes) {
    assert(x.state === 'up' && Number.isInteger(x.connections) && /Z$/.test(x.last_seen), `node entry ${JSON.stringify(x)}`);
  }
  const s = await c.nodes[1].openStream('admin');
  const conn = s.events.find((e) => e.event === 'connected').json;
  assert(conn.node === 'node-2', `connected event: node ${conn.node}`);
  const row = await waitUntil(async () => (await c.nodes[2].stats()).connections.find((x) => x.id === conn.public_id), { ms: 2000, what: 'the stream on node-3' });
  assert(row.value.node === 'node-2', `row on node-3: ${JSON.stringify(row.value)}`);
  // whichever node the front asks lists the same three
  const answered = new Set();
  for (let i = 0; i < 6; i++) {
    const f = await c.front.stats();
    answered.add(f.cluster.node);
    const fn = f.nodes.filter((x) => x.state === 'up').map((x) => x.node).sort().join(',');
    assert(fn === 'node-1,node-2,node-3', `through ${c.front.name}, ${f.cluster.node} lists ${fn}`);
  }
  s.close();
  return `3 nodes up; a stream of node-2 listed on node-3 with node in ${ms(row.ms)}; ${c.front.name} asked ${[...answered].sort().join(', ')}: each lists all three`;
}, EVERY);

test('disconnects sent to a node that does not hold the stream', async (c) => {
  const N = opts.disconnects;
  const streams = [];
  for (let i = 0; i < N; i++) {
    const type = i % 4 === 3 ? `display/screen-${i}` : 'admin';
    streams.push({ i, s: await c.nodes[i % 3].openStream(type, { query: type === 'admin' ? { client: `tab-${i}` } : {} }) });
  }
  await waitAgree(c, (d) => d.total_connections === N, { what: `${N} streams on every node` });
  const lat = [];
  for (const { i, s } of streams) {
    const node = other(c, i);
    const t0 = now();
    const r = await node.api('disconnect', { method: 'POST', auth: false, body: { connection_id: s.connectionId } });
    lat.push(now() - t0);
    assert(r.status === 200 && r.json?.data?.disconnected === true, `disconnect ${i} via ${node.name}: ${r.status} ${r.text}`);
    assert(await s.waitEnded(2000), `stream ${i} on ${c.nodes[i % 3].name} still open after its disconnect`);
  }
  const d = await agreeingStats(c, 'after the disconnects');
  assert(d.total_connections === 0, `${d.total_connections} left in the stats`);
  assert(d.closed_by_reason.disconnect_route >= 0, 'closed_by_reason');
  const again = await c.nodes[1].api('disconnect', { method: 'POST', auth: false, body: { connection_id: streams[0].s.connectionId } });
  assert(again.status === 200 && again.json.data.disconnected === false, `a second disconnect: ${again.text}`);
  // Every node's GET /closed lists every close, with the node that held the stream.
  const holder = new Map(streams.map(({ i, s }) => [s.events.find((e) => e.event === 'connected').json.public_id, c.nodes[i % 3].name]));
  for (const node of c.nodes) {
    const r = await node.api('closed');
    assert(r.status === 200, `closed on ${node.name}: ${r.status} ${r.text}`);
    const mine = r.json.data.closed.filter((x) => holder.has(x.id));
    const wrong = mine.filter((x) => x.node !== holder.get(x.id) || x.reason !== 'disconnect_route');
    assert(mine.length === N && wrong.length === 0, `closed on ${node.name}: ${mine.length} of ${N} listed; ${JSON.stringify(wrong.slice(0, 2))}`);
  }
  return `${N} of ${N} effective, none left on any node, each node's /closed lists all ${N} with the node that held it; each answered in p50 ${ms(pct(lat, 50))}, max ${ms(Math.max(...lat))}`;
}, EVERY);

test('through the front: streams spread over every node; acks, a publish and disconnects sent through it reach every stream', async (c) => {
  const N = 30;
  const streams = [];
  for (let i = 0; i < N; i++) {
    const p = i % 2 ? 'admin' : `display/screen-${i}`;
    streams.push(await c.front.openStream(p, { query: { client: `f-${i}` }, ack: i % 3 === 0 }));
  }
  for (const [i, s] of streams.entries()) assert(s.status === 200, `stream ${i} through ${c.front.name}: ${s.status} ${s.body}`);
  const per = tally(streams.map(nodeOf));
  const counts = c.nodes.map((n) => per[n.name] || 0);
  assert(Math.min(...counts) > 0 && Math.max(...counts) - Math.min(...counts) <= 2, `${N} streams through ${c.front.name}: ${JSON.stringify(per)}`);
  await waitAgree(c, (d) => d.total_connections === N, { what: `${N} streams on every node` });
  const r = await c.front.api('publish', { method: 'POST', body: { event: 'hello', data: {}, target: 'all' } });
  assert(r.status === 200, `publish through ${c.front.name}: ${r.status} ${r.text}`);
  for (const s of streams) await s.waitFor('hello', 3000);
  // the acked streams answer their pings through the front, whichever node it picks
  const acked = streams.filter((s) => s.acks);
  await waitUntil(() => acked.every((s) => s.acks.length >= 2), { ms: 5 * c.heartbeat * 1000, what: 'two acks of every acked stream' });
  for (const s of acked) {
    const bad = [...s.acks.filter((a) => a.status !== 200 || a.acked !== true), ...s.ackErrors];
    assert(bad.length === 0, `acks through ${c.front.name} of a stream on ${nodeOf(s)}: ${JSON.stringify(bad)}`);
  }
  for (const s of acked) s.acking = false;
  for (const [i, s] of streams.entries()) {
    const d = await c.front.api('disconnect', { method: 'POST', auth: false, body: { connection_id: s.connectionId } });
    assert(d.status === 200 && d.json?.data?.disconnected === true, `disconnect ${i} (on ${nodeOf(s)}) through ${c.front.name}: ${d.status} ${d.text}`);
    assert(await s.waitEnded(2000), `stream ${i} on ${nodeOf(s)} still open after its disconnect`);
  }
  // Each answer came once its stream had closed where it lived; the other nodes learn of the
  // close from its change a moment later.
  const t0 = now();
  await waitAgree(c, (d) => d.total_connections === 0, { ms: 1000, what: 'no stream left on any node' });
  const settled = now() - t0;
  return `${N} streams on ${counts.join('/')}; the publish reached all, ${acked.reduce((k, s) => k + s.acks.length, 0)} acks of ${acked.length} streams acked, ${N} disconnects effective, all through ${c.front.name}, none left on any node ${ms(settled)} after the last`;
}, EVERY);

test('acks and admin closes on another node; ack answers for a stream of another node', async (c) => {
  const s = await c.nodes[0].openStream('admin', { query: { ack: 1 } });
  const ping = await s.waitFor('ping', 3000, { pred: (e) => Number.isInteger(e.json?.seq) });
  const r = await c.nodes[1].api('ack', { method: 'POST', auth: false, body: { connection_id: s.connectionId, seq: ping.json.seq } });
  assert(r.status === 200 && r.json.data.acked === true && Number.isInteger(r.json.data.rtt_ms), `ack via node-2: ${r.text}`);
  const bad = await c.nodes[2].api('ack', { method: 'POST', auth: false, body: { connection_id: s.connectionId, seq: ping.json.seq + 1000 } });
  assert(bad.status === 200 && bad.json.data.acked === false, `an ack of a seq never sent: ${bad.text}`);
  const id = s.events.find((e) => e.event === 'connected').json.public_id;
  const del = await c.nodes[2].api(`connections/${id}`, { method: 'DELETE' });
  assert(del.status === 200, `DELETE via node-3: ${del.status} ${del.text}`);
  const closed = await s.waitFor('closed', 2000);
  assert(closed.json.reason === 'admin_closed', `closed reason ${closed.json.reason}`);
  const gone = await c.nodes[2].api(`connections/${id}`, { method: 'DELETE' });
  assert(gone.status === 404, `DELETE of a closed stream: ${gone.status}`);
  return `ack rtt ${r.json.data.rtt_ms} ms through node-2; admin close through node-3`;
});

test('superseding, one stream per display and the per-user limit hold across nodes', async (c) => {
  const a = await c.nodes[0].openStream('admin', { query: { client: 'tab-1' } });
  const b = await c.nodes[1].openStream('admin', { query: { client: 'tab-1' } });
  assert(b.status === 200, `the reload: ${b.status}`);
  const sup = await a.waitFor('superseded', 3000);
  assert(sup.json.reason === 'superseded', `first tab closed with ${sup.json.reason}`);
  // one stream per display: another screen is refused wherever it asks; the same screen's
  // reconnect (its client id) replaces its old stream wherever that lives
  const d1 = await c.nodes[0].openStream('display/lobby', { query: { client: 'kiosk-1' } });
  const intruder = await c.nodes[1].openStream('display/lobby', { query: { client: 'laptop' } });
  assert(intruder.status === 409 && intruder.json?.error_info?.code === 'CONFLICT', `another screen on another node: ${intruder.status} ${intruder.body}`);
  assert(intruder.headers['retry-after'], '409 without Retry-After');
  const d2 = await c.nodes[2].openStream('display/lobby', { query: { client: 'kiosk-1' } });
  assert(d2.status === 200, `a display's reconnect on another node: ${d2.status} ${d2.body}`);
  const dsup = await d1.waitFor('superseded', 3000);
  assert(dsup.json.reason === 'superseded', `first screen closed with ${dsup.json.reason}`);
  await waitAgree(c, (d) => d.total_connections === 2, { what: 'one tab and one screen' });
  // --max-streams-per-user 4 (this test's cluster): the tab and three more anywhere, no fifth
  const mine = [];
  for (let i = 0; i < 3; i++) mine.push(await c.nodes[i].openStream('admin', { query: { client: `w-${i}` } }));
  for (const s of mine) assert(s.status === 200, `stream ${mine.indexOf(s)}: ${s.status}`);
  await waitAgree(c, (d) => d.total_connections === 5, { what: 'five streams' });
  const fourth = await c.nodes[1].openStream('admin', { query: { client: 'w-3' } });
  assert(fourth.status === 429, `a stream past the per-user limit on another node: ${fourth.status} ${fourth.body}`);
  assert(fourth.json?.error_info?.code === 'TOO_MANY_REQUESTS', `429 body: ${fourth.body}`);
  for (const s of [b, d2, ...mine]) s.close();
  return 'reload on another node superseded the tab; another screen refused (409), the same one moved nodes; the 5th stream of one user refused with 429';
}, { daemonArgs: ['--max-streams-per-user', '4'] });

test('events: ids increase across the cluster; Last-Event-ID resumes on another node', async (c) => {
  const subs = await Promise.all(c.nodes.map((n) => n.openStream('admin')));
  const ids = [];
  for (let i = 0; i < 9; i++) {
    const r = await publish(c.nodes[i % 3], { event: `e${i}`, data: { i } });
    ids.push(r.json.data.id);
  }
  for (let i = 1; i < ids.length; i++) assert(ids[i] > ids[i - 1], `ids ${ids.join(',')} do not increase`);
  for (const [k, s] of subs.entries()) {
    await s.waitFor('e8', 3000);
    const got = s.events.filter((e) => /^e\d$/.test(e.event));
    assert(got.map((e) => e.event).join() === 'e0,e1,e2,e3,e4,e5,e6,e7,e8', `node-${k + 1}'s stream got ${got.map((e) => e.event).join()}`);
    assert(got.map((e) => Number(e.id)).join() === ids.join(), `node-${k + 1}'s ids ${got.map((e) => e.id).join()} vs ${ids.join()}`);
  }
  // a client that drops after e4 resumes on another node: exactly e5..e8, then live
  const last = subs[0].events.find((e) => e.event === 'e4').id;
  const resumed = await c.nodes[2].openStream('admin', { headers: { 'Last-Event-ID': last } });
  await resumed.waitFor('e8', 3000);
  const replay = resumed.events.filter((e) => /^e\d$/.test(e.event)).map((e) => e.event).join();
  assert(replay === 'e5,e6,e7,e8', `replay on node-3 after ${last}: ${replay}`);
  await publish(c.nodes[1], { event: 'e9', data: {} });
  await resumed.waitFor('e9', 3000);
  const n = resumed.events.filter((e) => e.event === 'e9').length;
  assert(n === 1, `e9 ${n} times`);
  for (const s of [...subs, resumed]) s.close();
  return `9 events from 3 nodes in one order everywhere; resumed on node-3 with 4 replayed, none twice`;
});

test('stats and the pushed monitors of every node agree while streams open, abort and reload', async (c) => {
  const mons = [];
  for (const n of c.nodes) {
    const s = await n.openStream('admin', { query: { monitor: 1, client: `monitor-${n.name}` } });
    // its lists come from wherever the round-robin front sends the request, as a page's do
    const v = new MonitorView(s, () => c.front.stats());
    await v.load();
    mons.push(v);
  }
  const live = [];
  let opened = 0;
  let aborted = 0;
  let reloaded = 0;
  const rnd = (k) => Math.floor(Math.random() * k);
  for (let step = 0; step < 120; step++) {
    const r = Math.random();
    if (r < 0.5 || live.length < 5) {
      const kind = rnd(3);
      const node = c.nodes[rnd(3)];
      const p = kind === 0 ? `display/d-${rnd(8)}` : 'admin';
      const q = kind === 1 ? { client: `tab-${rnd(10)}` } : {};
      const s = await node.openStream(p, { query: q });
      if (s.status === 200) { live.push(s); opened++; if (kind !== 2) reloaded++; }
    } else if (r < 0.8) {
      const s = live.splice(rnd(live.length), 1)[0];
      s.abort();
      aborted++;
    } else {
      const s = live.splice(rnd(live.length), 1)[0];
      s.close();
    }
    if (step % 10 === 0) await sleep(20);
  }
  await sleep(1000);
  const d = await waitAgree(c, () => true, { what: 'every node\'s stats after the churn' });
  const want = d.connections.filter((x) => !/^monitor-/.test(x.client || '')).length;
  await waitUntil(() => mons.every((v) => v.rows !== null && v.ids() === d.connections.map((x) => x.id).sort().join(',')),
    { ms: 3000, what: 'every monitor to show what stats shows' }).catch((e) => {
    for (const [i, v] of mons.entries()) assertSameIds(v.ids(), d.connections.map((x) => x.id).sort().join(','), `monitor of node-${i + 1} vs stats (${e.message})`);
  });
  const sums = [];
  for (const v of mons) {
    const last = [...v.stream.events].reverse().find((e) => e.event === 'summary');
    sums.push(last?.json?.total_connections);
  }
  assert(sums.every((x) => x === d.total_connections), `last summaries ${sums.join('/')} vs ${d.total_connections}`);
  for (const s of live) s.close();
  for (const v of mons) v.stream.close();
  return `${opened} opened (${reloaded} of them superseding), ${aborted} aborted: 3 stats and 3 monitors agree on ${d.total_connections} (${want} besides the monitors)`;
});

// Under systemd (--mode systemd) the node killed is started again by its unit (Restart=on-failure,
// after 1 s) on the same socket, under the same name, while Redis still holds its predecessor's
// records: the new process drops them (node_lost) before it serves.
test('kill -9 of a node: its streams leave every monitor as node_lost within 3 heartbeats; its clients resume elsewhere', async (c) => {
  const hb = c.heartbeat * 1000;
  const systemd = c.mode === 'systemd';
  const restartMs = systemd ? c.restartSec * 1000 : 0;
  const mons = [c.nodes[0], c.nodes[2]].map((n) => n.openStream('admin', { query: { monitor: 1 } }));
  const [m1, m3] = await Promise.all(mons);
  // clients of node-2 (directly), which then reconnect through the front; under systemd, one that
  // lands on node-2 waits in its socket's backlog until the node is back
  const victims = [];
  for (let i = 0; i < 6; i++) {
    const r = new Resumer(c.front, 'admin', { query: { client: `kiosk-tab-${i}` }, timeout: restartMs + 5000 });
    r.client = c.nodes[1];
    await r.open();
    r.client = c.front;
    victims.push(r);
  }
  const victimIds = new Set(victims.map((v) => v.s.events.find((e) => e.event === 'connected').json.public_id));
  await waitAgree(c, (d) => d.total_connections === 8, { what: 'the streams everywhere' });
  await publish(c.nodes[0], { event: 'before', data: {} });
  await waitUntil(() => victims.every((v) => v.names.includes('before')), { ms: 3000, what: 'the first event' });
  const oldPid = c.nodes[1].pid();
  const t0 = now();
  await c.nodes[1].kill9();
  // events published while node-2's clients find another node
  for (let i = 0; i < 5; i++) {
    await publish(c.nodes[i % 2 === 0 ? 0 : 2], { event: `during-${i}`, data: {} });
    await sleep(200);
  }
  const lostIn = [];
  for (const m of [m1, m3]) {
    const r = await waitUntil(() => {
      const gone = new Set(m.events.filter((e) => e.event === 'changes').flatMap((e) => e.json.closed)
        .filter((x) => victimIds.has(x.id) && x.reason === 'node_lost').map((x) => x.id));
      return gone.size === victimIds.size ? now() - t0 : null;
    }, { ms: 3 * hb + 2000, every: 20, what: 'node_lost for every stream of node-2' });
    lostIn.push(r.value);
  }
  for (const t of lostIn) assert(t <= 3 * hb + 500, `node_lost after ${ms(t)}, over 3 heartbeats (${3 * hb} ms)`);
  const d = await c.nodes[0].stats();
  const n2 = d.nodes.find((x) => x.node === 'node-2');
  assert(n2?.state === 'lost' || (systemd && n2?.state === 'up' && now() - t0 >= restartMs), `node-2 in nodes: ${JSON.stringify(n2)}`);
  assert(d.closed_by_reason.node_lost >= victimIds.size, `closed_by_reason.node_lost ${d.closed_by_reason.node_lost}`);
  let back = '';
  if (systemd) {
    // started again by its unit: the same name, up on every node, and none of the dead streams
    const r = await waitUntil(() => { const p = c.nodes[1].pid(); return p && p !== oldPid ? now() - t0 : null; },
      { ms: restartMs + 5000, what: 'the unit to start node-2 again' });
    await c.waitNodes();
    const all = await c.allStats();
    for (const [i, x] of all.entries()) {
      const names = x.nodes.map((y) => `${y.node}:${y.state}`).sort().join(',');
      assert(names === 'node-1:up,node-2:up,node-3:up', `node-${i + 1} lists ${names}`);
      const ghosts = x.connections.filter((y) => victimIds.has(y.id));
      assert(ghosts.length === 0, `node-${i + 1} still lists ${ghosts.length} streams of node-2's killed process`);
    }
    back = `; node-2 started again by its unit ${ms(r.value)} after the kill, under its name, none of its dead streams listed`;
  }
  await waitUntil(() => victims.every((v) => v.reconnects >= 1 && v.s.status === 200 && !v.s.isEnded), { ms: restartMs + 10000, what: 'every client of node-2 to reconnect' });
  await publish(c.nodes[2], { event: 'after', data: {} });
  await waitUntil(() => victims.every((v) => v.names.includes('after')), { ms: 5000, what: 'the event after' });
  for (const v of victims) {
    const seq = v.names.filter((x) => x !== 'ping');
    const want = ['before', 'during-0', 'during-1', 'during-2', 'during-3', 'during-4', 'after'];
    assert(seq.join() === want.join(), `a client of node-2 got ${seq.join()} (want ${want.join()})`);
    const sorted = [...v.ids].sort((a, b) => a - b);
    assert(new Set(v.ids).size === v.ids.length && sorted.join() === v.ids.join(), `ids repeated or out of order: ${v.ids.join()}`);
  }
  const landed = tally(victims.map((v) => v.node));
  for (const v of victims) v.stop();
  m1.close();
  m3.close();
  return `node_lost on both monitors after ${lostIn.map(ms).join(' and ')} (3 heartbeats: ${3 * hb} ms)${back}; 6 clients resumed through ${c.front.name} on ${Object.entries(landed).map(([k, n]) => `${k} (${n})`).join(', ')}, nothing lost or repeated`;
}, EVERY);

/** fds and RSS of every running node. */
const resources = (c) => c.nodes.filter((n) => n.pid()).map((n) => processUsage(n.pid()));

/** Waits for every node to say `state` and returns when. */
const waitState = (c, state, limit) => waitUntil(async () => {
  const all = await c.allStats('?summary=1');
  return all.every((d) => d && d.cluster.state === state);
}, { ms: limit, every: 50, what: `every node to say ${state}` });

async function outageScenario(c, { how }) {
  const hb = c.heartbeat * 1000;
  // warm up: what a node holds once it has served some streams
  for (let round = 0; round < 2; round++) {
    const w = await Promise.all(c.nodes.flatMap((n) => [0, 1, 2].map((k) => n.openStream('admin', { query: { client: `warm-${k}` } }))));
    await publish(c.nodes[0], { event: 'warm', data: {} });
    for (const s of w) s.close();
    await waitAgree(c, (d) => d.total_connections === 0, { what: 'the warm-up streams to go' });
  }
  await sleep(500);
  const base = resources(c);

  const streams = [];
  for (let i = 0; i < 12; i++) streams.push(await c.nodes[i % 3].openStream('admin', { query: { client: `t-${i}` } }));
  const ids = streams.map((s) => s.events.find((e) => e.event === 'connected').json.public_id);
  await waitAgree(c, (d) => d.total_connections === 12, { what: '12 streams' });
  const before = (await publish(c.nodes[0], { event: 'before', data: {} })).json.data.id;

  const t0 = now();
  if (how === 'kill') await c.redis.kill9();
  else c.redis.pause();
  await waitState(c, 'degraded', 5000);
  const degradedIn = now() - t0;
  // local streams keep their heartbeats
  const counts = streams.map((s) => s.events.filter((e) => e.event === 'ping').length);
  await sleep(hb * 2 + 200);
  streams.forEach((s, i) => assert(s.events.filter((e) => e.event === 'ping').length >= counts[i] + 1, `stream ${i} got no heartbeat while Redis was away`));
  // what needs Redis answers 503 with Retry-After; nothing is half delivered
  const p = await publish(c.nodes[1], { event: 'lost-event', data: {} }, 503);
  assert(p.headers['retry-after'], 'publish 503 without Retry-After');
  assert(p.json?.error_info?.code === 'SERVICE_UNAVAILABLE', `publish 503 body: ${p.text}`);
  const remote = await c.nodes[1].api('disconnect', { method: 'POST', auth: false, body: { connection_id: streams[0].connectionId } });
  assert(remote.status === 503 && remote.headers['retry-after'], `a disconnect for a stream of node-1 on node-2: ${remote.status} ${remote.text}`);
  assert(!streams[0].isEnded, 'the stream was closed anyway');
  // a disconnect on the stream's own node still works
  const local = await c.nodes[2].api('disconnect', { method: 'POST', auth: false, body: { connection_id: streams[2].connectionId } });
  assert(local.status === 200 && local.json.data.disconnected === true, `a local disconnect while degraded: ${local.text}`);
  const d = await c.nodes[0].stats();
  assert(d.cluster.state === 'degraded', `stats while Redis is away: ${JSON.stringify(d.cluster)}`);
  if (how === 'pause') await sleep(Math.max(0, 3 * hb - (now() - t0)) + 500);   // past the records' TTL

  const t1 = now();
  if (how === 'kill') await c.redis.start();
  else c.redis.resume();
  await waitState(c, 'ok', 10000);
  const okIn = now() - t1;
  const want = ids.filter((_, i) => i !== 2).sort().join(',');
  const back = await waitAgree(c, (x) => x.connections.map((y) => y.id).sort().join(',') === want,
    { ms: hb + 3000, what: 'every node to list the 11 streams again' });
  const backIn = now() - t1;
  assert(back.total_connections === 11, `after Redis came back: ${back.total_connections}`);
  // each node registers its streams within a heartbeat of seeing Redis again (polling adds 50 ms)
  assert(backIn <= okIn + hb + 250, `re-registered ${ms(backIn - okIn)} after every node said ok (more than a heartbeat)`);
  for (const [i, s] of streams.entries()) assert(i === 2 ? s.isEnded : !s.isEnded, `stream ${i} ${s.isEnded ? 'ended' : 'open'}`);
  const lost = streams.filter((s) => s.events.some((e) => e.event === 'lost-event'));
  assert(lost.length === 0, 'the refused event reached a stream');
  const after = (await publish(c.nodes[1], { event: 'after', data: {} })).json.data.id;
  assert(after > before, `event id ${after} after Redis came back, not above ${before}`);
  for (const [i, s] of streams.entries()) if (i !== 2) await s.waitFor('after', 3000);
  const dis = await c.nodes[1].api('disconnect', { method: 'POST', auth: false, body: { connection_id: streams[0].connectionId } });
  assert(dis.status === 200 && dis.json.data.disconnected === true, `cross-node disconnect after: ${dis.text}`);
  assert(await streams[0].waitEnded(2000), 'stream 0 still open');

  for (const s of streams) s.close();
  await waitAgree(c, (x) => x.total_connections === 0, { what: 'every stream gone' });
  await sleep(1500);
  const end = resources(c);
  const growth = end.map((u, i) => ({ fds: u.fds - base[i].fds, rss: u.rssKiB - base[i].rssKiB }));
  for (const [i, g] of growth.entries()) {
    assert(g.fds <= 0, `node-${i + 1} holds ${g.fds} more fds than before (${base[i].fds} -> ${end[i].fds})`);
    assert(opts.sanitized || g.rss <= 2048, `node-${i + 1} holds ${g.rss} KiB more than before`);
  }
  return `degraded after ${ms(degradedIn)}; ok again ${ms(okIn)} after Redis came back, all 11 streams re-registered in ${ms(backIn)}; ids ${before} -> ${after}; fds ${growth.map((g) => g.fds).join('/')}, RSS ${growth.map((g) => `${g.rss >= 0 ? '+' : ''}${g.rss}`).join('/')} KiB vs before`;
}

test('Redis killed (kill -9) and started again, empty', (c) => outageScenario(c, { how: 'kill' }));
test('Redis paused (SIGSTOP) for longer than the records\' TTL', (c) => outageScenario(c, { how: 'pause' }));

test('a node that stops (SIGTERM) says goodbye: its streams leave at once, not as node_lost', async (c) => {
  const m = await c.nodes[0].openStream('admin', { query: { monitor: 1 } });
  const s = await c.nodes[2].openStream('admin');
  const id = s.events.find((e) => e.event === 'connected').json.public_id;
  await waitAgree(c, (d) => d.total_connections === 2, { what: 'two streams' });
  const t0 = now();
  await c.nodes[2].stop();
  const r = await waitUntil(() => m.events.filter((e) => e.event === 'changes').flatMap((e) => e.json.closed).find((x) => x.id === id), { ms: 3000, what: 'its stream to close on node-1' });
  assert(r.value.reason === 'shutdown', `reason ${r.value.reason}`);
  const n3 = await waitUntil(async () => !(await c.nodes[0].stats()).nodes.some((x) => x.node === 'node-3'), { ms: 3000, what: 'node-3 to leave the list' });
  void n3;
  m.close();
  return `closed with shutdown on node-1 ${ms(now() - t0)} after SIGTERM; node-3 left the node list`;
});

test('behind lighttpd: each new stream goes to the node with the fewest, a node that came back first (least-connection)', async (c) => {
  const open = (tag) => c.front.openStream('admin', { query: { client: tag } });
  const streams = [];
  for (let i = 0; i < 12; i++) streams.push(await open(`l-${i}`));
  const first = tally(streams.map(nodeOf));
  assert(c.nodes.every((n) => first[n.name] === 4), `12 streams: ${JSON.stringify(first)}`);
  // node-2 stops (systemctl stop): its streams get `shutdown` and reconnect through lighttpd, as
  // an EventSource does, to the two others
  const mine = streams.filter((s) => nodeOf(s) === 'node-2');
  await c.nodes[1].stop();
  for (const s of mine) assert(await s.waitEnded(3000), 'a stream of node-2 still open after it stopped');
  const moved = [];
  for (const [i, s] of mine.entries()) {
    moved.push(await open(`l-moved-${i}`));
    s.close();
  }
  assert(moved.every((s) => s.status === 200 && nodeOf(s) !== 'node-2'), `reconnects: ${moved.map((s) => `${s.status}@${nodeOf(s)}`).join(' ')}`);
  const refusedBefore = (c.front.errorLog().match(/establishing connection failed/g) || []).length;
  await c.nodes[1].start();
  await c.waitNodes();
  // lighttpd tries a node that refused a connection again after disable-time (1 s), at its next
  // one-second check: the first stream that lands on node-2 tells when
  const t0 = now();
  const back = await waitUntil(async () => {
    const s = await open('l-probe');
    if (nodeOf(s) === 'node-2') return s;
    s.close();
    await sleep(100);
    return null;
  }, { ms: 5000, every: 0, what: 'lighttpd to send a stream to node-2 again' });
  const fresh = [back.value];
  for (let i = 0; i < 5; i++) fresh.push(await open(`l-new-${i}`));
  const after = tally(fresh.map(nodeOf));
  assert(after['node-2'] === 6, `6 new streams with node-2 back (holding none, the others 6 each): ${JSON.stringify(after)}`);
  for (const s of [...streams, ...moved, ...fresh]) s.close();
  const refused = (c.front.errorLog().match(/establishing connection failed/g) || []).length;
  return `12 streams 4/4/4; node-2 stopped, its 4 reconnected to node-1 and node-3; started again, it got a stream ${ms(back.ms)} after it answered, then all 6 new ones (6/6/6); lighttpd logged ${refused} refused connections, ${refused - refusedBefore} after the node was back`;
}, { fronts: ['lighttpd'], modes: ['direct', 'systemd'] });

test('systemd template units: systemd accepts them; the single units\' hardening; a socket and a name per instance, kept across systemctl restart', async (c) => {
  const out = verifyUnits(c.units, c.dir);
  assert(!out, `systemd-analyze verify: ${out}`);
  const single = {
    Service: parseUnit(renderTemplate('systemd/sse-fcgi.service', { SSE_FCGI: '/usr/bin/sse-fcgi', SSE_FCGI_ARGS: '' })).Service,
    Socket: parseUnit(renderTemplate('systemd/sse-fcgi.socket', { SOCKET: '/run/sse-fcgi/sse-fcgi.sock' })).Socket,
  };
  const tpl = { Service: parseUnit(c.units['sse-fcgi@.service']).Service, Socket: parseUnit(c.units['sse-fcgi@.socket']).Socket };
  const own = { Service: ['ExecStart', 'LoadCredential'], Socket: ['ListenStream'] };
  let same = 0;
  for (const sec of ['Service', 'Socket']) {
    for (const [k, v] of Object.entries(single[sec])) {
      if (own[sec].includes(k)) continue;
      assert(JSON.stringify(tpl[sec][k]) === JSON.stringify(v), `sse-fcgi@.${sec.toLowerCase()}: ${k}=${tpl[sec][k]}, sse-fcgi.${sec.toLowerCase()}: ${k}=${v}`);
      same++;
    }
    for (const k of Object.keys(tpl[sec])) assert(own[sec].includes(k) || k in single[sec], `sse-fcgi@.${sec.toLowerCase()} sets ${k}, sse-fcgi.${sec.toLowerCase()} does not`);
  }
  assert(/ --config %d\/\S+/.test(tpl.Service.ExecStart[0]) && tpl.Service.LoadCredential.length === 1, `ExecStart=${tpl.Service.ExecStart}, LoadCredential=${tpl.Service.LoadCredential}`);
  assert(new Set(c.nodes.map((n) => n.address)).size === c.nodes.length, 'two instances on one socket');
  for (const n of c.nodes) {
    const state = n.socket ? await socketState(n.socket) : ((await httpRequest(n.port, '/api/v1/events/health')).status === 200 && 'listening');
    assert(state === 'listening', `${n.address} (instance ${n.index + 1}): ${state}`);
  }
  const names = async () => (await c.allStats()).map((d) => d.nodes.map((x) => `${x.node}:${x.state}`).sort().join(','));
  for (const x of await names()) assert(x === 'node-1:up,node-2:up,node-3:up', `nodes: ${x}`);
  // systemctl restart sse-fcgi@2.service: the socket stays, the new process has the same name.
  const old = c.nodes[1].pid();
  const t0 = now();
  process.kill(c.nodes[1].proc.pid, 'SIGHUP');
  await waitUntil(() => { const p = c.nodes[1].pid(); return p && p !== old; }, { ms: 8000, what: 'a new node-2 process' });
  await c.waitNodes();
  for (const x of await names()) assert(x === 'node-1:up,node-2:up,node-3:up', `nodes after the restart: ${x}`);
  const s2 = await c.nodes[1].openStream('admin');
  assert(nodeOf(s2) === 'node-2', `a stream of the restarted instance names ${nodeOf(s2)}`);
  s2.close();
  return `systemd-analyze verify: nothing to say; ${same} settings as in sse-fcgi.service and .socket; 3 instances on 3 sockets named by their files; restarted, node-2 served again as node-2 after ${ms(now() - t0)}, no other name listed`;
}, { fronts: ['nginx', 'lighttpd'], modes: ['systemd'] });

test('systemctl restart of a node holding streams: they close as shutdown and leave every node; it comes back under its name', async (c) => {
  const hb = c.heartbeat * 1000;
  const m = await c.nodes[0].openStream('admin', { query: { monitor: 1 } });
  const streams = [];
  for (let i = 0; i < 5; i++) streams.push(await c.nodes[1].openStream('admin'));
  const ids = new Set(streams.map((s) => s.events.find((e) => e.event === 'connected').json.public_id));
  await waitAgree(c, (d) => d.total_connections === 6, { what: 'the streams everywhere' });
  await sleep(hb);
  const old = c.nodes[1].pid();
  const t0 = now();
  process.kill(c.nodes[1].proc.pid, 'SIGHUP');
  for (const s of streams) await s.waitFor('shutdown', 3000);
  await waitUntil(() => { const p = c.nodes[1].pid(); return p && p !== old; }, { ms: 8000, what: 'a new node-2 process' });
  await c.waitNodes();
  let listed = [];
  await waitUntil(async () => {
    listed = (await c.allStats()).map((d) => d.connections.filter((x) => ids.has(x.id)).length);
    return listed.every((k) => k === 0);
  }, { ms: 3 * hb, what: 'the closed streams to leave every node' }).catch((e) => { throw new AssertionError(`${e.message}: still listed ${listed.join('/')}`); });
  // The monitor's changes are coalesced (up to 250 ms): they may come a moment after stats.
  const reasons = () => m.events.filter((e) => e.event === 'changes').flatMap((e) => e.json.closed).filter((x) => ids.has(x.id)).map((x) => x.reason);
  await waitUntil(() => reasons().length >= ids.size, { ms: 1000, what: 'the closes on the monitor of node-1' }).catch(() => {});
  assert(reasons().length === ids.size && reasons().every((r) => r === 'shutdown'), `closed on node-1 as ${reasons().join(',')}`);
  m.close();
  return `5 streams closed as shutdown on node-1 and gone from every node ${ms(now() - t0)} after the restart; node-2 back under its name`;
}, { modes: ['systemd'] });

test('contrib/run-local CLUSTER=3: Redis, three nodes and the front in one command; Ctrl-C leaves nothing', async () => {
  const port = await freePort();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sse-fcgi-run-local-'));
  const password = 'run-local-test';
  const log = path.join(os.tmpdir(), `${path.basename(tmp)}.log`);
  const proc = startProcess('run-local', 'bash', [path.join(REPO, 'contrib/run-local')], {
    logFile: log,
    env: {
      CLUSTER: '3', PORT: String(port), ADMIN_PASSWORD: password, HEARTBEAT: String(opts.heartbeat), SKIP_FRONTEND: '1',
      SSE_FCGI_BIN: findResponder(), TMPDIR: tmp, NGINX: opts.front === 'nginx' ? '1' : '',
    },
  });
  const leftovers = () => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(tmp); } catch { return false; }
  });
  try {
    await waitUntil(() => {
      if (proc.exitInfo) throw new Error(`run-local exited (${JSON.stringify(proc.exitInfo)}):\n${tail(log)}`);
      return fs.readFileSync(log, 'utf8').includes('Ctrl-C stops it.');
    }, { ms: 60000, what: 'run-local to say it runs' });
    const said = fs.readFileSync(log, 'utf8');
    assert(said.includes(`running behind ${opts.front} (3 nodes`), `run-local says:\n${tail(log, 12)}`);
    const front = frontClient({ port, prefix: '/api/v1/events', credentials: { Authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` } });
    let names = '';
    await waitUntil(async () => {
      const d = await front.stats();
      names = `${d.nodes.map((x) => `${x.node}:${x.state}`).sort().join(',')} (cluster ${d.cluster.state})`;
      return names === 'node-1:up,node-2:up,node-3:up (cluster ok)';
    }, { ms: 5000, what: 'three nodes up' }).catch((e) => { throw new AssertionError(`${e.message}: ${names}`); });
    const streams = [];
    for (let i = 0; i < 6; i++) streams.push(await front.openStream(`display/run-local-${i}`));
    const per = tally(streams.map(nodeOf));
    assert(Object.keys(per).length === 3, `6 streams through run-local's ${opts.front}: ${JSON.stringify(per)}`);
    const r = await front.api('publish', { method: 'POST', body: { event: 'hello', data: {}, target: 'all' } });
    assert(r.status === 200, `publish: ${r.status} ${r.text}`);
    for (const s of streams) await s.waitFor('hello', 3000);
    const pids = leftovers();
    assert(pids.length >= 5, `processes of run-local's directory: ${pids.length}`);
    // Ctrl-C in its terminal: SIGINT to its whole process group
    const t0 = now();
    process.kill(-proc.pid, 'SIGINT');
    const exit = await Promise.race([proc.exited, sleep(15000).then(() => null)]);
    assert(exit && exit.code === 0, `run-local after SIGINT: ${JSON.stringify(exit)}\n${tail(log)}`);
    const stopMs = now() - t0;
    for (const s of streams) assert(await s.waitEnded(2000), 'a stream still open after run-local stopped');
    const left = leftovers();
    assert(left.length === 0, `still running after run-local stopped: ${left.map((p) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ')).join('; ')}`);
    const files = fs.readdirSync(tmp);
    assert(files.length === 0, `left in its TMPDIR: ${files.join(' ')}`);
    const stopping = fs.readFileSync(log, 'utf8').split('\nstopping\n')[1] || '';
    assert(/\[node-3\] .* stopped/.test(stopping) && !/Redis unreachable/.test(stopping), `the nodes did not stop before Redis:\n${tail(log, 20)}`);
    return `${opts.front} over node-1..3 (${Object.values(per).join('/')} of 6 streams), Redis on a unix socket; a publish reached all; Ctrl-C stopped ${pids.length} processes in ${ms(stopMs)}, exit 0, no process or file left`;
  } finally {
    await stopProcess(proc, { group: true });
    // Redis runs in a session of its own: whatever a failure left behind goes too.
    for (const p of leftovers()) { try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ } }
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(log, { force: true });
  }
}, { fronts: ['nginx', 'lighttpd'], own: true });

// ---------------------------------------------------------------------------------------------

const here = (v) => v && (v.fronts || ['nginx', 'lighttpd']).includes(opts.front) && (v.modes || ['direct', 'systemd']).includes(opts.mode);
const named = tests.filter((t) => !opts.only || t.name.includes(opts.only));
const selected = named.filter((t) => here(t.setup));
if (opts.list) {
  for (const t of selected) console.log(t.name);
  process.exit(0);
}
const restartSec = opts.restartSec;
console.log(`cluster suite: front ${opts.front}, nodes ${opts.mode === 'systemd' ? `from contrib/systemd/sse-fcgi@.{socket,service} (a crashed one restarted after ${restartSec ?? 'RestartSec='} s)` : 'started directly'}, heartbeat ${opts.heartbeat} s`);
let passed = 0;
let failed = 0;
for (const t of selected) {
  const t0 = now();
  let c = null;
  try {
    if (!t.setup.own) {
      c = await startCluster({
        nodes: 3, heartbeat: opts.heartbeat, daemonArgs: t.setup.daemonArgs || [], front: opts.front, mode: opts.mode,
        tcpNodes: opts.front === 'lighttpd' ? [2] : [], restartSec: opts.mode === 'systemd' ? restartSec : null,
      });
    }
    const detail = await t.run(c);
    passed++;
    console.log(`ok   ${t.name} (${detail}; ${ms(now() - t0)})`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${t.name}\n    ${String(e.stack || e.message).split('\n').join('\n    ')}`);
    if (c) console.log(`    logs:\n    ${c.logs(15).split('\n').join('\n    ')}`);
  } finally {
    if (c) await c.stop().catch(() => {});
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
