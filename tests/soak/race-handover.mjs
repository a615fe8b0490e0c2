#!/usr/bin/env node
// A focused reproduction of a stream-loop race the soak found: a stream that is in the registry
// but not yet started by its I/O loop (src/handlers.c open_stream: registry_add, then
// stream_hand_over) can be woken by a broadcast (conn_enqueue -> stream_loop_wake).  Both lists of
// a loop, `incoming` and `pending`, are linked through the same conn->pnext, so the second link
// overwrites the first: either already-started streams are walked as "incoming" and started again
// (epoll_ctl ADD fails with EEXIST, the healthy stream is closed as write_failed, with no farewell),
// or streams on the pending list are unlinked while still marked pending, and never woken again.
//
//   node tests/soak/race-handover.mjs [--idle N] [--new N] [--rounds N]
//
// Holds --idle display streams, then per round opens --new more all at once while publishing to
// every stream back to back; counts streams the server ended without being asked to, the
// responder's "epoll_ctl" log lines and write_failed closes.  Exit 1 if any, else 0.
import { startStack, sleep, now } from '../harness/stack.mjs';
import net from 'node:net';

const arg = (name, def) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : def; };
const IDLE = arg('--idle', 600), NEW = arg('--new', 600), ROUNDS = arg('--rounds', 5);

const st = await startStack({ front: 'nginx', heartbeat: 5, daemonArgs: ['--max-streams-per-address', '0', '--max-streams-per-user', '0'] });
let seq = 0;
const streams = new Set();
let serverEnded = 0;
function open() {
  const name = `r${seq++}`;
  const s = { name, up: false, mine: false, got: 0 };
  const sock = s.sock = net.createConnection({ host: '127.0.0.1', port: st.port });
  sock.write(`GET ${st.prefix}/display/${name} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`);
  let text = '';
  sock.on('data', (b) => {
    text += b.toString('latin1');
    if (!s.up && text.includes('event: connected')) s.up = true;
    s.got += (text.match(/event: race/g) || []).length;
    text = text.slice(-64);
  });
  sock.on('error', () => {});
  sock.on('close', () => { streams.delete(s); if (!s.mine) serverEnded++; });
  streams.add(s);
  return s;
}
const waitUp = async (list, ms) => { const t = now(); while (list.some((s) => !s.up) && now() - t < ms) await sleep(20); return list.filter((s) => !s.up).length; };

let notStarted = 0;
try {
  const idle = Array.from({ length: IDLE }, open);
  console.log(`${IDLE} idle streams: ${await waitUp(idle, 10000)} not connected`);
  for (let r = 1; r <= ROUNDS; r++) {
    let publishing = true;
    let published = 0;
    const pub = (async () => {
      while (publishing) {
        await st.api('publish', { method: 'POST', body: { event: 'race', data: { r }, target: 'all' } });
        published++;
      }
    })();
    await sleep(50);
    const fresh = Array.from({ length: NEW }, open);
    const stuck = await waitUp(fresh, 5000);
    publishing = false;
    await pub;
    notStarted += stuck;
    console.log(`round ${r}: ${NEW} new streams while ${published} events went to all: ${stuck} never got \`connected\`, ` +
      `${serverEnded} streams ended by the server so far`);
    for (const s of fresh) { s.mine = true; s.sock.destroy(); }
    await sleep(300);
  }
  await sleep(1000);
  const m = (await st.api('metrics')).text;
  const wf = Number((/sse_connections_closed_total\{reason="write_failed"\} (\d+)/.exec(m) || [])[1]);
  const log = st.daemonLog().split('\n').filter((l) => /epoll_ctl/.test(l));
  console.log(`write_failed closes: ${wf}; responder log lines with epoll_ctl: ${log.length}${log.length ? ` (first: ${log[0]})` : ''}`);
  console.log(`streams ended by the server unasked: ${serverEnded}; new streams never started: ${notStarted}`);
  for (const s of streams) { s.mine = true; s.sock.destroy(); }
  await st.stop();
  const bad = serverEnded + notStarted + wf + log.length;
  console.log(bad ? 'REPRODUCED' : 'not reproduced this time');
  process.exit(bad ? 1 : 0);
} catch (e) {
  console.error(e);
  await st.stop();
  process.exit(2);
}
