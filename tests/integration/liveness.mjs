#!/usr/bin/env node
// Liveness, superseding and close reasons with real web servers and real clients.
//
//   node tests/integration/liveness.mjs [--fronts nginx,lighttpd,apache,caddy,h2o] [--heartbeat S] [--only TEXT]
//
// Each front end (nginx + responder on a unix socket; lighttpd + spawn-fcgi) gets one stack, with
// the responder at --log-level debug and --displays listing every display name used here (so the
// roster is checked too). Prints one line per check and front with its figures, then
// "N passed, N failed"; exits 0 only if nothing failed. The network-namespace check needs root:
// as root it installs what it lacks (iproute2, nftables), otherwise it is skipped and says so.
// tests/integration/run.mjs runs the same checks after its own suite (see runLiveness).
//
// The scenarios, per front end:
//   - POST /ack through the web server: recorded with an RTT; a seq never sent, an unknown
//     connection and bad bodies answered as docs/api-additions.md says. The stream parameters ack=
//     and client= as the web server passes them on.
//   - A kiosk acking without credentials (the token is the credential) stays connected. The
//     other scenarios send their acks with the stack's credentials, so that they test the
//     responder's judgement whatever the web server config does with /ack.
//   - An acking client in its own process (liveness/ack-client.mjs) stopped with SIGSTOP: stale
//     after 2 heartbeats, closed with ack_timeout after 3; a plain curl -N stopped alongside is
//     still listed after 4. After SIGCONT the client reads the farewell `closed` event.
//   - The same with the client in a network namespace whose packets are all dropped (see
//     liveness/netns.mjs for the layout and why it is sound).
//   - Superseding: same client id and user => the older stream gets `superseded` and ends; other
//     users, other client ids and streams without one are untouched; a display opened again by
//     the same browser (client id) => newest wins; by another => 409, the live one untouched.
//   - Every close reason in GET /closed after the scenario that causes it, and the totals of
//     /closed and stats agreeing. `shutdown` cannot be read from /closed (the log is in memory and
//     goes with the process), so that check asserts the `shutdown` event on every stream and the
//     responder's own debug log line "stream <id> ... closed: shutdown" written before it exited.

import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startStack, sleep, now, which } from '../harness/stack.mjs';
import { ClientNetns, netnsPrerequisites, removeLeftovers } from './liveness/netns.mjs';
import { detectionLimit } from './suite.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ACK_CLIENT = path.join(HERE, 'liveness', 'ack-client.mjs');
const REASONS = ['client_closed', 'write_failed', 'disconnect_route', 'superseded', 'ack_timeout',
  'slow_consumer', 'admin_closed', 'shutdown', 'node_lost'];
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

// Every display name the checks open (the responder runs with --displays listing them).
const DISPLAYS = ['ack-probe', 'kiosk-stop', 'kiosk-plain', 'kiosk-netns', 'kiosk-netns-plain',
  'wall-1', 'wall-2', 'rc-abort', 'rc-fin', 'rc-write', 'rc-route', 'rc-noack', 'rc-acking',
  'rc-slow', 'rc-admin', 'rc-shutdown', 'rc-shutdown-ack', 'rc-hold', 'rc-hold-ack'];

class AssertionError extends Error {}
class Skip extends Error {}
function assert(cond, msg) {
  if (!cond) throw new AssertionError(msg);
}
const ms = (x) => `${Math.round(x)} ms`;
const sec = (x) => `${(x / 1000).toFixed(2)} s`;
const signed = (x) => `${x < 0 ? '-' : '+'}${Math.abs(x / 1000).toFixed(2)} s`;

// ---------------------------------------------------------------------------------------------
// Helpers

async function closedLog(stack) {
  const r = await stack.api('closed');
  assert(r.status === 200 && r.json?.success && r.json.data, `GET closed: ${r.status} ${r.text.slice(0, 200)}`);
  return r.json.data;
}

async function closedEntry(stack, id, ms_ = 1000) {
  const t0 = now();
  for (;;) {
    const d = await closedLog(stack);
    const e = d.closed.find((x) => x.id === id);
    if (e) return e;
    assert(now() - t0 < ms_, `${id} is not in GET closed (${d.closed.length} entries)`);
    await sleep(50);
  }
}

function assertClosedEntry(e, { reason, type, name, client }) {
  assert(e.reason === reason, `${e.id}: reason "${e.reason}" in GET closed, want "${reason}"`);
  if (type) assert(e.type === type, `${e.id}: type ${e.type}, want ${type}`);
  if (name) {
    const key = (type || e.type) === 'admin' ? 'user' : 'display';
    assert(e[key] === name, `${e.id}: ${key} ${JSON.stringify(e[key])}, want ${JSON.stringify(name)}`);
  }
  if (client !== undefined) assert(e.client === client, `${e.id}: client ${JSON.stringify(e.client)}, want ${JSON.stringify(client)}`);
  for (const k of ['opened_at', 'closed_at']) assert(ISO_MS.test(e[k] || ''), `${e.id}: ${k} ${e[k]}`);
  assert(typeof e.duration_seconds === 'number' && e.duration_seconds >= 0, `${e.id}: duration_seconds ${e.duration_seconds}`);
  assert(Number.isInteger(e.events_sent) && Number.isInteger(e.bytes_sent), `${e.id}: events_sent/bytes_sent missing`);
}

const conn = (data, id) => data.connections.find((c) => c.id === id);

/** Resident memory of a process, KiB. */
function rssKiB(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** The deleted buffer files (h2o.b.*) a process keeps open. */
function heldFiles(pid) {
  const out = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const t = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (/h2o\.b\./.test(t)) out.push(path.basename(t));
    } catch { /* closed meanwhile */ }
  }
  return out;
}

/** Poll stats until `id` is gone; returns { at: now() when the answer came, ms: since the call }. */
async function waitGone(stack, id, limit, what) {
  const t0 = now();
  for (;;) {
    const d = await stack.stats();
    if (!conn(d, id)) return { at: now(), ms: now() - t0 };
    assert(now() - t0 < limit, `${what}: ${id} still listed after ${ms(now() - t0)}`);
    await sleep(20);
  }
}

async function publish(stack, body) {
  const r = await stack.api('publish', { method: 'POST', body });
  assert(r.status === 200 && r.json?.success, `publish: ${r.status} ${r.text.slice(0, 200)}`);
  return r.json.data;
}

function publicId(st) {
  const id = st.events[0]?.json?.public_id;
  assert(typeof id === 'string' && id.length > 0, `${st.urlPath}: "connected" has no public_id (${st.events[0]?.data})`);
  return id;
}

/** A child process whose stdout is JSON lines (ack-client.mjs). */
function wrapLines(child, label) {
  child.lines = [];
  child.waiters = [];
  child.stderrText = '';
  child.label = label;
  const wake = () => { const w = child.waiters; child.waiters = []; w.forEach((f) => f()); };
  readline.createInterface({ input: child.stdout }).on('line', (l) => {
    try { child.lines.push(JSON.parse(l)); } catch { child.lines.push({ type: 'raw', text: l }); }
    wake();
  });
  child.stderr?.on('data', (b) => { child.stderrText += b.toString(); });
  child.on('exit', (code, signal) => { child.exitInfo = { code, signal }; wake(); });
  child.waitLine = (pred, ms_, what, since = 0) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new AssertionError(`${label}: no ${what} within ${ms_} ms (last lines: ${child.lines.slice(-4).map((x) => JSON.stringify(x)).join(' ')}${child.stderrText ? `; stderr: ${child.stderrText.trim().slice(-300)}` : ''})`)), ms_);
    const check = () => {
      const l = child.lines.slice(since).find(pred);
      if (l) { clearTimeout(timer); return resolve(l); }
      if (child.exitInfo) { clearTimeout(timer); return reject(new AssertionError(`${label} exited (${JSON.stringify(child.exitInfo)}) before ${what}; stderr: ${child.stderrText.trim().slice(-300)}`)); }
      child.waiters.push(check);
    };
    check();
  });
  return child;
}

