// A client network namespace for the liveness tests: a client whose packets can be dropped while
// its sockets stay open, as a kiosk whose Wi-Fi goes away leaves them. Node 20, built-in modules.
//
// Why this layout. The web servers and the responder stay bound to 127.0.0.1 only, as in every
// other test. The client runs in a namespace of its own, joined to the host by a veth pair with a
// private /30 (10.200.X.1 on the host side, 10.200.X.2 in the namespace). The namespace cannot
// reach the host's loopback, so one nftables DNAT rule, in a table this module creates, turns
// 10.200.X.1:PORT arriving on the host-side veth into 127.0.0.1:PORT; route_localnet=1 on that
// interface alone (it vanishes with the interface) lets the kernel route it. No user-space relay
// sits in between: a relay (socat, a Node proxy) would keep reading from the web server and so hide
// the very thing under test. With DNAT the web server's own TCP connection goes to 10.200.X.2, and
// when the namespace drops every packet (an nftables "policy drop" table inside the namespace,
// both ways) that connection becomes half-open exactly as on a real network: the web server's
// writes go into its send buffer and are retransmitted into the void. tc netem would do as well,
// but not every kernel has it (this one has no qdiscs at all); nftables is in every Debian kernel.
//
// Everything created is undone by teardown(): the processes started in the namespace (killed
// first), the namespace, the veth pair (deleting one end deletes both), the host nftables table.
// teardown() is synchronous so that it can also run from process 'exit' (reached on
// SIGINT/SIGTERM/SIGHUP too: see the handlers below); leftovers of a run that was SIGKILLed are
// removed by the next run (names carry the pid of the run that made them).

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, which } from '../../harness/stack.mjs';

const NS_PREFIX = 'ssefcgi-lv-';
const TABLE_PREFIX = 'ssefcgi_lv_';
const IF_PREFIX = 'sselv';
const active = new Set();
let hooked = false;

function run(cmd, args, { input, allowFail = false } = {}) {
  try {
    return execFileSync(cmd, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    if (allowFail) return null;
    const err = (e.stderr || '').toString().trim();
    throw new Error(`${cmd} ${args.join(' ')}: ${err || e.message}`);
  }
}

function hook() {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const ns of active) ns.teardown();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      for (const ns of active) ns.teardown();
      process.exit(128 + os.constants.signals[sig]);
    });
  }
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/**
 * Can this process build a client namespace? { ok: true, tools } or { ok: false, skip: reason }
 * (not root) or { ok: false, error } (root, but the tools cannot be installed). As root, missing
 * tools (ip from iproute2, nft from nftables) are installed with contrib/common.sh's installer.
 */
