// The counter page: the total number of messages processed by every channel, counting up
// live, with its rate over time.

import { h, replace, alert } from './dom.js';
import * as api from './api.js';
import * as samples from './samples.js';
import * as graphite from './graphite.js';
import { crumbs, titleRow, chartPanel } from './page.js';
import { rate } from './format.js';

const KEY = 'counter:total';

function digits(n) {
  const s = String(Math.max(0, Math.floor(n)));
  const out = [];
  for (let i = 0; i < s.length; i++) {
    if (i && (s.length - i) % 3 === 0) out.push(h('span', { class: 'sep' }));
    out.push(h('span', { class: 'd' }, s[i]));
  }
  return out;
}

export function mount(root) {
  document.title = 'nsqadmin - Counter';
  let shown = null;
  let target = 0;
  let interval = 100;
  let timer = null;
  let frame = null;
  let stopped = false;

  const display = h('div', { class: 'counter-digits', 'data-testid': 'counter-value' }, digits(0));
  const rateLine = h('div', { class: 'counter-rate' }, '');
  const status = h('div', {});
  const chartBox = h('div', {});
  replace(root,
    crumbs([[null, 'Counter']]), titleRow('Counter'), status,
    h('div', { class: 'counter-page' }, display,
      h('div', { class: 'counter-caption' }, 'Messages Processed'), rateLine),
    chartBox,
    graphite.active() ? h('div', { class: 'panel' }, graphite.largeImg(
      `scale(${graphite.counterTarget()},${1 / (window.STATSD_INTERVAL || 60)})`,
      'Messages per second', 'green')) : null);

  function animate() {
    frame = null;
    if (stopped || shown === null) return;
    if (shown < target) {
      const step = Math.max(1, Math.ceil((target - shown) / 30));
      shown = Math.min(target, shown + step);
      replace(display, digits(shown));
      frame = window.requestAnimationFrame(animate);
    }
  }

  async function poll() {
    if (stopped) return;
    try {
      const d = await api.get('/counter');
      const total = Object.values(d.stats || {}).reduce((a, s) => a + s.message_count, 0);
      samples.record(KEY, total);
      target = total;
      replace(status, d.message ? alert('warning', d.message) : null);
      if (shown === null || total < shown) {
        shown = total;
        replace(display, digits(total));
      } else if (!frame) {
        frame = window.requestAnimationFrame(animate);
      }
      replace(rateLine, `${rate(samples.lastRate(KEY))} over the last interval`);
      replace(chartBox, chartPanel('Messages processed per second', [{ name: 'all channels', color: '#2e8b57', points: samples.rates(KEY) }], { width: 1280, height: 220 }));
      interval = Math.min(interval + 1000, 10100);
    } catch (e) {
      replace(status, alert('error', e.message));
      interval = 10000;
    }
    if (!stopped) timer = setTimeout(poll, interval);
  }

  return {
    selfPolling: true,
    refresh: poll,
    destroy() {
      stopped = true;
      clearTimeout(timer);
      if (frame) window.cancelAnimationFrame(frame);
    },
  };
}
