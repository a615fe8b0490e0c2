#!/usr/bin/env node
// The web servers exactly as contrib/run-local starts them (it is what this test runs), at the
// responder's full --max-connections: every stream the responder accepts reaches it, and the one
// past the limit gets the responder's JSON 503, not a reset from a web server that ran out first.
//
//   node tests/integration/shipped.mjs [--fronts nginx,lighttpd] [--streams N]
//
//   nginx     (NGINX=1 run-local) the responder's default limit, 10,000 streams, all get
//             "event: connected", the next one the responder's 503 (JSON, Retry-After); its
//             workers within the open-file hard limit, none out of connections or fds; nginx's
//             own 400/413/414/494 and, with the responder unreachable, 502 as JSON (503 with
//             Retry-After); "nginx -s reload" with open streams leaves no old worker after
//             worker_shutdown_timeout; no NGINX variable in nginx's environment
//   lighttpd  (run-local) its max-fds and max-connections within the hard limit and above what
//             the responder accepts (run-local lowers the responder's limit to what lighttpd
//             carries), all of those streams connected, the next one the responder's JSON 503
//   --streams N  the responder's --max-connections instead of its default (quicker, for trying)
//
// One line per check and a last line "N passed, N failed"; exit 0 only if nothing failed. Not
// timed: the streams are opened as fast as the machine goes, and the time is only reported. The
// clients are raw sockets in this process (one fd each): the open-file limit must hold them
// (ulimit -n 20000 here; the script raises nothing itself).

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { REPO, findResponder, freePort, httpRequest, now, sleep, which } from '../harness/stack.mjs';

const args = process.argv.slice(2);
const opt = { fronts: ['nginx', 'lighttpd'], streams: null };
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--fronts' && args[i + 1]) opt.fronts = args[++i].split(',').filter(Boolean);
  else if (args[i] === '--streams' && args[i + 1]) opt.streams = Number(args[++i]);
  else {
    console.error('usage: shipped.mjs [--fronts nginx,lighttpd] [--streams N]');
    process.exit(2);
  }
}

const PASSWORD = 'shipped-test';
const AUTH = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;
const PREFIX = '/api/v1/events';
let passed = 0;
let failed = 0;
const ok = (what, detail) => { passed++; console.log(`ok   ${what}${detail ? ` (${detail})` : ''}`); };
const fail = (what, detail) => { failed++; console.log(`FAIL ${what}\n    ${String(detail).split('\n').join('\n    ')}`); };
async function check(what, fn) {
  try {
    ok(what, await fn());
  } catch (e) {
    fail(what, e.stack && !(e instanceof CheckError) ? e.stack : e.message);
  }
}
class CheckError extends Error {}
const assert = (c, msg) => { if (!c) throw new CheckError(msg); };

const hardLimit = Number(execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()) || Infinity;
const softLimit = Number(execFileSync('bash', ['-c', 'ulimit -Sn'], { encoding: 'utf8' }).trim()) || Infinity;

/** contrib/run-local, started as a user would, in a temporary directory of its own. */
async function startRunLocal(front, responderArgs) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `sse-fcgi-shipped-${front}-`));
  const port = await freePort();
  const env = {
    ...process.env, PORT: String(port), ADMIN_PASSWORD: PASSWORD, SKIP_FRONTEND: '1', TMPDIR: tmp,
    SSE_FCGI_BIN: findResponder(), SSE_FCGI_ARGS: responderArgs.join(' '), HEARTBEAT: '5',
  };
  delete env.NGINX;
  delete env.CLUSTER;
  if (front === 'nginx') env.NGINX = '1';
  // Its output to files: nginx and lighttpd open /dev/stderr (run-local's ERROR_LOG), which
  // cannot be opened when it is a socket, as node's pipes are.
  const outFile = path.join(tmp, 'run-local.out');
  const errFile = path.join(tmp, 'run-local.err');
  const fds = [fs.openSync(outFile, 'w'), fs.openSync(errFile, 'w')];
  const child = spawn(path.join(REPO, 'contrib/run-local'), [], { env, stdio: ['ignore', ...fds], detached: true });
  for (const fd of fds) fs.closeSync(fd);
  const read = (f) => { try { return fs.readFileSync(f, 'utf8'); } catch { return ''; } };
  const rl = { child, port, tmp, exited: null, get out() { return read(outFile); }, get err() { return read(errFile); } };
  child.on('exit', (code, signal) => { rl.exited = { code, signal }; });
  const t0 = now();
  while (!rl.out.includes('Ctrl-C stops it') && !rl.exited && now() - t0 < 60000) await sleep(50);
  if (!rl.out.includes('Ctrl-C stops it')) {
    await stopRunLocal(rl);
    throw new Error(`run-local did not come up: ${rl.exited ? `exit ${rl.exited.code}` : 'timeout'}\n${rl.err.slice(-2000)}`);
  }
  rl.run = fs.readdirSync(tmp).map((f) => path.join(tmp, f)).find((f) => path.basename(f).startsWith('sse-fcgi-run.'));
  return rl;
}

