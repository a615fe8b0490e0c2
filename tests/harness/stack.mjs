// A real sse-fcgi stack for tests: the responder behind nginx, lighttpd, Apache, Caddy or h2o, in a
// private temporary directory, with configs rendered from the shipped contrib/ templates by
// contrib/render-config. Node 20, built-in modules only.
//
//   import { startStack } from './stack.mjs';
//   const s = await startStack({ front: 'nginx', mode: 'unix', heartbeat: 1 });
//   const st = await s.openStream('admin');            // paths without a leading / are under the prefix
//   await s.api('publish', { method: 'POST', body: { event: 'x', data: {}, target: 'admin' } });
//   await st.waitFor('x', 1000);
//   await s.stop();
//
// Deployments (front, mode):
//   nginx:    'unix' (default; sse-fcgi --socket DIR/sse-fcgi.sock), 'tcp' (--socket 127.0.0.1:PORT),
//             'spawn-fcgi', 'systemd-fd0', 'listen-fds'
//   lighttpd: 'spawn-fcgi' (default; contrib/spawn-fcgi/sse-fcgi-spawn run), 'bin-path' (lighttpd
//             spawns it: the template's "#bin-path#" lines enabled), 'unix', 'systemd-fd0', 'listen-fds'
//   apache, caddy, h2o: 'unix' (default), 'spawn-fcgi', 'systemd-fd0', 'listen-fds'; the server
//             itself is configured and started by tests/harness/fronts.mjs
//   'systemd-fd0' / 'listen-fds': contrib/systemd/sse-fcgi.{socket,service} are rendered, and their
//   ListenStream=/ExecStart= run by tests/harness/socket-activate.pl, which holds the socket like
//   systemd and passes it as fd 0 (StandardInput=socket) or fd 3 with LISTEN_FDS/LISTEN_PID.
// tls: true (nginx and lighttpd): contrib/<front>/sse-fcgi-tls.conf is rendered too, with a
//   self-signed certificate for 127.0.0.1 and localhost: HTTPS with HTTP/2 on a second port
//   (st.tlsPort, st.httpsUrl) beside the plain one, which api() and openStream() keep using.
//
// Environment: SSE_FCGI_BIN (the responder; default src/sse-fcgi of this tree), NGINX, LIGHTTPD,
// APACHE, CADDY, H2O, SPAWN_FCGI (binaries), SSE_FCGI_KEEP_TMP=1 (keep the runtime directory after
// stop()).

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath } from 'node:url';
import { FRONTS } from './fronts.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');
const CONTRIB = path.join(REPO, 'contrib');
const RENDER = path.join(CONTRIB, 'render-config');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const now = () => performance.now();

// ---------------------------------------------------------------------------------------------
// Finding programs

const SBIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of an executable found in PATH or the sbin dirs, or null. */
export function which(name) {
  if (name.includes('/')) return isExecutable(name) ? name : null;
  const dirs = [...(process.env.PATH || '').split(':').filter(Boolean), ...SBIN_DIRS];
  for (const d of dirs) {
    const p = path.join(d, name);
    if (isExecutable(p)) return p;
  }
  return null;
}

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The responder binary: $SSE_FCGI_BIN, else src/sse-fcgi of the build tree (cwd) or this tree. */
export function findResponder() {
  const cands = [process.env.SSE_FCGI_BIN, path.resolve('src/sse-fcgi'), path.join(REPO, 'src/sse-fcgi')];
  for (const c of cands) if (c && isExecutable(c)) return path.resolve(c);
  throw new Error('sse-fcgi binary not found: build it (make) or set SSE_FCGI_BIN');
}

