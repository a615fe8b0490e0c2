#!/usr/bin/env node
// Integration suite: the behaviour tests of suite.mjs against real deployments.
//
//   node tests/integration/run.mjs [--deployments LIST] [--subset] [--only TEXT] [--heartbeat S]
//                                  [--disconnects N] [--no-liveness]
//
//   --deployments  comma-separated, default all: nginx-unix, nginx-tcp, lighttpd-spawn-fcgi,
//                  lighttpd-bin-path, systemd-fd0, listen-fds, apache-unix, apache-spawn-fcgi
//                  (Apache as www-data:www-data, the socket given that group), caddy-unix, h2o-unix,
//                  and the site's own login instead of basic auth (login.mjs's checks, not the
//                  suite): nginx-auth-request, caddy-forward-auth
//   --subset       only the reported bug's scenario set (make check's nginx.sh): 7 aborts then 1,
//                  explicit disconnects (10 unless --disconnects), SIGKILL, bad input
//   --only TEXT    only tests whose name contains TEXT
//   --no-liveness  without the liveness checks (liveness.mjs: acknowledged liveness, superseding,
//                  close reasons), which otherwise run after the suite behind each front end of
//                  the selected deployments (nginx, lighttpd, apache, caddy, h2o); --subset leaves
//                  them out as well
//
// Prints one line per test and deployment, the measured delays per deployment, and last a line
// "N passed, N failed". Exit 0 only if nothing failed.

import { startStack, sleep, now } from '../harness/stack.mjs';
import { tests, detectionLimit } from './suite.mjs';
import { runLiveness } from './liveness.mjs';
import { LOGIN_DEPLOYMENTS, runLogin } from './login.mjs';

const DEPLOYMENTS = {
  'nginx-unix': { front: 'nginx', mode: 'unix' },
  'nginx-tcp': { front: 'nginx', mode: 'tcp' },
  'lighttpd-spawn-fcgi': { front: 'lighttpd', mode: 'spawn-fcgi' },
  'lighttpd-bin-path': { front: 'lighttpd', mode: 'bin-path' },
  'systemd-fd0': { front: 'nginx', mode: 'systemd-fd0' },
  'listen-fds': { front: 'nginx', mode: 'listen-fds' },
  'apache-unix': { front: 'apache', mode: 'unix' },
  'apache-spawn-fcgi': { front: 'apache', mode: 'spawn-fcgi' },
  'caddy-unix': { front: 'caddy', mode: 'unix' },
  'h2o-unix': { front: 'h2o', mode: 'unix' },
};
for (const [d, spec] of Object.entries(LOGIN_DEPLOYMENTS)) DEPLOYMENTS[d] = { front: spec.front, mode: 'unix', login: true };

function parseArgs(argv) {
  const o = { deployments: Object.keys(DEPLOYMENTS), subset: false, only: null, heartbeat: 1, disconnects: null, liveness: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => { if (i + 1 >= argv.length) usage(); return argv[++i]; };
    if (a === '--deployments') o.deployments = val().split(',').filter(Boolean);
    else if (a === '--subset') o.subset = true;
    else if (a === '--only') o.only = val();
    else if (a === '--heartbeat') o.heartbeat = Number(val());
    else if (a === '--disconnects') o.disconnects = Number(val());
    else if (a === '--no-liveness') o.liveness = false;
    else usage();
  }
  for (const d of o.deployments) if (!DEPLOYMENTS[d]) usage(`unknown deployment ${d}`);
  if (o.disconnects === null) o.disconnects = o.subset ? 10 : 100;
  return o;
}

