// A real sse-fcgi cluster for tests: redis-server, N responders joined with --cluster, one nginx
// that serves every node alone (a server block per node), and a front over all of them: nginx's
// round-robin upstream or lighttpd (least-connection); the responders started directly or from the
// systemd template units. Everything is rendered from the shipped contrib/ templates
// (nginx/sse-fcgi-cluster.conf, nginx/sse-fcgi.conf, nginx/nginx-standalone.conf,
// lighttpd/sse-fcgi.conf with --enable cluster, lighttpd/lighttpd-standalone.conf,
// systemd/sse-fcgi@.socket and sse-fcgi@.service). Node 20, built-in modules only.
//
//   import { startCluster } from './cluster.mjs';
//   const c = await startCluster({ nodes: 3, heartbeat: 1, front: 'lighttpd', mode: 'systemd' });
//   const s = await c.nodes[0].openStream('admin');     // on node-1 itself
//   await c.nodes[2].api('disconnect', { method: 'POST', auth: false, body: { connection_id: s.connectionId } });
//   await c.front.stats();                                // through the front
//   await c.nodes[1].kill9(); await c.redis.pause(); await c.redis.resume(); await c.redis.restart();
//   await c.stop();
//
// Environment: SSE_FCGI_BIN (the responder), NGINX, LIGHTTPD, REDIS_SERVER, REDIS_CLI (binaries),
// SSE_FCGI_KEEP_TMP=1 (keep the runtime directory after stop()).

import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  REPO, findResponder, freePort, frontClient, frontSizing, httpRequest, now, parseUnit, pidAlive, renderTemplate, seconds,
  sleep, socketActivateArgs, startProcess, stopProcess, tail, waitUntil, which,
} from './stack.mjs';

const CONTRIB = path.join(REPO, 'contrib');

function tool(envName, name, pkg) {
  const p = which(process.env[envName] || name);
  if (!p) throw new Error(`${name} is not installed (apt-get install ${pkg})`);
  return p;
}

/** The open file descriptors and the resident memory (KiB) of a process. */
export function processUsage(pid) {
  const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { fds, rssKiB: m ? Number(m[1]) : null };
}

/**
 * A redis-server of its own, without persistence (a restart starts it empty, as a lost Redis
 * host does), on 127.0.0.1:port and a unix socket in dir.
 */
