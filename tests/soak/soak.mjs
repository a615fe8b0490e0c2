#!/usr/bin/env node
// The soak run: thousands of streams connecting, aborting (RST/FIN), disconnecting and
// being published to at random for a bounded time, with the web server restarted twice; then the
// end state is checked.  Node 20, built-in modules only; tests/soak/run-soak (and `make soak`) run it.
//
//   node tests/soak/soak.mjs [--seconds N] [--front nginx|lighttpd] [--stable N] [--churn N]
//        [--rate N] [--heartbeat S] [--warmup S] [--rss-slack-mib N] [--seed N] [--sanitized]
//
// Clients (all on 127.0.0.1, through the web server, raw sockets so they can end with a RST):
//   stable  --stable streams (half admin, half displays s0..sN) that connect after the warm-up and
//           stay to the end.  When a web server restart cuts them they reconnect after a random
//           0.3-3 s with the last id they saw (half with the Last-Event-ID header, half with
//           ?lastEventId=), and must get every event published to them, in order, exactly once.
//   churn   a population of --churn streams (half admin, half displays c<n>) that live 0.5-15 s and
//           leave by a RST (30 %), a FIN (30 %), POST /disconnect (22 %), DELETE /connections/<id>
//           (10 %), or a RST right after the request, maybe before the stream exists (8 %).
//   publisher  --rate events a second, one request at a time, targets at random: all, admin,
//           admin of user admin, every display, one display (stable or churn).
// Timeline: start the stack; warm-up (--warmup s of churn and publishing, and enough events to
// fill the --history ring); everything leaves; baseline fds and RSS of the responder; stable
// clients connect; --seconds of load in three phases separated by two web server restarts; then
// everything leaves and the end state is checked.
//
// Checks, one line each in the summary, then "N passed, N failed"; exit 1 if any failed:
//   every stable client got every event published to it in each phase, in order, no duplicates,
//   no `reset`; every stable client reconnected after each restart; churn clients got no event
//   meant for someone else, none twice or out of order, none from before they connected, and
//   every one published to them at least 2 s before they left; disconnect and admin close ended
//   their streams with `closed`; no stream refused or ended by the server outside a restart; stats
//   equal the clients' own count before each restart and at the end; stats reach 0 within 2
//   heartbeats (+1 s) of the last client leaving; responder fds back to baseline (+-2) and RSS
//   within 10 % + --rss-slack-mib of it (plain builds; under ASan its quarantine keeps freed
//   memory on purpose, so RSS is reported only and LeakSanitizer at exit does the job);
//   /metrics consistent with itself, with stats and with what the clients did; /health answers;
//   SIGTERM exits 0; no sanitizer report in the responder's stderr.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';

const o = parseArgs(process.argv.slice(2));
if (o.bin) process.env.SSE_FCGI_BIN = path.resolve(o.bin);
process.env.SSE_FCGI_KEEP_TMP = '1'; // the daemon's log is read after stop(); removed below
const { startStack, sleep, now, httpRequest } = await import('../harness/stack.mjs');

function parseArgs(argv) {
  const a = {
    seconds: Number(process.env.SOAK_SECONDS || 600), front: 'nginx', stable: 1000, churn: 1500, rate: 10,
    heartbeat: 1, warmup: 15, rssSlackMiB: 4, seed: Date.now() % 1e9, sanitized: false, bin: null, keep: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const val = () => { if (i + 1 >= argv.length) usage(`${k} needs a value`); return argv[++i]; };
    const num = () => { const v = Number(val()); if (!Number.isFinite(v) || v < 0) usage(`${k}: a number`); return v; };
    if (k === '--seconds') a.seconds = num();
    else if (k === '--front') a.front = val();
    else if (k === '--stable') a.stable = num();
    else if (k === '--churn') a.churn = num();
    else if (k === '--rate') a.rate = num();
    else if (k === '--heartbeat') a.heartbeat = num();
    else if (k === '--warmup') a.warmup = num();
    else if (k === '--rss-slack-mib') a.rssSlackMiB = num();
    else if (k === '--seed') a.seed = num();
    else if (k === '--sanitized') a.sanitized = true;
    else if (k === '--bin') a.bin = val();
    else if (k === '--keep') a.keep = true;
    else usage(`unknown option ${k}`);
  }
  if (!['nginx', 'lighttpd'].includes(a.front)) usage('--front nginx or lighttpd');
  if (a.rate <= 0 || a.heartbeat <= 0) usage('--rate and --heartbeat must be > 0');
  // What the shipped configurations carry on a machine with a hard limit of 20,000 open files
  // (contrib/common.sh, sse_front_sizing): nginx the responder's 10,000 streams; lighttpd some
  // 7,900, the limit run-local gives the responder behind it.
  const cap = a.front === 'nginx' ? 9500 : 7500;
  if (a.stable + a.churn > cap) usage(`--stable + --churn above ${cap}: more than the shipped ${a.front} config carries`);
  return a;
}