async function stopRunLocal(rl) {
  if (!rl.exited) {
    try { process.kill(rl.child.pid, 'SIGTERM'); } catch { /* gone */ }
    for (const t0 = now(); !rl.exited && now() - t0 < 10000;) await sleep(50);
    if (!rl.exited) try { process.kill(-rl.child.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  const left = rl.run && fs.existsSync(rl.run);
  fs.rmSync(rl.tmp, { recursive: true, force: true });
  return { exit: rl.exited, runDirLeft: left };
}

/** A directive's value in a rendered configuration ("name value;" or "name = value"). */
function directive(file, name) {
  const text = fs.readFileSync(file, 'utf8');
  const m = text.match(new RegExp(`^\\s*${name.replace(/[.]/g, '\\.')}\\s*=?\\s*"?([^;"\\n]+)"?;?\\s*$`, 'm'));
  return m ? m[1].trim() : null;
}

/** Child pids of a process, from /proc. */
function childrenOf(pid) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}
const alive = (pid) => fs.existsSync(`/proc/${pid}`);
const environOf = (pid) => fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').filter(Boolean);
const openFilesLimit = (pid) => Number(fs.readFileSync(`/proc/${pid}/limits`, 'utf8').match(/^Max open files\s+(\d+)/m)[1]);

/**
 * One stream on a raw socket: resolves once it is ready (200 and "event: connected" read) or
 * answered otherwise (status, headers, body; status 0 if the connection ended without one).
 * A ready stream stays open, its later bytes (pings) read and dropped; .sock ends it.
 */
function openStream(port, urlPath, timeoutMs = 30000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    let head = null;
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ sock, ...r });
    };
    const timer = setTimeout(() => { finish({ status: 0, error: 'timeout' }); sock.destroy(); }, timeoutMs);
    sock.setNoDelay(true);
    sock.on('connect', () => sock.write(`GET ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n`));
    sock.on('data', (d) => {
      if (done) return;
      buf += d.toString('latin1');
      if (!head) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = buf.slice(0, end).split('\r\n');
        head = { status: Number(lines[0].split(' ')[1]), headers: {} };
        for (const l of lines.slice(1)) {
          const c = l.indexOf(':');
          head.headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
        }
        buf = buf.slice(end + 4);
      }
      if (head.status === 200 && /(^|\n)event: connected\n/.test(buf)) {
        finish({ ...head, ready: true });
        buf = '';
      }
    });
    const ended = (error) => {
      if (done) return;
      let body = buf;
      if (head?.headers['transfer-encoding'] === 'chunked') {
        body = '';
        for (let rest = buf; ;) {
          const nl = rest.indexOf('\r\n');
          const n = parseInt(rest.slice(0, nl), 16);
          if (!(n > 0)) break;
          body += rest.slice(nl + 2, nl + 2 + n);
          rest = rest.slice(nl + 4 + n);
        }
      }
      let json = null;
      try { json = JSON.parse(body); } catch { /* not JSON */ }
      finish(head ? { ...head, body, json } : { status: 0, error: error?.code || 'closed without an answer' });
    };
    sock.on('end', () => ended());
    sock.on('error', (e) => ended(e));
    sock.on('close', () => ended());
  });
}

