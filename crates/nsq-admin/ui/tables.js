// Table building blocks shared by the views.

import { h, badge } from './dom.js';
import { commafy, nanotohuman, percentileLabel, rate } from './format.js';
import { sparkline } from './chart.js';
import * as samples from './samples.js';
import { link, nodePath } from './api.js';

/** A numeric cell. */
export const num = (v, attrs) => h('td', { class: 'num', ...(attrs || {}) }, commafy(v));

/** A header cell (numeric columns right-aligned). */
export const th = (text, numeric, attrs) => h('th', { class: numeric ? 'num' : null, ...(attrs || {}) }, text);

/** A table wrapped for horizontal scrolling. */
export function table(testid, head, rows) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'data', 'data-testid': testid },
      h('thead', {}, head),
      h('tbody', {}, rows)));
}

/** The `paused` badge, or nothing. */
export const paused = (isPaused) => (isPaused ? badge('paused', 'paused') : null);

/** The quantiles present in an e2e aggregate. */
export function quantiles(e2e) {
  return ((e2e && e2e.percentiles) || []).map((p) => p.quantile);
}

/** Header cells for e2e percentiles. */
export function e2eHeaders(qs) {
  return qs.map((q) => th(`E2E ${percentileLabel(q)}`, true, { title: 'end-to-end processing latency' }));
}

/** Cells for e2e percentiles: the average, with min/max in the tooltip. */
export function e2eCells(e2e, qs) {
  const ps = (e2e && e2e.percentiles) || [];
  return qs.map((q) => {
    const p = ps.find((x) => x.quantile === q);
    if (!p) return h('td', { class: 'num' }, '');
    const tip = `${percentileLabel(q)}: min = ${nanotohuman(p.min)}, max = ${nanotohuman(p.max)}`;
    return h('td', { class: 'num', title: tip }, nanotohuman(p.average));
  });
}

/** A cell with the current rate of counter `key` and its sparkline. */
export function rateCell(key, color) {
  const r = samples.lastRate(key);
  return h('td', { class: 'num rate', 'data-rate-key': key },
    sparkline(samples.rates(key), { color }), ' ', h('span', {}, rate(r)));
}

/** `host:port` of a node entry, linked to its page, with the broadcast address if it differs. */
export function nodeLink(entry) {
  const node = entry.node || '';
  const port = node.includes(':') ? node.slice(node.lastIndexOf(':') + 1) : '';
  const host = entry.hostname ? `${entry.hostname}:${port}` : node;
  const bcast = node.slice(0, Math.max(0, node.lastIndexOf(':')));
  return h('span', {},
    link(nodePath(node), host, { title: node }),
    entry.hostname && bcast && bcast !== entry.hostname
      ? h('span', { class: 'muted' }, ' (', bcast, ')') : null);
}
