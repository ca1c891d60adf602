// Starts our nsqlookupd, nsqd(s) and nsqadmin on free 127.0.0.1 ports for a test run and
// stops exactly the processes it started (by PID). Every wait is bounded.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function bin(envName, name) {
  const v = process.env[envName];
  if (!v) return path.join(REPO, 'target', 'debug', name);
  return path.isAbsolute(v) ? v : path.resolve(REPO, v);
}

export const BINS = {
  nsqd: bin('NSQD_BIN', 'nsqd'),
  nsqlookupd: bin('NSQLOOKUPD_BIN', 'nsqlookupd'),
  nsqadmin: bin('NSQADMIN_BIN', 'nsqadmin'),
};

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `url` until it answers 200 (bounded). */
export async function waitHttp(url, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let last = null;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
      last = new Error(`status ${r.status}`);
    } catch (e) {
      last = e;
    }
    await sleep(50);
  }
  throw new Error(`${url} not ready: ${last && last.message}`);
}

/** One daemon process with captured output. */
class Proc {
  constructor(name, argv, logDir) {
    this.name = name;
    this.logPath = path.join(logDir, `${name}.log`);
    const log = fs.openSync(this.logPath, 'a');
    this.child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.exited = new Promise((r) => this.child.once('exit', r));
  }

  async stop(signal = 'SIGTERM') {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    process.kill(this.child.pid, signal);
    const t = setTimeout(() => {
      try { process.kill(this.child.pid, 'SIGKILL'); } catch { /* gone */ }
    }, 5000);
    await this.exited;
    clearTimeout(t);
  }

  log() {
    try { return fs.readFileSync(this.logPath, 'utf8'); } catch { return ''; }
  }
}

/**
 * A cluster: one nsqlookupd, `nsqds` nsqd(s) registered with it, and one nsqadmin in
 * lookupd mode (extra nsqadmin flags via `adminArgs`).
 */
export class Cluster {
  constructor({ nsqds = 1, adminArgs = [] } = {}) {
    this.nsqdCount = nsqds;
    this.adminArgs = adminArgs;
    this.procs = [];
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsqadmin-browser-'));
  }

  async start() {
    const [ltcp, lhttp] = [await freePort(), await freePort()];
    this.lookupdHttp = `127.0.0.1:${lhttp}`;
    this.procs.push(new Proc('nsqlookupd', [BINS.nsqlookupd,
      `--tcp-address=127.0.0.1:${ltcp}`, `--http-address=${this.lookupdHttp}`,
      '--broadcast-address=127.0.0.1'], this.dir));
    await waitHttp(`http://${this.lookupdHttp}/ping`);
    this.nsqds = [];
    for (let i = 0; i < this.nsqdCount; i++) {
      const [tcp, http] = [await freePort(), await freePort()];
      const data = fs.mkdtempSync(path.join(this.dir, `data${i}-`));
      this.procs.push(new Proc(`nsqd${i}`, [BINS.nsqd,
        `--tcp-address=127.0.0.1:${tcp}`, `--http-address=127.0.0.1:${http}`,
        `--lookupd-tcp-address=127.0.0.1:${ltcp}`, '--broadcast-address=127.0.0.1',
        `--data-path=${data}`, '--e2e-processing-latency-percentile=0.99,0.5'], this.dir));
      this.nsqds.push({ tcp: `127.0.0.1:${tcp}`, http: `127.0.0.1:${http}` });
      await waitHttp(`http://127.0.0.1:${http}/ping`);
    }
    this.admin = await this.startAdmin(this.adminArgs);
    return this;
  }

  /**
   * Starts (another) nsqadmin against this cluster's lookupd (or, with `nsqdMode`, against
   * the nsqds directly); returns its base URL.
   */
  async startAdmin(extra = [], name = 'nsqadmin', { nsqdMode = false } = {}) {
    const port = await freePort();
    const upstream = nsqdMode
      ? this.nsqds.map((n) => `--nsqd-http-address=${n.http}`)
      : [`--lookupd-http-address=${this.lookupdHttp}`];
    this.procs.push(new Proc(name, [BINS.nsqadmin, `--http-address=127.0.0.1:${port}`,
      ...upstream, ...extra], this.dir));
    const base = extra.find((a) => a.startsWith('--base-path='));
    const bp = base ? base.slice('--base-path='.length).replace(/\/$/, '') : '';
    await waitHttp(`http://127.0.0.1:${port}${bp}/ping`);
    return `http://127.0.0.1:${port}${bp}`;
  }

  async stop() {
    for (const p of this.procs.reverse()) await p.stop();
  }

  logs() {
    return this.procs.map((p) => `--- ${p.name} ---\n${p.log().slice(-4000)}`).join('\n');
  }
}
