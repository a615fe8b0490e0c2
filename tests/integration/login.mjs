#!/usr/bin/env node
// Admins logged in by the site's own login (a session cookie), not basic auth: the responder
// behind nginx's auth_request (contrib/nginx/sse-fcgi-auth-request.conf) and Caddy's
// forward_auth (contrib/caddy/Caddyfile-forward-auth), each asking a real login service
// (tests/harness/login-service.mjs, started here) who a session is. Real HTTP clients.
//
//   node tests/integration/login.mjs [--deployments nginx-auth-request,caddy-forward-auth]
//                                    [--heartbeat S] [--only TEXT]
//
// Prints one line per check and deployment, then "N passed, N failed"; exits 0 only if nothing
// failed. tests/integration/run.mjs runs the same checks (its deployments nginx-auth-request and
// caddy-forward-auth).

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, sleep, now } from '../harness/stack.mjs';
import { startLoginService, SESSION_COOKIE } from '../harness/login-service.mjs';

class AssertionError extends Error {}
function assert(cond, msg) {
  if (!cond) throw new AssertionError(msg);
}

const PASSWORDS = { alice: 'alice-pw-1', bob: 'bob-pw-2', guest: 'guest-pw-3' };

/** The two ways the site's login is wired in, as the stack renders them. */
export const LOGIN_DEPLOYMENTS = {
  'nginx-auth-request': {
    front: 'nginx',
    frontOptions: (svc) => ({
      template: 'nginx/sse-fcgi-auth-request.conf',
      vars: { AUTH_URL: svc.authUrl, AUTH_USER_VARIABLE: 'upstream_http_remote_user', LOGIN_URL: svc.loginUrl },
    }),
  },
  'caddy-forward-auth': {
    front: 'caddy',
    frontOptions: (svc) => ({
      template: 'caddy/Caddyfile-forward-auth',
      vars: { AUTH_UPSTREAM: `127.0.0.1:${svc.port}`, AUTH_URI: '/auth', AUTH_USER_HEADER: 'Remote-User', LOGIN_URL: svc.loginUrl },
    }),
  },
};

// Headers a client might forge to pass for someone: the one the endpoint answers with, and
// others proxies use.
const FORGED = ['Remote-User', 'X-Remote-User', 'X-User', 'X-Forwarded-User', 'X-Auth-User', 'X-Auth-Request-User'];
const forgedAs = (user) => Object.fromEntries(FORGED.map((h) => [h, user]));

function assertEnvelope401(r, what) {
  assert(r.status === 401, `${what}: status ${r.status}, want 401 (body: ${String(r.text ?? r.body ?? '').slice(0, 160)})`);
  assert(/^application\/json/.test(r.headers['content-type'] || ''), `${what}: Content-Type ${r.headers['content-type']}`);
  assert(r.json?.success === false && r.json.error_info?.code === 'AUTHENTICATION_REQUIRED', `${what}: not the JSON envelope: ${String(r.text ?? r.body).slice(0, 160)}`);
  assert(!r.headers['www-authenticate'], `${what}: WWW-Authenticate ${r.headers['www-authenticate']} (a browser would ask for a password)`);
}

/** GET a stream or call a route; a stream's answer is shaped like httpRequest's. */
async function call(stack, route, { method = 'GET', headers = {}, body } = {}) {
  if (route === 'admin' || route.startsWith('admin?')) {
    const s = await stack.openStream(route, { auth: false, headers });
    s.close();
    return { status: s.status, headers: s.headers || {}, text: s.body, json: s.json ?? null, stream: s };
  }
  return stack.api(route, { method, auth: false, headers, body });
}

async function publish(stack, event) {
  const r = await stack.api('publish', { method: 'POST', body: { event, data: {}, target: 'admin' } });
  assert(r.status === 200, `publish: ${r.status} ${r.text.slice(0, 160)}`);
}

const ADMIN_ROUTES = [['GET', 'stats'], ['GET', 'stats?summary=1'], ['POST', 'publish'], ['POST', 'test'], ['GET', 'closed'],
  ['GET', 'metrics'], ['DELETE', 'connections/c-0000000000000000'], ['GET', 'admin']];
const bodyFor = (m) => (m === 'POST' ? { event: 'x', data: {}, target: 'admin', type: 'x', message: 'x' } : undefined);