const tool = (envName, name, pkg = name === 'nginx' ? 'nginx-light' : name) => {
  const p = which(process.env[envName] || name);
  if (!p) throw new Error(`${name} is not installed (apt-get install ${pkg})`);
  return p;
};

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Render a contrib/ template with contrib/render-config. Throws on a missing value. */
export function renderTemplate(template, vars, enable = []) {
  const args = [RENDER];
  for (const tag of enable) args.push('--enable', tag);
  args.push(path.join(CONTRIB, template));
  for (const [k, v] of Object.entries(vars)) args.push(`${k}=${v}`);
  return execFileSync('bash', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * A self-signed certificate (and its key, mode 0600) for 127.0.0.1 and localhost, valid for two
 * days, in `dir`: { cert, key }, the paths of the two PEM files.
 */
export function selfSignedCertificate(dir) {
  const cert = path.join(dir, 'tls-cert.pem');
  const key = path.join(dir, 'tls-key.pem');
  execFileSync(tool('OPENSSL', 'openssl'), ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', key, '-out', cert], { stdio: ['ignore', 'ignore', 'pipe'] });
  fs.chmodSync(key, 0o600);
  return { cert, key };
}

/** One HTTPS GET on 127.0.0.1:`port` (the certificate not checked); resolves { status, alpn }. */
export function httpsGet(port, urlPath, { timeout = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: urlPath, rejectUnauthorized: false, agent: false, timeout }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, alpn: res.socket?.alpnProtocol ?? null }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath}: no answer in ${timeout} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * How contrib/run-local sizes a web server for `max` streams of the responder within this
 * machine's open-file hard limit (contrib/common.sh, sse_front_sizing): { NAME: value } for
 * render-config (nginx: WORKER_PROCESSES, WORKER_CONNECTIONS, WORKER_RLIMIT_NOFILE; lighttpd:
 * MAX_FDS, MAX_CONNECTIONS and RESPONDER_MAX_CONNECTIONS, the responder's limit to match).
 */
export function frontSizing(front, max = 10000) {
  const out = execFileSync('bash', ['-c', `. "${CONTRIB}/common.sh" && sse_front_sizing "$1" "$2"`, 'sizing', front, String(max)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** Prometheus text: { get(series), sum(series prefix), map } of every sample line. */
export function parseMetrics(text) {
  const m = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  const sum = (prefix) => [...m].filter(([k]) => k.startsWith(prefix)).reduce((s, [, v]) => s + v, 0);
  return { get: (k) => m.get(k), sum, map: m };
}

/** A tiny systemd unit parser: { Section: { Key: [values...] } }. */
export function parseUnit(text) {
  const out = {};
  let sec = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^\[(.+)\]$/.exec(line);
    if (m) { sec = out[m[1]] = out[m[1]] || {}; continue; }
    const eq = line.indexOf('=');
    if (eq < 0 || !sec) continue;
    const k = line.slice(0, eq).trim();
    (sec[k] = sec[k] || []).push(line.slice(eq + 1).trim());
  }
  return out;
}

/**
 * perl's arguments to run a socket unit and its service (parsed by parseUnit) the way systemd does,
 * through socket-activate.pl: ListenStream=, SocketMode= and Backlog= of `socket`, ExecStart= and
 * RestartSec= (or `restartSec`) of `service`, the socket on fd 0 (`fd0`) or as LISTEN_FDS, the
 * command's pid written to `pidfile`.
 */
export function socketActivateArgs({ socket, service }, { fd0, pidfile, restartSec }) {
  const exec = service.Service.ExecStart[0].split(/\s+/).filter(Boolean);
  const sa = socket.Socket;
  return [path.join(HERE, 'socket-activate.pl'), fd0 ? '--fd0' : '--listen-fds',
    '--listen', sa.ListenStream[0], '--mode', sa.SocketMode?.[0] || '0666', '--backlog', sa.Backlog?.[0] || '128',
    '--pidfile', pidfile, '--restart-sec', String(restartSec ?? seconds(service.Service.RestartSec?.[0] ?? '1')), '--', ...exec];
}

/** A systemd time span of seconds or milliseconds ("1", "1s", "500ms") in seconds. */
export function seconds(span) {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/.exec(span);
  if (!m) throw new Error(`time span "${span}": only seconds and ms are understood here`);
  return m[2] === 'ms' ? Number(m[1]) / 1000 : Number(m[1]);
}

// ---------------------------------------------------------------------------------------------
// Processes: every child is in its own process group, and is killed on stop and at exit.

const live = new Set();
let exitHooked = false;

function hookExit() {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const c of live) killGroup(c, 'SIGTERM');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      for (const c of live) killGroup(c, 'SIGTERM');
      process.exit(128 + os.constants.signals[sig]);
    });
  }
}

function killGroup(child, sig) {
  try {
    process.kill(-child.pid, sig);
  } catch {
    try { child.kill(sig); } catch { /* gone */ }
  }
}

export function startProcess(name, cmd, args, { logFile, env, stdin = 'ignore' } = {}) {
  hookExit();
  const fd = fs.openSync(logFile, 'a');
  let child;
  try {
    child = spawn(cmd, args, { stdio: [stdin, fd, fd], env: { ...process.env, ...env }, detached: true });
  } finally {
    fs.closeSync(fd);
  }
  child.procName = name;
  child.logFile = logFile;
  child.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      child.exitInfo = { code, signal, at: now() };
      resolve(child.exitInfo);
    });
    child.on('error', (err) => {
      live.delete(child);
      child.exitInfo = { code: null, signal: null, error: err, at: now() };
      resolve(child.exitInfo);
    });
  });
  live.add(child);
  return child;
}

/** SIGTERM (to the process only, or its group), then SIGKILL to the group after `ms`. */
export async function stopProcess(child, { ms = 5000, group = false, signal = 'SIGTERM' } = {}) {
  if (!child || child.exitInfo) return child?.exitInfo;
  const t0 = now();
  if (group) killGroup(child, signal);
  else child.kill(signal);
  const timer = sleep(ms).then(() => 'timeout');
  const r = await Promise.race([child.exited, timer]);
  if (r === 'timeout') {
    killGroup(child, 'SIGKILL');
    const info = await child.exited;
    return { ...info, killed: true, ms: now() - t0 };
  }
  // Leftovers of the group (nginx workers, lighttpd's children) go too.
  killGroup(child, 'SIGKILL');
  return { ...r, ms: now() - t0 };
}

export function tail(file, n = 30) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

