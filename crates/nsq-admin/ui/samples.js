// Time series built from successive /api samples, for rate graphs without graphite.
//
// Counters (message_count) are recorded as raw values; rates are derived per interval.
// Gauges (depth, in-flight) are recorded as-is. History survives page navigation (and
// reloads, via sessionStorage) so graphs are not empty when switching pages.

const MAX_POINTS = 240;
const STORAGE_KEY = 'nsqadmin.samples.v1';
const store = new Map();

(function restore() {
  try {
    const raw = window.sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return;
    for (const [k, pts] of Object.entries(JSON.parse(raw))) {
      if (Array.isArray(pts)) store.set(k, pts.filter((p) => Array.isArray(p) && p.length === 2));
    }
  } catch (e) { /* unavailable or corrupt: start empty */ }
})();

let saveTimer = null;
function scheduleSave() {
  if (saveTimer) return;
  saveTimer = setTimeout(() => {
    saveTimer = null;
    try {
      window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(Object.fromEntries(store)));
    } catch (e) { /* quota exceeded: keep in memory only */ }
  }, 500);
}

/** Records `value` for `key` at time `t` (ms). Samples closer than 250 ms replace the last. */
export function record(key, value, t = Date.now()) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return;
  let pts = store.get(key);
  if (!pts) { pts = []; store.set(key, pts); }
  const last = pts[pts.length - 1];
  if (last && t - last[0] < 250) {
    last[1] = value;
  } else {
    pts.push([t, value]);
    if (pts.length > MAX_POINTS) pts.splice(0, pts.length - MAX_POINTS);
  }
  scheduleSave();
}

/** The raw points of `key` as [{t, v}]. */
export function gauge(key) {
  return (store.get(key) || []).map(([t, v]) => ({ t, v }));
}

/**
 * Per-second rates of counter `key` between successive samples, as [{t, v}]. A counter
 * that went down (node restart, topic recreated) yields no point for that interval.
 */
export function rates(key) {
  const pts = store.get(key) || [];
  const out = [];
  for (let i = 1; i < pts.length; i++) {
    const dt = (pts[i][0] - pts[i - 1][0]) / 1000;
    const dv = pts[i][1] - pts[i - 1][1];
    if (dt > 0 && dv >= 0) out.push({ t: pts[i][0], v: dv / dt });
  }
  return out;
}

/** The most recent rate of counter `key`, or null before two samples exist. */
export function lastRate(key) {
  const r = rates(key);
  return r.length ? r[r.length - 1].v : null;
}