/** n streams to display names d-<first>..., at most `window` connecting at once. */
async function openMany(port, n, first = 1, window = 256) {
  const results = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      results[i] = await openStream(port, `${PREFIX}/display/d-${first + i}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, n) }, worker));
  return results;
}

const closeAll = (streams) => { for (const s of streams) s.sock.destroy(); };

/** Raw bytes to the server; its whole answer (it closes the connection on these errors). */
function rawRequest(port, bytes, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port }, () => sock.end(bytes));
    const chunks = [];
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('no answer')); }, timeoutMs);
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const lines = text.slice(0, end).split('\r\n');
      const headers = {};
      for (const l of lines.slice(1)) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      let json = null;
      try { json = JSON.parse(text.slice(end + 4)); } catch { /* not JSON */ }
      resolve({ status: Number(lines[0].split(' ')[1]), headers, json, text });
    });
  });
}

/** The API's JSON error envelope with this status and code. */
function envelope(r, status, code, what) {
  assert(r.status === status, `${what}: status ${r.status}, want ${status}: ${(r.body ?? r.text ?? '').slice(0, 200)}`);
  assert(/^application\/json/.test(r.headers['content-type'] || ''), `${what}: Content-Type ${r.headers['content-type']}`);
  const j = r.json;
  assert(j && j.success === false && typeof j.error === 'string' && j.message === j.error &&
    Array.isArray(j.errors) && j.error_info?.code === code, `${what}: not the JSON envelope with ${code}: ${JSON.stringify(j)}`);
  return j;
}

async function totalConnections(port) {
  const r = await httpRequest(port, `${PREFIX}/stats?summary=1`, { headers: { Authorization: AUTH } });
  return r.json?.data?.total_connections;
}

async function waitEmpty(port, ms = 15000) {
  let n;
  for (const t0 = now(); now() - t0 < ms; await sleep(100)) {
    n = await totalConnections(port).catch(() => null);
    if (n === 0) return;
  }
  throw new CheckError(`${n} connections still listed`);
}

/** Opens limit streams, then one more: all ready, the last the responder's JSON 503. */
async function fillToTheLimit(rl, front, limit) {
  let streams = [];
  await check(`${front}: ${limit} streams all get "event: connected"`, async () => {
    const t0 = now();
    streams = await openMany(rl.port, limit);
    const secs = ((now() - t0) / 1000).toFixed(1);
    const bad = streams.filter((s) => !s.ready);
    const kinds = {};
    for (const s of bad) kinds[s.status || s.error] = (kinds[s.status || s.error] || 0) + 1;
    assert(bad.length === 0, `${bad.length} of ${limit} not ready: ${JSON.stringify(kinds)}`);
    const listed = await totalConnections(rl.port);
    assert(listed === limit, `stats lists ${listed}, want ${limit}`);
    const spread = rl.workers ? `; fds of nginx's workers ${rl.workers().map((p) => fs.readdirSync(`/proc/${p}/fd`).length).join(' / ')}` : '';
    return `${limit.toLocaleString('en')} ready in ${secs} s, stats lists ${listed}${spread}`;
  });
  await check(`${front}: stream ${limit + 1} gets the responder's JSON 503, not a reset`, async () => {
    const extra = await openStream(rl.port, `${PREFIX}/display/d-over`);
    extra.sock.destroy();
    const j = envelope(extra, 503, 'SERVICE_UNAVAILABLE', `stream ${limit + 1}`);
    assert(j.message === 'Too many connections', `message "${j.message}": not the responder's own`);
    assert(/^\d+$/.test(extra.headers['retry-after'] || ''), `Retry-After ${extra.headers['retry-after']}`);
    const health = await httpRequest(rl.port, `${PREFIX}/health`);
    assert(health.status === 200, `health at the limit: ${health.status}`);
    return `503 ${j.error_info.code} "${j.message}", Retry-After ${extra.headers['retry-after']}; health 200 meanwhile`;
  });
  await check(`${front}: the web server never ran out of connections or fds`, async () => {
    const bad = rl.err.split('\n').filter((l) => /worker_connections are not enough|Too many open files|accept\(\) failed|sockets disabled|fd.*limit|overload/i.test(l));
    assert(bad.length === 0, bad.slice(0, 5).join('\n'));
    return 'no such line in its error log';
  });
  closeAll(streams);
  await check(`${front}: all streams gone from the register once closed`, async () => {
    await waitEmpty(rl.port, 30000);
    return '0 listed';
  });
}