/** Poll `fn` (async, returns truthy when done) every `every` ms until `ms` passed. */
export async function waitUntil(fn, { ms = 10000, every = 25, what = 'condition' } = {}) {
  const t0 = now();
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return { value: last, ms: now() - t0 };
    } catch (e) {
      last = e;
    }
    if (now() - t0 > ms) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out after ${ms} ms waiting for ${what}${why}`);
    }
    await sleep(every);
  }
}

/** 'absent' | 'stale' (a file nobody listens on) | 'listening' for a unix socket path. */
export function socketState(p) {
  return new Promise((resolve) => {
    if (!fs.existsSync(p)) return resolve('absent');
    const c = net.createConnection(p);
    c.once('connect', () => { c.destroy(); resolve('listening'); });
    c.once('error', (e) => resolve(e.code === 'ENOENT' ? 'absent' : 'stale'));
  });
}

function canConnect(opts) {
  return new Promise((resolve) => {
    const c = net.createConnection(opts);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

// ---------------------------------------------------------------------------------------------
// HTTP clients

/**
 * One HTTP request on a fresh connection (no keep-alive, so restarts never meet a stale one).
 * Resolves { status, headers, text, json } (json null when the body is not JSON). `chunked`:
 * send the body with Transfer-Encoding: chunked, in two chunks, and no Content-Length.
 */
export function httpRequest(port, urlPath, { method = 'GET', headers = {}, body, timeout = 10000, chunked = false } = {}) {
  return new Promise((resolve, reject) => {
    const hdrs = { Connection: 'close', ...headers };
    let payload;
    if (body !== undefined && body !== null) {
      if (typeof body === 'string' || Buffer.isBuffer(body)) {
        payload = Buffer.from(body);
      } else {
        payload = Buffer.from(JSON.stringify(body));
        if (!Object.keys(hdrs).some((k) => k.toLowerCase() === 'content-type')) hdrs['Content-Type'] = 'application/json';
      }
      if (chunked) hdrs['Transfer-Encoding'] = 'chunked';
      else hdrs['Content-Length'] = payload.length;
    } else if (method === 'POST' || method === 'PUT') {
      hdrs['Content-Length'] = 0;
    }
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method, headers: hdrs, agent: false, timeout }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: no answer in ${timeout} ms`)));
    req.on('error', reject);
    if (chunked && payload) {
      const half = payload.length >> 1;
      req.write(payload.subarray(0, half));
      setTimeout(() => req.end(payload.subarray(half)), 20);
    } else {
      req.end(payload);
    }
  });
}

/**
 * An SSE client on a raw socket, so a test can end it with a RST (abort) or a FIN (close).
 * Fields: status, headers, events [{event, data, json, id, at}], connectionId, headersMs (from
 * connect to headers), connectedMs, body/json (non-200 answers), ended (promise), isEnded.
 */
export class SseStream {
  constructor(port, urlPath, headers) {
    this.port = port;
    this.urlPath = urlPath;
    this.events = [];
    this.status = null;
    this.headers = null;
    this.connectionId = null;
    this.isEnded = false;
    this.waiters = [];
    this.listeners = [];
    this.body = '';
    this._raw = Buffer.alloc(0);
    this._inBody = false;
    this._chunked = false;
    this._chunkLeft = -1;
    this._decoder = new StringDecoder('utf8');
    this._text = '';
    this._cur = { event: '', data: [], id: null };
    this.t0 = now();
    this.sock = net.createConnection({ host: '127.0.0.1', port });
    this.sock.setNoDelay(true);
    let hdr = `GET ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n`;
    for (const [k, v] of Object.entries(headers)) hdr += `${k}: ${v}\r\n`;
    this.sock.on('connect', () => { this.connectAt = now(); });
    this.sock.write(`${hdr}\r\n`);
    this.ended = new Promise((resolve) => {
      this._endedResolve = resolve;
      this.sock.on('close', () => this._finish());
    });
    this.sock.on('error', (e) => { this.error = e; });
    this.sock.on('data', (b) => this._onData(b));
    this.ready = new Promise((resolve, reject) => {
      this._readyResolve = resolve;
      this._readyReject = reject;
    });
    this.ended.then(() => {
      if (this.status === null) this._readyReject(new Error(`${urlPath}: connection closed before any answer${this.error ? ` (${this.error.message})` : ''}`));
      else this._readyResolve(this);
    });
  }

  // The response is over: the socket closed, or the last chunk came (HTTP/1.1 keep-alive).
  _finish() {
    if (this.isEnded) return;
    this.isEnded = true;
    this.endedAt = now();
    this._wake();
    this._endedResolve();
    if (!this.sock.destroyed) this.sock.destroy();
  }

  _onData(b) {
    if (!this._inBody) {
      this._raw = Buffer.concat([this._raw, b]);
      const i = this._raw.indexOf('\r\n\r\n');
      if (i < 0) return;
      const head = this._raw.subarray(0, i).toString('latin1').split('\r\n');
      const rest = this._raw.subarray(i + 4);
      this._raw = Buffer.alloc(0);
      this.status = Number(head[0].split(' ')[1]);
      this.headers = {};
      for (const line of head.slice(1)) {
        const c = line.indexOf(':');
        const k = line.slice(0, c).trim().toLowerCase();
        const v = line.slice(c + 1).trim();
        this.headers[k] = this.headers[k] !== undefined ? `${this.headers[k]}, ${v}` : v;
      }
      this.headersAt = now();
      this.headersMs = this.headersAt - (this.connectAt ?? this.t0);
      this._chunked = /chunked/i.test(this.headers['transfer-encoding'] || '');
      this._inBody = true;
      if (rest.length) this._onBody(rest);
      if (this.status !== 200) this._wake();
      return;
    }
    this._onBody(b);
  }

