// Cluster-wide figures for the list pages: every node's /api/nodes/<node>, summed per
// topic and per node, so the topic and node lists can show depths and live rates.

import * as api from './api.js';
import * as samples from './samples.js';

/** Sample keys. */
export const keys = {
  topicMessages: (t) => `topic:${t}:messages`,
  topicDepth: (t) => `topic:${t}:depth`,
  nodeMessages: (n) => `node:${n}:messages`,
  nodeTopicMessages: (n, t) => `node:${n}:topic:${t}:messages`,
  channelMessages: (t, c) => `channel:${t}:${c}:messages`,
  channelDepth: (t, c) => `channel:${t}:${c}:depth`,
  channelNodeMessages: (t, c, n) => `channel:${t}:${c}:node:${n}:messages`,
  topicNodeMessages: (t, n) => `topic:${t}:node:${n}:messages`,
  totalMessages: () => 'cluster:messages',
};

/**
 * Fetches the node list and each node's stats. Resolves to
 * `{ nodes, details: Map(node → detail), topics: Map(topic → summary), warnings: [] }`;
 * a node whose stats fail is reported in `warnings`, not thrown.
 */
export async function snapshot() {
  const list = await api.get('/nodes');
  const nodes = list.nodes || [];
  const warnings = list.message ? [list.message] : [];
  const addrs = nodes.map((n) => joinHostPort(n.broadcast_address, n.http_port));
  const results = await Promise.allSettled(addrs.map((a) => api.get('/nodes/' + api.seg(a))));
  const details = new Map();
  const topics = new Map();
  const now = Date.now();
  let total = 0;
  results.forEach((r, i) => {
    if (r.status !== 'fulfilled') {
      warnings.push(`${addrs[i]}: ${r.reason && r.reason.message}`);
      return;
    }
    const d = r.value;
    details.set(addrs[i], d);
    samples.record(keys.nodeMessages(addrs[i]), d.total_messages, now);
    total += d.total_messages;
    for (const t of d.topics || []) {
      const s = topics.get(t.topic_name) || {
        name: t.topic_name, depth: 0, inFlight: 0, messages: 0, channels: new Set(),
        clients: 0, paused: false, nodes: 0,
      };
      s.depth += t.depth;
      s.messages += t.message_count;
      s.paused = s.paused || t.paused;
      s.nodes += 1;
      for (const c of t.channels || []) {
        s.channels.add(c.channel_name);
        s.inFlight += c.in_flight_count;
        s.clients += (c.clients || []).length;
      }
      topics.set(t.topic_name, s);
    }
  });
  for (const s of topics.values()) {
    samples.record(keys.topicMessages(s.name), s.messages, now);
    samples.record(keys.topicDepth(s.name), s.depth, now);
  }
  if (results.some((r) => r.status === 'fulfilled')) samples.record(keys.totalMessages(), total, now);
  return { nodes, details, topics, warnings };
}

/** `host:port`, bracketing IPv6 hosts. */
export function joinHostPort(host, port) {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
