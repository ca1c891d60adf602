// The channel page: per-node queue figures and statistics, the connected clients, admin
// actions and live rate/depth graphs.

import { h, alert, badge } from './dom.js';
import * as api from './api.js';
import * as samples from './samples.js';
import * as graphite from './graphite.js';
import { actionButton } from './confirm.js';
import { crumbs, titleRow, chartPanel, pollingView, warning } from './page.js';
import { table, th, num, rateCell, paused, quantiles, e2eHeaders, e2eCells, nodeLink } from './tables.js';
import { keys } from './cluster.js';
import { rate, commafy, secondsToHuman } from './format.js';

const depthKey = (t, c) => keys.channelDepth(t, c);
const inflightKey = (t, c) => `channel:${t}:${c}:inflight`;

function record(c) {
  const now = Date.now();
  samples.record(keys.channelMessages(c.topic_name, c.channel_name), c.message_count, now);
  samples.record(depthKey(c.topic_name, c.channel_name), c.depth, now);
  samples.record(inflightKey(c.topic_name, c.channel_name), c.in_flight_count, now);
  for (const n of c.nodes || []) {
    samples.record(keys.channelNodeMessages(c.topic_name, c.channel_name, n.node), n.message_count, now);
  }
}

/** Badges describing a client connection. */
export function clientAttributes(c) {
  const out = [];
  if (c.sample_rate > 0) out.push(badge(`Sampled ${c.sample_rate}%`));
  if (c.tls) {
    out.push(badge('TLS', 'tls', [c.tls_version, c.tls_cipher_suite, c.tls_negotiated_protocol,
      c.tls_negotiated_protocol_is_mutual ? 'mutual' : ''].filter(Boolean).join(' ')));
  }
  if (c.deflate) out.push(badge('Deflate', 'deflate'));
  if (c.snappy) out.push(badge('Snappy', 'snappy'));
  if (c.authed) {
    const b = badge('Authed', 'tls', c.auth_identity || 'authorized');
    out.push(c.auth_identity_url ? h('a', { href: c.auth_identity_url, target: '_blank', rel: 'noopener' }, b) : b);
  }
  if (c.topology_region) out.push(badge(`region ${c.topology_region}`, 'zone'));
  if (c.topology_zone) out.push(badge(`zone ${c.topology_zone}`, 'zone'));
  return out;
}

/** `hostname:port (client_id)` of a client, as the reference labels it. */
export function clientHost(c) {
  const port = (c.remote_address || '').split(':').pop();
  const short = (c.hostname || '').split('.')[0];
  const showId = c.client_id && c.client_id !== short && c.client_id !== c.hostname;
  return h('span', { title: c.remote_address }, `${c.hostname}:${port}`,
    showId ? h('span', { class: 'muted' }, ` (${c.client_id})`) : null);
}

function delivery(c) {
  const total = c.delivery_msg_count || 0;
  if (!total) return '';
  const pct = (v) => `${Math.round((100 * (v || 0)) / total)}%`;
  return `zone ${pct(c.zone_local_msg_count)} · region ${pct(c.region_local_msg_count)} · global ${pct(c.global_msg_count)}`;
}