  _onBody(b) {
    if (!this._chunked) return this._onPayload(b);
    this._raw = Buffer.concat([this._raw, b]);
    for (;;) {
      if (this._chunkLeft < 0) {
        const i = this._raw.indexOf('\r\n');
        if (i < 0) return;
        this._chunkLeft = parseInt(this._raw.subarray(0, i).toString('latin1'), 16);
        this._raw = this._raw.subarray(i + 2);
        if (this._chunkLeft === 0) { this._finish(); return; }
      }
      if (this._raw.length < this._chunkLeft + 2) {
        // Hand over what there is now: events must not wait for the end of a chunk.
        const n = Math.min(this._raw.length, this._chunkLeft);
        if (n > 0) {
          this._onPayload(this._raw.subarray(0, n));
          this._raw = this._raw.subarray(n);
          this._chunkLeft -= n;
        }
        return;
      }
      this._onPayload(this._raw.subarray(0, this._chunkLeft));
      this._raw = this._raw.subarray(this._chunkLeft + 2);
      this._chunkLeft = -1;
    }
  }

  _onPayload(b) {
    const s = this._decoder.write(b);
    if (this.status !== 200 || !/text\/event-stream/.test(this.headers['content-type'] || '')) {
      this.body += s;
      try { this.json = JSON.parse(this.body); } catch { /* not complete yet */ }
      if (this.json) this._readyResolve(this);
      const len = Number(this.headers['content-length']);
      if (!this._chunked && len >= 0 && Buffer.byteLength(this.body) >= len) this._finish();
      return;
    }
    this._text += s;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this._text);
      if (!m) break;
      if (m[0] === '\r' && m.index === this._text.length - 1) break; // maybe a \r\n split in two
      const line = this._text.slice(0, m.index);
      this._text = this._text.slice(m.index + m[0].length);
      this._onLine(line);
    }
  }

  _onLine(line) {
    if (line === '') {
      const c = this._cur;
      this._cur = { event: '', data: [], id: null };
      if (!c.data.length && !c.event) return;
      const ev = { event: c.event || 'message', data: c.data.join('\n'), id: c.id, at: now(), json: null };
      try { ev.json = JSON.parse(ev.data); } catch { /* not JSON */ }
      this.events.push(ev);
      for (const f of this.listeners) {
        try { f(ev); } catch { /* a listener's error is its own */ }
      }
      if (ev.event === 'connected' && !this.connectionId) {
        this.connectionId = ev.json?.connection_id ?? null;
        this.connectedMs = ev.at - (this.connectAt ?? this.t0);
        this._readyResolve(this);
      }
      this._wake();
      return;
    }
    if (line.startsWith(':')) return;
    const c = line.indexOf(':');
    const field = c < 0 ? line : line.slice(0, c);
    let value = c < 0 ? '' : line.slice(c + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this._cur.event = value;
    else if (field === 'data') this._cur.data.push(value);
    else if (field === 'id') this._cur.id = value;
    else if (field === 'retry') this.retry = Number(value);
  }

  _wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /**
   * Resolves with the first event named `name` (from index `since`, matching `pred` if given)
   * within `ms`; rejects on timeout or when the stream ends first.
   */
  waitFor(name, ms = 2000, { since = 0, pred = () => true } = {}) {
    const find = () => this.events.slice(since).find((e) => e.event === name && pred(e));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.urlPath}: no "${name}" event within ${ms} ms (got: ${this.events.map((e) => e.event).join(',') || 'none'})`)), ms);
      const check = () => {
        const e = find();
        if (e) { clearTimeout(timer); return resolve(e); }
        if (this.isEnded) { clearTimeout(timer); return reject(new Error(`${this.urlPath}: stream ended before a "${name}" event`)); }
        this.waiters.push(check);
      };
      check();
    });
  }

  /** Resolves true if the stream ends within `ms`, else false. */
  async waitEnded(ms = 2000) {
    return Promise.race([this.ended.then(() => true), sleep(ms).then(() => false)]);
  }

  /** Abrupt end: a TCP RST, as a crashed browser or a dropped network leaves it. */
  abort() {
    if (this.isEnded) return;
    if (typeof this.sock.resetAndDestroy === 'function') this.sock.resetAndDestroy();
    else { this.sock.setKeepAlive(false); this.sock.destroy(); }
  }

  /** Calls `f(ev)` for every event parsed from now on. */
  onEvent(f) {
    this.listeners.push(f);
  }

  /** Stop reading the socket (the kernel buffers fill, the socket stays open), as a client that
   *  hangs does; resumeReading() reads again. */
  stopReading() {
    this.sock.pause();
  }

  resumeReading() {
    this.sock.resume();
  }

  /** Orderly end: a FIN, as a closed tab leaves it. */
  close() {
    if (this.isEnded) return;
    this.sock.end();
    setTimeout(() => this.sock.destroy(), 200).unref();
  }
}

// ---------------------------------------------------------------------------------------------
// The stack

const DEFAULT_MODE = { nginx: 'unix', lighttpd: 'spawn-fcgi' };
const MODES = {
  nginx: ['unix', 'tcp', 'spawn-fcgi', 'systemd-fd0', 'listen-fds'],
  lighttpd: ['spawn-fcgi', 'bin-path', 'unix', 'systemd-fd0', 'listen-fds'],
};
for (const [f, d] of Object.entries(FRONTS)) { DEFAULT_MODE[f] = d.modes[0]; MODES[f] = d.modes; }

/**
 * Start a stack; resolves once GET {prefix}/stats answers 200 through the front end.
 * On failure everything started is stopped and the error carries the logs' tails.
 */
export async function startStack({
  front = 'lighttpd',
  mode,
  heartbeat = 1,
  staticDir = null,
  daemonArgs = [],
  port,
  prefix = '/api/v1/events',
  password = crypto.randomBytes(9).toString('base64url'),
  frontOptions = {}, // Apache, Caddy, h2o: see tests/harness/fronts.mjs; nginx: { template, vars }
  authHeaders = null, // the credentials of api() and openStream() (default: basic auth as `user`)
  tls = false, // nginx, lighttpd: HTTPS with HTTP/2 on a second port (see the top of this file)
} = {}) {
  if (!MODES[front]) throw new Error(`unknown front ${front}`);
  if (tls && front !== 'nginx' && front !== 'lighttpd') throw new Error(`tls: not behind ${front} (nginx and lighttpd only)`);
  mode = mode || DEFAULT_MODE[front];
  if (!MODES[front].includes(mode)) throw new Error(`mode ${mode} is not available behind ${front}`);

  const bin = findResponder();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sse-fcgi-${front}-${mode}-`));
  fs.chmodSync(dir, 0o700);
  for (const d of ['tmp', 'tmp/body', 'tmp/fastcgi', 'tmp/proxy', 'tmp/scgi', 'tmp/uwsgi']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  port = port || (await freePort());
  const upstreamPort = mode === 'tcp' ? await freePort() : null;
  const tlsPort = tls ? await freePort() : null;
  const sock = path.join(dir, 'sse-fcgi.sock');
  const daemonLogFile = path.join(dir, 'daemon.log');
  const frontLogFile = path.join(dir, `${front}.log`);
  const errorLogFile = path.join(dir, `${front}-error.log`);

  if (!staticDir) {
    staticDir = path.join(dir, 'www');
    fs.mkdirSync(staticDir);
    fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>sse-fcgi test page</title><div id="root">sse-fcgi-spa-index</div>\n');
  }
  staticDir = path.resolve(staticDir);

  const user = 'admin';
  const htpasswd = path.join(dir, 'htpasswd');
  const sha = crypto.createHash('sha1').update(password).digest('base64');
  fs.writeFileSync(htpasswd, `${user}:{SHA}${sha}\n`, { mode: 0o600 });
  const authHeader = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const credentials = authHeaders || { Authorization: authHeader };
  const hbArg = String(heartbeat);
  // lighttpd carries fewer streams than the responder's default limit in this machine's file
  // limit: as run-local does, the responder gets a limit lighttpd carries.
  const lighttpdSizing = front === 'lighttpd' ? frontSizing('lighttpd') : null;
  const sizedArgs = lighttpdSizing ? ['--max-connections', lighttpdSizing.RESPONDER_MAX_CONNECTIONS] : [];
  const responderArgs = ['--heartbeat', hbArg, ...(FRONTS[front]?.responderArgs(frontOptions) || []), ...sizedArgs, ...daemonArgs];
  const frontCtx = FRONTS[front] && {
    dir, mode, port, sock, prefix, staticDir, htpasswd, user, password, frontOptions, errorLogFile, contrib: CONTRIB,
    render: renderTemplate, tool,
  };

  // --- configs, rendered from the shipped templates
  if (front === 'nginx') {
    const upstream = mode === 'tcp' ? `127.0.0.1:${upstreamPort}` : `unix:${sock}`;
    fs.writeFileSync(path.join(dir, 'sse-fcgi.conf'), renderTemplate(frontOptions.template || 'nginx/sse-fcgi.conf', {
      LISTEN: `127.0.0.1:${port}`, UPSTREAM: upstream, PREFIX: prefix, STATIC_DIR: staticDir, HTPASSWD: htpasswd,
      ACCESS_LOG: path.join(dir, 'nginx-access.log'), ...(frontOptions.vars || {}),
    }));
    fs.copyFileSync(path.join(CONTRIB, 'nginx/sse-fcgi-params'), path.join(dir, 'sse-fcgi-params'));
    fs.writeFileSync(path.join(dir, 'nginx.conf'), renderTemplate('nginx/nginx-standalone.conf', {
      RUNDIR: dir, ERROR_LOG: errorLogFile, ...frontSizing('nginx'),
    }));
  } else if (frontCtx) {
    FRONTS[front].configure(frontCtx);
  } else {
    fs.writeFileSync(path.join(dir, 'sse-fcgi.conf'), renderTemplate('lighttpd/sse-fcgi.conf', {
      SOCKET: sock, PREFIX: prefix, STATIC_DIR: staticDir, HTPASSWD: htpasswd,
      SSE_FCGI: bin, SSE_FCGI_ARGS: responderArgs.join(' '), ERRORS_DIR: path.join(CONTRIB, 'lighttpd/errors'),
    }, mode === 'bin-path' ? ['bin-path'] : []));
    fs.writeFileSync(path.join(dir, 'lighttpd.conf'), renderTemplate('lighttpd/lighttpd-standalone.conf', {
      RUNDIR: dir, BIND: '127.0.0.1', PORT: port, ERROR_LOG: errorLogFile, ACCESS_LOG: path.join(dir, 'lighttpd-access.log'),
      MAX_FDS: lighttpdSizing.MAX_FDS, MAX_CONNECTIONS: lighttpdSizing.MAX_CONNECTIONS,
    }));
  }
  if (tls) {
    // nginx's sse-fcgi.conf and lighttpd-standalone.conf include it from the directory.
    const { cert, key } = selfSignedCertificate(dir);
    fs.writeFileSync(path.join(dir, 'sse-fcgi-tls.conf'), renderTemplate(`${front}/sse-fcgi-tls.conf`, {
      TLS_LISTEN: `127.0.0.1:${tlsPort}`, CERT: cert, KEY: key,
    }));
  }
  let units = null;
  if (mode === 'systemd-fd0' || mode === 'listen-fds') {
    units = {
      socket: parseUnit(renderTemplate('systemd/sse-fcgi.socket', { SOCKET: sock })),
      service: parseUnit(renderTemplate('systemd/sse-fcgi.service', { SSE_FCGI: bin, SSE_FCGI_ARGS: responderArgs.join(' ') })),
    };
  }

  const st = {
    front, mode, dir, port, prefix, user, password, authHeader, heartbeat, staticDir, frontOptions,
    socketPath: mode === 'tcp' ? null : sock,
    upstreamPort,
    baseUrl: `http://127.0.0.1:${port}`,
    tlsPort,
    httpsUrl: tls ? `https://127.0.0.1:${tlsPort}` : null,
    responder: null, // the responder's own process (or its supervisor in systemd modes)
    frontProc: null,
  };

  // --- processes
  // The group the socket is given under spawn-fcgi (Apache: its own; see fronts.mjs), else none.
  const socketGroup = FRONTS[front]?.socketGroup?.(mode) || '';
  const startResponder = async () => {
    const env = {};
    if (mode === 'unix' || mode === 'tcp') {
      const where = mode === 'tcp' ? `127.0.0.1:${upstreamPort}` : sock;
      st.responder = startProcess('sse-fcgi', bin, ['--socket', where, ...responderArgs], { logFile: daemonLogFile, env });
    } else if (mode === 'spawn-fcgi') {
      st.responder = startProcess('spawn-fcgi', 'sh', [path.join(CONTRIB, 'spawn-fcgi/sse-fcgi-spawn'), 'run'], {
        logFile: daemonLogFile,
        env: {
          SSE_FCGI_NO_DEFAULTS: '1', SPAWN_FCGI: tool('SPAWN_FCGI', 'spawn-fcgi'), SSE_FCGI_BIN: bin,
          SSE_FCGI_ARGS: responderArgs.join(' '), SSE_FCGI_SOCKET: sock, SSE_FCGI_SOCKET_MODE: socketGroup ? '0660' : '0600',
          SSE_FCGI_SOCKET_OWNER: '', SSE_FCGI_SOCKET_GROUP: socketGroup, SSE_FCGI_USER: '',
        },
      });
    } else if (units) {
      if (mode === 'systemd-fd0' && units.service.Service.StandardInput?.[0] !== 'socket') {
        throw new Error('contrib/systemd/sse-fcgi.service lost StandardInput=socket');
      }
      const pa = socketActivateArgs(units, { fd0: mode === 'systemd-fd0', pidfile: path.join(dir, 'responder.pid') });
      st.responder = startProcess('socket-activate', 'perl', pa, { logFile: daemonLogFile, env });
    } else {
      return; // bin-path: lighttpd starts it
    }
    if (mode === 'tcp') {
      await waitUntil(() => canConnect({ host: '127.0.0.1', port: upstreamPort }), { ms: 5000, what: 'the responder TCP socket' });
    } else {
      await waitUntil(async () => st.responder.exitInfo ? Promise.reject(new Error('the responder exited')) : (await socketState(sock)) === 'listening',
        { ms: 5000, what: `the responder socket ${sock}` });
    }
  };

  const startFront = async () => {
    if (front === 'nginx') {
      st.frontProc = startProcess('nginx', tool('NGINX', 'nginx'), ['-p', `${dir}/`, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'], { logFile: frontLogFile });
    } else if (frontCtx) {
      const [cmd, args, env] = FRONTS[front].command(frontCtx);
      st.frontProc = startProcess(front, cmd, args, { logFile: frontLogFile, env });
    } else {
      st.frontProc = startProcess('lighttpd', tool('LIGHTTPD', 'lighttpd'), ['-D', '-f', path.join(dir, 'lighttpd.conf')], { logFile: frontLogFile });
    }
  };

  const waitReady = async (ms = 10000) => {
    await waitUntil(async () => {
      if (st.frontProc?.exitInfo) throw new Error(`${front} exited (${JSON.stringify(st.frontProc.exitInfo)})`);
      const r = await httpRequest(port, `${prefix}/stats`, { headers: credentials, timeout: 2000 });
      if (r.status !== 200 || r.json?.success !== true) return false;
      return !tls || (await httpsGet(tlsPort, `${prefix}/health`, { timeout: 2000 })).status === 200;
    }, { ms, every: 30, what: `${front}+${mode} to answer ${prefix}/stats${tls ? ' (and health over HTTPS)' : ''}` });
  };

  const logs = () => [
    `--- ${daemonLogFile}\n${tail(daemonLogFile)}`,
    `--- ${frontLogFile}\n${tail(frontLogFile)}`,
    `--- ${errorLogFile}\n${tail(errorLogFile)}`,
  ].join('\n');

  /** The pid of the sse-fcgi process itself (not spawn-fcgi's shell or the supervisor). */
  const responderPid = () => {
    if (mode === 'systemd-fd0' || mode === 'listen-fds') {
      try { return Number(fs.readFileSync(path.join(dir, 'responder.pid'), 'utf8')); } catch { return null; }
    }
    if (mode === 'bin-path') return childrenOf(st.frontProc?.pid).find((p) => exeOf(p) === fs.realpathSync(bin)) ?? null;
    return st.responder?.pid ?? null; // spawn-fcgi -n and sh's exec keep the pid
  };

  try {
    await startResponder();
    await startFront();
    await waitReady();
  } catch (e) {
    const msg = `${e.message}\n${logs()}`;
    await Promise.all([stopProcess(st.frontProc, { group: true }), stopProcess(st.responder, { group: true })]);
    if (!process.env.SSE_FCGI_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(msg);
  }

  const { api } = Object.assign(st, frontClient({ port, prefix, credentials }));

  Object.assign(st, {
    responderPid,
    logs,
    /** Another basic-auth user of the admin routes; resolves its Authorization header value. */
    async addUser(name, pass) {
      const sha = crypto.createHash('sha1').update(pass).digest('base64');
      fs.appendFileSync(htpasswd, `${name}:{SHA}${sha}\n`); // nginx, lighttpd, Apache, h2o read it per request
      if (FRONTS[front]?.addUser) {
        FRONTS[front].addUser(frontCtx, name, pass);
        await waitReady();
      }
      return `Basic ${Buffer.from(`${name}:${pass}`).toString('base64')}`;
    },
    async restartFront() {
      const t0 = now();
      const stopped = await stopProcess(st.frontProc, { group: mode !== 'bin-path' });
      if (mode === 'bin-path') await stopProcess(st.frontProc, { group: true });
      await startFront();
      await waitReady();
      return { stopped, ms: now() - t0 };
    },
    /**
     * Stop the responder (SIGTERM) and start it again; resolves once the stack answers.
     * { exit: {code, signal, ms}, socketAfterStop: 'absent'|'stale'|'listening'|null,
     *   socketAfterStart, ms }.
     */
    async restartResponder() {
      const t0 = now();
      const res = { socketAfterStop: null };
      if (mode === 'systemd-fd0' || mode === 'listen-fds') {
        const old = responderPid();
        st.responder.kill('SIGHUP'); // systemctl restart sse-fcgi.service: the socket stays
        await waitUntil(() => { const p = responderPid(); return p && p !== old && !pidAlive(old); }, { ms: 8000, what: 'a new responder pid' });
        res.exit = parseSupervisorExit(fs.readFileSync(daemonLogFile, 'utf8'));
        res.socketAfterStop = 'listening'; // held by the socket unit
      } else if (mode === 'bin-path') {
        const old = responderPid();
        if (!old) throw new Error('bin-path: responder process not found');
        process.kill(old, 'SIGTERM');
        await waitUntil(() => !pidAlive(old), { ms: 5000, what: 'the responder to exit' });
        res.exit = { ms: now() - t0 };
        res.socketAfterStop = await socketState(lighttpdSocket(sock));
        // lighttpd respawns a bin-path process that died; give it its chance, then restart it.
        try {
          await waitUntil(() => { const p = responderPid(); return p && p !== old; }, { ms: 3000, what: 'lighttpd to respawn the responder' });
          res.respawnedBy = 'lighttpd';
        } catch {
          await stopProcess(st.frontProc, { group: true });
          await startFront();
          res.respawnedBy = 'lighttpd restart';
        }
      } else {
        res.exit = await stopProcess(st.responder, { ms: 5000 });
        res.socketAfterStop = mode === 'tcp' ? null : await socketState(sock);
        await startResponder();
      }
      await waitReady();
      res.socketAfterStart = mode === 'tcp' ? null : await socketState(mode === 'bin-path' ? lighttpdSocket(sock) : sock);
      res.ms = now() - t0;
      return res;
    },
    /** Stop the responder alone (modes unix, tcp, spawn-fcgi); resolves its exit info. */
    async stopResponder() {
      if (!['unix', 'tcp', 'spawn-fcgi'].includes(mode)) throw new Error(`stopResponder: not in mode ${mode}`);
      return stopProcess(st.responder, { ms: 5000 });
    },
    /** Start it again after stopResponder(); resolves once the stack answers. */
    async startResponder() {
      await startResponder();
      await waitReady();
    },
    /** Stop everything; resolves { responderExit, frontExit }. Safe to call twice. */
    async stop() {
      if (st.stopped) return st.stopped;
      const frontExit = await stopProcess(st.frontProc, { group: mode !== 'bin-path' });
      const responderExit = await stopProcess(st.responder, { ms: 5000 });
      await stopProcess(st.frontProc, { group: true });
      await stopProcess(st.responder, { group: true });
      st.stopped = { responderExit, frontExit };
      if (!process.env.SSE_FCGI_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
      return st.stopped;
    },
    daemonLog() {
      const own = fs.existsSync(daemonLogFile) ? fs.readFileSync(daemonLogFile, 'utf8') : '';
      if (mode !== 'bin-path') return own;
      // lighttpd hands a bin-path child its own error log as stderr.
      return own + (fs.existsSync(errorLogFile) ? fs.readFileSync(errorLogFile, 'utf8') : '');
    },
  });
  return st;
}

// ---------------------------------------------------------------------------------------------
// A client of one front end

/**
 * The routes under `prefix` of the web server on 127.0.0.1:`port`, with `credentials` (headers,
 * e.g. { Authorization }) as the admin's: { api, stats, metrics, openStream }.
 */
export function frontClient({ port, prefix, credentials }) {
  const api = (p, { method = 'GET', body, auth = true, headers = {}, timeout, chunked } = {}) => {
    const h = { ...headers };
    if (auth === true) Object.assign(h, credentials);
    else if (typeof auth === 'string') h.Authorization = auth;
    return httpRequest(port, p.startsWith('/') ? p : `${prefix}/${p}`, { method, body, headers: h, timeout, chunked });
  };

  return {
    api,
    async stats() {
      const r = await api('stats');
      if (r.status !== 200 || !r.json?.data) throw new Error(`stats: ${r.status} ${r.text.slice(0, 200)}`);
      return r.json.data;
    },
    /** GET {prefix}/metrics, parsed (parseMetrics). */
    async metrics() {
      const r = await api('metrics');
      if (r.status !== 200) throw new Error(`metrics: ${r.status} ${r.text.slice(0, 200)}`);
      return parseMetrics(r.text);
    },
    /**
     * Open a stream. Options: auth (true: the stack's user; false; or an Authorization value;
     * default: none for display streams), headers, timeout, query (a string or an object of
     * parameters appended to the path, e.g. { ack: 1, client: 'tab-1' }), ack (adds ack=1 and
     * answers every ping's seq with POST {prefix}/ack; true, or { auth } for the ack requests'
     * credentials, by default those of the stream). An acking stream has `acks` (one
     * { seq, status, acked, rtt_ms, at } per answer), `acking` (set false to stop acking) and
     * `ackErrors`.
     */
    async openStream(p = 'admin', { auth, headers = {}, timeout = 5000, query, ack } = {}) {
      let urlPath = p.startsWith('/') ? p : `${prefix}/${p}`;
      const params = typeof query === 'string' ? query.replace(/^[?&]/, '') : new URLSearchParams(query || {}).toString();
      const extra = [params, ack && !/(^|&)ack=/.test(params) ? 'ack=1' : ''].filter(Boolean).join('&');
      if (extra) urlPath += (urlPath.includes('?') ? '&' : '?') + extra;
      if (auth === undefined) auth = !/\/display\//.test(urlPath);
      const h = { ...headers };
      if (auth === true) Object.assign(h, credentials);
      else if (typeof auth === 'string') h.Authorization = auth;
      const s = new SseStream(port, urlPath, h);
      if (ack) {
        const ackAuth = typeof ack === 'object' && ack.auth !== undefined ? ack.auth : auth;
        s.acks = [];
        s.ackErrors = [];
        s.acking = true;
        s.onEvent((ev) => {
          if (!s.acking || ev.event !== 'ping' || !Number.isInteger(ev.json?.seq) || !s.connectionId) return;
          const seq = ev.json.seq;
          api('ack', { method: 'POST', auth: ackAuth, body: { connection_id: s.connectionId, seq } }).then(
            (r) => s.acks.push({ seq, status: r.status, acked: r.json?.data?.acked ?? null, rtt_ms: r.json?.data?.rtt_ms ?? null, at: now() }),
            (e) => s.ackErrors.push({ seq, error: e.message, at: now() }));
        });
      }
      const t = sleep(timeout).then(() => { throw new Error(`${urlPath}: no answer within ${timeout} ms`); });
      await Promise.race([s.ready, t]);
      return s;
    },
  };
}

// lighttpd names the socket of spawned process N "<socket>-N".
function lighttpdSocket(sock) {
  return fs.existsSync(`${sock}-0`) ? `${sock}-0` : sock;
}

export function pidAlive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try { // a zombie is not alive
    return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function childrenOf(ppid) {
  if (!ppid) return [];
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid && fields[0] !== 'Z') out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

function exeOf(pid) {
  try { return fs.readlinkSync(`/proc/${pid}/exe`); } catch { return null; }
}

function parseSupervisorExit(log) {
  const m = [...log.matchAll(/restart: old process ended with status (\d+)/g)].pop();
  if (!m) return null;
  const st = Number(m[1]);
  return { code: st >> 8, signal: st & 127 ? st & 127 : null };
}