async function testNginx(limit) {
  const rl = await startRunLocal('nginx', ['--max-streams-per-address', '0', ...(opt.streams ? ['--max-connections', String(limit)] : [])]);
  const conf = path.join(rl.run, 'nginx.conf');
  const master = Number(fs.readFileSync(path.join(rl.run, 'nginx.pid'), 'utf8'));
  rl.workers = () => childrenOf(master);
  try {
    await check('nginx: no NGINX variable in the environment of its master and workers', async () => {
      const pids = [master, ...childrenOf(master)];
      const with_ = pids.filter((p) => environOf(p).some((e) => e.startsWith('NGINX=')));
      assert(with_.length === 0, `NGINX= in the environment of ${with_.join(', ')}`);
      assert(!/\[emerg\]/.test(rl.err), `nginx logged [emerg]: ${rl.err.split('\n').filter((l) => /emerg/.test(l)).join('\n')}`);
      return `${pids.length} processes, started with NGINX=1`;
    });
    await check('nginx: sized for the responder\'s limit within the open-file hard limit', async () => {
      const w = Number(directive(conf, 'worker_processes'));
      const wc = Number(directive(conf, 'worker_connections'));
      const nofile = Number(directive(conf, 'worker_rlimit_nofile'));
      const listen = fs.readFileSync(path.join(rl.run, 'sse-fcgi.conf'), 'utf8').match(/^\s*listen\s+([^;]+);/m)?.[1] || '';
      assert(w === 1 || /\breuseport\b/.test(listen), `several workers and "listen ${listen}": no reuseport to spread streams over them`);
      assert(nofile <= hardLimit, `worker_rlimit_nofile ${nofile} > hard limit ${hardLimit}`);
      assert(wc <= nofile, `worker_connections ${wc} > worker_rlimit_nofile ${nofile}`);
      // Each worker sized for 8/7 of its share, against an uneven spread.
      assert(w * Math.floor(wc * 7 / 8) >= 2 * (limit + 1), `${w} x ${wc} connections cannot carry ${limit + 1} streams`);
      const workers = childrenOf(master);
      assert(workers.length === w, `${workers.length} workers, want ${w}`);
      const limits = workers.map(openFilesLimit);
      assert(limits.every((l) => l === nofile), `workers' open-file limits ${limits.join(', ')}, want ${nofile}`);
      return `${w} workers x ${wc} connections, ${nofile} fds each (hard limit ${hardLimit}), for ${limit} streams`;
    });

    await fillToTheLimit(rl, 'nginx', limit);

    // nginx's own errors, in the JSON envelope.
    await check('nginx: its own 400, 494 and 414 as JSON', async () => {
      const dup = await rawRequest(rl.port, `GET ${PREFIX}/health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`);
      envelope(dup, 400, 'BAD_REQUEST', 'two Host headers');
      const garbage = await rawRequest(rl.port, 'NOT HTTP AT ALL\r\n\r\n');
      envelope(garbage, 400, 'BAD_REQUEST', 'a request line nginx cannot parse');
      const big = await rawRequest(rl.port, `GET ${PREFIX}/health HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(40000)}\r\n\r\n`);
      envelope(big, 400, 'BAD_REQUEST', 'a header past large_client_header_buffers (494)');
      const long = await rawRequest(rl.port, `GET ${PREFIX}/display/x?key=${'k'.repeat(9000)} HTTP/1.1\r\nHost: a\r\n\r\n`);
      envelope(long, 414, 'URI_TOO_LONG', 'a request line of 9 KB');
      return '400 BAD_REQUEST x3, 414 URI_TOO_LONG';
    });
    await check('nginx: its own 413 past client_max_body_size as JSON, on every API location', async () => {
      const out = [];
      for (const [route, auth] of [['disconnect', false], ['publish', true], ['display/x', false]]) {
        const r = await rawRequest(rl.port, `POST ${PREFIX}/${route} HTTP/1.1\r\nHost: a\r\n${auth ? `Authorization: ${AUTH}\r\n` : ''}` +
          'Content-Type: application/json\r\nContent-Length: 2000000\r\nConnection: close\r\n\r\n');
        envelope(r, 413, 'PAYLOAD_TOO_LARGE', `POST ${route} of 2 MB`);
        out.push(route);
      }
      return `413 PAYLOAD_TOO_LARGE on ${out.join(', ')}`;
    });
    await check('nginx: the responder unreachable (502) answers 503 JSON with Retry-After', async () => {
      const sock = path.join(rl.run, 'sse-fcgi.sock');
      const aside = `${sock}.aside`;
      fs.renameSync(sock, aside);
      try {
        const out = [];
        for (const [route, headers] of [['display/x', {}], ['stats', { Authorization: AUTH }], ['disconnect', {}]]) {
          const r = await httpRequest(rl.port, `${PREFIX}/${route}`, route === 'disconnect'
            ? { method: 'POST', body: { connection_id: 'x' }, headers } : { headers });
          envelope(r, 503, 'SERVICE_UNAVAILABLE', `${route} with the responder unreachable`);
          assert(r.headers['retry-after'] === '2', `${route}: Retry-After ${r.headers['retry-after']}`);
          out.push(route);
        }
        assert(/connect\(\) to unix:.* failed/.test(rl.err), 'nginx logged no failed connect: was the responder reached?');
        return `503 SERVICE_UNAVAILABLE, Retry-After 2 on ${out.join(', ')}`;
      } finally {
        fs.renameSync(aside, sock);
      }
    });

    // nginx -s reload with open streams.
    await check('nginx: "nginx -s reload" with open streams leaves no old worker after worker_shutdown_timeout', async () => {
      const timeout = Number((directive(conf, 'worker_shutdown_timeout') || '').replace(/s$/, ''));
      assert(timeout > 0, 'no worker_shutdown_timeout in nginx.conf');
      const streams = await openMany(rl.port, 50, 100001);
      assert(streams.every((s) => s.ready), 'the 50 streams did not all connect');
      const closedAt = streams.map(() => null);
      const t0 = now();
      streams.forEach((s, i) => s.sock.on('close', () => { closedAt[i] = now() - t0; }));
      const old = childrenOf(master);
      const env = { ...process.env };
      delete env.NGINX;
      execFileSync(which('nginx'), ['-p', `${rl.run}/`, '-c', conf, '-s', 'reload'], { env, stdio: 'ignore' });
      let gone = null;
      let stillThere = null;
      for (; now() - t0 < (timeout + 5) * 1000; await sleep(100)) {
        const left = old.filter(alive);
        if (left.length && now() - t0 > 1000) stillThere = now() - t0;
        if (!left.length) { gone = now() - t0; break; }
      }
      assert(gone !== null, `old workers ${old.filter(alive).join(', ')} still there ${timeout + 5} s after the reload`);
      assert(gone <= (timeout + 2) * 1000, `the old workers lived ${(gone / 1000).toFixed(1)} s, worker_shutdown_timeout is ${timeout} s`);
      const fresh = childrenOf(master).filter((p) => !old.includes(p));
      assert(fresh.length === Number(directive(conf, 'worker_processes')), `${fresh.length} new workers`);
      for (const t1 = now(); closedAt.some((c) => c === null) && now() - t1 < 3000;) await sleep(50);
      assert(closedAt.every((c) => c !== null), `${closedAt.filter((c) => c === null).length} streams still open`);
      // A reconnect reaches the new workers.
      const again = await openStream(rl.port, `${PREFIX}/display/d-after-reload`);
      again.sock.destroy();
      assert(again.ready, `a stream after the reload: ${again.status}`);
      const held = stillThere ? `the old workers held their streams ${(stillThere / 1000).toFixed(1)} s, ` : '';
      return `${held}gone ${(gone / 1000).toFixed(1)} s after the reload (worker_shutdown_timeout ${timeout} s); `
        + `the 50 streams closed by ${(Math.max(...closedAt) / 1000).toFixed(1)} s; a new stream connects`;
    });
    await check('nginx: its environment has no NGINX after the reload either', async () => {
      const pids = [master, ...childrenOf(master)];
      assert(!pids.some((p) => environOf(p).some((e) => e.startsWith('NGINX='))), 'NGINX= found');
      assert(!/\[emerg\]/.test(rl.err), 'nginx logged [emerg]');
      return `${pids.length} processes`;
    });
  } finally {
    const r = await stopRunLocal(rl);
    await check('nginx: run-local stops on SIGTERM and removes its directory', async () => {
      assert(r.exit && r.exit.code === 0, `exit ${JSON.stringify(r.exit)}`);
      assert(!r.runDirLeft, 'its run directory is left');
      return 'exit 0';
    });
  }
}