export function mount(root, { topic, channel }, ctx) {
  document.title = `nsqadmin - ${topic}/${channel}`;
  const head = () => crumbs([[api.basePath('/'), 'Topics'], [api.topicPath(topic), topic], [null, channel]]);
  return pollingView(root, {
    errorHeader: () => [head(), titleRow(channel)],
    async load() {
      const c = await api.get('/topics/' + api.seg(topic) + '/' + api.seg(channel));
      record(c);
      return c;
    },
    render(c, flash, refresh) {
      const admin = Boolean(window.IS_ADMIN);
      const path = '/topics/' + api.seg(topic) + '/' + api.seg(channel);
      const name = `${topic}/${channel}`;
      const act = (action) => () => api.post(path, { action });
      const actions = admin ? [
        actionButton('Empty Queue', { variant: 'warning', verb: 'empty', name, run: act('empty'), after: refresh, flash, testid: 'empty-channel' }),
        actionButton('Delete Channel', { variant: 'danger', verb: 'delete', name, run: () => api.del(path), after: () => ctx.navigate(api.topicPath(topic)), flash, testid: 'delete-channel' }),
        c.paused
          ? actionButton('UnPause Channel', { variant: 'primary', verb: 'unpause', name, run: act('unpause'), after: refresh, flash, testid: 'unpause-channel' })
          : actionButton('Pause Channel', { variant: 'warning', verb: 'pause', name, run: act('pause'), after: refresh, flash, testid: 'pause-channel' }),
      ] : [];
      const nodes = c.nodes || [];
      const clients = c.clients || [];
      const qs = quantiles(c.e2e_processing_latency);
      const showDelivery = Boolean(c.delivery_msg_count);
      const g = graphite.active();

      const rateSeries = [{ name: 'total', points: samples.rates(keys.channelMessages(topic, channel)) }];
      if (nodes.length > 1) {
        for (const n of nodes.slice(0, 6)) {
          rateSeries.push({ name: n.node, points: samples.rates(keys.channelNodeMessages(topic, channel, n.node)) });
        }
      }
      const charts = h('div', { class: 'grid2' },
        chartPanel('Message rate (msgs/s)', rateSeries, { id: 'rate', latest: (v) => rate(v) }),
        chartPanel('Depth and in-flight', [
          { name: 'depth', color: '#c0392b', points: samples.gauge(depthKey(topic, channel)) },
          { name: 'in-flight', color: '#1f6fb2', points: samples.gauge(inflightKey(topic, channel)) },
        ], { latest: (v) => commafy(v) }));

      const row = (n, total) => h('tr', { class: total ? 'total' : null, 'data-node': total ? null : n.node },
        h('td', {}, total ? 'Total:' : [nodeLink(n), paused(n.paused)]),
        num(n.depth), num(n.memory_depth + n.backend_depth), num(n.in_flight_count), num(n.deferred_count),
        num(n.requeue_count), num(n.timeout_count), num(n.message_count),
        rateCell(total ? keys.channelMessages(topic, channel) : keys.channelNodeMessages(topic, channel, n.node)),
        num(n.client_count),
        showDelivery ? h('td', {}, delivery(n)) : null,
        e2eCells(n.e2e_processing_latency, qs),
        g ? h('td', {}, graphite.sparkImg(graphite.target(total ? '*' : n.node, topic, channel, 'depth'), 'red')) : null);
      const statsTable = table('channel-nodes', [
        h('tr', {},
          h('th', {}, ''),
          h('th', { class: 'group', colspan: 4 }, 'Message Queues'),
          h('th', { class: 'group', colspan: 5 + (showDelivery ? 1 : 0) }, 'Statistics'),
          qs.length ? h('th', { class: 'group', colspan: qs.length }, 'E2E Processing Latency') : null,
          g ? h('th', {}, '') : null),
        h('tr', {},
          th('NSQd Host'), th('Depth', true), th('Memory + Disk', true), th('In-Flight', true),
          th('Deferred', true), th('Requeued', true), th('Timed Out', true), th('Messages', true),
          th('Rate', true), th('Connections', true), showDelivery ? th('Delivery') : null,
          e2eHeaders(qs), g ? th('Depth (graphite)') : null),
      ], [...nodes.map((n) => row(n, false)), row(c, true)]);

      const clientTable = clients.length ? table('channel-clients', h('tr', {},
        th('Client Host'), th('User-Agent'), th('Attributes'), th('NSQd Host'), th('In-Flight', true),
        th('Ready Count', true), th('Finished', true), th('Requeued', true), th('Messages', true),
        th('Connected', true)),
      clients.map((cl) => h('tr', { 'data-client': cl.remote_address },
        h('td', {}, clientHost(cl)), h('td', { class: 'wrap' }, cl.user_agent || ''),
        h('td', {}, clientAttributes(cl)),
        h('td', {}, api.link(api.nodePath(cl.node), cl.node)),
        num(cl.in_flight_count), num(cl.ready_count), num(cl.finish_count), num(cl.requeue_count),
        num(cl.message_count),
        h('td', { class: 'num', title: new Date(cl.connect_ts * 1000).toISOString() }, secondsToHuman(cl.connected / 1e9)))))
        : h('div', { class: 'empty', 'data-testid': 'no-clients' }, 'No clients connected to this channel');

      return [head(), titleRow(channel, paused(c.paused), actions), flash.el, warning(c), charts,
        nodes.length ? null : alert('info', 'No producers exist for this topic. See Lookup for more information.'),
        h('h2', {}, 'Channel'), statsTable,
        h('h2', {}, `Client Connections (${clients.length})`), clientTable];
    },
  });
}
