// Apache, Caddy and h2o as front ends of a test stack (tests/harness/stack.mjs): how each one's
// configuration is rendered from the shipped contrib/ templates, and how the real server is
// started in the foreground in the stack's private directory.
//
// Each front: { package (Debian), binary: [ENV, name], modes, responderArgs(opts), configure(c),
// command(c) -> [cmd, args, env], addUser(c, name, password), socketGroup(mode) }. `c` is the
// stack's context: { dir, mode, port, sock, prefix, staticDir, htpasswd, user, password,
// frontOptions, render, contrib, tool, errorLogFile }.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const APACHE_MODULES = '/usr/lib/apache2/modules';

/** The gid of a group, from /etc/group. */
function gidOf(group) {
  const line = fs.readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith(`${group}:`));
  if (!line) throw new Error(`no group ${group}`);
  return Number(line.split(':')[2]);
}

/** "name bcrypt-hash" for Caddy's basicauth, from htpasswd -B (cost 5: cheap to check per request;
 *  Caddy also keeps a cache of checked passwords). */
function caddyUserLine(name, password) {
  const out = execFileSync('htpasswd', ['-nbB', '-C', '5', name, password], { encoding: 'utf8' }).trim();
  return `${name} ${out.slice(out.indexOf(':') + 1)}\n`;
}

/** Apache's worker pool in the tests; `frontOptions` may shrink it (the worker-reserve test). */
export function apacheSizing(o = {}) {
  const threads = o.threadsPerChild ?? 64;
  const servers = o.servers ?? 4;
  const workers = threads * servers;
  // The responder refuses streams past --max-connections, which leaves `reserve` workers free.
  const reserve = o.reserve ?? 32;
  return { threads, servers, serverLimit: 2 * servers, workers, reserve, maxConnections: workers - reserve };
}

/**
 * contrib/errors copied into the stack's directory, which the web server's user may read: the
 * checkout may sit where www-data cannot (a clone in a mktemp -d directory is mode 0700), and
 * Apache then answers its errors in its own HTML.
 */
function errorsCopy(c) {
  const dir = path.join(c.dir, 'errors');
  fs.cpSync(path.join(c.contrib, 'errors'), dir, { recursive: true });
  return dir;
}

