// One nsqd: totals, live message rate, and every topic with its channels and clients.

import { h, alert } from './dom.js';
import * as api from './api.js';
import * as samples from './samples.js';
import * as graphite from './graphite.js';
import { actionButton } from './confirm.js';
import { crumbs, titleRow, chartPanel, pollingView, warning } from './page.js';
import { table, th, num, rateCell, paused } from './tables.js';
import { keys } from './cluster.js';
import { clientAttributes, clientHost } from './view_channel.js';
import { rate, commafy, secondsToHuman } from './format.js';

const depthKey = (node) => `node:${node}:depth`;

function tile(value, label) {
  return h('div', { class: 'tile' }, h('div', { class: 'v' }, value), h('div', { class: 'k' }, label));
}

function graphs(node) {
  if (!graphite.active()) return null;
  const t = (m) => graphite.nodeTarget(node, m);
  return h('div', { class: 'grid2' },
    h('div', { class: 'panel' }, graphite.largeImg(t('*_bytes'), 'GC Pressure', 'red,green,blue,purple')),
    h('div', { class: 'panel' }, graphite.largeImg(t('gc_pause_*'), 'GC Pause Percentiles', 'red,green,blue,purple')),
    h('div', { class: 'panel' }, graphite.largeImg(`movingAverage(${t('gc_runs')},45)`, 'GC Runs', 'red,green,blue,purple')),
    h('div', { class: 'panel' }, graphite.largeImg(t('heap_objects'), 'Heap Objects In-Use', 'red,green,blue,purple')));
}

function topicSection(node, t, admin, flash, refresh) {
  const channels = t.channels || [];
  const topicKey = keys.nodeTopicMessages(node, t.topic_name);
  const header = table('node-topic', h('tr', {},
    admin ? th('') : null, th('Topic'), th('Depth', true), th('Memory + Disk', true),
    th('Messages', true), th('Rate', true), th('Channels', true)),
  [h('tr', { 'data-topic': t.topic_name },
    admin ? h('td', {}, actionButton('✘', {
      small: true, verb: 'tombstone', name: `${t.topic_name} on ${node}`, flash, after: refresh,
      testid: 'tombstone', run: () => api.del('/nodes/' + api.seg(node), { topic: t.topic_name }),
    })) : null,
    h('td', {}, api.link(api.topicPath(t.topic_name), t.topic_name), paused(t.paused)),
    num(t.depth), num(t.memory_depth + t.backend_depth), num(t.message_count),
    rateCell(topicKey), h('td', { class: 'num' }, String(channels.length)))]);
  if (!channels.length) {
    return h('div', { class: 'panel' }, header, h('div', { class: 'empty' }, 'No channels exist for this topic.'));
  }
  const chTable = table('node-channels', h('tr', {},
    th('Channel'), th('Depth', true), th('Memory + Disk', true), th('In-Flight', true),
    th('Deferred', true), th('Requeued', true), th('Timed Out', true), th('Messages', true),
    th('Connections', true)),
  channels.map((c) => h('tr', { 'data-channel': c.channel_name },
    h('td', {}, api.link(api.channelPath(t.topic_name, c.channel_name), c.channel_name), paused(c.paused)),
    num(c.depth), num(c.memory_depth + c.backend_depth), num(c.in_flight_count), num(c.deferred_count),
    num(c.requeue_count), num(c.timeout_count), num(c.message_count), num((c.clients || []).length))));
  const clients = channels.flatMap((c) => (c.clients || []).map((cl) => ({ c, cl })));
  const clTable = clients.length ? table('node-clients', h('tr', {},
    th('Channel'), th('Client Host'), th('User-Agent'), th('Attributes'), th('In-Flight', true),
    th('Ready Count', true), th('Requeued', true), th('Finished', true), th('Messages', true),
    th('Connected', true)),
  clients.map(({ c, cl }) => h('tr', {},
    h('td', {}, c.channel_name), h('td', {}, clientHost(cl)), h('td', { class: 'wrap' }, cl.user_agent || ''),
    h('td', {}, clientAttributes(cl)), num(cl.in_flight_count), num(cl.ready_count),
    num(cl.requeue_count), num(cl.finish_count), num(cl.message_count),
    h('td', { class: 'num' }, secondsToHuman(cl.connected / 1e9)))))
    : h('div', { class: 'empty' }, 'No clients connected to this topic’s channels.');
  return h('div', { class: 'panel' }, header, chTable, clTable);
}

export function mount(root, { node }) {
  document.title = `nsqadmin - ${node}`;
  const head = () => crumbs([[api.basePath('/nodes'), 'Nodes'], [null, node]]);
  return pollingView(root, {
    errorHeader: () => [head(), titleRow(node)],
    async load() {
      const d = await api.get('/nodes/' + api.seg(node));
      const now = Date.now();
      samples.record(keys.nodeMessages(node), d.total_messages, now);
      samples.record(depthKey(node), (d.topics || []).reduce((a, t) => a + t.depth + (t.channels || []).reduce((b, c) => b + c.depth, 0), 0), now);
      for (const t of d.topics || []) samples.record(keys.nodeTopicMessages(node, t.topic_name), t.message_count, now);
      return d;
    },
    render(d, flash, refresh) {
      const admin = Boolean(window.IS_ADMIN);
      const topics = d.topics || [];
      const series = [{ name: 'all topics', points: samples.rates(keys.nodeMessages(node)) }];
      for (const t of topics.slice(0, 5)) {
        series.push({ name: t.topic_name, points: samples.rates(keys.nodeTopicMessages(node, t.topic_name)) });
      }
      return [head(), titleRow(node), flash.el, warning(d),
        h('div', { class: 'tiles' },
          tile(commafy(topics.length), 'Topics'),
          tile(commafy(d.total_messages), 'Messages'),
          tile(commafy(d.total_clients), 'Clients'),
          tile(rate(samples.lastRate(keys.nodeMessages(node))), 'Message rate')),
        h('div', { class: 'grid2' },
          chartPanel('Message rate (msgs/s)', series),
          chartPanel('Depth (all topics)', [{ name: 'depth', color: '#c0392b', points: samples.gauge(depthKey(node)) }],
            { latest: (v) => commafy(v) })),
        graphs(node),
        topics.length ? topics.map((t) => topicSection(node, t, admin, flash, refresh))
          : alert('info', 'No topics exist on this node.')];
    },
  });
}
