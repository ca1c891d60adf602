// Minimal NSQ helpers for the browser tests: HTTP publishing and stats, and a raw TCP V2
// consumer (IDENTIFY, SUB, RDY; answers heartbeats) so a client shows up in nsqadmin.

import net from 'node:net';

/** POSTs one message to nsqd's /pub. */
export async function publish(nsqdHttp, topic, body) {
  const r = await fetch(`http://${nsqdHttp}/pub?topic=${encodeURIComponent(topic)}`, { method: 'POST', body });
  if (!r.ok) throw new Error(`pub failed: ${r.status} ${await r.text()}`);
}

/** nsqd's /stats?format=json. */
export async function stats(nsqdHttp, extra = '') {
  const r = await fetch(`http://${nsqdHttp}/stats?format=json${extra}`);
  if (!r.ok) throw new Error(`stats failed: ${r.status}`);
  return r.json();
}

/** The topic entry of nsqd's stats (or undefined). */
export async function topicStats(nsqdHttp, topic) {
  const s = await stats(nsqdHttp);
  return (s.topics || []).find((t) => t.topic_name === topic);
}

/** Polls `fn` until it returns truthy (bounded); returns its value. */
export async function eventually(fn, timeoutMs = 10000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

function frame(cmd, body) {
  const head = Buffer.from(cmd + '\n');
  if (body === undefined) return head;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([head, len, body]);
}

/**
 * A subscribed consumer. It never FINs, so delivered messages stay in flight (up to
 * `rdy`). Resolves once SUB has been acknowledged.
 */
export function consume(nsqdTcp, topic, channel, { userAgent = 'browser-test/1.0', clientId = 'ui-consumer', rdy = 1 } = {}) {
  const [host, port] = nsqdTcp.split(':');
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), host);
    let buf = Buffer.alloc(0);
    let okCount = 0;
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('consumer setup timed out')); }, 5000);
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('connect', () => {
      sock.write('  V2');
      const ident = Buffer.from(JSON.stringify({ client_id: clientId, hostname: 'ui-test-host', user_agent: userAgent, feature_negotiation: true, heartbeat_interval: 5000 }));
      sock.write(frame('IDENTIFY', ident));
      sock.write(frame(`SUB ${topic} ${channel}`));
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 8) {
        const size = buf.readUInt32BE(0);
        if (buf.length < 4 + size) break;
        const type = buf.readUInt32BE(4);
        const data = buf.subarray(8, 4 + size);
        buf = buf.subarray(4 + size);
        if (type === 0 && data.toString() === '_heartbeat_') {
          sock.write(frame('NOP'));
        } else if (type === 0) {
          okCount += 1;
          if (okCount === 2) {
            sock.write(frame(`RDY ${rdy}`));
            clearTimeout(timer);
            resolve({ close: () => sock.destroy() });
          }
        } else if (type === 1) {
          clearTimeout(timer);
          reject(new Error(`nsqd error: ${data}`));
        }
      }
    });
  });
}