export const FRONTS = {
  apache: {
    package: 'apache2',
    binary: ['APACHE', 'apache2'],
    modes: ['unix', 'spawn-fcgi', 'systemd-fd0', 'listen-fds'],
    responderArgs: (o) => ['--max-connections', String(apacheSizing(o).maxConnections)],
    // Under spawn-fcgi the socket is given Apache's own group (-G), as a Debian deployment does.
    socketGroup: (mode) => (mode === 'spawn-fcgi' ? 'www-data' : ''),
    configure(c) {
      const z = apacheSizing(c.frontOptions);
      const ownGroup = this.socketGroup(c.mode) !== '';
      fs.writeFileSync(path.join(c.dir, 'sse-fcgi.conf'), c.render('apache/sse-fcgi.conf', {
        LISTEN: `127.0.0.1:${c.port}`, SOCKET: c.sock, PREFIX: c.prefix, STATIC_DIR: c.staticDir,
        HTPASSWD: c.htpasswd, ERRORS_DIR: errorsCopy(c), ACCESS_LOG: path.join(c.dir, 'apache-access.log'),
      }, c.frontOptions?.enable || []));
      fs.writeFileSync(path.join(c.dir, 'apache2.conf'), c.render('apache/apache-standalone.conf', {
        RUNDIR: c.dir, LISTEN: `127.0.0.1:${c.port}`, ERROR_LOG: c.errorLogFile, MODULES: APACHE_MODULES,
        // Apache refuses to serve as root; its children run as www-data. With spawn-fcgi they run
        // in www-data's own group, which the socket (-G www-data), the private directory and the
        // htpasswd file are given, as a Debian deployment does. Otherwise (--socket makes the
        // socket root:root 0660) in group root.
        USER: 'www-data', GROUP: ownGroup ? 'www-data' : 'root',
        THREADS_PER_CHILD: z.threads, SERVERS: z.servers, SERVER_LIMIT: z.serverLimit, MAX_REQUEST_WORKERS: z.workers,
      }));
      const gid = ownGroup ? gidOf('www-data') : 0;
      for (const [f, m] of [[c.dir, 0o750], [c.htpasswd, 0o640]]) {
        fs.chownSync(f, 0, gid);
        fs.chmodSync(f, m);
      }
    },
    command: (c) => [c.tool('APACHE', 'apache2', 'apache2'), ['-f', path.join(c.dir, 'apache2.conf'), '-DFOREGROUND'], {}],
  },

  caddy: {
    package: 'caddy',
    binary: ['CADDY', 'caddy'],
    modes: ['unix', 'spawn-fcgi', 'systemd-fd0', 'listen-fds'],
    responderArgs: () => [],
    configure(c) {
      const users = path.join(c.dir, 'caddy-users');
      fs.writeFileSync(users, caddyUserLine(c.user, c.password), { mode: 0o600 });
      fs.writeFileSync(path.join(c.dir, 'sse-fcgi-snippets.caddy'), c.render('caddy/sse-fcgi-snippets.caddy', {}));
      const template = c.frontOptions?.template || 'caddy/Caddyfile';
      fs.writeFileSync(path.join(c.dir, 'Caddyfile'), c.render(template, {
        SITE: `http://:${c.port}`, BIND: '127.0.0.1', ADMIN: `unix/${path.join(c.dir, 'caddy-admin.sock')}`,
        SNIPPETS: path.join(c.dir, 'sse-fcgi-snippets.caddy'), SOCKET: c.sock, PREFIX: c.prefix,
        STATIC_DIR: c.staticDir, USERS: users, ACCESS_LOG: path.join(c.dir, 'caddy-access.log'), ...(c.frontOptions?.vars || {}),
      }));
    },
    command(c) {
      // Caddy keeps its state under XDG_DATA_HOME/XDG_CONFIG_HOME: the private directory.
      return [c.tool('CADDY', 'caddy', 'caddy'), ['run', '--config', path.join(c.dir, 'Caddyfile'), '--adapter', 'caddyfile'],
        { XDG_DATA_HOME: c.dir, XDG_CONFIG_HOME: c.dir, HOME: c.dir }];
    },
    /** Caddy reads its users with the configuration: add the line, then caddy reload. */
    addUser(c, name, password) {
      fs.appendFileSync(path.join(c.dir, 'caddy-users'), caddyUserLine(name, password));
      const args = ['reload', '--config', path.join(c.dir, 'Caddyfile'), '--adapter', 'caddyfile',
        '--address', `unix/${path.join(c.dir, 'caddy-admin.sock')}`];
      const env = { ...process.env, XDG_DATA_HOME: c.dir, XDG_CONFIG_HOME: c.dir };
      execFileSync(c.tool('CADDY', 'caddy', 'caddy'), args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    },
  },

  h2o: {
    package: 'h2o',
    binary: ['H2O', 'h2o'],
    modes: ['unix', 'spawn-fcgi', 'systemd-fd0', 'listen-fds'],
    responderArgs: () => [],
    configure(c) {
      fs.writeFileSync(path.join(c.dir, 'h2o.conf'), c.render('h2o/h2o.conf', {
        HOST: '127.0.0.1', PORT: c.port, USER: 'root', PID_FILE: path.join(c.dir, 'h2o.pid'), ERROR_LOG: c.errorLogFile,
        TEMP_DIR: path.join(c.dir, 'tmp'), SOCKET: c.sock, PREFIX: c.prefix, STATIC_DIR: c.staticDir, HTPASSWD: c.htpasswd,
        ERRORS_DIR: errorsCopy(c), ACCESS_LOG: path.join(c.dir, 'h2o-access.log'),
      }));
    },
    command: (c) => [c.tool('H2O', 'h2o', 'h2o'), ['-c', path.join(c.dir, 'h2o.conf')], {}],
  },
};
