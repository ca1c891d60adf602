// The node list: every nsqd with its addresses, version, topology, lookupd connections,
// topics (tombstoned ones flagged), and its live message rate.

import { h, badge, alert } from './dom.js';
import * as api from './api.js';
import * as samples from './samples.js';
import { crumbs, titleRow, chartPanel, pollingView } from './page.js';
import { table, th, num, rateCell } from './tables.js';
import { keys, snapshot, joinHostPort } from './cluster.js';

function lookupdConns(n) {
  const configured = (window.NSQLOOKUPD || []).length;
  const addrs = n.remote_addresses || [];
  const list = h('div', { class: 'lookupd-list mono', hidden: true }, addrs.map((a) => h('div', {}, a)));
  const btn = h('button', {
    type: 'button', class: addrs.length !== configured ? 'btn-warning' : '',
    title: addrs.length !== configured
      ? `connected to ${addrs.length} of ${configured} configured nsqlookupd` : 'connected to every nsqlookupd',
    onclick: () => { list.hidden = !list.hidden; },
  }, String(addrs.length));
  return h('td', {}, btn, list);
}

export function mount(root) {
  document.title = 'nsqadmin - Nodes';
  return pollingView(root, {
    load: () => snapshot(),
    render(snap, flash) {
      const nodes = snap.nodes;
      const lookupdMode = (window.NSQLOOKUPD || []).length > 0;
      const chart = chartPanel('Message rate per node (msgs/s)',
        nodes.slice(0, 8).map((n) => {
          const addr = joinHostPort(n.broadcast_address, n.http_port);
          return { name: addr, points: samples.rates(keys.nodeMessages(addr)) };
        }), { width: 1280, height: 200 });
      const rows = nodes.map((n) => {
        const addr = joinHostPort(n.broadcast_address, n.http_port);
        const d = snap.details.get(addr);
        const topics = n.topics || [];
        return h('tr', { class: n.out_of_date ? 'warning' : null, 'data-node': addr },
          h('td', {}, n.hostname),
          h('td', {}, api.link(api.nodePath(addr), n.broadcast_address)),
          h('td', { class: 'num' }, String(n.tcp_port)),
          h('td', { class: 'num' }, String(n.http_port)),
          h('td', {}, n.version, n.out_of_date ? badge('out of date', 'paused') : null),
          h('td', {}, n.topology_region || ''),
          h('td', {}, n.topology_zone || ''),
          lookupdMode ? lookupdConns(n) : null,
          d ? num(d.total_messages) : h('td', { class: 'num muted' }, '–'),
          rateCell(keys.nodeMessages(addr)),
          d ? num(d.total_clients) : h('td', { class: 'num muted' }, '–'),
          h('td', { class: 'wrap' }, badge(String(topics.length), 'count'), ' ',
            topics.map((t) => api.link(api.topicPath(t.topic), h('span', {
              class: `badge${t.tombstoned ? ' badge-tomb' : ''}`,
              title: t.tombstoned ? 'this topic is currently tombstoned on this node' : null,
            }, t.topic)))));
      });
      return [crumbs([[null, 'Nodes']]), titleRow(`NSQd Nodes (${nodes.length})`), flash.el,
        snap.warnings.map((w) => alert('warning', w)),
        nodes.length ? chart : null,
        nodes.length ? table('nodes-table', h('tr', {},
          th('Hostname'), th('Broadcast Address'), th('TCP Port', true), th('HTTP Port', true),
          th('Version'), th('Region'), th('Zone'), lookupdMode ? th('Lookupd Conns.') : null,
          th('Messages', true), th('Rate', true), th('Clients', true), th('Topics')), rows)
          : h('div', { class: 'empty' }, 'No nodes found')];
    },
  });
}
