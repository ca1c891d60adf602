// Page scaffolding shared by the views: breadcrumbs, title row, chart panels, and the
// polling view skeleton (fetch → record samples → render, errors shown in place).

import { h, replace, alert } from './dom.js';
import { link } from './api.js';
import { lineChart } from './chart.js';
import { flashArea } from './confirm.js';

/** Breadcrumbs from [path, text] pairs; the last item is plain text. */
export function crumbs(items) {
  const out = [];
  items.forEach(([path, text], i) => {
    if (i) out.push(h('span', { class: 'sep' }, '›'));
    out.push(i === items.length - 1 || !path ? h('span', {}, text) : link(path, text));
  });
  return h('div', { class: 'crumbs' }, out);
}

/** The title with optional badges and action buttons on the right. */
export function titleRow(title, badges, actions) {
  return h('div', { class: 'title-row' },
    h('h1', { 'data-testid': 'page-title' }, title, badges || null),
    actions && actions.length ? h('div', { class: 'actions' }, actions) : null);
}

/** A panel holding a titled line chart. */
export function chartPanel(title, series, opts) {
  const latest = series.length === 1 && series[0].points.length
    ? series[0].points[series[0].points.length - 1].v : null;
  return h('div', { class: 'panel chart-panel', 'data-testid': 'chart', 'data-chart': (opts && opts.id) || null },
    h('div', { class: 'chart-title' }, h('b', {}, title),
      latest !== null && opts && opts.latest ? h('span', {}, opts.latest(latest)) : null),
    lineChart(series, opts));
}

/** The `WARNING: …` of an answer, if any. */
export const warning = (data) => (data && data.message ? alert('warning', data.message) : null);

/**
 * A polling view: `load()` fetches (and records samples), `render(data, flash)` returns
 * the page's nodes. A failed load replaces the page with a red alert (keeping the header
 * given by `errorHeader()`).
 */
export function pollingView(root, { load, render, errorHeader }) {
  const flash = flashArea();
  async function refresh() {
    let data;
    try {
      data = await load();
    } catch (e) {
      replace(root, errorHeader ? errorHeader() : null, flash.el,
        h('div', { 'data-testid': 'load-error' }, alert('error', e.message)));
      return;
    }
    replace(root, render(data, flash, refresh));
  }
  return { refresh, flash };
}