export function netnsPrerequisites() {
  if (process.getuid?.() !== 0) {
    return { ok: false, skip: 'needs root (ip netns, veth, nftables); run the suite as root, as CI does' };
  }
  const want = { ip: 'iproute2', nft: 'nftables' };
  const missing = Object.entries(want).filter(([b]) => !which(b)).map(([, p]) => p);
  if (missing.length) {
    try {
      execFileSync('bash', ['-c', `. "${path.join(REPO, 'contrib/common.sh')}" && sse_install_packages "$@"`, 'install', ...missing],
        { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    } catch (e) {
      return { ok: false, error: `cannot install ${missing.join(' ')}: ${(e.stderr || e.message).toString().trim().split('\n').slice(-3).join(' / ')}` };
    }
    const still = Object.keys(want).filter((b) => !which(b));
    if (still.length) return { ok: false, error: `${still.join(', ')} still missing after installing ${missing.join(' ')}` };
  }
  return { ok: true, tools: { ip: which('ip'), nft: which('nft') }, installed: missing };
}

/** Removes namespaces, veths and nftables tables left by runs whose process is gone. */
export function removeLeftovers() {
  const nsList = run('ip', ['netns', 'list'], { allowFail: true }) || '';
  for (const line of nsList.split('\n')) {
    const name = line.split(/\s+/)[0];
    const m = name && name.startsWith(NS_PREFIX) ? /-(\d+)$/.exec(name) : null;
    if (m && !pidAlive(Number(m[1]))) run('ip', ['netns', 'del', name], { allowFail: true });
  }
  const tables = run('nft', ['list', 'tables', 'ip'], { allowFail: true }) || '';
  for (const line of tables.split('\n')) {
    const m = new RegExp(`^table ip (${TABLE_PREFIX}(\\d+))$`).exec(line.trim());
    if (m && !pidAlive(Number(m[2]))) run('nft', ['delete', 'table', 'ip', m[1]], { allowFail: true });
  }
  const links = run('ip', ['-o', 'link', 'show'], { allowFail: true }) || '';
  for (const line of links.split('\n')) {
    const m = new RegExp(`^\\d+: (${IF_PREFIX}(\\d+)h)[@:]`).exec(line);
    if (m && !pidAlive(Number(m[2]))) run('ip', ['link', 'del', m[1]], { allowFail: true });
  }
}

/** A /30 in 10.200.0.0/16 that no interface of the host uses. */
function freeSubnet() {
  const used = run('ip', ['-o', '-4', 'addr', 'show']) || '';
  const start = process.pid % 250;
  for (let i = 0; i < 250; i++) {
    const x = ((start + i) % 250) + 1;
    if (!used.includes(` 10.200.${x}.`)) return x;
  }
  throw new Error('no free 10.200.X.0/30 subnet');
}

export class ClientNetns {
  /**
   * Builds the namespace and the DNAT to 127.0.0.1:`port` (the web server's port). The client
   * reaches the web server at http://`hostAddr`:`port`.
   */
  constructor(port) {
    hook();
    this.port = port;
    this.name = `${NS_PREFIX}${process.pid}`;
    this.table = `${TABLE_PREFIX}${process.pid}`;
    this.hostIf = `${IF_PREFIX}${process.pid}h`;
    this.nsIf = `${IF_PREFIX}${process.pid}n`;
    if (this.hostIf.length > 15) throw new Error(`interface name ${this.hostIf} is too long`);
    this.children = new Set();
    this.dropped = false;
    this.torn = false;
    active.add(this);
    try {
      const x = freeSubnet();
      this.hostAddr = `10.200.${x}.1`;
      this.nsAddr = `10.200.${x}.2`;
      run('ip', ['netns', 'add', this.name]);
      run('ip', ['link', 'add', this.hostIf, 'type', 'veth', 'peer', 'name', this.nsIf]);
      run('ip', ['link', 'set', this.nsIf, 'netns', this.name]);
      run('ip', ['addr', 'add', `${this.hostAddr}/30`, 'dev', this.hostIf]);
      run('ip', ['link', 'set', this.hostIf, 'up']);
      run('ip', ['-n', this.name, 'addr', 'add', `${this.nsAddr}/30`, 'dev', this.nsIf]);
      run('ip', ['-n', this.name, 'link', 'set', this.nsIf, 'up']);
      run('ip', ['-n', this.name, 'link', 'set', 'lo', 'up']);
      fs.writeFileSync(`/proc/sys/net/ipv4/conf/${this.hostIf}/route_localnet`, '1\n');
      run('nft', ['-f', '-'], {
        input: `table ip ${this.table} {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "${this.hostIf}" ip daddr ${this.hostAddr} tcp dport ${port} dnat to 127.0.0.1:${port}
  }
}
`,
      });
    } catch (e) {
      this.teardown();
      throw e;
    }
  }

  get baseUrl() {
    return `http://${this.hostAddr}:${this.port}`;
  }

  /** Spawns `cmd args` inside the namespace (its own process group); killed by teardown(). */
  spawn(cmd, args, opts = {}) {
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { detached: true, ...opts });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** From now on every packet into or out of the namespace is dropped; sockets stay open. */
  dropAll() {
    run('ip', ['netns', 'exec', this.name, 'nft', '-f', '-'], {
      input: `table inet ${this.table}_drop {
  chain input { type filter hook input priority filter; policy drop; }
  chain output { type filter hook output priority filter; policy drop; }
}
`,
    });
    this.dropped = true;
  }

  /** Undo everything; safe to call twice, synchronous, never throws. */
  teardown() {
    if (this.torn) return;
    this.torn = true;
    for (const c of this.children) {
      try { process.kill(-c.pid, 'SIGKILL'); } catch { try { c.kill('SIGKILL'); } catch { /* gone */ } }
    }
    // Processes still in the namespace (started by hand while debugging, say) go too.
    const pids = run('ip', ['netns', 'pids', this.name], { allowFail: true }) || '';
    for (const p of pids.split(/\s+/).filter(Boolean)) {
      try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
    }
    run('ip', ['netns', 'del', this.name], { allowFail: true });
    run('ip', ['link', 'del', this.hostIf], { allowFail: true });
    run('nft', ['delete', 'table', 'ip', this.table], { allowFail: true });
    active.delete(this);
  }

  /** What is left of this namespace's objects (for the test's own check of its teardown). */
  leftovers() {
    const out = [];
    if ((run('ip', ['netns', 'list'], { allowFail: true }) || '').split('\n').some((l) => l.split(/\s+/)[0] === this.name)) out.push(`netns ${this.name}`);
    if (run('ip', ['link', 'show', this.hostIf], { allowFail: true }) !== null) out.push(`link ${this.hostIf}`);
    if (run('nft', ['list', 'table', 'ip', this.table], { allowFail: true }) !== null) out.push(`nft table ip ${this.table}`);
    return out;
  }
}