export async function startRedis({ dir, port } = {}) {
  const bin = tool('REDIS_SERVER', 'redis-server', 'redis-server');
  const cli = tool('REDIS_CLI', 'redis-cli', 'redis-tools');
  port = port || (await freePort());
  const unixSocket = path.join(dir, 'redis.sock');
  const logFile = path.join(dir, 'redis.log');
  const r = {
    port, unixSocket, logFile, proc: null,
    url: `redis://127.0.0.1:${port}`,
    unixUrl: `unix://${unixSocket}`,
    /** redis-cli ARGS...; resolves its output (trimmed). */
    cli(...args) {
      return execFileSync(cli, ['-h', '127.0.0.1', '-p', String(port), ...args.map(String)],
        { encoding: 'utf8', timeout: 10000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    },
    /** INFO commandstats as { command: calls }. */
    commandCalls() {
      const out = {};
      for (const m of r.cli('INFO', 'commandstats').matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]] = Number(m[2]);
      return out;
    },
    async start() {
      r.proc = startProcess('redis-server', bin, [
        '--port', String(port), '--bind', '127.0.0.1', '--unixsocket', unixSocket, '--unixsocketperm', '700',
        '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--protected-mode', 'yes',
      ], { logFile });
      await waitUntil(() => {
        if (r.proc.exitInfo) throw new Error(`redis-server exited:\n${tail(logFile)}`);
        try { return r.cli('PING') === 'PONG'; } catch { return false; }
      }, { ms: 10000, what: 'redis-server to answer PING' });
    },
    /** kill -9: everything it held is gone. */
    async kill9() {
      await stopProcess(r.proc, { signal: 'SIGKILL', ms: 5000 });
    },
    async restart() {
      await r.kill9();
      await r.start();
    },
    /** SIGSTOP: connections stay open, nothing answers. */
    pause() { process.kill(r.proc.pid, 'SIGSTOP'); },
    resume() { process.kill(r.proc.pid, 'SIGCONT'); },
    async stop() {
      if (r.proc && !r.proc.exitInfo) {
        try { process.kill(r.proc.pid, 'SIGCONT'); } catch { /* gone */ }
      }
      await stopProcess(r.proc, { ms: 5000 });
    },
  };
  await r.start();
  return r;
}

/** The units' specifiers that the harness resolves as systemd does (systemd.unit(5), Specifiers). */
function expandSpecifiers(value, spec) {
  return value.replace(/%(.)/g, (m, ch) => {
    if (ch === '%') return '%';
    if (!(ch in spec)) throw new Error(`specifier %${ch} in "${value}": not emulated by tests/harness/cluster.mjs`);
    return spec[ch];
  });
}

/** A rendered unit, parsed, with specifiers resolved in the values the harness uses. */
function unitInstance(text, keys, spec) {
  const u = parseUnit(text);
  for (const [sec, names] of Object.entries(keys)) {
    for (const k of names) if (u[sec]?.[k]) u[sec][k] = u[sec][k].map((v) => expandSpecifiers(v, spec));
  }
  return u;
}

/**
 * The rendered template units as systemd-analyze verify sees them (an instance of each); resolves
 * what it printed (nothing when systemd accepts every line), or null without systemd-analyze.
 */
export function verifyUnits(texts, dir) {
  const bin = which('systemd-analyze');
  if (!bin) return null;
  const d = fs.mkdtempSync(path.join(dir, 'verify-'));
  const files = [];
  for (const [name, text] of Object.entries(texts)) {
    fs.writeFileSync(path.join(d, name), text);
    const inst = name.replace('@.', '@1.');
    fs.symlinkSync(name, path.join(d, inst));
    files.push(path.join(d, inst));
  }
  const r = spawnSync(bin, ['verify', '--man=no', ...files], { encoding: 'utf8', timeout: 30000 });
  return `${r.stdout || ''}${r.stderr || ''}`.trim();
}

const FRONT_NAMES = ['nginx', 'lighttpd'];
const MODE_NAMES = ['direct', 'systemd'];

/**
 * Start redis-server, `nodes` responders named node-1..node-N (each on its own unix socket, or on
 * 127.0.0.1:PORT for the indexes in `tcpNodes`, as a node on another host; --cluster to the Redis,
 * --heartbeat), one nginx with a server block per node (each node's own door: nodes[i].api...),
 * and the front over all of them:
 *   front 'nginx'     the upstream of contrib/nginx/sse-fcgi-cluster.conf (round robin), in the
 *                     same nginx
 *   front 'lighttpd'  a lighttpd of its own, contrib/lighttpd/sse-fcgi.conf --enable cluster: node-1
 *                     is SOCKET, the others NODES (least-connection)
 *   mode 'direct'     sse-fcgi --socket ... --cluster ... --node node-N
 *   mode 'systemd'    contrib/systemd/sse-fcgi@.socket and sse-fcgi@.service, instance N, run by
 *                     socket-activate.pl as systemd would (the socket on fd 0; after a crash started
 *                     again in `restartSec`, by default the unit's RestartSec=); each node's file
 *                     node-N.conf (cluster, node) is its credential (%d)
 * Resolves once every node answers /stats with every node up. Fields: redis, nodes [{ name,
 * index, socket, tcpPort, address, pid(), proc, kill9(), stop(), start(), api, stats, metrics,
 * openStream, log() }], front { name, port, api, stats, metrics, openStream, errorLog() }, mode,
 * dir, heartbeat, units and restartSec (systemd mode: the rendered unit texts; the seconds after
 * which a crashed node is started again), stop(), logs().
 */
export async function startCluster({
  nodes: count = 3,
  heartbeat = 1,
  daemonArgs = [],
  nodeArgs = () => [],
  redisUnix = false,
  prefix = '/api/v1/events',
  password = crypto.randomBytes(9).toString('base64url'),
  staticDir = null,
  front = 'nginx',
  mode = 'direct',
  tcpNodes = [],
  restartSec = null, // mode systemd: how long after a crash the node is started again (null: RestartSec=)
} = {}) {
  if (!FRONT_NAMES.includes(front)) throw new Error(`unknown front ${front} (${FRONT_NAMES.join(', ')})`);
  if (!MODE_NAMES.includes(mode)) throw new Error(`unknown mode ${mode} (${MODE_NAMES.join(', ')})`);
  if (front === 'lighttpd' && tcpNodes.includes(0)) throw new Error('behind lighttpd node-1 is the template\'s SOCKET: a unix socket');
  const bin = findResponder();
  const nginx = tool('NGINX', 'nginx', 'nginx-light');
  const lighttpd = front === 'lighttpd' ? tool('LIGHTTPD', 'lighttpd', 'lighttpd') : null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sse-fcgi-cluster-${front}-${mode}-`));
  fs.chmodSync(dir, 0o700);
  for (const d of ['tmp', 'tmp/body', 'tmp/fastcgi', 'tmp/proxy', 'tmp/scgi', 'tmp/uwsgi']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  if (!staticDir) {
    staticDir = path.join(dir, 'www');
    fs.mkdirSync(staticDir);
    fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>sse-fcgi test page</title>\n');
  }
  const user = 'admin';
  const htpasswd = path.join(dir, 'htpasswd');
  fs.writeFileSync(htpasswd, `${user}:{SHA}${crypto.createHash('sha1').update(password).digest('base64')}\n`, { mode: 0o600 });
  const authHeader = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const errorsDir = path.join(CONTRIB, 'lighttpd/errors');
  const c = { dir, heartbeat, prefix, user, password, authHeader, mode, nodes: [], redis: null, nginxProc: null, frontProc: null };

  const stopAll = async () => {
    await stopProcess(c.frontProc, { group: true });
    await stopProcess(c.nginxProc, { group: true });
    await Promise.all(c.nodes.map((n) => stopProcess(n.proc, { ms: 8000 })));
    if (c.redis) await c.redis.stop();
  };

  try {
    c.redis = await startRedis({ dir });
    const clusterUrl = redisUnix ? c.redis.unixUrl : c.redis.url;
    const shared = ['--heartbeat', String(heartbeat), ...daemonArgs];
    if (mode === 'systemd') {
      c.units = {
        'sse-fcgi@.socket': renderTemplate('systemd/sse-fcgi@.socket', { SOCKET: path.join(dir, 'node-%i.sock') }),
        'sse-fcgi@.service': renderTemplate('systemd/sse-fcgi@.service', {
          SSE_FCGI: bin, NODE_CONFIG: path.join(dir, 'node-%i.conf'), SSE_FCGI_ARGS: shared.join(' '),
        }),
      };
      c.restartSec = restartSec ?? seconds(parseUnit(c.units['sse-fcgi@.service']).Service.RestartSec?.[0] ?? '0.1');
    }
    for (let i = 0; i < count; i++) {
      const name = `node-${i + 1}`;
      const tcpPort = tcpNodes.includes(i) ? await freePort() : null;
      const socket = tcpPort ? null : path.join(dir, `${name}.sock`);
      const listen = tcpPort ? `127.0.0.1:${tcpPort}` : socket;
      const port = await freePort();
      const logFile = path.join(dir, `${name}.log`);
      const pidFile = path.join(dir, `${name}.pid`);
      const n = {
        name, index: i, socket, tcpPort, port, logFile, proc: null,
        address: tcpPort ? `127.0.0.1:${tcpPort}` : `unix:${socket}`,
        args: ['--socket', listen, '--cluster', clusterUrl, '--node', name, ...shared, ...nodeArgs(i)],
        ...frontClient({ port, prefix, credentials: { Authorization: authHeader } }),
        /** The pid of the responder itself (under systemd: the supervisor's child), or null. */
        pid() {
          if (!n.proc || n.proc.exitInfo) return null;
          if (mode !== 'systemd') return n.proc.pid;
          let p = null;
          try { p = Number(fs.readFileSync(pidFile, 'utf8')); } catch { /* not started yet */ }
          return pidAlive(p) ? p : null;
        },
        log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''),
        async start() {
          n.proc = mode === 'systemd'
            ? startProcess(`sse-fcgi@${i + 1}`, 'perl', n.systemdArgs(), { logFile })
            : startProcess(name, bin, n.args, { logFile });
          await n.waitServing();
        },
        async waitServing(ms = 15000) {
          await waitUntil(async () => {
            if (n.proc.exitInfo) throw new Error(`${name} exited (${JSON.stringify(n.proc.exitInfo)}):\n${tail(logFile)}`);
            const r = await n.api('stats', { timeout: 2000 });
            return r.status === 200;
          }, { ms, what: `${name} to answer /stats through nginx` });
        },
        /** SIGTERM, and wait for the exit (systemd: `systemctl stop` of the socket and service). */
        async stop() { return stopProcess(n.proc, { ms: 10000 }); },
        /**
         * kill -9 of the responder. Direct: as a lost host. systemd: as a crash, which the service's
         * Restart=on-failure answers by starting it again on the same socket, under the same name.
         */
        async kill9() {
          if (mode !== 'systemd') return stopProcess(n.proc, { signal: 'SIGKILL', ms: 5000 });
          const p = n.pid();
          if (!p) throw new Error(`${name}: no responder to kill`);
          process.kill(p, 'SIGKILL');
          await waitUntil(() => !pidAlive(p), { ms: 5000, what: `${name} (pid ${p}) to die` });
          return { killed: p };
        },
      };
      if (mode === 'systemd') {
        const inst = String(i + 1);
        const base = { i: inst, I: inst, p: 'sse-fcgi', P: 'sse-fcgi', H: os.hostname() };
        n.systemdArgs = () => {
          // Each instance renders the same two units (a TCP node: its socket unit with the address).
          const socketText = tcpPort ? renderTemplate('systemd/sse-fcgi@.socket', { SOCKET: listen }) : c.units['sse-fcgi@.socket'];
          const creds = path.join(dir, 'credentials', `sse-fcgi@${inst}.service`);
          const units = {
            socket: unitInstance(socketText, { Socket: ['ListenStream'] }, { ...base, n: `sse-fcgi@${inst}.socket`, N: `sse-fcgi@${inst}` }),
            service: unitInstance(c.units['sse-fcgi@.service'], { Service: ['ExecStart', 'LoadCredential'] },
              { ...base, n: `sse-fcgi@${inst}.service`, N: `sse-fcgi@${inst}`, d: creds }),
          };
          if (units.service.Service.StandardInput?.[0] !== 'socket') throw new Error('contrib/systemd/sse-fcgi@.service lost StandardInput=socket');
          // LoadCredential=ID:PATH: systemd copies PATH to $CREDENTIALS_DIRECTORY/ID (%d), readable by the service.
          fs.rmSync(creds, { recursive: true, force: true });
          fs.mkdirSync(creds, { recursive: true });
          for (const v of units.service.Service.LoadCredential || []) {
            const k = v.indexOf(':');
            fs.copyFileSync(v.slice(k + 1), path.join(creds, v.slice(0, k)));
            fs.chmodSync(path.join(creds, v.slice(0, k)), 0o400);
          }
          return socketActivateArgs(units, { fd0: true, pidfile: pidFile, restartSec: c.restartSec });
        };
        // The node's own options (pairs of --option value): what the command line of mode direct
        // gives it but the shared ones.
        const own = ['--cluster', clusterUrl, '--node', name, ...nodeArgs(i)];
        const lines = [];
        for (let k = 0; k < own.length; k += 2) lines.push(`${own[k].replace(/^--/, '')} = ${own[k + 1]}`);
        fs.writeFileSync(path.join(dir, `node-${inst}.conf`), `${lines.join('\n')}\n`, { mode: 0o600 });
      }
      c.nodes.push(n);
    }

    // nginx: one server block per node (its own door), and with front nginx one over them all.
    const frontPort = await freePort();
    // The template defines its access log's format ahead of its server block: that part once, first.
    const access = path.join(dir, 'nginx-access.log');
    let head = '';
    const block = (listen, upstream) => {
      const text = renderTemplate('nginx/sse-fcgi.conf', {
        LISTEN: listen, UPSTREAM: upstream, PREFIX: prefix, STATIC_DIR: staticDir, HTPASSWD: htpasswd, ACCESS_LOG: access,
      });
      const at = text.indexOf('\nserver {');
      head = text.slice(0, at);
      return text.slice(at);
    };
    const blocks = c.nodes.map((n) => block(`127.0.0.1:${n.port}`, n.address));
    if (front === 'nginx') {
      fs.writeFileSync(path.join(dir, 'sse-fcgi-cluster.conf'), renderTemplate('nginx/sse-fcgi-cluster.conf', {
        SERVERS: c.nodes.map((n) => `server ${n.address};`).join(' '),
      }));
      blocks.unshift(block(`127.0.0.1:${frontPort}`, 'sse_fcgi_cluster'));
    }
    fs.writeFileSync(path.join(dir, 'sse-fcgi.conf'), [head, ...blocks].join('\n'));
    fs.copyFileSync(path.join(CONTRIB, 'nginx/sse-fcgi-params'), path.join(dir, 'sse-fcgi-params'));
    fs.writeFileSync(path.join(dir, 'nginx.conf'), renderTemplate('nginx/nginx-standalone.conf', {
      RUNDIR: dir, ERROR_LOG: path.join(dir, 'nginx-error.log'), ...frontSizing('nginx'),
    }));
    c.nginxProc = startProcess('nginx', nginx, ['-p', `${dir}/`, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'],
      { logFile: path.join(dir, 'nginx.log') });
    let frontErrorLog = path.join(dir, 'nginx-error.log');
    if (front === 'lighttpd') {
      const ldir = path.join(dir, 'lighttpd');
      fs.mkdirSync(path.join(ldir, 'tmp'), { recursive: true });
      frontErrorLog = path.join(ldir, 'lighttpd-error.log');
      const sizing = frontSizing('lighttpd');
      const host = (n) => (n.tcpPort ? `"host" => "127.0.0.1", "port" => ${n.tcpPort}` : `"socket" => "${n.socket}"`);
      fs.writeFileSync(path.join(ldir, 'sse-fcgi.conf'), renderTemplate('lighttpd/sse-fcgi.conf', {
        SOCKET: c.nodes[0].socket, PREFIX: prefix, STATIC_DIR: staticDir, HTPASSWD: htpasswd, ERRORS_DIR: errorsDir,
        NODES: c.nodes.slice(1).map((n) => `"${n.name}" => ( ${host(n)}, "check-local" => "disable" ),`).join(' '),
      }, ['cluster']));
      fs.writeFileSync(path.join(ldir, 'lighttpd.conf'), renderTemplate('lighttpd/lighttpd-standalone.conf', {
        RUNDIR: ldir, BIND: '127.0.0.1', PORT: frontPort, ERROR_LOG: frontErrorLog, ERRORS_DIR: errorsDir,
        ACCESS_LOG: path.join(ldir, 'lighttpd-access.log'), MAX_FDS: sizing.MAX_FDS, MAX_CONNECTIONS: sizing.MAX_CONNECTIONS,
      }));
      c.frontProc = startProcess('lighttpd', lighttpd, ['-D', '-f', path.join(ldir, 'lighttpd.conf')], { logFile: path.join(ldir, 'lighttpd.log') });
    }
    c.front = {
      name: front, port: frontPort, baseUrl: `http://127.0.0.1:${frontPort}`,
      errorLog: () => (fs.existsSync(frontErrorLog) ? fs.readFileSync(frontErrorLog, 'utf8') : ''),
      ...frontClient({ port: frontPort, prefix, credentials: { Authorization: authHeader } }),
    };
    c.frontErrorLog = frontErrorLog;

    await Promise.all(c.nodes.map((n) => n.start()));
    await waitUntil(async () => {
      if (c.frontProc?.exitInfo) throw new Error(`${front} exited (${JSON.stringify(c.frontProc.exitInfo)}):\n${tail(frontErrorLog)}`);
      return (await c.front.api('stats', { timeout: 2000 })).status === 200;
    }, { ms: 10000, what: `the front (${front}) to answer /stats` });
  } catch (e) {
    const logs = c.logs ? c.logs() : '';
    await stopAll();
    if (!process.env.SSE_FCGI_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`${e.message}\n${logs}`);
  }

  Object.assign(c, {
    logs(n = 30) {
      const files = [...c.nodes.map((x) => x.logFile), path.join(dir, 'nginx-error.log'), c.redis.logFile];
      if (front !== 'nginx') files.push(c.frontErrorLog);
      return files.map((f) => `--- ${f}\n${tail(f, n)}`).join('\n');
    },
    /** Every node's stats.data, in node order (null for a node that does not answer). */
    async allStats(query = '') {
      return Promise.all(c.nodes.map(async (n) => {
        if (!n.pid()) return null;
        const r = await n.api(`stats${query}`);
        return r.status === 200 ? r.json.data : null;
      }));
    },
    /** Resolves once every running node lists every running node as up, with cluster state ok. */
    async waitNodes(ms = 10000) {
      const running = c.nodes.filter((n) => n.pid()).map((n) => n.name).sort();
      return waitUntil(async () => {
        const all = await c.allStats('?summary=1');
        return all.every((d, i) => !c.nodes[i].pid() || (d && d.cluster?.state === 'ok' &&
          running.every((name) => d.nodes?.some((x) => x.node === name && x.state === 'up'))));
      }, { ms, every: 50, what: `nodes ${running.join(', ')} up on every node` });
    },
    async stop() {
      if (c.stopped) return;
      c.stopped = true;
      await stopAll();
      if (!process.env.SSE_FCGI_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
    },
  });
  try {
    await c.waitNodes();
  } catch (e) {
    const logs = c.logs();
    await c.stop();
    throw new Error(`${e.message}\n${logs}`);
  }
  return c;
}

export { httpRequest, now, pidAlive, sleep, waitUntil };
