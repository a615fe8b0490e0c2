// A real sse-fcgi cluster for tests: redis-server, N responders joined with --cluster, and one
// nginx that serves every node alone (one server block per node) and all of them behind one
// round-robin upstream, rendered from the shipped contrib/nginx templates
// (sse-fcgi-cluster.conf, sse-fcgi.conf, nginx-standalone.conf). Node 20, built-in modules only.
//
//   import { startCluster } from './cluster.mjs';
//   const c = await startCluster({ nodes: 3, heartbeat: 1 });
//   const s = await c.nodes[0].openStream('admin');     // on node-1 itself
//   await c.nodes[2].api('disconnect', { method: 'POST', auth: false, body: { connection_id: s.connectionId } });
//   await c.front.stats();                                // through the round-robin upstream
//   await c.nodes[1].kill9(); await c.redis.pause(); await c.redis.resume(); await c.redis.restart();
//   await c.stop();
//
// Environment: SSE_FCGI_BIN (the responder), NGINX, REDIS_SERVER, REDIS_CLI (binaries),
// SSE_FCGI_KEEP_TMP=1 (keep the runtime directory after stop()).

import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  REPO, findResponder, freePort, frontClient, httpRequest, now, pidAlive, renderTemplate, sleep,
  startProcess, stopProcess, tail, waitUntil, which,
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
      return execFileSync(cli, ['-h', '127.0.0.1', '-p', String(port), ...args.map(String)], { encoding: 'utf8', timeout: 10000 }).trim();
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

/**
 * Start redis-server, `nodes` responders named node-1..node-N (each on its own unix socket,
 * --cluster to the Redis, --heartbeat) and nginx. Resolves once every node answers /stats with
 * every node up. Fields: redis, nodes [{ name, index, port, socket, pid(), proc, kill9(),
 * stop(), start(), api, stats, metrics, openStream, log() }], front { port, api, stats, metrics,
 * openStream }, dir, heartbeat, stop(), logs().
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
} = {}) {
  const bin = findResponder();
  const nginx = tool('NGINX', 'nginx', 'nginx-light');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sse-fcgi-cluster-'));
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
  const c = { dir, heartbeat, prefix, user, password, authHeader, nodes: [], redis: null, nginxProc: null };

  const stopAll = async () => {
    await stopProcess(c.nginxProc, { group: true });
    await Promise.all(c.nodes.map((n) => stopProcess(n.proc, { ms: 5000 })));
    if (c.redis) await c.redis.stop();
  };

  try {
    c.redis = await startRedis({ dir });
    const clusterUrl = redisUnix ? c.redis.unixUrl : c.redis.url;
    for (let i = 0; i < count; i++) {
      const name = `node-${i + 1}`;
      const socket = path.join(dir, `${name}.sock`);
      const port = await freePort();
      const logFile = path.join(dir, `${name}.log`);
      const n = {
        name, index: i, socket, port, logFile, proc: null,
        args: ['--socket', socket, '--cluster', clusterUrl, '--node', name, '--heartbeat', String(heartbeat), ...daemonArgs, ...nodeArgs(i)],
        ...frontClient({ port, prefix, credentials: { Authorization: authHeader } }),
        pid: () => (n.proc && !n.proc.exitInfo ? n.proc.pid : null),
        log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''),
        async start() {
          n.proc = startProcess(name, bin, n.args, { logFile });
          await waitUntil(async () => {
            if (n.proc.exitInfo) throw new Error(`${name} exited (${JSON.stringify(n.proc.exitInfo)}):\n${tail(logFile)}`);
            const r = await n.api('stats', { timeout: 2000 });
            return r.status === 200;
          }, { ms: 15000, what: `${name} to answer /stats through nginx` });
        },
        /** SIGTERM, and wait for the exit. */
        async stop() { return stopProcess(n.proc, { ms: 10000 }); },
        /** kill -9, as a lost host. */
        async kill9() { return stopProcess(n.proc, { signal: 'SIGKILL', ms: 5000 }); },
      };
      c.nodes.push(n);
    }

    // nginx: one server block per node, and one (the front) over them all.
    const frontPort = await freePort();
    const block = (listen, upstream) => renderTemplate('nginx/sse-fcgi.conf', {
      LISTEN: listen, UPSTREAM: upstream, PREFIX: prefix, STATIC_DIR: staticDir, HTPASSWD: htpasswd,
    });
    fs.writeFileSync(path.join(dir, 'sse-fcgi-cluster.conf'), renderTemplate('nginx/sse-fcgi-cluster.conf', {
      SERVERS: c.nodes.map((n) => `server unix:${n.socket};`).join(' '),
    }));
    fs.writeFileSync(path.join(dir, 'sse-fcgi.conf'), [
      block(`127.0.0.1:${frontPort}`, 'sse_fcgi_cluster'),
      ...c.nodes.map((n) => block(`127.0.0.1:${n.port}`, `unix:${n.socket}`)),
    ].join('\n'));
    fs.copyFileSync(path.join(CONTRIB, 'nginx/sse-fcgi-params'), path.join(dir, 'sse-fcgi-params'));
    fs.writeFileSync(path.join(dir, 'nginx.conf'), renderTemplate('nginx/nginx-standalone.conf', {
      RUNDIR: dir, ERROR_LOG: path.join(dir, 'nginx-error.log'),
    }));
    c.nginxProc = startProcess('nginx', nginx, ['-p', `${dir}/`, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'],
      { logFile: path.join(dir, 'nginx.log') });
    c.front = { port: frontPort, baseUrl: `http://127.0.0.1:${frontPort}`, ...frontClient({ port: frontPort, prefix, credentials: { Authorization: authHeader } }) };

    await Promise.all(c.nodes.map((n) => n.start()));
  } catch (e) {
    const logs = c.logs ? c.logs() : '';
    await stopAll();
    if (!process.env.SSE_FCGI_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`${e.message}\n${logs}`);
  }

  Object.assign(c, {
    logs(n = 30) {
      const files = [...c.nodes.map((x) => x.logFile), path.join(dir, 'nginx-error.log'), c.redis.logFile];
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
