// Talking to nsqadmin's /api, and building URLs under the configured base path.

import { h } from './dom.js';

const BASE = (window.BASE_PATH && window.BASE_PATH !== '/') ? window.BASE_PATH : '';

/** A UI path under the base path (`/topics/x` → `/adm/topics/x`); never empty. */
export function basePath(p) {
  const full = BASE + p;
  const trimmed = full.length > 1 ? full.replace(/\/$/, '') : full;
  return trimmed || '/';
}

/** An API path under the base path. */
export function apiPath(p) {
  return basePath('/api' + p);
}

/** Encodes one path segment (topic, channel and node names). */
export const seg = (s) => encodeURIComponent(s);

/** The UI path of a topic, channel or node page. */
export const topicPath = (t) => basePath('/topics/' + seg(t));
export const channelPath = (t, c) => basePath('/topics/' + seg(t) + '/' + seg(c));
export const nodePath = (n) => basePath('/nodes/' + seg(n));

/** The path below the base path of the current location, split into decoded segments. */
export function currentSegments() {
  let p = window.location.pathname;
  if (BASE && p.startsWith(BASE)) p = p.slice(BASE.length);
  return p.split('/').filter(Boolean).map((s) => {
    try { return decodeURIComponent(s); } catch { return s; }
  });
}

/** An in-app link (the router intercepts clicks on it). */
export function link(path, text, attrs) {
  return h('a', { href: path, 'data-route': '1', ...(attrs || {}) }, text);
}

/** An error carrying the API's `message` (or a connection/decoding failure text). */
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status || 0;
  }
}

const TIMEOUT_MS = 20000;

/**
 * Sends a request to the API and decodes the JSON answer. Rejects with ApiError whose
 * message is the answer's `message`, or `ERROR: failed to connect to nsqadmin`, or
 * `ERROR: failed to decode JSON - …`.
 */
export async function request(method, path, body) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  let resp;
  try {
    resp = await fetch(path, {
      method,
      headers: {
        'X-UserAgent': window.USER_AGENT || 'nsqadmin',
        'Accept': 'application/vnd.nsq; version=1.0',
        'Content-Type': 'application/json',
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctl.signal,
    });
  } catch (e) {
    throw new ApiError('ERROR: failed to connect to nsqadmin');
  } finally {
    clearTimeout(timer);
  }
  const text = await resp.text();
  let data = {};
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new ApiError('ERROR: failed to decode JSON - ' + e.message, resp.status);
    }
  }
  if (!resp.ok) {
    throw new ApiError((data && data.message) || `ERROR: ${resp.status} ${resp.statusText}`, resp.status);
  }
  return data;
}

/** GET an API path. */
export const get = (p) => request('GET', apiPath(p));
/** POST a JSON body to an API path. */
export const post = (p, body) => request('POST', apiPath(p), body);
/** DELETE an API path (with an optional JSON body). */
export const del = (p, body) => request('DELETE', apiPath(p), body);
