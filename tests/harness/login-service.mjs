#!/usr/bin/env node
// A site's own login, as the kiosk system has one, for testing sse-fcgi behind the web server's
// auth_request (nginx) or forward_auth (Caddy). Node 20, built-in modules only.
//
//   POST /login    {"user", "password"} (JSON or a form): 200 and a session cookie
//                  (kiosk_session, HttpOnly, SameSite=Lax, Path=/), or 401
//   POST /logout   ends the session of the cookie sent
//   GET  /auth     "who is this session": 200 with the user in the Remote-User header (and as
//                  JSON), or 401 -- the endpoint the web server asks before each admin request
//   GET  /login    a login page (what a browser is sent to without a session)
//
// Whatever identity headers the request carries (Remote-User, X-User, ...) are ignored: only the
// session store answers. A test imports startLoginService(); standalone:
//   node tests/harness/login-service.mjs --port 9000 --user admin:secret [--user bob:pw]...

import http from 'node:http';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SESSION_COOKIE = 'kiosk_session';
export const USER_HEADER = 'Remote-User';

function cookieOf(req) {
  for (const part of (req.headers.cookie || '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === SESSION_COOKIE) return v.join('=');
  }
  return null;
}

function readBody(req, max = 4096) {
  return new Promise((resolve, reject) => {
    let n = 0;
    const chunks = [];
    req.on('data', (c) => {
      n += c.length;
      if (n > max) { reject(new Error('body too large')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function credentials(type, text) {
  if (/^application\/json/.test(type || '')) {
    try { const j = JSON.parse(text); return { user: String(j.user ?? ''), password: String(j.password ?? '') }; } catch { return {}; }
  }
  const q = new URLSearchParams(text);
  return { user: q.get('user') || '', password: q.get('password') || '' };
}

/**
 * Start the service on 127.0.0.1. `users`: { name: password }; `nameless`: users whose session
 * /auth accepts (200) without naming them, as a misconfigured endpoint would. Resolves { port, url, authUrl,
 * loginUrl, login(user, password) -> "kiosk_session=..." (a Cookie header value), logout(cookie),
 * calls (how many times /auth was asked), stop() }.
 */
export async function startLoginService({ users = {}, nameless = [], port = 0 } = {}) {
  const sessions = new Map(); // token -> user
  const svc = { calls: 0 };
  const json = (res, status, body, headers = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
    res.end(`${JSON.stringify(body)}\n`);
  };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    try {
      if (url.pathname === '/auth' && (req.method === 'GET' || req.method === 'HEAD')) {
        svc.calls++;
        const user = sessions.get(cookieOf(req));
        if (!user) return json(res, 401, { authenticated: false });
        if (nameless.includes(user)) return json(res, 200, { authenticated: true });
        return json(res, 200, { authenticated: true, user }, { [USER_HEADER]: user });
      }
      if (url.pathname === '/login' && req.method === 'POST') {
        const { user, password } = credentials(req.headers['content-type'], await readBody(req));
        const want = Object.hasOwn(users, user) ? Buffer.from(users[user]) : null;
        const got = Buffer.from(password || '');
        if (!want || want.length !== got.length || !crypto.timingSafeEqual(want, got)) return json(res, 401, { error: 'wrong user or password' });
        const token = crypto.randomBytes(32).toString('base64url');
        sessions.set(token, user);
        return json(res, 200, { user }, { 'Set-Cookie': `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax` });
      }
      if (url.pathname === '/logout' && req.method === 'POST') {
        sessions.delete(cookieOf(req));
        return json(res, 200, { ok: true }, { 'Set-Cookie': `${SESSION_COOKIE}=; Path=/; Max-Age=0` });
      }
      if (url.pathname === '/login' && req.method === 'GET') {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        return res.end('<!doctype html><title>Login</title><form method="post" action="/login"><input name="user"><input name="password" type="password"><button>Log in</button></form>\n');
      }
      json(res, 404, { error: 'not found' });
    } catch (e) {
      json(res, 400, { error: e.message });
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  svc.port = server.address().port;
  svc.url = `http://127.0.0.1:${svc.port}`;
  svc.authUrl = `${svc.url}/auth`;
  svc.loginUrl = `${svc.url}/login`;
  svc.login = async (user, password) => {
    const r = await fetch(`${svc.url}/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user, password }) });
    if (r.status !== 200) throw new Error(`login ${user}: ${r.status}`);
    return r.headers.get('set-cookie').split(';')[0];
  };
  svc.logout = async (cookie) => {
    await fetch(`${svc.url}/logout`, { method: 'POST', headers: { Cookie: cookie } });
  };
  svc.stop = () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return svc;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const users = {};
  let port = 9000;
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--port') port = Number(argv[++i]);
    else if (argv[i] === '--user') { const [u, ...p] = (argv[++i] || '').split(':'); users[u] = p.join(':'); }
    else { console.error('usage: login-service.mjs [--port N] [--user NAME:PASSWORD]...'); process.exit(2); }
  }
  const svc = await startLoginService({ users, port });
  console.log(`login service on ${svc.url}: POST /login, POST /logout, GET /auth (users: ${Object.keys(users).join(', ') || 'none'})`);
}
