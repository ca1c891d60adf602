// SVG line charts and sparklines (no library).

import { svg } from './dom.js';
import { compact } from './format.js';

/** Distinct, readable series colours. */
export const COLORS = ['#1f6fb2', '#2e8b57', '#c0392b', '#8e44ad', '#d68910', '#17a589', '#5d6d7e', '#cb4335'];

function niceMax(v) {
  if (!(v > 0)) return 1;
  const exp = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * exp) return m * exp;
  return 10 * exp;
}

function clock(t) {
  const d = new Date(t);
  return d.toTimeString().slice(0, 8);
}

/**
 * A line chart of `series` ([{name, color, points: [{t, v}]}]) over time.
 * Options: width, height, unit (appended to the y-axis title), minPoints (below which a
 * "collecting samples" note is shown instead).
 */
export function lineChart(series, opts = {}) {
  const W = opts.width || 640;
  const H = opts.height || 180;
  const pad = { l: 48, r: 12, t: 10, b: 36 };
  const root = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img' });
  const all = series.flatMap((s) => s.points);
  const enough = series.some((s) => s.points.length >= (opts.minPoints || 1));
  const plotW = W - pad.l - pad.r;
  const plotH = H - pad.t - pad.b;
  const maxV = niceMax(Math.max(0, ...all.map((p) => p.v)));
  const t1 = all.length ? Math.max(...all.map((p) => p.t)) : Date.now();
  const t0 = all.length ? Math.min(...all.map((p) => p.t)) : t1 - 60000;
  const span = Math.max(1, t1 - t0);
  const x = (t) => pad.l + ((t - t0) / span) * plotW;
  const y = (v) => pad.t + plotH - (v / maxV) * plotH;

  for (let i = 0; i <= 5; i++) {
    const v = (maxV * i) / 5;
    root.appendChild(svg('line', { class: 'grid', x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v) }));
    root.appendChild(svg('text', { class: 'axis', x: pad.l - 6, y: y(v) + 3, 'text-anchor': 'end', text: compact(v) }));
  }
  if (all.length) {
    root.appendChild(svg('text', { class: 'axis', x: pad.l, y: H - pad.b + 14, text: clock(t0) }));
    root.appendChild(svg('text', { class: 'axis', x: W - pad.r, y: H - pad.b + 14, 'text-anchor': 'end', text: clock(t1) }));
  }
  if (!enough) {
    root.appendChild(svg('text', {
      class: 'wait', x: pad.l + plotW / 2, y: pad.t + plotH / 2, 'text-anchor': 'middle',
      text: 'collecting samples…',
    }));
  }
  series.forEach((s, i) => {
    const color = s.color || COLORS[i % COLORS.length];
    if (s.points.length >= 2) {
      const pts = s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`);
      if (series.length === 1) {
        const area = `${x(s.points[0].t).toFixed(1)},${y(0)} ${pts.join(' ')} ${x(s.points[s.points.length - 1].t).toFixed(1)},${y(0)}`;
        root.appendChild(svg('polygon', { class: 'area', points: area, fill: color }));
      }
      const line = svg('polyline', { class: 'line', points: pts.join(' '), stroke: color });
      line.appendChild(svg('title', { text: s.name }));
      root.appendChild(line);
    } else if (s.points.length === 1) {
      const p = s.points[0];
      root.appendChild(svg('circle', { cx: x(p.t), cy: y(p.v), r: 3, fill: color }));
    }
    // legend
    const lx = pad.l + (i % 4) * 150;
    const ly = H - 8 - Math.floor(i / 4) * 0;
    if (i < 4) {
      root.appendChild(svg('rect', { x: lx, y: ly - 8, width: 10, height: 3, fill: color }));
      const label = s.name.length > 22 ? s.name.slice(0, 21) + '…' : s.name;
      root.appendChild(svg('text', { class: 'legend', x: lx + 14, y: ly - 4, text: label }));
    }
  });
  return root;
}

/** A small inline sparkline of points [{t, v}]. */
export function sparkline(points, opts = {}) {
  const W = opts.width || 110;
  const H = opts.height || 22;
  const color = opts.color || COLORS[0];
  const root = svg('svg', { class: 'spark', width: W, height: H, viewBox: `0 0 ${W} ${H}` });
  if (points.length < 2) return root;
  const maxV = Math.max(...points.map((p) => p.v), 1e-9);
  const t0 = points[0].t;
  const span = Math.max(1, points[points.length - 1].t - t0);
  const x = (t) => ((t - t0) / span) * (W - 2) + 1;
  const y = (v) => H - 2 - (v / maxV) * (H - 4);
  const pts = points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  root.appendChild(svg('polygon', { class: 'area', fill: color, points: `1,${H - 2} ${pts} ${W - 1},${H - 2}` }));
  root.appendChild(svg('polyline', { class: 'line', stroke: color, points: pts }));
  return root;
}