export const checks = [
  {
    name: 'without a session: 401 JSON envelope on every admin route, no password dialog; pages go to the login page',
    async run(stack, { svc }) {
      const cases = [['no cookie', {}], ['unknown session', { Cookie: `${SESSION_COOKIE}=not-a-session` }], ['empty cookie', { Cookie: `${SESSION_COOKIE}=` }]];
      for (const [method, route] of ADMIN_ROUTES) {
        for (const [what, headers] of cases) assertEnvelope401(await call(stack, route, { method, headers, body: bodyFor(method) }), `${method} ${route} with ${what}`);
      }
      const page = await stack.api('/admin/connections', { auth: false });
      assert(page.status === 302 && (page.headers.location || '').startsWith(svc.loginUrl), `/admin/connections without a session: ${page.status} Location ${page.headers.location}`);
      const bare = await stack.api('/admin', { auth: false });
      assert(bare.status === 302 && /\/admin\/$/.test(bare.headers.location || ''), `/admin: ${bare.status} ${bare.headers.location}`);
      return `${ADMIN_ROUTES.length * cases.length} requests (${ADMIN_ROUTES.length} routes x no cookie, unknown and empty session) => 401 JSON, no WWW-Authenticate; /admin/connections => 302 ${page.headers.location}`;
    },
  },
  {
    name: 'forged identity headers never count, with or without a session',
    async run(stack, ctx) {
      const { cookies } = ctx;
      for (const h of FORGED) {
        for (const [method, route] of [['GET', 'stats'], ['POST', 'publish'], ['GET', 'admin']]) {
          assertEnvelope401(await call(stack, route, { method, headers: { [h]: 'alice' }, body: bodyFor(method) }), `${method} ${route} with only ${h}: alice`);
        }
      }
      assertEnvelope401(await call(stack, 'stats', { headers: forgedAs('alice') }), `stats with all of ${FORGED.join(', ')}`);
      // A session names alice; the client claims bob in every header: alice it is.
      const st = ctx.track(await stack.openStream('admin', { auth: false, headers: { Cookie: cookies.alice, ...forgedAs('bob') } }));
      assert(st.status === 200, `alice's stream claiming bob: ${st.status} ${st.body}`);
      const d = (await stack.api('stats', { auth: false, headers: { Cookie: cookies.alice, ...forgedAs('bob') } })).json?.data;
      const users = d.connections.filter((c) => c.type === 'admin').map((c) => c.user);
      assert(users.length === 1 && users[0] === 'alice', `stats lists admin user(s) ${JSON.stringify(users)}, want ["alice"]`);
      const t = await stack.api('test', { method: 'POST', auth: false, headers: { Cookie: cookies.alice, ...forgedAs('bob') }, body: { type: 'who', message: 'who am I' } });
      assert(t.status === 200, `test: ${t.status} ${t.text.slice(0, 160)}`);
      const ev = await st.waitFor('system.who', 1000);
      assert(ev.json?.username === 'alice', `test event username ${ev.json?.username}, want alice`);
      // A session the endpoint accepts without naming anyone (a 2xx with no user header): the
      // forged headers must not fill the gap.
      for (const [method, route] of [['GET', 'stats'], ['POST', 'publish'], ['GET', 'admin']]) {
        const r = await call(stack, route, { method, headers: { Cookie: cookies.guest, ...forgedAs('alice') }, body: bodyFor(method) });
        assert(r.status === 401 && r.json?.error_info?.code === 'AUTHENTICATION_REQUIRED', `${method} ${route}, a session the endpoint names no user for, claiming alice: ${r.status} ${String(r.text).slice(0, 160)}`);
      }
      return `${FORGED.length} headers alone => 401; alice's session claiming bob => alice in stats and events; an unnamed session claiming alice => 401 (from the responder: no REMOTE_USER)`;
    },
  },
  {
    name: 'a session cookie alone: the dashboard\'s API, its stream, its page and its beacons',
    async run(stack, ctx) {
      const { cookies, svc } = ctx;
      const C = { Cookie: cookies.alice };
      const asked0 = svc.calls;
      const st = ctx.track(await stack.openStream('admin', { auth: false, headers: C, query: { ack: 1, client: 'tab-1' } }));
      assert(st.status === 200 && st.connectionId, `admin stream: ${st.status} ${st.body}`);
      for (const r of ['stats', 'stats?summary=1', 'closed', 'metrics']) {
        const a = await stack.api(r, { auth: false, headers: C });
        assert(a.status === 200, `${r}: ${a.status} ${a.text.slice(0, 160)}`);
      }
      const p = await stack.api('publish', { method: 'POST', auth: false, headers: C, body: { event: 'it.login', data: { n: 1 }, target: 'admin' } });
      assert(p.status === 200 && p.json?.data?.connections_notified === 1, `publish: ${p.status} ${p.text.slice(0, 160)}`);
      await st.waitFor('it.login', 1000);
      const page = await stack.api('/admin/connections', { auth: false, headers: C });
      assert(page.status === 200 && page.text.includes('sse-fcgi-spa-index'), `/admin/connections with a session: ${page.status}`);
      const asked = svc.calls - asked0;
      assert(asked >= 7, `the login service was asked ${asked} times for 7 admin requests`);
      // The page's beacons, as navigator.sendBeacon sends them: text/plain, the cookie, no
      // Authorization. Ack first (the stream's first ping), then disconnect.
      const ping = await st.waitFor('ping', stack.heartbeat * 1000 + 1000);
      const text = { 'Content-Type': 'text/plain;charset=UTF-8', ...C };
      const st2 = ctx.track(await stack.openStream('admin', { auth: false, headers: C }));
      const asked1 = svc.calls;
      const ack = await stack.api('ack', { method: 'POST', auth: false, headers: text, body: JSON.stringify({ connection_id: st.connectionId, seq: ping.json.seq }) });
      assert(ack.status === 200 && ack.json?.data?.acked === true, `ack beacon: ${ack.status} ${ack.text.slice(0, 160)}`);
      const dc = await stack.api('disconnect', { method: 'POST', auth: false, headers: text, body: JSON.stringify({ connection_id: st.connectionId }) });
      assert(dc.status === 200 && dc.json?.data?.disconnected === true, `disconnect beacon: ${dc.status} ${dc.text.slice(0, 160)}`);
      assert(await st.waitEnded(2000), 'the stream did not end after its disconnect beacon');
      // The same without the cookie (a beacon from a page whose session ended): the token suffices.
      const dc2 = await stack.api('disconnect', { method: 'POST', auth: false, headers: { 'Content-Type': 'text/plain;charset=UTF-8' }, body: JSON.stringify({ connection_id: st2.connectionId }) });
      assert(dc2.status === 200 && dc2.json?.data?.disconnected === true, `disconnect beacon without the cookie: ${dc2.status}`);
      const disp = ctx.track(await stack.openStream('display/lobby', { auth: false }));
      const h = await stack.api('health', { auth: false });
      assert(disp.status === 200 && h.status === 200, `display stream ${disp.status}, health ${h.status} without a session`);
      assert(svc.calls === asked1, `the login service was asked ${svc.calls - asked1} times for ack, disconnect, a display stream and health (want 0)`);
      return `stream (ack=1), stats, summary, closed, metrics, publish and the /admin/ page on the cookie alone (${asked} asks); ack and disconnect beacons (text/plain) with or without the cookie, display and health, without asking the login service`;
    },
  },
  {
    name: 'logging out: the same cookie is refused from then on',
    async run(stack, ctx) {
      const { svc } = ctx;
      const cookie = await svc.login('bob', PASSWORDS.bob);
      assert((await stack.api('stats', { auth: false, headers: { Cookie: cookie } })).status === 200, 'bob\'s fresh session was refused');
      const open = ctx.track(await stack.openStream('admin', { auth: false, headers: { Cookie: cookie } }));
      await svc.logout(cookie);
      assertEnvelope401(await stack.api('stats', { auth: false, headers: { Cookie: cookie } }), 'stats after logging out');
      assertEnvelope401(await call(stack, 'admin', { headers: { Cookie: cookie } }), 'a stream after logging out');
      // The session is checked when a request starts: a stream opened before goes on.
      await publish(stack, 'it.after-logout');
      await open.waitFor('it.after-logout', 1000);
      return 'stats 200 before, 401 (JSON) after POST /logout, streams too; a stream opened before the logout goes on (as documented)';
    },
  },
  {
    name: 'the login service down: admin routes 503 (JSON), nothing else affected; back when it is',
    async run(stack, ctx) {
      const disp = ctx.track(await stack.openStream('display/porch', { auth: false }));
      await ctx.restartLogin(async () => {
        const t0 = now();
        const r = await stack.api('stats', { auth: false, headers: { Cookie: ctx.cookies.alice } });
        const took = now() - t0;
        assert(r.status === 503 && r.json?.error_info?.code === 'SERVICE_UNAVAILABLE', `stats while the login service is down: ${r.status} ${r.text.slice(0, 160)}`);
        const s = await call(stack, 'admin', { headers: { Cookie: ctx.cookies.alice } });
        assert(s.status === 503, `a stream while the login service is down: ${s.status}`);
        const d2 = ctx.track(await stack.openStream('display/porch-2', { auth: false }));
        const h = await stack.api('health', { auth: false });
        const dc = await stack.api('disconnect', { method: 'POST', auth: false, body: { connection_id: d2.connectionId } });
        assert(d2.status === 200 && h.status === 200 && dc.json?.data?.disconnected === true, `display ${d2.status}, health ${h.status}, disconnect ${dc.status} while the login service is down`);
        assert(!disp.isEnded, 'an open display stream ended');
        ctx.note = `stats 503 in ${Math.round(took)} ms`;
      });
      await ctx.relogin();
      const r = await stack.api('stats', { auth: false, headers: { Cookie: ctx.cookies.alice } });
      assert(r.status === 200, `stats once the login service is back: ${r.status}`);
      return `${ctx.note}, streams 503; display streams, health and disconnect work on; back (200) with a new session once it returns`;
    },
  },
];

