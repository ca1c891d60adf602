// The topic page: per-node queue figures (the nsqds producing it), its channels merged
// across nodes, admin actions, and live rate/depth graphs.

import { h, alert } from './dom.js';
import * as api from './api.js';
import * as samples from './samples.js';
import * as graphite from './graphite.js';
import { actionButton } from './confirm.js';
import { crumbs, titleRow, chartPanel, pollingView, warning } from './page.js';
import { table, th, num, rateCell, paused, quantiles, e2eHeaders, e2eCells, nodeLink } from './tables.js';
import { keys } from './cluster.js';
import { rate } from './format.js';

const sum = (list, f) => (list || []).reduce((a, x) => a + f(x), 0);

function record(t) {
  const now = Date.now();
  samples.record(keys.topicMessages(t.topic_name), t.message_count, now);
  samples.record(keys.topicDepth(t.topic_name), t.depth, now);
  for (const n of t.nodes || []) {
    samples.record(keys.topicNodeMessages(t.topic_name, n.node), n.message_count, now);
  }
  for (const c of t.channels || []) {
    samples.record(keys.channelMessages(t.topic_name, c.channel_name), c.message_count, now);
    samples.record(keys.channelDepth(t.topic_name, c.channel_name), c.depth, now);
  }
}

export function mount(root, { topic }, ctx) {
  document.title = `nsqadmin - ${topic}`;
  const head = () => [crumbs([[api.basePath('/'), 'Topics'], [null, topic]])];
  return pollingView(root, {
    errorHeader: () => [head(), titleRow(topic)],
    async load() {
      const t = await api.get('/topics/' + api.seg(topic));
      record(t);
      return t;
    },
    render(t, flash, refresh) {
      const admin = Boolean(window.IS_ADMIN);
      const path = '/topics/' + api.seg(topic);
      const act = (action) => () => api.post(path, { action });
      const actions = admin ? [
        actionButton('Empty Queue', { variant: 'warning', verb: 'empty', name: topic, run: act('empty'), after: refresh, flash, testid: 'empty-topic' }),
        actionButton('Delete Topic', { variant: 'danger', verb: 'delete', name: topic, run: () => api.del(path), after: () => ctx.navigate(api.basePath('/')), flash, testid: 'delete-topic' }),
        t.paused
          ? actionButton('UnPause Topic', { variant: 'primary', verb: 'unpause', name: topic, run: act('unpause'), after: refresh, flash, testid: 'unpause-topic' })
          : actionButton('Pause Topic', { variant: 'warning', verb: 'pause', name: topic, run: act('pause'), after: refresh, flash, testid: 'pause-topic' }),
      ] : [];
      const nodes = t.nodes || [];
      const channels = t.channels || [];
      const qs = quantiles(t.e2e_processing_latency);
      const g = graphite.active();

      const rateSeries = [{ name: 'total', points: samples.rates(keys.topicMessages(topic)) }];
      if (nodes.length > 1) {
        for (const n of nodes.slice(0, 6)) {
          rateSeries.push({ name: n.node, points: samples.rates(keys.topicNodeMessages(topic, n.node)) });
        }
      }
      const charts = h('div', { class: 'grid2' },
        chartPanel('Message rate (msgs/s)', rateSeries, { id: 'rate', latest: (v) => rate(v) }),
        chartPanel('Depth (topic and channels)', [
          { name: 'topic', color: '#c0392b', points: samples.gauge(keys.topicDepth(topic)) },
          ...channels.slice(0, 5).map((c) => ({ name: c.channel_name, points: samples.gauge(keys.channelDepth(topic, c.channel_name)) })),
        ]));

      let nodeTable;
      if (!nodes.length) {
        nodeTable = alert('info', 'No producers exist for this topic. See Lookup for more information.');
      } else {
        const rows = nodes.map((n) => h('tr', { 'data-node': n.node },
          admin ? h('td', {}, actionButton('✘', {
            small: true, verb: 'tombstone', name: n.node, flash, after: refresh,
            testid: 'tombstone', run: () => api.del('/nodes/' + api.seg(n.node), { topic }),
          })) : null,
          h('td', {}, nodeLink(n), paused(n.paused)),
          num(n.depth), num(n.memory_depth + n.backend_depth),
          num(sum(n.channels, (c) => c.in_flight_count)), num(sum(n.channels, (c) => c.deferred_count)),
          num(n.message_count), rateCell(keys.topicNodeMessages(topic, n.node)),
          h('td', { class: 'num' }, String((n.channels || []).length)),
          e2eCells(n.e2e_processing_latency, qs),
          g ? h('td', {}, graphite.sparkImg(graphite.target(n.node, topic, '', 'depth'), 'red'),
            graphite.sparkImg(graphite.target(n.node, topic, '', 'message_count'))) : null));
        rows.push(h('tr', { class: 'total' },
          admin ? h('td', {}) : null,
          h('td', {}, 'Total:'),
          num(t.depth), num(t.memory_depth + t.backend_depth),
          num(sum(channels, (c) => c.in_flight_count)), num(sum(channels, (c) => c.deferred_count)),
          num(t.message_count), rateCell(keys.topicMessages(topic)),
          h('td', { class: 'num' }, String(channels.length)),
          e2eCells(t.e2e_processing_latency, qs),
          g ? h('td', {}, graphite.sparkImg(graphite.target('*', topic, '', 'depth'), 'red'),
            graphite.sparkImg(graphite.target('*', topic, '', 'message_count'))) : null));
        nodeTable = table('topic-nodes', h('tr', {},
          admin ? th('') : null, th('NSQd Host'), th('Depth', true), th('Memory + Disk', true),
          th('In-Flight', true), th('Deferred', true), th('Messages', true), th('Rate', true),
          th('Channels', true), e2eHeaders(qs), g ? th('Graphs') : null), rows);
      }

      let channelTable;
      if (!channels.length) {
        channelTable = alert('info', 'No channels exist for this topic. Messages will queue at the topic until a channel is created.');
      } else {
        const cqs = quantiles(channels.find((c) => quantiles(c.e2e_processing_latency).length)?.e2e_processing_latency);
        channelTable = table('topic-channels', h('tr', {},
          th('Channel'), th('Depth', true), th('Memory + Disk', true), th('In-Flight', true),
          th('Deferred', true), th('Requeued', true), th('Timed Out', true), th('Messages', true),
          th('Rate', true), th('Connections', true), e2eHeaders(cqs)),
        channels.map((c) => h('tr', { 'data-channel': c.channel_name },
          h('td', {}, api.link(api.channelPath(topic, c.channel_name), c.channel_name), paused(c.paused)),
          num(c.depth), num(c.memory_depth + c.backend_depth), num(c.in_flight_count),
          num(c.deferred_count), num(c.requeue_count), num(c.timeout_count), num(c.message_count),
          rateCell(keys.channelMessages(topic, c.channel_name)), num(c.client_count),
          e2eCells(c.e2e_processing_latency, cqs))));
      }

      return [head(), titleRow(topic, paused(t.paused), actions), flash.el, warning(t), charts,
        g ? h('div', { class: 'panel' }, graphite.largeImg(graphite.target('*', topic, '', 'message_count'), `${topic} messages`)) : null,
        h('h2', {}, 'Topic Message Queue'), nodeTable,
        h('h2', {}, 'Channel Message Queues'), channelTable];
    },
  });
}
