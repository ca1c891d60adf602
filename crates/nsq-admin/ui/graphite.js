// Optional graphite graphs (--graphite-url): statsd metric targets and image URLs.
//
// nsqd pushes statsd metrics under --statsd-prefix; nsqadmin only builds graphite
// /render URLs from the settings it was started with (GRAPHITE_URL, STATSD_*). With
// --proxy-graphite, GRAPHITE_URL is empty and images load from <base>/render.

import { h } from './dom.js';
import { basePath } from './api.js';

const INTERVALS = ['1h', '2h', '12h', '24h', '48h', '168h', 'off'];

/** Whether graphite graphs are configured at all. */
export const enabled = () => Boolean(window.GRAPH_ENABLED);

/** The selectable timeframes. */
export const intervals = () => INTERVALS.slice();

/** The current timeframe: `?t=` beats localStorage.graph_interval; default 2h. */
export function interval() {
  const q = new URLSearchParams(window.location.search).get('t');
  if (q && INTERVALS.includes(q)) return q;
  const saved = window.localStorage.getItem('graph_interval');
  if (saved && INTERVALS.includes(saved)) return saved;
  return enabled() ? '2h' : 'off';
}

/** Stores the timeframe. */
export function setTimeframe(v) {
  window.localStorage.setItem('graph_interval', v);
}

/** Graphs are drawn when enabled and the timeframe is not `off`. */
export const active = () => enabled() && interval() !== 'off';

function sanitize(name) {
  return String(name).replace(/ /g, '_').replace(/\//g, '-').replace(/[^a-zA-Z0-9\-_.]/g, '');
}

function prefix(host) {
  const h0 = host === '*' ? '*' : host.replace(/[.:]/g, '_');
  return (window.STATSD_PREFIX || '').replace(/%s/g, h0) + '.';
}

const COUNTERS = new Set(['requeue_count', 'timeout_count', 'message_count', 'gc_runs']);

function wrap(key, metric) {
  const fmt = COUNTERS.has(metric) ? window.STATSD_COUNTER_FORMAT : window.STATSD_GAUGE_FORMAT;
  return fmt ? fmt.replace(/%s/g, key) : key;
}

/** The graphite target of a topic/channel metric on `host` (`*` = all nodes, summed). */
export function target(host, topic, channel, metric) {
  let key = prefix(host) + 'topic.' + sanitize(topic);
  if (channel) key += '.channel.' + sanitize(channel);
  key += '.' + metric;
  return `sumSeries(${wrap(key, metric)})`;
}

/** The graphite target of every channel's message count, summed (the counter page). */
export function counterTarget() {
  return `sumSeries(${wrap(prefix('*') + 'topic.*.channel.*.message_count', 'message_count')})`;
}

/** The graphite target of a node memory metric. */
export function nodeTarget(host, metric) {
  return wrap(prefix(host) + 'mem.' + metric, metric);
}

function renderURL(params) {
  const base = window.GRAPHITE_URL ? window.GRAPHITE_URL + '/render' : basePath('/render');
  const q = new URLSearchParams(params);
  return `${base}?${q.toString()}`;
}

/** A 120×20 sparkline image for `targetExpr`, or null when graphs are off. */
export function sparkImg(targetExpr, color) {
  if (!active()) return null;
  const iv = interval();
  const sec = window.STATSD_INTERVAL || 60;
  return h('img', {
    class: 'graphite-spark', width: 120, height: 20, alt: '',
    src: renderURL({
      width: 120, height: 20, hideGrid: 'true', hideLegend: 'true', hideAxes: 'true',
      bgcolor: 'ff000000', fgcolor: 'black', margin: 0, yMin: 0, lineMode: 'connected',
      colorList: color || 'blue', from: '-' + iv, until: '-1min',
      target: `summarize(${targetExpr},"${sec}sec","avg")`,
    }),
  });
}

/** An 800×450 graph image for `targetExpr`, or null when graphs are off. */
export function largeImg(targetExpr, title, color) {
  if (!active()) return null;
  const iv = interval();
  const sec = window.STATSD_INTERVAL || 60;
  return h('img', {
    class: 'graphite', alt: title,
    src: renderURL({
      width: 800, height: 450, title, colorList: color || 'blue', yMin: 0,
      lineMode: 'connected', from: '-' + iv, until: '-1min',
      target: `summarize(${targetExpr},"${sec}sec","avg")`,
    }),
  });
}