async function testLighttpd() {
  const rl = await startRunLocal('lighttpd', ['--max-streams-per-address', '0', ...(opt.streams ? ['--max-connections', String(opt.streams)] : [])]);
  const conf = path.join(rl.run, 'lighttpd.conf');
  let limit = null;
  try {
    await check('lighttpd: max-fds within the hard limit and its limits above the responder\'s', async () => {
      const m = rl.err.match(/up to (\d+) streams/);
      assert(m, `the responder did not log its limit:\n${rl.err.slice(-1000)}`);
      limit = Number(m[1]);
      const fds = Number(directive(conf, 'server.max-fds'));
      const conns = Number(directive(conf, 'server.max-connections'));
      assert(fds <= hardLimit, `server.max-fds ${fds} > hard limit ${hardLimit}`);
      // lighttpd stops accepting at 9/10 of its fds; two fds per stream, and the one past the limit.
      const carried = Math.min(conns, Math.floor((fds * 9 / 10 - 64) / 2));
      assert(carried > limit, `lighttpd carries ${carried} connections, the responder accepts ${limit} streams`);
      assert(conns <= fds / 2, `server.max-connections ${conns} > max-fds / 2: lighttpd lowers it`);
      const pid = Number(fs.readFileSync(path.join(rl.run, 'lighttpd.pid'), 'utf8'));
      assert(openFilesLimit(pid) >= fds, `lighttpd's open-file limit ${openFilesLimit(pid)} < ${fds}`);
      const said = /--max-connections (\d+)/.exec(rl.err);
      return `max-fds ${fds}, max-connections ${conns}: carries ${carried}; the responder ${limit}`
        + `${said ? ' (run-local: "--max-connections ' + said[1] + '")' : ''}`;
    });
    if (limit) await fillToTheLimit(rl, 'lighttpd', limit);
  } finally {
    const r = await stopRunLocal(rl);
    await check('lighttpd: run-local stops on SIGTERM and removes its directory', async () => {
      assert(r.exit && r.exit.code === 0, `exit ${JSON.stringify(r.exit)}`);
      assert(!r.runDirLeft, 'its run directory is left');
      return 'exit 0';
    });
  }
}

const t0 = now();
const need = (opt.streams ?? 10000) + 200;
if (softLimit < need) {
  console.log(`FAIL the open-file limit (ulimit -n ${softLimit}) cannot hold ${need} client sockets: raise it`);
  process.exit(1);
}
for (const front of opt.fronts) {
  console.log(`\n== ${front} as contrib/run-local starts it`);
  try {
    if (front === 'nginx') await testNginx(opt.streams ?? 10000);
    else if (front === 'lighttpd') await testLighttpd();
    else fail(front, 'unknown front end (nginx, lighttpd)');
  } catch (e) {
    fail(`${front}: run-local`, e.message);
  }
}
console.log(`\n${passed} passed, ${failed} failed (${((now() - t0) / 1000).toFixed(0)} s)`);
process.exit(failed ? 1 : 0);
