// Entry point: header, client-side routing (deep links work: the server serves this page
// for every UI path) and the live-refresh loop.

import { h, replace, alert } from './dom.js';
import { basePath, currentSegments, link } from './api.js';
import { dialogOpen } from './confirm.js';
import * as graphite from './graphite.js';
import * as topicsView from './view_topics.js';
import * as topicView from './view_topic.js';
import * as channelView from './view_channel.js';
import * as nodesView from './view_nodes.js';
import * as nodeView from './view_node.js';
import * as counterView from './view_counter.js';
import * as lookupView from './view_lookup.js';

const REFRESH_CHOICES = [['2', '2s'], ['5', '5s'], ['10', '10s'], ['30', '30s'], ['0', 'off']];
const REFRESH_KEY = 'nsqadmin.refresh';

function refreshSeconds() {
  const v = window.localStorage.getItem(REFRESH_KEY);
  return REFRESH_CHOICES.some(([k]) => k === v) ? Number(v) : 5;
}

/** Maps the path segments below the base path to a view and its parameters. */
function resolve(segs) {
  if (segs.length === 0) return { view: topicsView, nav: 'topics', params: {} };
  const [a, b, c] = segs;
  if (a === 'topics') {
    if (segs.length === 1) return { view: topicsView, nav: 'topics', params: {} };
    if (segs.length === 2) return { view: topicView, nav: 'topics', params: { topic: b } };
    if (segs.length === 3) return { view: channelView, nav: 'topics', params: { topic: b, channel: c } };
  }
  if (a === 'nodes') {
    if (segs.length === 1) return { view: nodesView, nav: 'nodes', params: {} };
    if (segs.length === 2) return { view: nodeView, nav: 'nodes', params: { node: b } };
  }
  if (a === 'counter' && segs.length === 1) return { view: counterView, nav: 'counter', params: {} };
  if (a === 'lookup' && segs.length === 1) return { view: lookupView, nav: 'lookup', params: {} };
  return null;
}

const container = document.getElementById('container');
const topbar = document.getElementById('topbar');
let current = null;
let timer = null;
let generation = 0;

function renderHeader(active) {
  const navLink = (key, path, text) =>
    link(basePath(path), text, { class: active === key ? 'active' : null, 'data-nav': key });
  const refreshSel = h('select', { 'aria-label': 'refresh interval', 'data-testid': 'refresh-select' },
    REFRESH_CHOICES.map(([k, label]) => {
      const o = h('option', { value: k }, label);
      if (Number(k) === refreshSeconds()) o.selected = true;
      return o;
    }));
  refreshSel.addEventListener('change', () => {
    window.localStorage.setItem(REFRESH_KEY, refreshSel.value);
    schedule();
    renderHeader(active);
  });
  let graphSel = null;
  if (graphite.enabled()) {
    graphSel = h('select', { 'aria-label': 'graph timeframe' },
      graphite.intervals().map((iv) => {
        const o = h('option', { value: iv }, iv);
        if (iv === graphite.interval()) o.selected = true;
        return o;
      }));
    graphSel.addEventListener('change', () => {
      graphite.setTimeframe(graphSel.value);
      route();
    });
  }
  const live = refreshSeconds() > 0;
  replace(topbar, h('div', { class: 'topbar-inner' },
    link(basePath('/'), [h('img', { src: basePath('/static/favicon.svg'), alt: '' }), 'nsqadmin'], { class: 'brand' }),
    h('nav', { class: 'nav' },
      navLink('topics', '/', 'Topics'),
      navLink('nodes', '/nodes', 'Nodes'),
      navLink('counter', '/counter', 'Counter'),
      navLink('lookup', '/lookup', 'Lookup')),
    h('div', { class: 'topbar-right' },
      h('span', { title: live ? 'figures refresh automatically' : 'live refresh is off' },
        h('span', { class: live ? 'live' : 'live paused' }), live ? 'live' : 'paused'),
      h('label', {}, 'Refresh ', refreshSel),
      graphSel ? h('label', {}, 'Graph ', graphSel) : null,
      h('a', { href: 'https://nsq.io/components/nsqadmin.html', target: '_blank', rel: 'noopener', style: 'color: inherit' }, 'Docs'),
      h('span', { class: 'version', title: window.USER_AGENT }, 'v' + (window.VERSION || '')))));
}

function schedule() {
  clearTimeout(timer);
  const view = current;
  if (!view || view.selfPolling) return;
  const secs = refreshSeconds();
  if (!secs) return;
  const gen = generation;
  timer = setTimeout(async function tick() {
    if (gen !== generation) return;
    if (dialogOpen() || document.hidden) {
      timer = setTimeout(tick, 1000);
      return;
    }
    try { await view.refresh(); } catch (e) { /* the view shows its own errors */ }
    if (gen === generation) schedule();
  }, secs * 1000);
}

/** Shows the view for the current location. */
async function route() {
  generation++;
  clearTimeout(timer);
  if (current && current.destroy) current.destroy();
  current = null;
  const r = resolve(currentSegments());
  renderHeader(r ? r.nav : '');
  if (!r) {
    replace(container, alert('error', 'ERROR: no such page'));
    document.title = 'nsqadmin';
    return;
  }
  replace(container, h('div', { class: 'spinner', role: 'status' }, 'Loading…'));
  const gen = generation;
  const ctx = { navigate, root: container };
  const view = r.view.mount(container, r.params, ctx);
  current = view;
  try { await view.refresh(); } catch (e) { /* shown by the view */ }
  if (gen === generation) {
    // A second early sample gives the rate graphs their first point quickly.
    if (!view.selfPolling && refreshSeconds() > 0) {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        if (gen !== generation) return;
        if (!dialogOpen()) { try { await view.refresh(); } catch (e) { /* shown */ } }
        if (gen === generation) schedule();
      }, 1000);
    } else {
      schedule();
    }
  }
}

/** Navigates within the app (pushState) and shows the new view. */
export function navigate(path) {
  if (path !== window.location.pathname + window.location.search) {
    window.history.pushState({}, '', path);
  }
  route();
}

document.addEventListener('click', (e) => {
  const a = e.target.closest && e.target.closest('a[data-route]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(a.getAttribute('href'));
});
window.addEventListener('popstate', () => route());
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && current && !current.selfPolling) schedule();
});

route();