function signalGroup(child, sig) {
  try { process.kill(-child.pid, sig); } catch { try { child.kill(sig); } catch { /* gone */ } }
}

/** Parse curl's -o file: the public id from its "connected" event. */
function curlPublicId(file) {
  try {
    const m = /"public_id":"([^"]+)"/.exec(fs.readFileSync(file, 'utf8'));
    return m ? m[1] : null;
  } catch {
    return null;
  }
}

async function waitFor(fn, limit, what, every = 25) {
  const t0 = now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    assert(now() - t0 < limit, `timed out after ${ms(limit)} waiting for ${what}`);
    await sleep(every);
  }
}

// ---------------------------------------------------------------------------------------------
// The stopped/unreachable acking client: scenarios 1 and 2 share the measurement.

/**
 * `cut()` makes the acking client stop acking (SIGSTOP, or its packets dropped) right after an
 * ack it made was recorded; then stats are polled until the connection is gone. Returns the
 * figures, measured from the last ack the responder recorded (stats' last_ack).
 */
async function measureStaleAndClose(stack, { ackChild, ackId, plainId, cut, what }) {
  const hb = stack.heartbeat * 1000;
  // Some heartbeats of normal life first: acked, live, an RTT.
  const firstAcks = await ackChild.waitLine((l) => l.type === 'ack' && l.acked === true && l.seq >= 3, 3 * hb + 3000, 'a third acked ping');
  const before = await stack.stats();
  const a = conn(before, ackId);
  const p = conn(before, plainId);
  assert(a && p, `${what}: stats lists ${a ? '' : 'not the acking client'} ${p ? '' : 'not the plain client'}`);
  assert(a.ack === true && a.state === 'live' && Number.isFinite(a.last_ack_rtt_ms) && a.last_ack, `${what}: acking client before the cut: ${JSON.stringify(a)}`);
  assert(p.ack === false && p.state === 'live' && p.last_ack === null, `${what}: plain client before the cut: ${JSON.stringify(p)}`);
  const roster0 = Object.fromEntries((before.expected_displays || []).map((x) => [x.display, x.state]));
  // Cut right after a fresh ack was answered: the responder has just recorded it.
  const since = ackChild.lines.length;
  const fresh = await ackChild.waitLine((l) => l.type === 'ack' && l.acked === true, hb + 2000, 'a fresh acked ping', since);
  cut();
  const cutAt = Date.now();

  const samples = [];
  let lastAck = null;
  let lastLive = null;
  let lastListed = null;
  let firstStale = null;
  let staleRoster = null;
  let gone = null;
  const limit = 3 * hb + 4000;
  while (!gone) {
    const sent = Date.now();
    const d = await stack.stats();
    const got = Date.now();
    const c = conn(d, ackId);
    samples.push({ sent, got, state: c?.state ?? 'gone' });
    if (!c) {
      gone = { sent, got };
      break;
    }
    lastListed = { sent, got };
    if (lastAck === null) lastAck = Date.parse(c.last_ack);
    assert(Date.parse(c.last_ack) === lastAck, `${what}: an ack was recorded after the cut (last_ack ${c.last_ack})`);
    if (c.state === 'live') lastLive = { sent, got };
    else if (c.state === 'stale' && !firstStale) {
      firstStale = { sent, got, staleCount: d.stale_connections };
      staleRoster = (d.expected_displays || []).find((x) => x.id === ackId)?.state ?? null;
    } else assert(c.state === 'stale', `${what}: state ${c.state}`);
    assert(got - cutAt < limit, `${what}: still listed ${ms(got - cutAt)} after the cut (state ${c.state})`);
    await sleep(40);
  }
  assert(lastAck !== null, `${what}: gone before the first poll`);
  assert(firstStale, `${what}: never seen stale before it was closed (${samples.length} polls)`);

  // The plain client, in the same state, stays: still listed and live after 4 heartbeats.
  await sleep(Math.max(0, cutAt + 4 * hb - Date.now()));
  const later = await stack.stats();
  const pl = conn(later, plainId);
  const plainAt = Date.now() - cutAt;
  assert(pl, `${what}: the plain client (no ack=1) was dropped within ${ms(plainAt)} of the cut`);
  assert(pl.state === 'live', `${what}: the plain client shows state ${pl.state}`);
  const roster1 = Object.fromEntries((later.expected_displays || []).map((x) => [x.display, x.state]));

  const entry = await closedEntry(stack, ackId);
  assertClosedEntry(entry, { reason: 'ack_timeout', type: 'display' });
  return {
    lastAck, cutAt, fresh, firstAcks,
    rttMs: a.last_ack_rtt_ms,
    staleFrom: firstStale.sent - lastAck, staleTo: firstStale.got - lastAck,
    // The responder judged between a poll's sending and its answer: "live" bounds the stale
    // moment from below at the sending, "stale" and "gone" from above at the answer.
    liveUntil: lastLive ? lastLive.sent - lastAck : null,
    listedUntil: lastListed.sent - lastAck,
    goneFrom: gone.sent - lastAck, goneTo: gone.got - lastAck,
    cutAfterAck: cutAt - lastAck,
    staleCount: firstStale.staleCount, staleRoster, roster0, roster1, plainAt, polls: samples.length, entry,
  };
}

function judgeTimes(stack, m, what) {
  const hb = stack.heartbeat * 1000;
  const tol = Math.max(250, hb / 4);
  // Stale is "no ack for 2 heartbeats", closed "for 3", both counted from the last ack. Only
  // evidence counts: a "stale" (or "gone") answer received before the mark is too early; a
  // "live" (or listed) answer to a poll sent after the mark (+ tol) is too late.
  assert(m.staleTo >= 2 * hb - 50, `${what}: stale ${sec(m.staleTo)} after the last ack, before 2 heartbeats (${sec(2 * hb)})`);
  if (m.liveUntil !== null) assert(m.liveUntil <= 2 * hb + tol, `${what}: still "live" in a poll sent ${sec(m.liveUntil)} after the last ack (want stale from ${sec(2 * hb)}, + ${ms(tol)})`);
  assert(m.goneTo >= 3 * hb - 50, `${what}: closed ${sec(m.goneTo)} after the last ack, before 3 heartbeats`);
  assert(m.listedUntil <= 3 * hb + tol, `${what}: still listed in a poll sent ${sec(m.listedUntil)} after the last ack (want closed at ${sec(3 * hb)}, + ${ms(tol)})`);
  assert(m.staleCount >= 1, `${what}: stale_connections ${m.staleCount} while the connection showed stale`);
}

function describeTimes(m) {
  return `cut ${signed(m.cutAfterAck)} after the last ack (RTT ${m.rttMs} ms); from the last ack: live in a poll at ${m.liveUntil === null ? '-' : sec(m.liveUntil)}, ` +
    `stale by ${sec(m.staleTo)}, listed in a poll at ${sec(m.listedUntil)}, gone by ${sec(m.goneTo)} with ack_timeout (${m.polls} polls)`;
}

