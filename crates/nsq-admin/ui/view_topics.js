// The topic list (the start page): every topic with its cluster-wide depth, in-flight,
// message count, live rate, channels and clients, plus a rate chart of the busiest topics.

import { h, alert } from './dom.js';
import * as api from './api.js';
import * as samples from './samples.js';
import * as graphite from './graphite.js';
import { crumbs, titleRow, chartPanel, pollingView } from './page.js';
import { table, th, num, rateCell, paused } from './tables.js';
import { keys, snapshot } from './cluster.js';
import { rate } from './format.js';

export function mount(root) {
  document.title = 'nsqadmin - Topics';
  return pollingView(root, {
    async load() {
      const list = await api.get('/topics');
      let snap = null;
      try {
        snap = await snapshot();
      } catch (e) {
        snap = { topics: new Map(), warnings: [`node stats unavailable: ${e.message}`] };
      }
      return { list, snap };
    },
    render({ list, snap }, flash) {
      const names = list.topics || [];
      const warnings = [list.message, ...snap.warnings].filter(Boolean);
      const header = [crumbs([[null, 'Topics']]), titleRow('Topics')];
      if (!names.length) {
        return [header, flash.el, warnings.map((w) => alert('warning', w)),
          h('div', { class: 'empty', 'data-testid': 'no-topics' }, 'No Topics Found')];
      }
      const ranked = names
        .map((n) => ({ n, r: samples.lastRate(keys.topicMessages(n)) || 0 }))
        .sort((a, b) => b.r - a.r)
        .slice(0, 6);
      const chart = chartPanel('Message rate — busiest topics (msgs/s)',
        ranked.map(({ n }) => ({ name: n, points: samples.rates(keys.topicMessages(n)) })));
      const total = chartPanel('Cluster message rate (msgs/s)',
        [{ name: 'all topics', points: samples.rates(keys.totalMessages()) }],
        { latest: (v) => rate(v) });
      const g = graphite.active();
      const rows = names.map((n) => {
        const s = snap.topics.get(n);
        return h('tr', { 'data-topic': n },
          h('td', {}, api.link(api.topicPath(n), n), s ? paused(s.paused) : null),
          s ? num(s.depth) : h('td', { class: 'num muted' }, '–'),
          s ? num(s.inFlight) : h('td', { class: 'num muted' }, '–'),
          s ? num(s.messages) : h('td', { class: 'num muted' }, '–'),
          rateCell(keys.topicMessages(n)),
          h('td', { class: 'num' }, s ? String(s.channels.size) : '–'),
          h('td', { class: 'num' }, s ? String(s.clients) : '–'),
          h('td', { class: 'num' }, s ? String(s.nodes) : '0'),
          g ? h('td', {}, graphite.sparkImg(graphite.target('*', n, '', 'depth'), 'red')) : null,
          g ? h('td', {}, graphite.sparkImg(graphite.target('*', n, '', 'message_count'))) : null);
      });
      return [header, flash.el, warnings.map((w) => alert('warning', w)),
        h('div', { class: 'grid2' }, total, chart),
        table('topics-table', h('tr', {},
          th('Topic'), th('Depth', true), th('In-Flight', true), th('Messages', true),
          th('Rate', true), th('Channels', true), th('Clients', true), th('Nodes', true),
          g ? th('Depth (graphite)') : null, g ? th('Messages (graphite)') : null), rows)];
    },
  });
}