/** Run the checks for each deployment; returns { passed, failed }. */
export async function runLogin({ deployments = Object.keys(LOGIN_DEPLOYMENTS), heartbeat = 1, only = null, log = console.log } = {}) {
  const res = { passed: 0, failed: 0 };
  const selected = checks.filter((c) => !only || c.name.includes(only));
  if (!selected.length) return res;
  for (const name of deployments) {
    const dep = LOGIN_DEPLOYMENTS[name];
    let svc = await startLoginService({ users: PASSWORDS, nameless: ['guest'] });
    const port = svc.port;
    const cookies = {};
    const relogin = async () => { for (const u of Object.keys(PASSWORDS)) cookies[u] = await svc.login(u, PASSWORDS[u]); };
    await relogin();
    log(`\n== ${name} (${dep.front} + unix, the site's login on ${svc.url}, heartbeat ${heartbeat} s)`);
    let stack;
    try {
      stack = await startStack({ front: dep.front, heartbeat, frontOptions: dep.frontOptions(svc), authHeaders: { get Cookie() { return cookies.alice; } } });
    } catch (e) {
      log(`   stack did not start: ${e.message.split('\n').join('\n    ')}`);
      for (const c of selected) { res.failed++; log(`FAIL ${name}: ${c.name} (stack did not start)`); }
      await svc.stop();
      continue;
    }
    log(`   stack up at ${stack.baseUrl} (dir ${stack.dir})`);
    for (const c of selected) {
      const ctx = {
        streams: [], cookies, relogin,
        get svc() { return svc; },
        track(s) { this.streams.push(s); return s; },
        /** Stop the login service, run f, start it again on the same port (sessions are lost). */
        async restartLogin(f) {
          await svc.stop();
          try { await f(); } finally { svc = await startLoginService({ users: PASSWORDS, nameless: ['guest'], port }); }
        },
      };
      const t0 = now();
      try {
        const detail = await c.run(stack, ctx);
        res.passed++;
        log(`ok   ${name}: ${c.name} (${detail}; ${Math.round(now() - t0)} ms)`);
      } catch (e) {
        res.failed++;
        log(`FAIL ${name}: ${c.name}\n    ${(e instanceof AssertionError ? e.message : e.stack || String(e)).split('\n').join('\n    ')}`);
      }
      for (const s of ctx.streams) s.abort();
      for (let i = 0; i < 100 && (await stack.stats().then((d) => d.total_connections, () => -1)) !== 0; i++) await sleep(50);
    }
    await stack.stop();
    await svc.stop();
  }
  return res;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const o = { deployments: Object.keys(LOGIN_DEPLOYMENTS), heartbeat: 1, only: null };
  const argv = process.argv.slice(2);
  const usage = (m) => {
    if (m) console.error(m);
    console.error('usage: login.mjs [--deployments nginx-auth-request,caddy-forward-auth] [--heartbeat S] [--only TEXT]');
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const val = () => (i + 1 < argv.length ? argv[++i] : usage());
    if (argv[i] === '--deployments') o.deployments = val().split(',').filter(Boolean);
    else if (argv[i] === '--heartbeat') o.heartbeat = Number(val());
    else if (argv[i] === '--only') o.only = val();
    else usage(`unknown argument ${argv[i]}`);
  }
  for (const d of o.deployments) if (!LOGIN_DEPLOYMENTS[d]) usage(`unknown deployment ${d}`);
  const r = await runLogin(o);
  console.log(`${r.passed} passed, ${r.failed} failed`);
  process.exit(r.failed ? 1 : 0);
}