// ---------------------------------------------------------------------------------------------
// The checks. Each gets (stack, ctx), throws on failure (Skip to skip) and returns a detail line.

export const checks = [
  {
    name: 'POST /ack through the web server (with credentials)',
    async run(stack, ctx) {
      const st = ctx.track(await stack.openStream('display/ack-probe', { query: { ack: 1 } }));
      const c = st.events[0]?.json;
      assert(c?.ack === true && c.heartbeat_ms === stack.heartbeat * 1000 && 'client' in c && c.client === null, `connected data: ${st.events[0]?.data}`);
      const p = await st.waitFor('ping', stack.heartbeat * 1000 + 1000);
      assert(p.json?.seq === 1, `first ping of an ack stream: ${p.data} (want seq 1)`);
      const ok = await stack.api('ack', { method: 'POST', body: { connection_id: st.connectionId, seq: 1 } });
      assert(ok.status === 200 && ok.json?.data?.acked === true && Number.isFinite(ok.json.data.rtt_ms) && ok.json.data.seq === 1 && ok.json.data.connection_id === st.connectionId,
        `ack of seq 1: ${ok.status} ${ok.text.slice(0, 200)}`);
      const beacon = await stack.api('ack', { method: 'POST', body: JSON.stringify({ connection_id: st.connectionId, seq: 1 }), headers: { 'Content-Type': 'text/plain;charset=UTF-8' } });
      assert(beacon.status === 200 && beacon.json?.data?.acked === true, `ack sent as text/plain: ${beacon.status} ${beacon.text.slice(0, 200)}`);
      const later = await stack.api('ack', { method: 'POST', body: { connection_id: st.connectionId, seq: 99 } });
      assert(later.status === 200 && later.json?.data?.acked === false, `ack of a seq never sent: ${later.status} ${later.text.slice(0, 200)}`);
      const unknown = await stack.api('ack', { method: 'POST', body: { connection_id: crypto.randomUUID(), seq: 1 } });
      assert(unknown.status === 200 && unknown.json?.data?.acked === false, `ack of an unknown connection: ${unknown.status} ${unknown.text.slice(0, 200)}`);
      const bad = [
        ['seq 0', { connection_id: st.connectionId, seq: 0 }, 400],
        ['seq -1', { connection_id: st.connectionId, seq: -1 }, 400],
        ['seq "1"', { connection_id: st.connectionId, seq: '1' }, 400],
        ['seq 1.5', '{"connection_id": "' + st.connectionId + '", "seq": 1.5}', 400],
        ['no connection_id', { seq: 1 }, 400],
        ['body over 1 KiB', { connection_id: st.connectionId, seq: 1, pad: 'x'.repeat(1100) }, 413],
      ];
      const wrong = [];
      for (const [what, body, status] of bad) {
        const r = await stack.api('ack', { method: 'POST', body, headers: typeof body === 'string' ? { 'Content-Type': 'application/json' } : {} });
        if (r.status !== status || r.json?.success !== false) wrong.push(`${what}: ${r.status} (want ${status})`);
      }
      const form = await stack.api('ack', { method: 'POST', body: `connection_id=${st.connectionId}&seq=1`, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
      if (form.status !== 415) wrong.push(`form-encoded body: ${form.status} (want 415)`);
      const get = await stack.api('ack');
      if (get.status !== 405 || !/\bPOST\b/.test(get.headers.allow || '')) wrong.push(`GET ack: ${get.status} Allow ${get.headers.allow} (want 405, POST)`);
      assert(wrong.length === 0, `POST /ack answers:\n      ${wrong.join('\n      ')}`);
      const d = conn(await stack.stats(), publicId(st));
      assert(d?.last_ack && d.last_ack_rtt_ms === beacon.json.data.rtt_ms, `stats after the acks: last_ack ${d?.last_ack}, last_ack_rtt_ms ${d?.last_ack_rtt_ms} (the last ack said ${beacon.json.data.rtt_ms})`);
      const plain = ctx.track(await stack.openStream('display/kiosk-plain'));
      const pp = await plain.waitFor('ping', stack.heartbeat * 1000 + 1000);
      assert(plain.events[0].json?.ack === false && pp.json && !('seq' in pp.json), `a stream without ack=1: connected ack ${plain.events[0].json?.ack}, ping ${pp.data}`);
      const plainAck = await stack.api('ack', { method: 'POST', body: { connection_id: plain.connectionId, seq: 1 } });
      assert(plainAck.status === 200 && plainAck.json?.data?.acked === false, `ack on a stream without ack=1: ${plainAck.status} ${plainAck.text.slice(0, 200)}`);
      return `acked seq 1 (rtt_ms ${ok.json.data.rtt_ms}; also as text/plain); seq never sent, unknown id, a stream without ack=1 => acked false; ` +
        '6 bad bodies 400/413, form 415, GET 405; pings without ack=1 carry no seq';
    },
  },
  {
    name: 'stream query parameters through the web server: ack, client, unknown ones',
    async run(stack, ctx) {
      const cases = [
        ['ack=1', 200, { ack: true, client: null }], ['ack=true', 200, { ack: true }], ['ack=0', 200, { ack: false }],
        ['ack=false', 200, { ack: false }], ['ack=yes', 400], ['ack=', 400], ['ack=2', 400],
        ['client=k.1_-', 200, { client: 'k.1_-', ack: false }], ['client=bad%20name', 400], [`client=${'c'.repeat(65)}`, 400],
        [`client=${'c'.repeat(64)}`, 200, { client: 'c'.repeat(64) }], ['client=', 400],
        ['utm_source=x&ack=1&client=kiosk-7', 200, { ack: true, client: 'kiosk-7' }],
      ];
      const wrong = [];
      for (const [q, status, want] of cases) {
        for (const p of ['display/ack-probe', 'admin']) {
          const st = ctx.track(await stack.openStream(p, { query: q }));
          const c = st.events[0]?.json;
          if (st.status !== status) wrong.push(`${p}?${q}: ${st.status}, want ${status}`);
          else if (status !== 200 && (st.json?.success !== false || st.json?.error_info?.code !== 'BAD_REQUEST')) wrong.push(`${p}?${q}: not a BAD_REQUEST envelope: ${st.body.slice(0, 120)}`);
          else if (want) {
            for (const [k, v] of Object.entries(want)) if (c?.[k] !== v) wrong.push(`${p}?${q}: connected ${k} ${JSON.stringify(c?.[k])}, want ${JSON.stringify(v)}`);
            if (c && c.public_id === undefined) wrong.push(`${p}?${q}: connected lacks public_id`);
          }
          // Leave as a page does (its beacon): behind lighttpd a closed stream is noticed only at
          // the next heartbeat, and until then the display is live: the next case would get 409.
          if (st.connectionId) await stack.api('disconnect', { method: 'POST', auth: false, body: { connection_id: st.connectionId } });
          st.close();
          await st.waitEnded(2000);
        }
      }
      assert(wrong.length === 0, `${wrong.length} of ${cases.length * 2} wrong:\n      ${wrong.join('\n      ')}`);
      return `${cases.length * 2} streams (display and admin): ack 1/true/0/false accepted, other values 400; client checked (1-64 of [A-Za-z0-9._-]); unknown parameters ignored`;
    },
  },
  {
    name: 'a kiosk that acks without credentials (the token is the credential) stays connected',
    async run(stack, ctx) {
      // As a display page does: no user for the stream, none for its acks.
      const hb = stack.heartbeat * 1000;
      const st = ctx.track(await stack.openStream('display/ack-probe', { ack: { auth: false } }));
      const closed = await st.waitFor('closed', 3 * hb + 1000).catch(() => null);
      const statuses = [...new Set(st.acks.map((a) => `${a.status}${a.acked === true ? '' : ' acked ' + a.acked}`))];
      const denied = st.acks.filter((a) => a.status !== 200 || a.acked !== true);
      assert(!closed && denied.length === 0,
        `${denied.length} of ${st.acks.length} acks without credentials were refused (${statuses.join(', ')}) by ${stack.front}` +
        `${closed ? `, and the stream was closed with ${closed.json?.reason} ${sec(closed.at - st.events[0].at)} after connecting` : ''}: ` +
        `the shipped ${stack.front} config requires a user on every route under ${stack.prefix}/ but display/ and disconnect, so a kiosk's POST ${stack.prefix}/ack never reaches the responder`);
      assert(st.acks.length >= 3, `only ${st.acks.length} acks in ${sec(3 * hb + 1000)}`);
      return `${st.acks.length} acks without credentials answered 200 acked true; still connected after ${sec(3 * hb + 1000)}`;
    },
  },
  {
    name: 'acking client stopped (SIGSTOP): stale after 2 heartbeats, ack_timeout after 3; plain curl -N stopped alongside stays',
    async run(stack, ctx) {
      const curl = which('curl');
      assert(curl, 'curl is not installed');
      const base = `${stack.baseUrl}${stack.prefix}`;
      // Acks carry the stack's credentials: the shipped configs require a user on /ack (see the
      // check above); this check is about the responder's judgement, not that config.
      const child = ctx.child(wrapLines(spawn(process.execPath, [ACK_CLIENT, '--url', `${base}/display/kiosk-stop?ack=1`,
        '--ack-url', `${base}/ack`, '--ack-auth', stack.authHeader], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] }), 'ack-client'));
      const connected = await child.waitLine((l) => l.type === 'connected', 5000, '"connected"');
      assert(connected.ack === true && connected.public_id, `ack-client connected: ${JSON.stringify(connected)}`);
      const out = path.join(ctx.tmp, 'plain-curl.out');
      const plain = ctx.child(spawn(curl, ['-sN', `${base}/display/kiosk-plain`, '-o', out], { detached: true, stdio: 'ignore' }));
      const plainId = await waitFor(() => curlPublicId(out), 5000, 'curl to connect');

      const m = await measureStaleAndClose(stack, {
        ackChild: child, ackId: connected.public_id, plainId, what: 'SIGSTOP',
        cut: () => { signalGroup(child, 'SIGSTOP'); signalGroup(plain, 'SIGSTOP'); },
      });
      judgeTimes(stack, m, 'SIGSTOP');
      // The roster follows: connected, stale, then missing; the plain display stays connected.
      assert(m.roster0['kiosk-stop'] === 'connected' && m.roster0['kiosk-plain'] === 'connected', `roster before: ${JSON.stringify(m.roster0)}`);
      assert(m.staleRoster === 'stale', `roster while stale: kiosk-stop is ${m.staleRoster}`);
      assert(m.roster1['kiosk-stop'] === 'missing' && m.roster1['kiosk-plain'] === 'connected', `roster after: kiosk-stop ${m.roster1['kiosk-stop']}, kiosk-plain ${m.roster1['kiosk-plain']}`);
      // Woken up, the client reads what was buffered for it: the farewell, then the end.
      const since = child.lines.length;
      signalGroup(child, 'SIGCONT');
      const bye = await child.waitLine((l) => l.type === 'event' && l.event === 'closed', 3000, 'the "closed" event after SIGCONT', 0);
      assert(bye.data?.reason === 'ack_timeout', `farewell data ${JSON.stringify(bye.data)}, want reason ack_timeout`);
      await child.waitLine((l) => l.type === 'end', 3000, 'the end of the stream after SIGCONT', since);
      ctx.measure('sigstop stale', m.staleTo);
      ctx.measure('sigstop closed', m.goneTo);
      return `${describeTimes(m)}; roster connected/stale/missing; plain curl listed and live ${sec(m.plainAt)} after SIGSTOP; after SIGCONT the client read "closed" (ack_timeout) and the end`;
    },
  },
  {
    name: 'acking client in a network namespace, packets dropped: stale, then ack_timeout; plain client there stays',
    async run(stack, ctx) {
      const pre = netnsPrerequisites();
      if (pre.skip) throw new Skip(pre.skip);
      assert(pre.ok, pre.error);
      removeLeftovers();
      const ns = new ClientNetns(stack.port);
      ctx.onCleanup(() => {
        ns.teardown();
        const left = ns.leftovers();
        if (left.length) throw new AssertionError(`teardown left ${left.join(', ')}`);
      });
      const base = `${ns.baseUrl}${stack.prefix}`;
      const child = ctx.child(wrapLines(ns.spawn(process.execPath, [ACK_CLIENT, '--url', `${base}/display/kiosk-netns?ack=1`,
        '--ack-url', `${base}/ack`, '--ack-auth', stack.authHeader], { stdio: ['ignore', 'pipe', 'pipe'] }), 'ack-client in netns'));
      const connected = await child.waitLine((l) => l.type === 'connected', 5000, '"connected" through the namespace');
      const out = path.join(ctx.tmp, 'netns-curl.out');
      ctx.child(ns.spawn(which('curl') || 'curl', ['-sN', `${base}/display/kiosk-netns-plain`, '-o', out], { stdio: 'ignore' }));
      const plainId = await waitFor(() => curlPublicId(out), 5000, 'curl in the namespace to connect');
      // The web server's own sockets have the namespace's address as peer: the connections
      // really cross the veth (DNAT in the kernel, no relay).
      const peers = execFileSync('ss', ['-Htn', 'state', 'established', 'dst', ns.nsAddr, 'src', `127.0.0.1:${stack.port}`], { encoding: 'utf8' })
        .split('\n').filter(Boolean).length;
      assert(peers >= 2, `${peers} established connections from ${ns.nsAddr} to the web server's 127.0.0.1:${stack.port} (want the 2 streams at least)`);
      const m = await measureStaleAndClose(stack, {
        ackChild: child, ackId: connected.public_id, plainId, what: 'netns drop', cut: () => ns.dropAll(),
      });
      judgeTimes(stack, m, 'netns drop');
      assert(m.roster1['kiosk-netns'] === 'missing' && m.roster1['kiosk-netns-plain'] === 'connected', `roster after: ${JSON.stringify(m.roster1)}`);
      const pingsAfter = child.lines.filter((l) => l.type === 'ping' && l.at > m.cutAt).length;
      // The plain client cannot tell anyone it is gone; an admin closes it (and the log says so).
      const del = await stack.api(`connections/${plainId}`, { method: 'DELETE' });
      assert(del.status === 200 && del.json?.data?.closed === true, `DELETE the plain client: ${del.status} ${del.text.slice(0, 200)}`);
      assertClosedEntry(await closedEntry(stack, plainId), { reason: 'admin_closed', type: 'display', name: 'kiosk-netns-plain' });
      ctx.measure('netns stale', m.staleTo);
      ctx.measure('netns closed', m.goneTo);
      return `${ns.nsAddr} -> ${ns.hostAddr}:${stack.port} DNAT 127.0.0.1 (${peers} sockets with that peer); ${describeTimes(m)}; ${pingsAfter} pings reached the client after the drop; ` +
        `plain client listed and live ${sec(m.plainAt)} after the drop, then DELETEd (admin_closed); namespace, veth and nft table removed`;
    },
  },
  {
    name: 'superseding: same client id and user => the older stream gets "superseded" and ends',
    async run(stack, ctx) {
      // A second user, so that "same user" is tested too: the htpasswd file is re-read per request.
      const bob = await stack.addUser('bob', crypto.randomBytes(9).toString('base64url'));
      const a = ctx.track(await stack.openStream('admin', { query: { client: 'tab-1' } }));
      const others = {
        'bob tab-1': ctx.track(await stack.openStream('admin', { auth: bob, query: { client: 'tab-1' } })),
        'admin tab-2': ctx.track(await stack.openStream('admin', { query: { client: 'tab-2' } })),
        'admin no client (1)': ctx.track(await stack.openStream('admin')),
        'admin no client (2)': ctx.track(await stack.openStream('admin')),
      };
      for (const [k, s] of Object.entries(others)) assert(s.status === 200 && s.connectionId, `${k}: ${s.status} ${s.body}`);
      assert(a.events[0].json.client === 'tab-1', `connected data client ${a.events[0].json.client}`);
      const before = await stack.stats();
      assert(before.admin_connections === 5, `5 admin streams open, stats shows ${before.admin_connections}`);
      const aId = publicId(a);
      const b = ctx.track(await stack.openStream('admin', { query: { client: 'tab-1' } }));
      const bAt = b.t0; // the request: A may end before B's "connected" reaches B through the server
      const ev = await a.waitFor('superseded', 1000);
      assert(ev.json?.reason === 'superseded' && ev.json?.message === 'Replaced by a newer connection' && ISO_MS.test(ev.json?.timestamp || ''), `superseded data ${ev.data}`);
      assert(await a.waitEnded(2000), 'the superseded stream did not end within 2 s');
      const endMs = a.endedAt - bAt;
      const d = await stack.stats();
      assert(!conn(d, aId), 'stats still lists the superseded stream after its end');
      const tab1 = d.connections.filter((c) => c.type === 'admin' && c.user === stack.user && c.client === 'tab-1');
      assert(tab1.length === 1 && tab1[0].id === publicId(b), `admin/tab-1 listed ${tab1.length} times (want exactly the new one)`);
      assert(d.admin_connections === 5, `stats shows ${d.admin_connections} admin streams, want 5 (one replaced)`);
      for (const [k, s] of Object.entries(others)) {
        assert(!s.isEnded && !s.events.some((e) => e.event === 'superseded'), `${k} was superseded or ended`);
        assert(conn(d, publicId(s)), `${k} is no longer listed`);
      }
      assertClosedEntry(await closedEntry(stack, aId), { reason: 'superseded', type: 'admin', name: stack.user, client: 'tab-1' });
      assert(!b.events.some((e) => e.event === 'superseded'), 'the new stream got "superseded"');
      return `older stream got "superseded" and ended ${ms(endMs)} after the new one was requested; tab-1 listed once; bob/tab-1, tab-2 and 2 without client untouched (5 admin streams); closed: superseded`;
    },
  },
  {
    name: 'superseding: a display opened again by the same browser => newest wins; by another => 409',
    async run(stack, ctx) {
      const d1 = ctx.track(await stack.openStream('display/wall-1', { query: { client: 'wall-kiosk' } }));
      const other = ctx.track(await stack.openStream('display/wall-2'));
      const d2 = ctx.track(await stack.openStream('display/wall-1', { query: { client: 'wall-kiosk' } }));
      const ev1 = await d1.waitFor('superseded', 1000);
      assert(ev1.json?.reason === 'superseded', `superseded data ${ev1.data}`);
      assert(await d1.waitEnded(2000), 'the first wall-1 stream did not end');
      const end1 = d1.endedAt - d2.t0;
      let s = await stack.stats();
      let walls = s.connections.filter((c) => c.display === 'wall-1');
      assert(walls.length === 1 && walls[0].id === publicId(d2), `wall-1 listed ${walls.length} times after the second open (want the newest only)`);
      // Another screen (another client id, or none) takes nothing over: the name is no credential.
      const d3 = await stack.openStream('display/wall-1', { query: { client: 'other-kiosk' } });
      d3.close();
      assert(d3.status === 409 && d3.json?.error_info?.code === 'CONFLICT', `a third open with another client id: ${d3.status} ${d3.body}`);
      assert(d3.headers['retry-after'], '409 without Retry-After');
      await sleep(200);
      s = await stack.stats();
      walls = s.connections.filter((c) => c.display === 'wall-1');
      assert(walls.length === 1 && walls[0].id === publicId(d2) && !d2.isEnded, `wall-1 after a third open with another client id: ${JSON.stringify(walls)}`);
      assert(!d2.events.some((e) => e.event === 'superseded'), 'the second wall-1 stream was superseded');
      assert(!other.isEnded && conn(s, publicId(other)), 'wall-2 was affected');
      assertClosedEntry(await closedEntry(stack, publicId(d1)), { reason: 'superseded', type: 'display', name: 'wall-1' });
      const roster = (s.expected_displays || []).find((x) => x.display === 'wall-1');
      assert(roster?.state === 'connected' && roster.id === publicId(d2), `roster wall-1: ${JSON.stringify(roster)}`);
      return `first open superseded and ended ${ms(end1)} after the same browser opened it again; another client id got 409 (Retry-After ${d3.headers['retry-after']}) and the live one was untouched; wall-1 listed once; wall-2 untouched`;
    },
  },
  {
    name: 'close reason client_closed: the client resets (RST) or closes (FIN)',
    async run(stack, ctx) {
      const out = [];
      for (const [name, how] of [['rc-abort', 'abort'], ['rc-fin', 'close']]) {
        const st = ctx.track(await stack.openStream(`display/${name}`));
        const id = publicId(st);
        st[how]();
        const g = await waitGone(stack, id, detectionLimit(stack, how === 'abort' ? 'rst' : 'fin') + 1000, `${how}ed display`);
        assertClosedEntry(await closedEntry(stack, id), { reason: 'client_closed', type: 'display', name });
        out.push(`${how === 'abort' ? 'RST' : 'FIN'}: gone after ${ms(g.ms)}`);
      }
      return `${out.join(', ')}; both client_closed in GET closed`;
    },
  },
  {
    name: 'close reason write_failed: a display stops reading while big events fill the pipe',
    except: ['h2o'], // h2o reads whatever the responder writes: see 'h2o holds'
    async run(stack, ctx) {
      // How: the client keeps its socket open but stops reading. The kernel buffers, the web
      // server's small buffer (nginx: fastcgi_buffering off; lighttpd: stream-response-body 2,
      // which stops reading the backend while the client is slow) and the socket to the
      // responder fill; from then on the responder's output does not move. Output that has not
      // moved for 3 s (IO_TIMEOUT_MS) is a failed write: write_failed. Events are published one
      // at a time and stop as soon as they pile up unwritten (events_queued > events_sent, not
      // moving), so that the backlog stays far below what the responder lets a consumer fall
      // behind by (1 MiB of output, or 128 queued events) -- past that it is slow_consumer.
      const st = ctx.track(await stack.openStream('display/rc-write'));
      const id = publicId(st);
      st.stopReading();
      const big = 'w'.repeat(60000);
      let n = 0;
      let blockedAt = null;
      let info = null;
      const t0 = now();
      while (!blockedAt) {
        const r = await publish(stack, { event: 'flood', data: { big }, target: 'display', display: 'rc-write' });
        assert(r.connections_notified === 1, `publish ${n + 1}: notified ${r.connections_notified} (slow_consumer already?)`);
        n++;
        const c = conn(await stack.stats(), id);
        assert(c, `the display left after ${n} events before its output stopped moving`);
        if (c.events_queued - c.events_sent >= 2) {
          await sleep(300);
          const c2 = conn(await stack.stats(), id);
          if (c2 && c2.events_sent === c.events_sent && c2.bytes_sent === c.bytes_sent) { blockedAt = now(); info = c2; }
        }
        assert(now() - t0 < 30000 && n < 150, `the output never stopped moving (${n} events of 60 KB)`);
      }
      // 3 s of no progress, noticed at the latest at the next heartbeat.
      const g = await waitGone(stack, id, 3000 + stack.heartbeat * 1000 + 2000, 'stalled display');
      const e = await closedEntry(stack, id);
      assertClosedEntry(e, { reason: 'write_failed', type: 'display', name: 'rc-write' });
      assert(g.at - blockedAt >= 2500, `gone ${ms(g.at - blockedAt)} after the output stopped moving (want about 3 s)`);
      return `output stopped moving after ${n} events (${info.events_sent} written, ${(info.bytes_sent / 1048576).toFixed(1)} MiB, ${info.events_queued - info.events_sent} waiting); ` +
        `write_failed ${ms(g.at - blockedAt)} after that was seen; closed: write_failed`;
    },
  },
  {
    name: 'h2o holds what a display that stops reading is sent (no write_failed); ack=1 closes it (ack_timeout)',
    fronts: ['h2o'],
    async run(stack, ctx) {
      // h2o 2.2 reads a FastCGI answer as fast as the responder writes it, whatever its client
      // does, and keeps it: in memory up to 32 MiB, then in a file under temp-buffer-path. The
      // responder's output never stops moving, so it cannot see the client as slow: the limit
      // contrib/h2o/h2o.conf states. What bounds it is acknowledged liveness.
      const hb = stack.heartbeat * 1000;
      const pid = stack.frontProc.pid;
      const st = ctx.track(await stack.openStream('display/rc-hold'));
      const id = publicId(st);
      st.stopReading();
      const rss0 = rssKiB(pid);
      const big = 'h'.repeat(60000);
      const want = 40 * 1048576; // past what the kernel buffers and h2o's 32 MiB in memory
      let c = conn(await stack.stats(), id);
      let n = 0;
      const t0 = now();
      while (c.bytes_sent < want) {
        for (let i = 0; i < 10; i++) {
          await Promise.all([1, 2].map(() => publish(stack, { event: 'flood', data: { big }, target: 'display', display: 'rc-hold' })));
        }
        n += 20;
        c = conn(await stack.stats(), id);
        assert(c, `the display left after ${n} events (${JSON.stringify((await closedEntry(stack, id).catch(() => null)))})`);
        assert(now() - t0 < 120000, `only ${(c.bytes_sent / 1048576).toFixed(1)} MiB written in 120 s`);
      }
      const rss1 = rssKiB(pid);
      const spill = heldFiles(pid);
      // Longer than the responder's 3 s rule for output that does not move: it keeps moving.
      await sleep(3000 + hb);
      const later = conn(await stack.stats(), id);
      assert(later && later.state === 'live' && later.events_queued === later.events_sent,
        `the non-reading display after ${n} events: ${JSON.stringify(later)} (want it listed, live, nothing waiting)`);
      assert(rss1 - rss0 >= 8 * 1024 || spill.length > 0, `h2o grew ${rss1 - rss0} KiB and keeps no buffer file: who holds the ${(c.bytes_sent / 1048576).toFixed(1)} MiB?`);
      const del = await stack.api(`connections/${id}`, { method: 'DELETE' });
      assert(del.status === 200, `DELETE the non-reading display: ${del.status} ${del.text.slice(0, 200)}`);
      // The same client on an ack=1 stream: it sees no ping, acks none, and is closed. Events
      // come at a pace (60 KB every 50 ms) that h2o keeps up with: only acks decide here.
      const ackSt = ctx.track(await stack.openStream('display/rc-hold-ack', { ack: { auth: true } }));
      const ackId = publicId(ackSt);
      ackSt.stopReading();
      const a0 = ackSt.events[0].at;
      let gone = null;
      while (!gone) {
        await publish(stack, { event: 'flood', data: { big }, target: 'display', display: 'rc-hold-ack' });
        if (!conn(await stack.stats(), ackId)) gone = now();
        await sleep(50);
        assert(now() - a0 < 3 * hb + 2000, `the non-reading ack=1 display is still listed ${sec(now() - a0)} after connecting`);
      }
      const e = await closedEntry(stack, ackId);
      assertClosedEntry(e, { reason: 'ack_timeout', type: 'display', name: 'rc-hold-ack' });
      assert(gone - a0 >= 3 * hb - 100, `closed ${sec(gone - a0)} after connecting, before 3 heartbeats`);
      return `a display that stopped reading: ${n} events (${(c.bytes_sent / 1048576).toFixed(1)} MiB) all written, still live ${sec(3000 + hb)} later; ` +
        `h2o RSS +${((rss1 - rss0) / 1024).toFixed(1)} MiB${spill.length ? `, buffer file ${spill.join(', ')}` : ''}; ` +
        `with ack=1: ack_timeout ${sec(gone - a0)} after connecting, ${(e.bytes_sent / 1048576).toFixed(1)} MiB written to h2o by then`;
    },
  },
  {
    name: 'close reason disconnect_route: POST disconnect with the token',
    async run(stack, ctx) {
      const st = ctx.track(await stack.openStream('display/rc-route'));
      const id = publicId(st);
      const r = await stack.api('disconnect', { method: 'POST', auth: false, headers: { 'Content-Type': 'text/plain;charset=UTF-8' }, body: JSON.stringify({ connection_id: st.connectionId }) });
      assert(r.status === 200 && r.json?.data?.disconnected === true, `disconnect: ${r.status} ${r.text.slice(0, 200)}`);
      assert(!conn(await stack.stats(), id), 'stats lists it after the disconnect answered');
      const ev = await st.waitFor('closed', 1000);
      assert(ev.json?.reason === 'disconnect_route', `closed event data ${ev.data}`);
      assert(await st.waitEnded(2000), 'the stream did not end');
      assertClosedEntry(await closedEntry(stack, id), { reason: 'disconnect_route', type: 'display', name: 'rc-route' });
      return 'gone when the route answered; the stream got "closed" (disconnect_route) and ended; closed: disconnect_route';
    },
  },
  {
    name: 'close reason ack_timeout: an ack=1 stream that never acks (one that acks stays)',
    async run(stack, ctx) {
      const hb = stack.heartbeat * 1000;
      const silent = ctx.track(await stack.openStream('display/rc-noack', { query: { ack: 1 } }));
      const acking = ctx.track(await stack.openStream('display/rc-acking', { ack: { auth: true } }));
      const id = publicId(silent);
      const t0 = silent.events[0].at;
      const ev = await silent.waitFor('closed', 3 * hb + 2000);
      assert(ev.json?.reason === 'ack_timeout' && ev.json?.message, `closed event data ${ev.data}`);
      assert(await silent.waitEnded(2000), 'the stream did not end');
      const after = ev.at - t0;
      const seqs = silent.events.filter((e) => e.event === 'ping').map((e) => e.json?.seq);
      assert(after >= 3 * hb - 100 && after <= 3 * hb + Math.max(500, hb / 2), `"closed" came ${sec(after)} after "connected" (want 3 heartbeats, ${sec(3 * hb)})`);
      assertClosedEntry(await closedEntry(stack, id), { reason: 'ack_timeout', type: 'display', name: 'rc-noack' });
      await sleep(hb);
      const a = conn(await stack.stats(), publicId(acking));
      assert(a && a.state === 'live', `the acking stream: ${JSON.stringify(a)} after ${sec(now() - acking.events[0].at)}`);
      assert(acking.acks.length >= 3 && acking.acks.every((x) => x.status === 200 && x.acked === true), `acks: ${JSON.stringify(acking.acks)} ${JSON.stringify(acking.ackErrors)}`);
      return `pings seq ${seqs.join(',')}, then "closed" (ack_timeout) ${sec(after)} after connecting; closed: ack_timeout; the acking one live after ${acking.acks.length} acks (RTT ${a.last_ack_rtt_ms} ms)`;
    },
  },
  {
    name: 'close reason slow_consumer: many ~40 KiB events to a display that does not read',
    // Behind h2o the display's reading does not matter (h2o reads for it): whether the queue
    // overflows depends only on how fast h2o itself keeps up (both seen). See 'h2o holds'.
    except: ['h2o'],
    async run(stack, ctx) {
      const st = ctx.track(await stack.openStream('display/rc-slow'));
      const id = publicId(st);
      st.stopReading();
      const data = { big: 's'.repeat(40000) };
      let n = 0;
      let zeroAt = null;
      const t0 = now();
      while (zeroAt === null && n < 1000) {
        const rs = await Promise.all(Array.from({ length: 8 }, () => publish(stack, { event: 'flood', data, target: 'display', display: 'rc-slow' })));
        n += rs.length;
        if (rs.some((r) => r.connections_notified === 0)) zeroAt = now();
      }
      assert(zeroAt !== null, `still notified after ${n} events`);
      assert(!conn(await stack.stats(), id), 'stats still lists the slow consumer after publishes stopped reaching it');
      const e = await closedEntry(stack, id);
      assertClosedEntry(e, { reason: 'slow_consumer', type: 'display', name: 'rc-slow' });
      return `dropped after ~${n} events in ${ms(zeroAt - t0)} (${e.events_sent} written, ${(e.bytes_sent / 1048576).toFixed(1)} MiB); closed: slow_consumer`;
    },
  },
  {
    name: 'close reason admin_closed: DELETE /connections/<public id>',
    async run(stack, ctx) {
      const st = ctx.track(await stack.openStream('display/rc-admin'));
      const id = publicId(st);
      const noUser = await stack.api(`connections/${id}`, { method: 'DELETE', auth: false });
      assert(noUser.status === 401, `DELETE without credentials: ${noUser.status}`);
      const get = await stack.api(`connections/${id}`);
      assert(get.status === 405 && /\bDELETE\b/.test(get.headers.allow || '') && get.json?.error_info?.code === 'METHOD_NOT_ALLOWED', `GET connections/<id>: ${get.status} Allow ${get.headers.allow}`);
      const r = await stack.api(`connections/${id}`, { method: 'DELETE' });
      assert(r.status === 200 && r.json?.data?.id === id && r.json.data.closed === true, `DELETE: ${r.status} ${r.text.slice(0, 200)}`);
      assert(!conn(await stack.stats(), id), 'stats lists it after DELETE answered');
      const ev = await st.waitFor('closed', 1000);
      assert(ev.json?.reason === 'admin_closed', `closed event data ${ev.data}`);
      assert(await st.waitEnded(2000), 'the stream did not end');
      const again = await stack.api(`connections/${id}`, { method: 'DELETE' });
      assert(again.status === 404 && again.json?.error_info?.code === 'NOT_FOUND', `second DELETE: ${again.status} ${again.text.slice(0, 200)}`);
      const token = await stack.api(`connections/${st.connectionId}`, { method: 'DELETE' });
      assert(token.status === 404, `DELETE by the secret token instead of the public id: ${token.status}`);
      assertClosedEntry(await closedEntry(stack, id), { reason: 'admin_closed', type: 'display', name: 'rc-admin' });
      return '401 without a user, GET 405 (Allow: DELETE); DELETE 200 and gone at once; "closed" (admin_closed) on the stream; again 404; the token is not an id';
    },
  },
  {
    name: 'closed log and stats agree: every reason so far, totals, order, fields',
    async run(stack) {
      const c = await closedLog(stack);
      const s = await stack.stats();
      assert(c.capacity === 500, `capacity ${c.capacity}`);
      for (const r of REASONS) {
        assert(Number.isInteger(c.totals?.[r]), `GET closed totals lack ${r}`);
        assert(Number.isInteger(s.closed_by_reason?.[r]), `stats closed_by_reason lacks ${r}`);
      }
      assert(JSON.stringify(c.totals) === JSON.stringify(s.closed_by_reason), `totals differ: closed ${JSON.stringify(c.totals)} vs stats ${JSON.stringify(s.closed_by_reason)}`);
      const sum = REASONS.reduce((a, r) => a + c.totals[r], 0);
      assert(s.closed_total === sum, `stats closed_total ${s.closed_total}, sum of reasons ${sum}`);
      assert(c.closed.length === Math.min(500, sum), `${c.closed.length} entries for ${sum} closed`);
      // shutdown comes last (below); node_lost only in a cluster. Behind h2o no client makes the
      // responder's output stop moving or fall behind: no write_failed or slow_consumer there on
      // the client's account.
      const possible = REASONS.filter((r) => r !== 'shutdown' && r !== 'node_lost' &&
        !(['write_failed', 'slow_consumer'].includes(r) && stack.front === 'h2o'));
      const missing = possible.filter((r) => !c.closed.some((e) => e.reason === r));
      assert(missing.length === 0, `no entry in GET closed with reason ${missing.join(', ')}`);
      for (let i = 1; i < c.closed.length; i++) {
        assert(c.closed[i - 1].closed_at >= c.closed[i].closed_at, `GET closed is not newest first at ${i}`);
      }
      const byReason = REASONS.filter((r) => c.totals[r]).map((r) => `${r} ${c.totals[r]}`).join(', ');
      assert(s.heartbeat_seconds === stack.heartbeat, `heartbeat_seconds ${s.heartbeat_seconds}`);
      return `${sum} closed (${byReason}); stats agrees; newest first; every reason ${stack.front === 'h2o' ? 'possible behind h2o ' : ''}but shutdown present`;
    },
  },
  {
    name: 'close reason shutdown: responder restart => "shutdown" on every stream, and in its log',
    async run(stack, ctx) {
      // GET closed cannot show this reason: the log is in the responder's memory and goes with
      // it. So: every stream must get "shutdown" before it ends, and the responder's own debug
      // log, written before it exited, must say "closed: shutdown" for each.
      const streams = [
        ctx.track(await stack.openStream('admin')),
        ctx.track(await stack.openStream('display/rc-shutdown')),
        ctx.track(await stack.openStream('display/rc-shutdown-ack', { ack: { auth: true } })),
      ];
      const ids = streams.map(publicId);
      const before = (await closedLog(stack)).closed.length;
      const r = await stack.restartResponder();
      const ended = await Promise.all(streams.map((s) => s.waitEnded(3000)));
      assert(ended.every(Boolean), `${ended.filter((e) => !e).length} streams survived the restart`);
      const bad = streams.filter((s) => !s.events.some((e) => e.event === 'shutdown'));
      assert(bad.length === 0, `${bad.length} of 3 streams got no "shutdown" event (${bad.map((s) => s.urlPath).join(', ')})`);
      const reasons = streams.map((s) => s.events.find((e) => e.event === 'shutdown').json?.reason);
      const log = stack.daemonLog();
      const logged = ids.filter((id) => new RegExp(`stream ${id} \\(.*\\) closed: shutdown`).test(log));
      assert(logged.length === 3, `the responder's log says "closed: shutdown" for ${logged.length} of 3 (ids ${ids.join(' ')})`);
      const after = await closedLog(stack);
      return `restart ${ms(r.ms)}; 3 of 3 streams got "shutdown" (data.reason ${[...new Set(reasons)].join('/')}), 3 of 3 logged "closed: shutdown"; ` +
        `GET closed had ${before} entries before, ${after.closed.length} after (in memory, reset by the restart)`;
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Running

async function cleanup(stack, ctx) {
  const errors = [];
  for (const f of ctx.cleanups.reverse()) {
    try { await f(); } catch (e) { errors.push(e.message); }
  }
  for (const c of ctx.children) { signalGroup(c, 'SIGCONT'); signalGroup(c, 'SIGKILL'); }
  for (const s of ctx.streams) { s.resumeReading(); s.abort(); }
  // Whatever the web server has not closed by now (a client that vanished) is closed here.
  const t0 = now();
  let left = [];
  while (now() - t0 < detectionLimit(stack, 'fin') + 1000) {
    try {
      left = (await stack.stats()).connections;
      if (left.length === 0) break;
    } catch { /* restarting */ }
    await sleep(50);
  }
  for (const c of left) await stack.api(`connections/${c.id}`, { method: 'DELETE' }).catch(() => {});
  fs.rmSync(ctx.tmp, { recursive: true, force: true });
  if (errors.length) throw new AssertionError(`cleanup: ${errors.join('; ')}`);
  return left.length;
}

/**
 * Run the checks behind each front end. `log` prints a line; returns { passed, failed, skipped,
 * measured: { front: { key: ms } } }.
 */
export async function runLiveness({ fronts = ['nginx', 'lighttpd'], heartbeat = 1, only = null, log = console.log } = {}) {
  const selected = checks.filter((c) => !only || c.name.includes(only));
  const applies = (c, front) => (!c.fronts || c.fronts.includes(front)) && !(c.except || []).includes(front);
  const res = { passed: 0, failed: 0, skipped: 0, measured: {} };
  if (!selected.length) return res;
  for (const front of fronts) {
    const label = `liveness ${front}`;
    res.measured[front] = {};
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sse-fcgi-liveness-'));
    const displays = path.join(work, 'displays');
    fs.writeFileSync(displays, `# display names the liveness checks use\n${DISPLAYS.join('\n')}\n`);
    log(`\n== ${label} (${front}, heartbeat ${heartbeat} s, --displays with ${DISPLAYS.length} names, --log-level debug)`);
    let stack;
    try {
      stack = await startStack({ front, heartbeat, daemonArgs: ['--log-level', 'debug', '--displays', displays] });
    } catch (e) {
      log(`   stack did not start: ${e.message.split('\n').join('\n    ')}`);
      for (const c of selected.filter((x) => applies(x, front))) { res.failed++; log(`FAIL ${label}: ${c.name} (stack did not start)`); }
      fs.rmSync(work, { recursive: true, force: true });
      continue;
    }
    log(`   stack up at ${stack.baseUrl} (${stack.front} + ${stack.mode}, dir ${stack.dir})`);
    for (const c of selected.filter((x) => applies(x, front))) {
      const ctx = {
        streams: [], children: [], cleanups: [], tmp: fs.mkdtempSync(path.join(work, 'check-')),
        track(s) { this.streams.push(s); return s; },
        child(p) { this.children.push(p); return p; },
        onCleanup(f) { this.cleanups.push(f); },
        measure(k, v) { res.measured[front][k] = v; },
      };
      const t0 = now();
      let outcome;
      try {
        const detail = await c.run(stack, ctx);
        outcome = { ok: true, detail };
      } catch (e) {
        outcome = e instanceof Skip ? { skip: e.message } : { ok: false, error: e };
      }
      let leftover = 0;
      try {
        leftover = await cleanup(stack, ctx);
      } catch (e) {
        if (outcome.ok) outcome = { ok: false, error: e };
      }
      const took = Math.round(now() - t0);
      const note = leftover ? `; cleanup closed ${leftover} leftover` : '';
      if (outcome.skip) {
        res.skipped++;
        log(`skip ${label}: ${c.name} (${outcome.skip})`);
      } else if (outcome.ok) {
        res.passed++;
        log(`ok   ${label}: ${c.name} (${outcome.detail}; ${took} ms${note})`);
      } else {
        res.failed++;
        const msg = outcome.error instanceof AssertionError ? outcome.error.message : (outcome.error.stack || String(outcome.error));
        log(`FAIL ${label}: ${c.name}\n    ${msg.split('\n').join('\n    ')}`);
        try {
          await stack.stats();
        } catch {
          log(`    (the stack stopped answering; logs:)\n    ${stack.logs().split('\n').join('\n    ')}`);
          await stack.stop().catch(() => {});
          try {
            stack = await startStack({ front, heartbeat, daemonArgs: ['--log-level', 'debug', '--displays', displays] });
          } catch (err) {
            log(`    restart failed: ${err.message}`);
            stack = null;
          }
        }
      }
      if (!stack) break;
    }
    if (stack) await stack.stop().catch(() => {});
    fs.rmSync(work, { recursive: true, force: true });
  }
  return res;
}

// ---------------------------------------------------------------------------------------------
// Standalone

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const o = { fronts: ['nginx', 'lighttpd'], heartbeat: 1, only: null };
  const argv = process.argv.slice(2);
  const usage = (m) => {
    if (m) console.error(m);
    console.error('usage: liveness.mjs [--fronts nginx,lighttpd,apache,caddy,h2o] [--heartbeat S] [--only TEXT]');
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const val = () => (i + 1 < argv.length ? argv[++i] : usage());
    if (argv[i] === '--fronts') o.fronts = val().split(',').filter(Boolean);
    else if (argv[i] === '--heartbeat') o.heartbeat = Number(val());
    else if (argv[i] === '--only') o.only = val();
    else usage(`unknown argument ${argv[i]}`);
  }
  for (const f of o.fronts) if (!['nginx', 'lighttpd', 'apache', 'caddy', 'h2o'].includes(f)) usage(`unknown front ${f}`);
  if (!(o.heartbeat > 0)) usage('--heartbeat must be a positive number of seconds');
  const r = await runLiveness(o);
  console.log('\nMeasured (ms, from the last recorded ack):');
  for (const [f, m] of Object.entries(r.measured)) {
    console.log(`  ${f.padEnd(10)}${Object.entries(m).map(([k, v]) => `${k} ${Math.round(v)}`).join(', ') || '-'}`);
  }
  if (r.skipped) console.log(`${r.skipped} skipped`);
  console.log(`${r.passed} passed, ${r.failed} failed`);
  process.exit(r.failed ? 1 : 0);
}
