// Tiny DOM helpers. Every text goes through textContent, so names from the cluster can
// never inject markup.

/**
 * Creates an element. `attrs` keys: `class`, `text`, `title`, `href`, `on<event>`
 * (listener), `data-*`, anything else as an attribute. Children may be nodes, strings,
 * numbers, arrays (flattened) or null/undefined/false (skipped).
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = String(v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Replaces all children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** An SVG element with attributes. */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k === 'text') el.textContent = String(v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c) el.appendChild(c);
  return el;
}

/** An alert box (`kind`: warning, error, info, success). */
export function alert(kind, text) {
  return h('div', { class: `alert alert-${kind}`, role: 'alert', text });
}

/** A small badge. */
export function badge(text, kind, title) {
  return h('span', { class: `badge${kind ? ' badge-' + kind : ''}`, text, title });
}
