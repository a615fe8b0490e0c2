#!/usr/bin/env node
// The site's own login, in a real browser: Debian's Chromium (playwright-core, from frontend/)
// against nginx auth_request and Caddy forward_auth (the deployments of login.mjs), with the
// login service of tests/harness/login-service.mjs. A page opens an EventSource, fetches stats
// and leaves with navigator.sendBeacon on the session cookie alone; without the cookie the
// EventSource and the fetch are refused (401) and /admin/ sends the browser to the login page.
//
//   node tests/integration/login-browser.mjs [--deployments nginx-auth-request,caddy-forward-auth]
//
// Needs frontend/node_modules (cd frontend && npm ci) and /usr/bin/chromium (CHROMIUM=...): exit
// 77 (skipped) without them, unless SSE_FCGI_REQUIRE_ALL=1. Prints one line per check, then
// "N passed, N failed".

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { startStack, sleep, REPO } from '../harness/stack.mjs';
import { startLoginService, SESSION_COOKIE } from '../harness/login-service.mjs';
import { LOGIN_DEPLOYMENTS } from './login.mjs';

const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
let chromium;
try {
  const require = createRequire(path.join(REPO, 'frontend', 'package.json'));
  const pw = await import(pathToFileURL(require.resolve('playwright-core')).href);
  chromium = pw.chromium ?? pw.default?.chromium;
} catch { /* reported below */ }
if (!chromium || !fs.existsSync(chromiumPath)) {
  const what = !chromium ? 'playwright-core (cd frontend && npm ci)' : chromiumPath;
  if (process.env.SSE_FCGI_REQUIRE_ALL === '1') { console.log(`login-browser: FAIL: missing ${what}`); process.exit(1); }
  console.log(`login-browser: SKIP: missing ${what}`);
  process.exit(77);
}

const PAGE = `<!doctype html><title>sse-fcgi login test page</title><div id="root">sse-fcgi-spa-index</div>
<script>
const prefix = '/api/v1/events';
window.errors = 0;
const es = new EventSource(prefix + '/admin?client=browser-tab');
es.onerror = () => { window.errors++; window.esState = es.readyState; };
es.addEventListener('connected', async (e) => {
  window.conn = JSON.parse(e.data);
  const r = await fetch(prefix + '/stats');
  const d = await r.json();
  window.stats = { status: r.status, user: (d.data.connections.find((c) => c.id === window.conn.public_id) || {}).user };
});
window.probe = async () => { const r = await fetch(prefix + '/stats'); return { status: r.status, code: (await r.json()).error_info?.code }; };
window.leave = () => navigator.sendBeacon(prefix + '/disconnect', JSON.stringify({ connection_id: window.conn.connection_id }));
</script>
`;

const argv = process.argv.slice(2);
const deployments = argv[0] === '--deployments' ? argv[1].split(',') : Object.keys(LOGIN_DEPLOYMENTS);
let passed = 0;
let failed = 0;
const browser = await chromium.launch({
  executablePath: chromiumPath, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});

for (const name of deployments) {
  const dep = LOGIN_DEPLOYMENTS[name];
  const www = fs.mkdtempSync(path.join(os.tmpdir(), 'sse-fcgi-login-www-'));
  fs.writeFileSync(path.join(www, 'index.html'), PAGE);
  const svc = await startLoginService({ users: { alice: 'alice-pw' } });
  const cookie = await svc.login('alice', 'alice-pw');
  const stack = await startStack({ front: dep.front, staticDir: www, frontOptions: dep.frontOptions(svc), authHeaders: { Cookie: cookie } });
  const check = async (title, f) => {
    try {
      const detail = await f();
      passed++;
      console.log(`ok   ${name}: ${title} (${detail})`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${title}\n    ${e.message}`);
    }
  };
  const fail = (m) => { throw new Error(m); };

  await check('with the session cookie: EventSource, fetch and the sendBeacon disconnect', async () => {
    const ctx = await browser.newContext();
    await ctx.addCookies([{ name: SESSION_COOKIE, value: cookie.split('=')[1], domain: '127.0.0.1', path: '/', httpOnly: true, sameSite: 'Lax' }]);
    const page = await ctx.newPage();
    await page.goto(`${stack.baseUrl}/display/anything`);
    await page.waitForFunction(() => window.stats, null, { timeout: 5000 });
    const st = await page.evaluate(() => window.stats);
    if (st.status !== 200 || st.user !== 'alice') fail(`the page's fetch of stats: ${JSON.stringify(st)}`);
    const id = await page.evaluate(() => window.conn.public_id);
    const listed = (await stack.stats()).connections.find((c) => c.id === id);
    if (!listed || listed.user !== 'alice' || listed.client !== 'browser-tab') fail(`stats lists ${JSON.stringify(listed)}`);
    if (!(await page.evaluate(() => window.leave()))) fail('sendBeacon returned false');
    let gone = false;
    for (let i = 0; i < 40 && !gone; i++) { gone = !(await stack.stats()).connections.some((c) => c.id === id); if (!gone) await sleep(50); }
    if (!gone) fail('the stream is still listed 2 s after the beacon');
    const closed = (await stack.api('closed')).json.data.closed.find((c) => c.id === id);
    if (closed?.reason !== 'disconnect_route') fail(`closed: ${JSON.stringify(closed)}`);
    await ctx.close();
    return 'stream listed as alice (client browser-tab), the page\'s fetch 200; the beacon closed it (disconnect_route)';
  });

  await check('without a session: EventSource and fetch refused (401 JSON), /admin/ sends the browser to the login page', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${stack.baseUrl}/display/anything`);
    await page.waitForFunction(() => window.errors > 0, null, { timeout: 5000 });
    const state = await page.evaluate(() => window.esState);
    if (state !== 2) fail(`EventSource readyState ${state} after the error, want 2 (closed: a 401 is not retried)`);
    const probe = await page.evaluate(() => window.probe());
    if (probe.status !== 401 || probe.code !== 'AUTHENTICATION_REQUIRED') fail(`the page's fetch of stats: ${JSON.stringify(probe)}`);
    await page.goto(`${stack.baseUrl}/admin/connections`);
    if (!page.url().startsWith(svc.loginUrl)) fail(`/admin/connections ended at ${page.url()}`);
    await ctx.close();
    return `EventSource closed (readyState 2), fetch 401 AUTHENTICATION_REQUIRED; /admin/connections => ${page.url()}`;
  });

  await stack.stop();
  await svc.stop();
  fs.rmSync(www, { recursive: true, force: true });
}
await browser.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
