#!/usr/bin/env node
// An acknowledging SSE client in its own process, so that a test can stop it (SIGSTOP) or cut its
// network while its socket stays open. Node 20, built-in modules only.
//
//   node ack-client.mjs --url http://HOST:PORT/PREFIX/display/NAME?ack=1 --ack-url http://HOST:PORT/PREFIX/ack
//                       [--auth 'Basic ...'] [--ack-auth 'Basic ...'] [--ack-timeout MS]
//
// It reads the stream and answers every ping's seq with POST --ack-url {"connection_id", "seq"}.
// One JSON line per happening on stdout, each with `at` (Date.now(), ms):
//   {"type":"status","status":200}                      the stream's HTTP status
//   {"type":"connected","connection_id","public_id","ack","heartbeat_ms"}
//   {"type":"ping","seq"}                                a ping read (seq null without ack=1)
//   {"type":"ack","seq","status","acked","rtt_ms"}       the answer to an ack
//   {"type":"ack_error","seq","error"}                   an ack that got no answer
//   {"type":"event","event","data"}                      any other event
//   {"type":"end"} / {"type":"error","error"}            the stream ended; the process exits
import http from 'node:http';

function args(argv) {
  const o = { ackTimeout: 2000 };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--url': o.url = v; i++; break;
      case '--ack-url': o.ackUrl = v; i++; break;
      case '--auth': o.auth = v; i++; break;
      case '--ack-auth': o.ackAuth = v; i++; break;
      case '--ack-timeout': o.ackTimeout = Number(v); i++; break;
      default:
        process.stderr.write(`ack-client: unknown argument ${argv[i]}\n`);
        process.exit(2);
    }
  }
  if (!o.url || !o.ackUrl) {
    process.stderr.write('usage: ack-client.mjs --url URL --ack-url URL [--auth H] [--ack-auth H] [--ack-timeout MS]\n');
    process.exit(2);
  }
  return o;
}

const opt = args(process.argv.slice(2));
const say = (o) => process.stdout.write(`${JSON.stringify({ ...o, at: Date.now() })}\n`);
let connectionId = null;

function ack(seq) {
  const body = JSON.stringify({ connection_id: connectionId, seq });
  const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'close' };
  if (opt.ackAuth) headers.Authorization = opt.ackAuth;
  const req = http.request(opt.ackUrl, { method: 'POST', headers, agent: false, timeout: opt.ackTimeout }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => {
      let j = null;
      try { j = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { /* not JSON */ }
      say({ type: 'ack', seq, status: res.statusCode, acked: j?.data?.acked ?? null, rtt_ms: j?.data?.rtt_ms ?? null });
    });
  });
  req.on('timeout', () => req.destroy(new Error(`no answer in ${opt.ackTimeout} ms`)));
  req.on('error', (e) => say({ type: 'ack_error', seq, error: e.message }));
  req.end(body);
}

function onEvent(name, data) {
  let j = null;
  try { j = JSON.parse(data); } catch { /* not JSON */ }
  if (name === 'connected') {
    connectionId = j?.connection_id ?? null;
    say({ type: 'connected', connection_id: connectionId, public_id: j?.public_id ?? null, ack: j?.ack ?? null, heartbeat_ms: j?.heartbeat_ms ?? null });
  } else if (name === 'ping') {
    const seq = Number.isInteger(j?.seq) ? j.seq : null;
    say({ type: 'ping', seq });
    if (seq !== null && connectionId) ack(seq);
  } else {
    say({ type: 'event', event: name, data: j ?? data });
  }
}

const headers = { Accept: 'text/event-stream', 'Cache-Control': 'no-cache' };
if (opt.auth) headers.Authorization = opt.auth;
const req = http.get(opt.url, { headers, agent: false }, (res) => {
  say({ type: 'status', status: res.statusCode });
  res.setEncoding('utf8');
  let buf = '';
  let ev = { event: '', data: [] };
  res.on('data', (chunk) => {
    buf += chunk;
    let m;
    while ((m = /\r\n|\r|\n/.exec(buf))) {
      if (m[0] === '\r' && m.index === buf.length - 1) break; // maybe a \r\n split in two
      const line = buf.slice(0, m.index);
      buf = buf.slice(m.index + m[0].length);
      if (line === '') {
        if (ev.event || ev.data.length) onEvent(ev.event || 'message', ev.data.join('\n'));
        ev = { event: '', data: [] };
      } else if (!line.startsWith(':')) {
        const c = line.indexOf(':');
        const field = c < 0 ? line : line.slice(0, c);
        let value = c < 0 ? '' : line.slice(c + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') ev.event = value;
        else if (field === 'data') ev.data.push(value);
      }
    }
  });
  res.on('end', () => { say({ type: 'end' }); process.exit(0); });
  res.on('error', (e) => { say({ type: 'error', error: e.message }); process.exit(1); });
});
req.on('error', (e) => { say({ type: 'error', error: e.message }); process.exit(1); });