function usage(msg) {
  if (msg) console.error(`soak: ${msg}`);
  console.error('usage: soak.mjs [--seconds N] [--front nginx|lighttpd] [--stable N] [--churn N] [--rate N] [--heartbeat S]\n' +
    '                [--warmup S] [--rss-slack-mib N] [--seed N] [--sanitized] [--bin PATH] [--keep]');
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Small helpers

let seed = o.seed >>> 0;
const rnd = () => { // mulberry32: a run can be repeated with --seed
  seed = (seed + 0x6D2B79F5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const between = (lo, hi) => lo + rnd() * (hi - lo);
const pick = (weights) => { // { name: weight } -> name
  let x = rnd() * Object.values(weights).reduce((s, w) => s + w, 0);
  for (const [k, w] of Object.entries(weights)) if ((x -= w) < 0) return k;
  return Object.keys(weights)[0];
};
const t0 = now();
const secs = () => ((now() - t0) / 1000).toFixed(1);
const log = (...m) => console.log(`[${secs().padStart(6)}s]`, ...m);
const MiB = (kb) => (kb / 1024).toFixed(1);

function procStatus(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const get = (k) => Number((new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s) || [])[1]);
    return { rssKiB: get('VmRSS'), threads: get('Threads'), fds: fs.readdirSync(`/proc/${pid}/fd`).length };
  } catch { return null; }
}

// ---------------------------------------------------------------------------------------------
// Run state

const HB = o.heartbeat * 1000;
const failures = [];            // free-form failure notes, shown (the first ones) under the checks
const noteFail = (what) => { if (failures.length < 2000) failures.push(what); };
const pubs = [];                // k -> { k, id, target, display, user, tSent, tAns, phase, stable }
let kOffset = null;             // event id - k, the same for every event (one publisher)
let idMismatch = 0;
let inflightPub = null;
let phase = 0;                  // 0 warm-up, 1..3 the load phases
let epoch = 0;                  // web server generation: a stream of an older epoch was cut by a restart
let paused = true;              // publisher and churn paused
let stopping = false;
let kRunStart = Infinity;       // first k of the load phases
const P = () => ps[phase];
const ps = [0, 1, 2, 3].map((n) => ({
  name: n === 0 ? 'warm-up' : `phase ${n}`, start: null, end: null,
  connects: 0, ok200: 0, refused: {}, connErr: 0, rst: 0, fin: 0, disconnect: 0, adminClose: 0, early: 0,
  cut: 0, unexpectedEnd: 0, publishes: 0, pubErr: 0, delivered: 0,
  stableExpected: 0, stableGot: 0, stableMissing: 0, stableDupOrder: 0, replayed: 0,
}));
const totals = { disconnectTrue: 0, adminCloseTrue: 0, streams200: 0, attempts: 0, resets: 0, crossTalk: 0,
  churnMissing: 0, churnOrder: 0, churnStale: 0, churnChecked: 0, farewellMissing: 0, notEnded: 0, stableUnexpectedEnd: 0,
  unknownEvents: 0, restartReconnect: [], reconnectRetries: 0, noAnswer: 0 };
let live = new Set();           // Stream objects with a 200 that have not ended
let pending = new Set();        // Stream objects without an answer yet
let busy = 0;                   // short requests of clients in flight (disconnect, delete)
let maxLag = 0;
let st;                         // the stack

// Event-loop lag: a stalled driver could miss its own deadlines; reported.
{
  let last = now();
  setInterval(() => { const t = now(); maxLag = Math.max(maxLag, t - last - 100); last = t; }, 100).unref();
}

// ---------------------------------------------------------------------------------------------
// One EventSource connection on a raw socket: HTTP/1.1, chunked, a lean SSE parser.

class Stream {
  constructor(owner, urlPath, headers) {
    this.owner = owner;
    this.epoch = epoch;
    this.phase = phase;
    this.status = null;
    this.ks = [];               // k of every soak event received, in order
    this.ended = false;
    this.by = null;             // who ended it: 'server' | 'rst' | 'fin' | ...
    this.farewell = null;
    this.lastId = null;
    this._hdr = Buffer.alloc(0);
    this._pending = null;
    this._chunked = false;
    this._left = 0;
    this._crlf = 0;
    this._dec = new StringDecoder('utf8');
    this._text = '';
    this._ev = { event: '', data: '', id: null };
    this.tReq = now();
    totals.attempts++;
    P().connects++;
    pending.add(this);
    const sock = this.sock = net.createConnection({ host: '127.0.0.1', port: st.port });
    sock.setNoDelay(true);
    let req = `GET ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1:${st.port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n`;
    for (const [k, v] of Object.entries(headers)) req += `${k}: ${v}\r\n`;
    sock.on('connect', () => { this.connected = true; owner.onSocket?.(this); });
    sock.write(`${req}\r\n`);
    sock.on('data', (b) => this._data(b));
    sock.on('error', (e) => { this.error = e.code || e.message; });
    sock.on('close', () => this._end('server'));
  }

  _end(by) {
    if (this.ended) return;
    this.ended = true;
    this.by = this.by || by;
    this.tEnd = now();
    pending.delete(this);
    live.delete(this);
    if (!this.sock.destroyed) this.sock.destroy();
    this.owner.onEnd(this);
  }

  /** The client leaves: 'rst' or 'fin'. */
  leave(how) {
    if (this.ended) return;
    this.by = how;
    this.tLeave = now();
    live.delete(this);
    if (how === 'rst') {
      if (this.connected) this.sock.resetAndDestroy(); else this.sock.destroy();
    } else {
      this.sock.end();
      setTimeout(() => this._end(how), 3000).unref(); // the server closes first, normally
    }
  }

  _data(b) {
    if (this.status === null) {
      this._hdr = this._hdr.length ? Buffer.concat([this._hdr, b]) : b;
      const i = this._hdr.indexOf('\r\n\r\n');
      if (i < 0) return;
      const head = this._hdr.subarray(0, i).toString('latin1');
      const rest = this._hdr.subarray(i + 4);
      this._hdr = null;
      this.status = Number(head.split(' ')[1]);
      this._chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
      this.sse = /\r\ncontent-type:\s*text\/event-stream/i.test(head);
      pending.delete(this);
      this.tHeaders = now();
      if (this.status === 200 && this.sse) {
        totals.streams200++;
        P().ok200++;
        if (!this.by) live.add(this);
      }
      this.owner.onStatus(this);
      if (this.status !== 200 || !this.sse) { this._end('refused'); return; }
      if (rest.length) this._body(rest);
      return;
    }
    this._body(b);
  }

  _body(b) {
    if (this.status !== 200 || !this.sse) return;
    if (!this._chunked) return this._payload(b);
    if (this._pending) { b = Buffer.concat([this._pending, b]); this._pending = null; }
    let i = 0;
    while (i < b.length) {
      if (this._left > 0) {
        const n = Math.min(this._left, b.length - i);
        this._payload(b.subarray(i, i + n));
        i += n;
        this._left -= n;
        if (this._left === 0) this._crlf = 2;
      } else if (this._crlf > 0) {
        i++;
        this._crlf--;
      } else {
        const j = b.indexOf(10, i);
        if (j < 0) { this._pending = b.subarray(i); return; }
        const size = parseInt(b.toString('latin1', i, j), 16);
        i = j + 1;
        if (size === 0) { this._end('server'); return; } // the last chunk: the response is over
        this._left = size;
      }
    }
  }

  _payload(b) {
    this._text += this._dec.write(b);
    let nl;
    while ((nl = this._text.indexOf('\n')) >= 0) {
      let line = this._text.slice(0, nl);
      this._text = this._text.slice(nl + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      this._line(line);
    }
  }

  _line(line) {
    const ev = this._ev;
    if (line === '') {
      if (ev.event || ev.data) this._event(ev.event || 'message', ev.data, ev.id);
      this._ev = { event: '', data: '', id: null };
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ':' comment
    const c = line.indexOf(':');
    const f = c < 0 ? line : line.slice(0, c);
    let v = c < 0 ? '' : line.slice(c + 1);
    if (v.charCodeAt(0) === 32) v = v.slice(1);
    if (f === 'event') ev.event = v;
    else if (f === 'data') ev.data = ev.data ? `${ev.data}\n${v}` : v;
    else if (f === 'id') ev.id = v;
  }

  _event(name, data, id) {
    if (id !== null) this.lastId = id;
    if (name === 'soak') {
      const m = /"k":(\d+)/.exec(data);
      if (!m) { totals.unknownEvents++; return; }
      const k = Number(m[1]);
      if (kOffset !== null && id !== null && Number(id) - k !== kOffset) idMismatch++;
      this.ks.push(k);
      P().delivered++;
      this.owner.onSoak?.(this, k);
    } else if (name === 'connected') {
      try {
        const j = JSON.parse(data);
        this.token = j.connection_id;
        this.publicId = j.public_id;
      } catch { /* counted below */ }
      this.tConnected = now();
      this.owner.onConnected(this);
    } else if (name === 'ping') {
      // nothing: liveness is the server's business here
    } else if (name === 'reset') {
      this.reset = true;
      totals.resets++;
      noteFail(`${this.owner.label}: event reset (history exceeded?)`);
    } else if (name === 'closed' || name === 'superseded' || name === 'shutdown') {
      let reason = name;
      try { reason = JSON.parse(data).reason || name; } catch { /* keep the name */ }
      this.farewell = reason;
    } else {
      totals.unknownEvents++;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Who gets what

const matches = (pub, kind, name) => {
  if (pub.target === 'all') return true;
  if (pub.target === 'admin') return kind === 'admin' && (!pub.user || pub.user === st.user);
  return kind === 'display' && (!pub.display || pub.display === name);
};

const streamPath = (kind, name, query = '') => (kind === 'admin' ? `${st.prefix}/admin` : `${st.prefix}/display/${name}`) + query;
const authFor = (kind) => (kind === 'admin' ? { Authorization: st.authHeader } : {});

// ---------------------------------------------------------------------------------------------
// Stable clients: connect once, stay, reconnect with the last id after a restart.

class StableClient {
  constructor(i) {
    this.i = i;
    this.kind = i % 2 ? 'display' : 'admin';
    this.name = this.kind === 'display' ? `s${i}` : st.user;
    this.label = `stable ${this.kind} ${this.kind === 'display' ? this.name : `#${i}`}`;
    this.ks = [];
    this.conns = 0;
    this.cur = null;
    this.ready = null;
  }

  connect() {
    let q = '';
    const h = { ...authFor(this.kind) };
    if (this.lastId !== undefined && this.lastId !== null) {
      if (this.i % 4 < 2) h['Last-Event-ID'] = this.lastId; else q = `?lastEventId=${this.lastId}`;
    }
    this.tConnect = now();
    this.cur = new Stream(this, streamPath(this.kind, this.name, q), h);
    this.cur.resume = this.lastId != null;
  }

  onStatus(s) {
    if ((s.status !== 200 || !s.sse) && !(s.epoch < epoch || restarting)) {
      P().refused[s.status] = (P().refused[s.status] || 0) + 1;
      noteFail(`${this.label}: status ${s.status} outside a restart`);
    }
  }

  onConnected(s) {
    this.conns++;
    if (this.conns === 1) { this.tReady = now(); this.readyResolve?.(); }
    if (this.tCut !== null && this.tCut !== undefined) {
      totals.restartReconnect.push({ epoch, ms: now() - this.tCut });
      this.tCut = null;
    }
  }

  onSoak(s, k) {
    this.ks.push(k);
    if (s.resume && pubs[k] && pubs[k].tAns !== undefined && pubs[k].tAns < s.tReq) P().replayed++;
  }

  onEnd(s) {
    if (s.lastId !== null) this.lastId = s.lastId;
    if (s.status !== null && s.status !== 200 && s.sse !== true) { /* a refused reconnect */ }
    if (stopping) return;
    const was200 = s.status === 200 && s.sse;
    if (was200) {
      if (s.epoch < epoch || restarting) this.tCut = now(); // cut by a restart: timed until back
      else {
        totals.stableUnexpectedEnd++;
        P().unexpectedEnd++;
        noteFail(`${this.label}: stream ended by the server outside a restart (farewell ${s.farewell}, error ${s.error})`);
      }
    } else {
      totals.reconnectRetries++;
    }
    // EventSource waits `retry` (3 s) and retries; here 0.3-3 s, then every 0.5 s while it fails.
    setTimeout(() => { if (!stopping) this.connect(); }, was200 ? between(300, 3000) : 500);
  }
}

// ---------------------------------------------------------------------------------------------
// Churn clients: come, get events, leave in one of five ways.

let churnSeq = 0;
const churn = new Set();
const churnRecords = [];        // left clients waiting for their events to be checked
let restarting = false;

class ChurnClient {
  constructor() {
    this.n = churnSeq++;
    this.kind = rnd() < 0.5 ? 'admin' : 'display';
    this.name = this.kind === 'display' ? `c${this.n}` : st.user;
    this.label = `churn ${this.kind} ${this.name}#${this.n}`;
    this.how = pick({ rst: 30, fin: 30, disconnect: 22, admin_close: 10, early: 8 });
    this.life = between(500, 15000);
    churn.add(this);
    this.s = new Stream(this, streamPath(this.kind, this.name), authFor(this.kind));
  }

  onSocket(s) {
    if (this.how !== 'early') return;
    setTimeout(() => { if (!s.ended) { P().early++; s.leave('rst'); } }, between(0, 30));
  }

  onStatus(s) {
    if (s.status === 200 && s.sse) return;
    if (s.epoch < epoch || restarting) return;
    P().refused[s.status] = (P().refused[s.status] || 0) + 1;
    noteFail(`${this.label}: status ${s.status} outside a restart`);
  }

  onConnected(s) {
    if (this.how === 'early') return;
    this.timer = setTimeout(() => this.leave(), this.life);
  }

  async leave() {
    const s = this.s;
    if (s.ended || s.by) return;
    if (paused) { this.timer = setTimeout(() => this.leave(), 200); return; }
    const how = this.how;
    if (how === 'rst' || how === 'fin') {
      P()[how]++;
      s.leave(how);
      return;
    }
    // disconnect route or admin close: the server ends the stream with `closed`
    s.tLeave = now();
    s.by = how;
    live.delete(s);
    busy++;
    try {
      const r = how === 'disconnect'
        ? await st.api('disconnect', { method: 'POST', auth: false, body: { connection_id: s.token } })
        : await st.api(`connections/${s.publicId}`, { method: 'DELETE' });
      const ok = how === 'disconnect' ? r.json?.data?.disconnected === true : r.json?.data?.closed === true;
      if (ok) {
        if (how === 'disconnect') { totals.disconnectTrue++; P().disconnect++; } else { totals.adminCloseTrue++; P().adminClose++; }
      } else if (!(s.epoch < epoch || restarting || s.ended)) {
        noteFail(`${this.label}: ${how} answered ${r.status} ${r.text.slice(0, 120)}`);
      }
      if (ok) {
        const t = now();
        while (!s.ended && now() - t < 3000) await sleep(20);
        const want = how === 'disconnect' ? 'disconnect_route' : 'admin_closed';
        if (!s.ended) { totals.notEnded++; noteFail(`${this.label}: ${how}: the stream did not end within 3 s`); s.leave('rst'); }
        else if (s.farewell !== want && s.epoch === epoch) { totals.farewellMissing++; noteFail(`${this.label}: ${how}: last event ${s.farewell}, not closed/${want}`); }
      }
    } catch (e) {
      if (!(s.epoch < epoch || restarting)) noteFail(`${this.label}: ${how}: ${e.message}`);
      s.leave('rst');
    } finally {
      busy--;
    }
  }

  onEnd(s) {
    clearTimeout(this.timer);
    churn.delete(this);
    const cut = s.epoch < epoch || (restarting && !s.by);
    if (s.status === 200 && !s.by) {
      if (cut) P().cut++;
      else { P().unexpectedEnd++; noteFail(`${this.label}: ended by the server (farewell ${s.farewell}, error ${s.error})`); }
    }
    if (s.status === null && !s.by && !cut && !stopping) { P().connErr++; noteFail(`${this.label}: no answer (${s.error})`); }
    if (s.tConnected !== undefined) {
      churnRecords.push({ label: this.label, kind: this.kind, name: this.name, tReq: s.tReq, tConn: s.tConnected,
        tLeave: s.tLeave ?? s.tEnd, ks: s.ks });
    }
  }
}

/** Tops the churn population up, at most 100 new streams a call (every 50 ms: 2,000/s). */
function spawnChurn() {
  for (let i = 0; i < 100 && churn.size < o.churn && !paused && !stopping; i++) new ChurnClient();
}
setInterval(spawnChurn, 50).unref();

/** Check the events of churn clients that left, once every publish sent before they left answered. */
function checkChurnRecords(all = false) {
  const keep = [];
  for (const r of churnRecords) {
    if (!all && (now() - r.tLeave < 3000 || (inflightPub && inflightPub.tSent < r.tLeave))) { keep.push(r); continue; }
    totals.churnChecked++;
    let prev = -1;
    const got = new Set();
    for (const k of r.ks) {
      if (k <= prev) { totals.churnOrder++; noteFail(`${r.label}: event k=${k} after k=${prev} (duplicate or out of order)`); }
      prev = k;
      got.add(k);
      const p = pubs[k];
      if (!p || !matches(p, r.kind, r.name)) { totals.crossTalk++; noteFail(`${r.label}: got k=${k} meant for ${p ? `${p.target} ${p.display || p.user || ''}` : 'nobody known'}`); }
      else if (p.tAns < r.tReq) { totals.churnStale++; noteFail(`${r.label}: got k=${k}, published before it asked to connect`); }
    }
    // Published (sent) after it saw `connected`, answered at least 2 s before it left: must be there.
    for (let k = firstSentAfter(r.tConn); k < pubs.length && pubs[k].tSent < r.tLeave; k++) {
      const p = pubs[k];
      if (p.failed || p.tAns === undefined || p.tAns > r.tLeave - 2000 || !matches(p, r.kind, r.name)) continue;
      if (!got.has(k)) { totals.churnMissing++; noteFail(`${r.label}: missed k=${k} published ${((r.tLeave - p.tAns) / 1000).toFixed(1)} s before it left`); }
    }
  }
  churnRecords.length = 0;
  churnRecords.push(...keep);
}

function firstSentAfter(t) {
  let lo = 0, hi = pubs.length;
  while (lo < hi) { const m = (lo + hi) >> 1; if (pubs[m].tSent <= t) lo = m + 1; else hi = m; }
  return lo;
}

// ---------------------------------------------------------------------------------------------
// The publisher: one request at a time, --rate a second.

let stableDisplays = [];
let pubLoopDone = null;

async function publishOne(body, meta) {
  const k = pubs.length;
  const p = { k, ...meta, tSent: now(), phase, stable: meta.stable ?? false };
  pubs.push(p);
  inflightPub = p;
  body.data.k = k;
  try {
    const r = await st.api('publish', { method: 'POST', body });
    if (r.status !== 200 || !r.json?.data?.id) throw new Error(`publish: ${r.status} ${r.text.slice(0, 120)}`);
    p.id = Number(r.json.data.id);
    p.notified = r.json.data.connections_notified;
    if (kOffset === null) kOffset = p.id - k;
    else if (p.id - k !== kOffset) { idMismatch++; noteFail(`publish k=${k}: id ${p.id}, expected ${k + kOffset} (an event published twice or lost?)`); kOffset = p.id - k; }
    P().publishes++;
  } catch (e) {
    P().pubErr++;
    p.failed = true;
    noteFail(`publish k=${k}: ${e.message}`);
  } finally {
    p.tAns = now();
    inflightPub = null;
  }
  return p;
}

function randomPublish() {
  const target = pick({ all: 15, admin: 20, adminUser: 5, displays: 15, display: 45 });
  const meta = { target: target === 'adminUser' ? 'admin' : target === 'displays' || target === 'display' ? 'display' : target };
  const body = { event: 'soak', target: meta.target, data: { pad: 'x'.repeat(Math.floor(between(0, 120))) } };
  if (target === 'adminUser') body.user = meta.user = st.user;
  if (target === 'display') {
    const churnDisplays = [...churn].filter((c) => c.kind === 'display');
    const name = rnd() < 0.7 || !churnDisplays.length
      ? stableDisplays[Math.floor(rnd() * stableDisplays.length)] || 'nobody'
      : churnDisplays[Math.floor(rnd() * churnDisplays.length)].name;
    body.display = meta.display = name;
  }
  return publishOne(body, meta);
}

function startPublisher() {
  pubLoopDone = (async () => {
    const every = 1000 / o.rate;
    let next = now();
    while (!stopping) {
      if (paused) { await sleep(20); next = now(); continue; }
      await randomPublish();
      next += every;
      const wait = next - now();
      if (wait > 0) await sleep(wait); else next = now();
    }
  })();
}

// ---------------------------------------------------------------------------------------------
// Quiet points: stats against the clients' own count.

async function quiesce() {
  paused = true;
  const t = now();
  while ((inflightPub || busy > 0 || pending.size > 0) && now() - t < NO_ANSWER_MS + 1000) await sleep(20);
  sweepUnanswered(0);
  await sleep(Math.min(HB, 1000)); // RST/FIN just sent reach the responder
}

/** Stream requests without an answer for `ms`: counted, noted, and given up (RST). */
const NO_ANSWER_MS = 10000;
function sweepUnanswered(ms = NO_ANSWER_MS) {
  for (const s of [...pending]) {
    if (now() - s.tReq < ms || !s.connected) continue;
    if (now() - s.tReq >= NO_ANSWER_MS && s.epoch === epoch && !s.by) {
      totals.noAnswer++;
      noteFail(`${s.owner.label}: no answer to the stream request after ${Math.round(now() - s.tReq)} ms`);
    }
    s.leave('rst');
  }
}

/** Stats must equal the streams the clients hold, within 3 heartbeats. */
async function registryCheck(what) {
  const want = () => {
    let admin = 0, display = 0;
    for (const s of live) if (s.tConnected !== undefined && !s.by) (s.owner.kind === 'admin' ? admin++ : display++);
    return { admin, display };
  };
  const t = now();
  let last;
  for (;;) {
    const w = want();
    try {
      const d = await st.stats();
      last = { total: d.total_connections, admin: d.admin_connections, display: d.display_connections, want: w };
      if (d.total_connections === w.admin + w.display && d.admin_connections === w.admin && d.display_connections === w.display) {
        return check(`registry = clients ${what}`, true, `${w.admin + w.display} streams (${w.admin} admin, ${w.display} display), matched after ${Math.round(now() - t)} ms`);
      }
    } catch (e) { last = { error: e.message }; }
    if (now() - t > 3 * HB + 2000) {
      return check(`registry = clients ${what}`, false, `stats ${JSON.stringify(last)} after ${Math.round(now() - t)} ms`);
    }
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------
// Checks and the summary

const checks = [];
function check(name, ok, detail = '', { info = false } = {}) {
  checks.push({ name, ok: info ? null : !!ok, detail });
  log(`${info ? 'INFO' : ok ? 'PASS' : 'FAIL'}  ${name}${detail ? `: ${detail}` : ''}`);
  return ok;
}

async function waitFor(fn, ms, every = 50, from = now()) {
  while (now() - from < ms) {
    try { if (await fn()) return now() - from; } catch { /* not yet */ }
    await sleep(every);
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Main

const sanitizerRe = /ERROR: (AddressSanitizer|LeakSanitizer|ThreadSanitizer)|runtime error:|SUMMARY: (Address|Undefined|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer/;
let exitCode = 1;
let stackDir = null;
const bounded = setTimeout(() => { console.error('soak: over its time bound; giving up'); process.exit(1); }, (o.seconds + o.warmup + 300) * 1000);
bounded.unref();

try {
  log(`sse-fcgi soak: ${o.front}, ${o.seconds} s of load after a ${o.warmup} s warm-up, ${o.stable} stable + ${o.churn} churn streams, ` +
    `${o.rate} publishes/s, heartbeat ${o.heartbeat} s, seed ${o.seed}, ${o.sanitized ? 'ASan+UBSan build' : 'plain build'}`);
  st = await startStack({
    front: o.front, heartbeat: o.heartbeat,
    daemonArgs: ['--max-streams-per-address', '0', '--max-streams-per-user', '0', '--max-connections', '10000',
      '--history', '1000', '--history-age', '300'],
  });
  stackDir = st.dir;
  const pid = st.responderPid();
  log(`stack up in ${st.dir}: ${st.baseUrl}, responder pid ${pid} (${process.env.SSE_FCGI_BIN || 'src/sse-fcgi'})`);
  const fresh = procStatus(pid);
  let peak = { ...fresh };
  let died = null;
  const sampler = setInterval(() => {
    const s = procStatus(pid);
    if (s) for (const k of Object.keys(s)) peak[k] = Math.max(peak[k], s[k]);
    else if (!died) { died = now(); log(`the responder (pid ${pid}) is gone`); }
  }, 1000);
  sampler.unref();
  const progress = setInterval(() => {
    const p = P();
    log(`${p.name}: ${live.size} streams live, ${p.connects} connects, ${p.publishes} publishes, ${p.delivered} deliveries, ` +
      `responder ${(procStatus(pid) || {}).fds} fds ${MiB((procStatus(pid) || {}).rssKiB || 0)} MiB; lag max ${Math.round(maxLag)} ms`);
  }, 15000);
  progress.unref();
  const churnTimer = setInterval(() => { checkChurnRecords(); sweepUnanswered(); }, 2000);
  churnTimer.unref();

  // --- warm-up: churn and publishing, and the history ring filled
  ps[0].start = now();
  startPublisher();
  paused = false;
  spawnChurn();
  await sleep(o.warmup * 1000 / 2);
  paused = true;
  while (inflightPub) await sleep(10);
  for (let i = 0; i < 1000; i++) { // nobody gets these: they fill --history 1000 as the run will
    await publishOne({ event: 'soak', target: 'display', display: 'nobody', data: { pad: 'x'.repeat(60) } }, { target: 'display', display: 'nobody' });
  }
  paused = false;
  spawnChurn();
  await sleep(o.warmup * 1000 / 2);
  if (died) throw new Error(`the responder (pid ${pid}) died during the warm-up`);
  await quiesce();
  for (const c of [...churn]) { clearTimeout(c.timer); c.s.leave(rnd() < 0.5 ? 'rst' : 'fin'); }
  await waitFor(() => churn.size === 0, 10000);
  ps[0].end = now();
  checkChurnRecords(true);
  const zero0 = await waitFor(async () => (await st.stats()).total_connections === 0, 3 * HB + 5000);
  await sleep(2 * HB + 500);
  const base = procStatus(pid);
  if (!base) throw new Error(`the responder (pid ${pid}) died during the warm-up`);
  check('warm-up: baseline', zero0 !== null, `${ps[0].connects} streams came and went, ${ps[0].publishes} events; stats 0 after ${zero0 === null ? '-' : Math.round(zero0)} ms; ` +
    `responder ${base.fds} fds, ${MiB(base.rssKiB)} MiB RSS, ${base.threads} threads (fresh: ${fresh.fds} fds, ${MiB(fresh.rssKiB)} MiB)`);

  // --- the stable clients
  phase = 1;
  ps[1].start = now();
  const stableClients = [];
  for (let i = 0; i < o.stable; i++) stableClients.push(new StableClient(i));
  stableDisplays = stableClients.filter((c) => c.kind === 'display').map((c) => c.name);
  const readyAll = Promise.all(stableClients.map((c) => new Promise((r) => { c.readyResolve = r; })));
  for (let i = 0; i < stableClients.length; i += 50) {
    for (const c of stableClients.slice(i, i + 50)) c.connect();
    await sleep(20);
  }
  const readyMs = await Promise.race([readyAll.then(() => now() - ps[1].start), sleep(30000).then(() => null)]);
  check('stable clients connected', readyMs !== null, readyMs === null ? `${stableClients.filter((c) => !c.tReady).length} not connected within 30 s` : `${o.stable} in ${Math.round(readyMs)} ms`);
  // The first event goes to everyone, so every stable client has an id to resume from.
  kRunStart = pubs.length;
  await publishOne({ event: 'soak', target: 'all', data: { first: true } }, { target: 'all' });
  paused = false;
  spawnChurn();

  // --- three phases, two restarts
  const phaseMs = o.seconds * 1000 / 3;
  for (let n = 1; n <= 3; n++) {
    const until = ps[n].start + phaseMs;
    while (now() < until) {
      if (died) throw new Error(`the responder (pid ${pid}) died during ${P().name}`);
      await sleep(100);
    }
    await quiesce();
    // Let the last events reach everyone before counting.
    const need = stableClients.map((c) => lastEventFor(c, pubs.length - 1));
    await waitFor(() => stableClients.every((c, i) => need[i] < 0 || (c.ks.length && c.ks[c.ks.length - 1] >= need[i])), 10000);
    await registryCheck(n < 3 ? `before restart ${n}` : 'at the end');
    ps[n].end = now();
    if (n === 3) break;
    // Every churn stream is cut by the restart; the stable ones reconnect with their last id.
    epoch++;
    restarting = true;
    const before = totals.restartReconnect.length;
    const r = await st.restartFront();
    restarting = false;
    phase = n + 1;
    ps[phase].start = now();
    log(`${o.front} restarted in ${Math.round(r.ms)} ms`);
    paused = false;
    spawnChurn();
    const back = await waitFor(() => totals.restartReconnect.length - before >= o.stable, 15000, 100);
    const rec = totals.restartReconnect.slice(before).map((x) => x.ms).sort((a, b) => a - b);
    check(`restart ${n}: stable clients reconnected`, back !== null,
      `${rec.length}/${o.stable} with their last id, in ${rec.length ? Math.round(rec[0]) : '-'}..${rec.length ? Math.round(rec[rec.length - 1]) : '-'} ms after the cut (${o.front} restart ${Math.round(r.ms)} ms)`);
  }
  clearInterval(progress);

  // --- delivery to the stable clients, per phase
  const perPhase = {};
  for (const c of stableClients) {
    const got = new Set();
    let prev = -1;
    for (const k of c.ks) {
      const p = pubs[k];
      const ph = p ? p.phase : 3;
      perPhase[ph] = perPhase[ph] || { exp: 0, got: 0, missing: 0, dup: 0, clients: new Set() };
      if (k <= prev || got.has(k)) { perPhase[ph].dup++; ps[ph].stableDupOrder++; noteFail(`${c.label}: k=${k} after k=${prev} (duplicate or out of order)`); }
      if (!p || !matches(p, c.kind, c.name) || k < kRunStart) { totals.crossTalk++; noteFail(`${c.label}: got k=${k} not meant for it`); }
      prev = Math.max(prev, k);
      got.add(k);
    }
    for (let k = kRunStart; k < pubs.length; k++) {
      const p = pubs[k];
      if (p.failed || !matches(p, c.kind, c.name)) continue;
      const pp = perPhase[p.phase] = perPhase[p.phase] || { exp: 0, got: 0, missing: 0, dup: 0, clients: new Set() };
      pp.exp++;
      ps[p.phase].stableExpected++;
      if (got.has(k)) { pp.got++; ps[p.phase].stableGot++; } else {
        pp.missing++; ps[p.phase].stableMissing++; pp.clients.add(c.label);
        noteFail(`${c.label}: missed k=${k} (${p.target}${p.display ? ` ${p.display}` : ''}, phase ${p.phase})`);
      }
    }
  }
  for (let n = 1; n <= 3; n++) {
    const pp = perPhase[n] || { exp: 0, got: 0, missing: 0, dup: 0, clients: new Set() };
    check(`phase ${n}: every stable client got every event, in order, once`, pp.missing === 0 && pp.dup === 0 && pp.exp > 0,
      `${pp.got}/${pp.exp} deliveries to ${o.stable} clients, ${pp.missing} missing (${pp.clients.size} clients), ${pp.dup} duplicate/out of order` +
      (n > 1 ? `, ${ps[n].replayed} replayed after restart ${n - 1}` : ''));
  }
  check('no reset, event ids = publish answers', totals.resets === 0 && idMismatch === 0 && totals.unknownEvents === 0,
    `${totals.resets} reset events, ${idMismatch} id mismatches, ${totals.unknownEvents} unknown events`);
  check('stable streams never ended outside a restart', totals.stableUnexpectedEnd === 0, `${totals.stableUnexpectedEnd} ended`);

  // --- everyone leaves
  stopping = true;
  const ends = { rst: 0, fin: 0, disconnect: 0 };
  const leaving = [];
  for (const c of [...churn]) { clearTimeout(c.timer); c.how = 'rst'; }
  for (const s of [...live, ...pending]) {
    const how = pick({ rst: 40, fin: 40, disconnect: 20 });
    ends[how]++;
    if (how === 'disconnect' && s.token) {
      s.by = 'disconnect';
      live.delete(s);
      leaving.push(st.api('disconnect', { method: 'POST', auth: false, body: { connection_id: s.token } })
        .then((r) => { if (r.json?.data?.disconnected === true) totals.disconnectTrue++; else noteFail(`final disconnect: ${r.status} ${r.text.slice(0, 100)}`); })
        .catch((e) => noteFail(`final disconnect: ${e.message}`)));
    } else {
      s.leave(how === 'disconnect' ? 'rst' : how);
    }
  }
  await Promise.all(leaving);
  const tLastLeft = now(); // the last RST/FIN sent, the last disconnect answered
  const zeroMs = await waitFor(async () => (await st.stats()).total_connections === 0, 2 * HB + 1000 + 5000, 50, tLastLeft);
  const allGone = await waitFor(() => live.size === 0 && pending.size === 0 &&
    stableClients.every((c) => !c.cur || c.cur.ended) && churn.size === 0, 10000, 20);
  if (allGone === null) noteFail('clients: some streams did not end within 10 s of leaving');
  checkChurnRecords(true);
  const zeroOk = zeroMs !== null && zeroMs <= 2 * HB + 1000;
  check('stats total 0 after the last client left', zeroOk,
    `${zeroMs === null ? 'not 0 within ' + (2 * HB + 6000) + ' ms' : `${Math.round(zeroMs)} ms`} (bound 2 heartbeats + 1 s = ${2 * HB + 1000} ms; ` +
    `${ends.rst} RST, ${ends.fin} FIN, ${ends.disconnect} disconnect)`);

  // --- churn, over the whole run
  const sum = (f) => ps.slice(1).reduce((s, p) => s + f(p), 0);
  check('churn: right events, in order, none missed', totals.crossTalk === 0 && totals.churnOrder === 0 && totals.churnMissing === 0 && totals.churnStale === 0,
    `${totals.churnChecked} clients checked: ${totals.crossTalk} events meant for others, ${totals.churnOrder} duplicate/out of order, ` +
    `${totals.churnMissing} missed (published >= 2 s before leaving), ${totals.churnStale} from before connecting`);
  check('churn: disconnect and admin close end the stream with `closed`', totals.farewellMissing === 0 && totals.notEnded === 0,
    `${sum((p) => p.disconnect)} disconnects, ${sum((p) => p.adminClose)} admin closes; ${totals.farewellMissing} without the farewell, ${totals.notEnded} not ended in 3 s`);
  const refused = ps.reduce((s, p) => s + Object.values(p.refused).reduce((a, b) => a + b, 0), 0);
  const all = (f) => ps.reduce((s, p) => s + f(p), 0);
  check('every stream request answered, none refused, none ended by the server (outside restarts)',
    refused === 0 && all((p) => p.unexpectedEnd) === 0 && all((p) => p.connErr) === 0 && totals.noAnswer === 0,
    `${totals.noAnswer} without an answer in ${NO_ANSWER_MS / 1000} s, ${refused} refused ${JSON.stringify(Object.assign({}, ...ps.map((p) => p.refused)))}, ` +
    `${all((p) => p.unexpectedEnd)} ended by the server (${ps.map((p) => p.unexpectedEnd).join('/')} by phase), ${all((p) => p.connErr)} connect errors`);

  // --- resources
  await sleep(2 * HB + 500);
  if (died) throw new Error(`the responder (pid ${pid}) died after the load (${Math.round((died - t0) / 1000)} s into the run)`);
  const end = procStatus(pid);
  check('responder fds back to baseline (+-2)', Math.abs(end.fds - base.fds) <= 2,
    `baseline ${base.fds}, peak ${peak.fds}, end ${end.fds}`);
  const rssLimit = base.rssKiB * 1.10 + o.rssSlackMiB * 1024;
  check(`responder RSS within 10 % + ${o.rssSlackMiB} MiB of baseline`, o.sanitized || end.rssKiB <= rssLimit,
    `baseline ${MiB(base.rssKiB)} MiB, peak ${MiB(peak.rssKiB)} MiB, end ${MiB(end.rssKiB)} MiB (limit ${MiB(rssLimit)} MiB)` +
    (o.sanitized ? '; ASan build: quarantine keeps freed memory, reported only (LeakSanitizer checks at exit)' : ''),
    { info: o.sanitized });
  check('responder threads', true, `fresh ${fresh.threads}, baseline ${base.threads}, peak ${peak.threads}, end ${end.threads}`, { info: true });

  // --- metrics and stats agree with each other and with the clients
  const M = await st.metrics();
  const sr = await st.stats();
  const opened = M.get('sse_streams_opened_total');
  const closedSum = M.sum('sse_connections_closed_total{');
  const byReason = (r) => M.get(`sse_connections_closed_total{reason="${r}"}`);
  const gauges = M.sum('sse_connections{') + M.get('sse_streams_open');
  const reasons = Object.keys(sr.closed_by_reason || {});
  const statsAgree = reasons.length === 9 && reasons.every((r) => sr.closed_by_reason[r] === byReason(r)) && sr.closed_total === closedSum;
  check('/metrics: opened = closed by reason, nothing open', opened === closedSum && gauges === 0,
    `opened ${opened}, closed ${closedSum} (${reasons.map((r) => `${r} ${byReason(r)}`).join(', ')}), open gauges ${gauges}`);
  check('/metrics = stats closed_by_reason', statsAgree, `stats closed_total ${sr.closed_total}`);
  const published = M.get('sse_events_published_total');
  const streams429 = [...M.map].filter(([k, v]) => /route="(admin|display)_stream",code="(429|503)"/.test(k) && v > 0);
  const lo = totals.streams200, hi = totals.attempts;
  const mOk = published === pubs.filter((p) => !p.failed).length &&
    byReason('disconnect_route') === totals.disconnectTrue && byReason('admin_closed') === totals.adminCloseTrue &&
    byReason('slow_consumer') === 0 && byReason('ack_timeout') === 0 && byReason('shutdown') === 0 &&
    M.get('sse_streams_refused_total') === 0 && streams429.length === 0 && opened >= lo && opened <= hi;
  check('/metrics = what the clients did', mOk,
    `published ${published} (driver ${pubs.filter((p) => !p.failed).length}), disconnect_route ${byReason('disconnect_route')} (driver ${totals.disconnectTrue}), ` +
    `admin_closed ${byReason('admin_closed')} (driver ${totals.adminCloseTrue}), slow_consumer ${byReason('slow_consumer')}, refused ${M.get('sse_streams_refused_total')}, ` +
    `opened ${opened} (clients saw ${lo} streams of ${hi} attempts), events sent ${M.get('sse_events_sent_total')}, dropped ${M.get('sse_events_dropped_total')}`);

  // --- still answering; SIGTERM
  const h = await st.api('health', { auth: false });
  check('/health answers', h.status === 200 && h.json?.data?.status === 'ok' && h.json?.data?.connections === 0,
    `${h.status} ${JSON.stringify(h.json?.data || h.text.slice(0, 100))}`);
  const stopped = await st.stop();
  const ex = stopped.responderExit || {};
  check('SIGTERM: exit 0 within 2 s', ex.code === 0 && !ex.killed && ex.ms <= 2500, `code ${ex.code}, signal ${ex.signal}, ${Math.round(ex.ms || 0)} ms${ex.killed ? ', had to be killed' : ''}`);
  const dlog = fs.readFileSync(path.join(st.dir, 'daemon.log'), 'utf8');
  const reports = dlog.split('\n').filter((l) => sanitizerRe.test(l));
  check('no sanitizer report in the responder\'s stderr', reports.length === 0,
    `${reports.length} report lines${reports.length ? `: ${reports.slice(0, 3).join(' | ')}` : ''} (${o.sanitized ? 'ASan+UBSan build, leak check at exit' : 'plain build'})`);
  const errLines = dlog.split('\n').filter((l) => /^\S+ (error|warn)/.test(l));
  const errKinds = {};
  for (const l of errLines) { const k = l.replace(/^\S+ /, '').replace(/[0-9a-f]{8,}/g, 'X'); errKinds[k] = (errKinds[k] || 0) + 1; }
  check('responder log: no error or warning lines', errLines.length === 0,
    Object.entries(errKinds).sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, n]) => `${n} x "${k}"`).join(', ') || 'none');
  check('driver event loop', true, `largest lag ${Math.round(maxLag)} ms`, { info: true });

  // --- summary
  console.log('\n==== sse-fcgi soak summary');
  const cols = ['', 'secs', 'connects', '200', 'RST', 'FIN', 'disconn', 'admin-close', 'early-RST', 'cut', 'server-ended', 'publishes', 'deliveries', 'stable exp', 'stable got', 'missing', 'dup/order', 'replayed'];
  const rows = ps.map((p) => [p.name, (((p.end ?? now()) - (p.start ?? now())) / 1000).toFixed(0), p.connects, p.ok200, p.rst, p.fin, p.disconnect, p.adminClose, p.early, p.cut,
    p.unexpectedEnd, p.publishes, p.delivered, p.stableExpected, p.stableGot, p.stableMissing, p.stableDupOrder, p.replayed]);
  rows.push(['total', ((now() - t0) / 1000).toFixed(0), ...cols.slice(2).map((_, i) => rows.reduce((s, r) => s + Number(r[i + 2]), 0))]);
  const w = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => String(r[i]).length)));
  console.log(cols.map((c, i) => c.padStart(w[i])).join('  '));
  for (const r of rows) console.log(r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  '));
  console.log(`responder: fds ${base.fds} -> peak ${peak.fds} -> ${end.fds}; RSS ${MiB(base.rssKiB)} -> peak ${MiB(peak.rssKiB)} -> ${MiB(end.rssKiB)} MiB; ` +
    `threads ${base.threads} -> ${peak.threads} -> ${end.threads}`);
  console.log();
  for (const c of checks) console.log(`${c.ok === null ? 'INFO' : c.ok ? 'PASS' : 'FAIL'}  ${c.name}${c.detail ? ` -- ${c.detail}` : ''}`);
  if (failures.length) {
    console.log(`\nfirst of ${failures.length} failure notes:`);
    for (const f of failures.slice(0, 25)) console.log(`  ${f}`);
  }
  const nFail = checks.filter((c) => c.ok === false).length;
  const nPass = checks.filter((c) => c.ok === true).length;
  if (nFail) {
    const keep = path.join(process.env.SOAK_LOG_DIR || '/tmp', `sse-fcgi-soak-daemon-${process.pid}.log`);
    fs.copyFileSync(path.join(st.dir, 'daemon.log'), keep);
    console.log(`\nresponder log kept: ${keep}`);
  }
  console.log(`\n${nPass} passed, ${nFail} failed`);
  exitCode = nFail ? 1 : 0;
} catch (e) {
  console.error(`soak: ${e.stack || e.message}`);
  if (st) {
    console.error(st.logs());
    try {
      const keep = path.join(process.env.SOAK_LOG_DIR || '/tmp', `sse-fcgi-soak-daemon-${process.pid}.log`);
      fs.copyFileSync(path.join(st.dir, 'daemon.log'), keep);
      console.log(`responder log kept: ${keep}`);
    } catch { /* no log */ }
  }
  const nPass = checks.filter((c) => c.ok === true).length;
  console.log(`\n${nPass} passed, ${checks.filter((c) => c.ok === false).length + 1} failed`);
  exitCode = 1;
} finally {
  stopping = true;
  if (st) await st.stop().catch(() => {});
  if (stackDir && !o.keep) fs.rmSync(stackDir, { recursive: true, force: true });
  else if (stackDir) console.log(`kept ${stackDir}`);
}
process.exit(exitCode);

/** The newest k up to lastK meant for client c (what it must have got by now). */
function lastEventFor(c, lastK) {
  for (let k = lastK; k >= kRunStart; k--) if (pubs[k] && !pubs[k].failed && matches(pubs[k], c.kind, c.name)) return k;
  return -1;
}