function usage(msg) {
  if (msg) console.error(msg);
  console.error('usage: run.mjs [--deployments LIST] [--subset] [--only TEXT] [--heartbeat S] [--disconnects N] [--no-liveness]');
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const selected = tests.filter((t) => (!opts.subset || t.subset) && (!opts.only || t.name.includes(opts.only)));
let passed = 0;
let failed = 0;
const measured = {};

const indent = (s) => String(s).split('\n').join('\n    ');

async function healthy(stack) {
  try {
    await stack.stats();
    return true;
  } catch {
    return false;
  }
}

/** End what a test left open, then wait for an empty registry (disconnect is immediate). */
async function cleanup(stack, ctx) {
  for (const f of ctx.cleanups) { try { await f(); } catch { /* best effort */ } }
  await Promise.all(ctx.streams.filter((s) => !s.isEnded && s.connectionId).map((s) =>
    stack.api('disconnect', { method: 'POST', auth: false, body: { connection_id: s.connectionId } }).catch(() => {})));
  for (const s of ctx.streams) s.close();
  const t0 = now();
  while (now() - t0 < detectionLimit(stack, 'fin') + 2000) {
    try {
      if ((await stack.stats()).total_connections === 0) return;
    } catch { /* restarting */ }
    await sleep(50);
  }
  throw new Error('connections left in the registry after the test');
}

async function runDeployment(name) {
  const spec = { ...DEPLOYMENTS[name], heartbeat: opts.heartbeat };
  console.log(`\n== ${name} (${spec.front} + ${spec.mode}, heartbeat ${spec.heartbeat} s)`);
  measured[name] = {};
  let stack;
  const start = async () => {
    stack = await startStack(spec);
    return stack;
  };
  try {
    await start();
  } catch (e) {
    console.log(`   stack did not start: ${indent(e.message)}`);
    for (const t of selected.filter((x) => (!x.modes || x.modes.includes(spec.mode)) && (!x.fronts || x.fronts.includes(spec.front)))) {
      failed++;
      console.log(`FAIL ${name}: ${t.name} (stack did not start)`);
    }
    return;
  }
  console.log(`   stack up at ${stack.baseUrl} (dir ${stack.dir})`);
  for (const t of selected) {
    if ((t.modes && !t.modes.includes(spec.mode)) || (t.fronts && !t.fronts.includes(spec.front))) continue;
    const ctx = {
      streams: [],
      cleanups: [],
      disconnectCount: opts.disconnects,
      track(s) { this.streams.push(s); return s; },
      onCleanup(f) { this.cleanups.push(f); },
      measure(k, v) { measured[name][k] = v; },
    };
    const t0 = now();
    try {
      const detail = await t.run(stack, ctx);
      await cleanup(stack, ctx);
      passed++;
      console.log(`ok   ${name}: ${t.name} (${detail}; ${Math.round(now() - t0)} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${t.name}\n    ${indent(e.message)}`);
      try { await cleanup(stack, ctx); } catch { /* reported below if it matters */ }
      if (!(await healthy(stack))) {
        console.log(`    (the stack stopped answering; logs:)\n    ${indent(stack.logs())}`);
        await stack.stop().catch(() => {});
        try { await start(); } catch (err) { console.log(`    restart failed: ${indent(err.message)}`); stack = null; }
      }
    }
    if (!stack) break;
  }
  if (stack) {
    const r = await stack.stop();
    const x = r.responderExit;
    if (x) console.log(`   stopped: ${stack.mode === 'bin-path' ? 'lighttpd' : 'responder'} exit ${x.code ?? x.signal}${x.killed ? ' (SIGKILL needed)' : ''} after ${Math.round(x.ms ?? 0)} ms`);
  }
  if (stack) {
    measured[name]['limit RST'] = detectionLimit(stack, 'rst');
    measured[name]['limit FIN'] = detectionLimit(stack, 'fin');
  }
}

for (const d of opts.deployments) if (!DEPLOYMENTS[d].login) await runDeployment(d);

let liveness = null;
if (opts.liveness && !opts.subset) {
  const fronts = [...new Set(opts.deployments.filter((d) => !DEPLOYMENTS[d].login).map((d) => DEPLOYMENTS[d].front))];
  liveness = await runLiveness({ fronts, heartbeat: opts.heartbeat, only: opts.only });
  passed += liveness.passed;
  failed += liveness.failed;
}
const logins = opts.deployments.filter((d) => DEPLOYMENTS[d].login);
if (logins.length && !opts.subset) {
  const r = await runLogin({ deployments: logins, heartbeat: opts.heartbeat, only: opts.only });
  passed += r.passed;
  failed += r.failed;
}

console.log('\nMeasured (ms):');
const keys = [...new Set(Object.values(measured).flatMap((m) => Object.keys(m)))];
const pad = (s, n) => String(s).padEnd(n);
console.log(`  ${pad('deployment', 22)}${keys.map((k) => pad(k, 20)).join('')}`);
for (const [d, m] of Object.entries(measured)) {
  console.log(`  ${pad(d, 22)}${keys.map((k) => pad(m[k] === undefined || m[k] === null ? '-' : Math.round(m[k]), 20)).join('')}`);
}
if (liveness && Object.keys(liveness.measured).length) {
  console.log('\nLiveness (ms from the last recorded ack):');
  for (const [f, m] of Object.entries(liveness.measured)) {
    console.log(`  ${pad(f, 22)}${Object.entries(m).map(([k, v]) => `${k} ${Math.round(v)}`).join(', ') || '-'}`);
  }
}
if (liveness?.skipped) console.log(`${liveness.skipped} skipped`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
