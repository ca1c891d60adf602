// Number, duration and percentile formatting.

/** 1234567 → "1,234,567". */
export function commafy(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '';
  const s = String(Math.trunc(n));
  const neg = s.startsWith('-');
  const digits = neg ? s.slice(1) : s;
  return (neg ? '-' : '') + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Nanoseconds → "1h", "3m", "1.25s", "12ms", "40us", "80ns" (largest fitting unit). */
export function nanotohuman(ns) {
  if (ns === null || ns === undefined) return '';
  const abs = Math.abs(ns);
  if (abs >= 3600e9) return (ns / 3600e9).toFixed(0) + 'h';
  if (abs >= 60e9) return (ns / 60e9).toFixed(0) + 'm';
  if (abs >= 1e9) return (ns / 1e9).toFixed(2) + 's';
  if (abs >= 1e6) return (ns / 1e6).toFixed(0) + 'ms';
  if (abs >= 1e3) return (ns / 1e3).toFixed(0) + 'us';
  return ns.toFixed(0) + 'ns';
}

/** Seconds → "2d3h", "1h4m", "5m12s", "9s". */
export function secondsToHuman(sec) {
  sec = Math.max(0, Math.floor(sec));
  const d = Math.floor(sec / 86400);
  const hh = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  if (d) return `${d}d${hh}h`;
  if (hh) return `${hh}h${m}m`;
  if (m) return `${m}m${s}s`;
  return `${s}s`;
}

/** 0.99 → "99th", 0.5 → "50th", 0.01 → "1st". */
export function percentileLabel(q) {
  const n = Math.floor(q * 100);
  const last = n % 10;
  const teen = Math.floor(n / 10) % 10 === 1;
  const suffix = teen ? 'th' : last === 1 ? 'st' : last === 2 ? 'nd' : last === 3 ? 'rd' : 'th';
  return `${n}${suffix}`;
}

/** A rate in messages per second: "1,234/s", "12.5/s", "0.40/s", or "–" when unknown. */
export function rate(r) {
  if (r === null || r === undefined || Number.isNaN(r)) return '–';
  if (r >= 1000) return commafy(Math.round(r)) + '/s';
  if (r >= 10) return r.toFixed(1) + '/s';
  return r.toFixed(2) + '/s';
}

/** Compact axis label: 1500 → "1.5k", 2e6 → "2M". */
export function compact(v) {
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(a >= 1e10 ? 0 : 1) + 'G';
  if (a >= 1e6) return (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + 'M';
  if (a >= 1e3) return (v / 1e3).toFixed(a >= 1e4 ? 0 : 1) + 'k';
  if (a >= 10 || v === 0) return v.toFixed(0);
  return String(Number(v.toFixed(2)));
}
