// nsqadmin's web UI in headless Chromium against a real cluster (our nsqlookupd, two
// nsqds, nsqadmin): every page renders the cluster without console errors, deep links and
// live refresh work, and every admin button changes the cluster (checked through nsqd's
// /stats and nsqlookupd's HTTP API). Screenshots go to tests/out/screenshots/.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from './lib/cluster.mjs';
import { publish, consume, topicStats, eventually } from './lib/nsq.mjs';
import { launch, openPage, shot } from './lib/browser.mjs';

const UA = 'ui-test-consumer/1.0';

let cluster;
let browser;
let consumers = [];

async function lookupd(path) {
  const r = await fetch(`http://${cluster.lookupdHttp}${path}`);
  return r.json();
}

async function channelStats(nsqd, topic, channel) {
  const t = await topicStats(nsqd.http, topic);
  return t && (t.channels || []).find((c) => c.channel_name === channel);
}

/** Opens `path` on the admin UI, waits for `selector`, returns the page. */
async function visit(path, selector, { page, base } = {}) {
  const p = page || await openPage(browser);
  await p.goto((base || cluster.admin) + path);
  await p.waitForSelector(selector, { timeout: 15000 });
  return p;
}

function assertClean(page, what) {
  assert.deepEqual(page.problems, [], `${what}: console errors or failed requests`);
}

/** Clicks an action button and confirms the dialog. */
async function act(page, testid, { cancel = false } = {}) {
  await page.click(`[data-testid="${testid}"]`);
  await page.waitForSelector('dialog.confirm[open]', { timeout: 5000 });
  await page.click(cancel ? 'dialog.confirm .btn-cancel' : 'dialog.confirm .btn-confirm');
  await page.waitForSelector('dialog.confirm', { state: 'detached', timeout: 5000 });
}

before(async () => {
  cluster = await new Cluster({ nsqds: 2 }).start();
  const [a, b] = cluster.nsqds;
  for (let i = 0; i < 6; i++) await publish(a.http, 'orders', `order-${i}`);
  for (let i = 0; i < 4; i++) await publish(b.http, 'orders', `order-b-${i}`);
  for (let i = 0; i < 3; i++) await publish(a.http, 'events', `event-${i}`);
  await publish(b.http, 'events', 'event-b');
  consumers.push(await consume(a.tcp, 'orders', 'billing', { userAgent: UA }));
  consumers.push(await consume(b.tcp, 'orders', 'billing', { userAgent: UA }));
  await eventually(async () => (await lookupd('/lookup?topic=orders')).producers?.length === 2, 10000, 'lookupd registrations');
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  for (const c of consumers) c.close();
  if (cluster) {
    if (process.exitCode) process.stderr.write(cluster.logs());
    await cluster.stop();
  }
});

describe('pages', () => {
  it('topic list shows every topic with figures', async () => {
    const page = await visit('/', 'table[data-testid="topics-table"] tr[data-topic="orders"] td.num');
    const cells = (await page.locator('tr[data-topic="orders"] td').allTextContents()).map((t) => t.trim());
    assert.equal(cells[0], 'orders');
    assert.equal(cells[3], '10', 'messages summed over both nsqds');
    assert.equal(cells[7], '2', 'present on both nsqds');
    assert.ok(await page.$('tr[data-topic="events"]'));
    await shot(page, 'topics');
    assertClean(page, 'topics');
  });

  it('topic page shows per-node queues, channels, producers and live rate graphs', async () => {
    const page = await openPage(browser);
    await page.addInitScript(() => window.localStorage.setItem('nsqadmin.refresh', '2'));
    await visit('/topics/orders', 'table[data-testid="topic-channels"]', { page });
    // Traffic for the rate graphs: 20 msgs/s across both nodes for a few refreshes.
    const [a, b] = cluster.nsqds;
    let n = 0;
    const pump = setInterval(() => {
      n++;
      publish(n % 3 ? a.http : b.http, 'orders', `live-${n}`).catch(() => {});
    }, 50);
    try {
      // total + one line per node once three samples exist
      await eventually(async () => (await page.locator('[data-chart="rate"] polyline').count()) >= 3, 20000, 'rate graph lines');
      await eventually(async () => /[1-9][0-9.]*\/s/.test(await page.textContent('table[data-testid="topic-nodes"] tr.total td.rate')), 10000, 'a non-zero rate');
    } finally {
      clearInterval(pump);
    }
    for (const n of cluster.nsqds) assert.ok(await page.$(`tr[data-node="${n.http}"]`), `node row ${n.http}`);
    const total = await page.textContent('table[data-testid="topic-nodes"] tr.total');
    assert.match(total, /Total:/);
    assert.match(await page.textContent('tr[data-channel="billing"]'), /billing/);
    assert.equal(await page.locator('[data-testid="chart"]').count(), 2);
    await shot(page, 'topic');
    assertClean(page, 'topic');
  });

  it('channel page shows per-node figures and connected clients', async () => {
    const page = await visit('/topics/orders/billing', 'table[data-testid="channel-clients"]');
    const clients = await page.textContent('table[data-testid="channel-clients"]');
    assert.match(clients, new RegExp(UA.replace(/[./]/g, '\\$&')));
    assert.match(clients, /ui-test-host/);
    assert.equal(await page.locator('table[data-testid="channel-clients"] tbody tr').count(), 2);
    const inflight = await page.textContent('table[data-testid="channel-nodes"] tr.total');
    assert.match(inflight, /Total:/);
    await shot(page, 'channel');
    assertClean(page, 'channel');
  });

  it('node list shows both nsqds', async () => {
    const page = await visit('/nodes', 'table[data-testid="nodes-table"]');
    for (const n of cluster.nsqds) assert.ok(await page.$(`tr[data-node="${n.http}"]`));
    assert.match(await page.textContent('h1'), /NSQd Nodes \(2\)/);
    await shot(page, 'nodes');
    assertClean(page, 'nodes');
  });

  it('node page shows topics, channels and clients of one nsqd', async () => {
    const node = cluster.nsqds[0].http;
    const page = await visit(`/nodes/${node}`, 'table[data-testid="node-clients"]');
    const text = await page.textContent('#container');
    assert.match(text, /orders/);
    assert.match(text, /billing/);
    assert.match(text, /ui-test-consumer/);
    await shot(page, 'node');
    assertClean(page, 'node');
  });

  it('counter page counts messages', async () => {
    const page = await visit('/counter', '[data-testid="counter-value"] span.d');
    await eventually(async () => (await page.textContent('[data-testid="counter-value"]')).replace(/\D/g, '') !== '0', 10000, 'counter');
    await page.waitForTimeout(1500);
    await shot(page, 'counter');
    assertClean(page, 'counter');
  });

  it('lookup page lists lookupds and offers the create form', async () => {
    const page = await visit('/lookup', 'form[data-testid="create-form"]');
    assert.match(await page.textContent('table[data-testid="lookupd-hosts"]'), new RegExp(cluster.lookupdHttp));
    await shot(page, 'lookup');
    assertClean(page, 'lookup');
  });
});

describe('navigation', () => {
  it('deep links load directly and in-app links route without reloads', async () => {
    const page = await visit('/topics/orders/billing', 'table[data-testid="channel-nodes"]');
    await page.click('.crumbs a:text("orders")');
    await page.waitForURL(/\/topics\/orders$/);
    await page.waitForSelector('table[data-testid="topic-nodes"]');
    await page.click('tr[data-channel="billing"] a');
    await page.waitForURL(/\/topics\/orders\/billing$/);
    await page.waitForSelector('table[data-testid="channel-clients"]');
    await page.goBack();
    await page.waitForSelector('table[data-testid="topic-nodes"]');
    await page.click('nav a[data-nav="nodes"]');
    await page.waitForSelector('table[data-testid="nodes-table"]');
    assertClean(page, 'navigation');
  });

  it('figures refresh live', async () => {
    const page = await openPage(browser);
    await page.addInitScript(() => window.localStorage.setItem('nsqadmin.refresh', '2'));
    await visit('/topics/events', 'table[data-testid="topic-nodes"] tr.total', { page });
    const before = await page.textContent('table[data-testid="topic-nodes"] tr.total');
    for (let i = 0; i < 5; i++) await publish(cluster.nsqds[0].http, 'events', `live-${i}`);
    await eventually(async () => (await page.textContent('table[data-testid="topic-nodes"] tr.total')) !== before, 15000, 'live refresh');
    assert.match(await page.textContent('table[data-testid="topic-nodes"] tr.total'), /9/);
    assertClean(page, 'live refresh');
  });
});

describe('actions', () => {
  it('cancelling the confirmation changes nothing', async () => {
    const page = await visit('/topics/orders/billing', '[data-testid="pause-channel"]');
    await act(page, 'pause-channel', { cancel: true });
    await page.waitForTimeout(300);
    for (const n of cluster.nsqds) assert.equal((await channelStats(n, 'orders', 'billing')).paused, false);
    assertClean(page, 'cancel');
  });

  it('pause and unpause a channel', async () => {
    const page = await visit('/topics/orders/billing', '[data-testid="pause-channel"]');
    await act(page, 'pause-channel');
    for (const n of cluster.nsqds) {
      await eventually(async () => (await channelStats(n, 'orders', 'billing')).paused === true, 5000, 'channel paused');
    }
    await page.waitForSelector('[data-testid="unpause-channel"]');
    await shot(page, 'channel-paused');
    await act(page, 'unpause-channel');
    for (const n of cluster.nsqds) {
      await eventually(async () => (await channelStats(n, 'orders', 'billing')).paused === false, 5000, 'channel unpaused');
    }
    await page.waitForSelector('[data-testid="pause-channel"]');
    assertClean(page, 'pause channel');
  });

  it('empty a channel', async () => {
    const before = await channelStats(cluster.nsqds[0], 'orders', 'billing');
    assert.ok(before.depth > 0, 'channel has queued messages');
    const page = await visit('/topics/orders/billing', '[data-testid="empty-channel"]');
    await act(page, 'empty-channel');
    for (const n of cluster.nsqds) {
      await eventually(async () => (await channelStats(n, 'orders', 'billing')).depth === 0, 5000, 'channel emptied');
    }
    assertClean(page, 'empty channel');
  });

  it('pause, unpause and empty a topic', async () => {
    const page = await visit('/topics/events', '[data-testid="pause-topic"]');
    await act(page, 'pause-topic');
    for (const n of cluster.nsqds) {
      await eventually(async () => (await topicStats(n.http, 'events')).paused === true, 5000, 'topic paused');
    }
    await page.waitForSelector('[data-testid="unpause-topic"]');
    await act(page, 'unpause-topic');
    for (const n of cluster.nsqds) {
      await eventually(async () => (await topicStats(n.http, 'events')).paused === false, 5000, 'topic unpaused');
    }
    assert.ok((await topicStats(cluster.nsqds[0].http, 'events')).depth > 0, 'topic without channels keeps its messages');
    await page.waitForSelector('[data-testid="empty-topic"]');
    await act(page, 'empty-topic');
    for (const n of cluster.nsqds) {
      await eventually(async () => (await topicStats(n.http, 'events')).depth === 0, 5000, 'topic emptied');
    }
    assertClean(page, 'topic actions');
  });

  it('create a channel and a topic from the lookup page, then delete the inactive topic', async () => {
    const page = await visit('/lookup', 'form[data-testid="create-form"]');
    await page.fill('[data-testid="create-topic"]', 'orders');
    await page.fill('[data-testid="create-channel"]', 'audit');
    await page.click('[data-testid="create-submit"]');
    for (const n of cluster.nsqds) {
      await eventually(async () => Boolean(await channelStats(n, 'orders', 'audit')), 5000, 'channel created on nsqd');
    }
    assert.ok((await lookupd('/channels?topic=orders')).channels.includes('audit'));

    await page.fill('[data-testid="create-topic"]', 'brand_new');
    await page.click('[data-testid="create-submit"]');
    await eventually(async () => (await lookupd('/topics')).topics.includes('brand_new'), 5000, 'topic created in lookupd');
    await page.waitForSelector('li[data-topic="brand_new"]');
    await shot(page, 'lookup-inactive');
    await page.click('li[data-topic="brand_new"] [data-testid="delete-inactive-topic"]');
    await page.click('dialog.confirm .btn-confirm');
    await eventually(async () => !(await lookupd('/topics')).topics.includes('brand_new'), 5000, 'inactive topic deleted');
    assertClean(page, 'create');
  });

  it('delete a channel', async () => {
    const page = await visit('/topics/orders/audit', '[data-testid="delete-channel"]');
    await act(page, 'delete-channel');
    await page.waitForURL(/\/topics\/orders$/);
    for (const n of cluster.nsqds) {
      await eventually(async () => !(await channelStats(n, 'orders', 'audit')), 5000, 'channel deleted');
    }
    assertClean(page, 'delete channel');
  });

  it('tombstone a topic producer', async () => {
    const node = cluster.nsqds[0];
    const page = await visit('/topics/events', `tr[data-node="${node.http}"] [data-testid="tombstone"]`);
    await page.click(`tr[data-node="${node.http}"] [data-testid="tombstone"]`);
    await page.click('dialog.confirm .btn-confirm');
    await eventually(async () => !(await topicStats(node.http, 'events')), 5000, 'topic deleted from the node');
    assert.ok(await topicStats(cluster.nsqds[1].http, 'events'), 'the other node keeps the topic');
    const nodes = (await lookupd('/nodes')).producers;
    const entry = nodes.find((p) => `${p.broadcast_address}:${p.http_port}` === node.http);
    const idx = entry.topics.indexOf('events');
    assert.ok(idx === -1 || entry.tombstones[idx] === true, 'tombstoned in lookupd');
    assertClean(page, 'tombstone');
  });

  it('delete a topic', async () => {
    const page = await visit('/topics/orders', '[data-testid="delete-topic"]');
    await act(page, 'delete-topic');
    await page.waitForSelector('[data-testid="topics-table"], [data-testid="no-topics"]');
    for (const n of cluster.nsqds) {
      await eventually(async () => !(await topicStats(n.http, 'orders')), 5000, 'topic deleted');
    }
    assert.ok(!(await lookupd('/topics')).topics.includes('orders'));
    assertClean(page, 'delete topic');
  });
});

describe('access and base path', () => {
  it('hides admin buttons from non-admins and shows them to admins', async () => {
    const base = await cluster.startAdmin(['--admin-user=alice'], 'nsqadmin-acl');
    const anon = await visit('/topics/events', 'table[data-testid="topic-nodes"]', { base });
    assert.equal(await anon.$('[data-testid="delete-topic"]'), null);
    assert.equal(await anon.$('[data-testid="tombstone"]'), null);
    assertClean(anon, 'anonymous');
    const admin = await openPage(browser, { headers: { 'X-Forwarded-User': 'alice' } });
    await visit('/topics/events', '[data-testid="delete-topic"]', { page: admin, base });
    assertClean(admin, 'admin');
  });

  it('serves every page under --base-path', async () => {
    const base = await cluster.startAdmin(['--base-path=/admin/'], 'nsqadmin-base');
    assert.ok(base.endsWith('/admin'));
    const page = await visit('/topics/events', 'table[data-testid="topic-nodes"]', { base });
    const href = await page.getAttribute('nav a[data-nav="nodes"]', 'href');
    assert.equal(href, '/admin/nodes');
    await page.click('nav a[data-nav="nodes"]');
    await page.waitForSelector('table[data-testid="nodes-table"]');
    await page.click('nav a[data-nav="lookup"]');
    await page.waitForSelector('form[data-testid="create-form"]');
    await page.click('nav a[data-nav="counter"]');
    await page.waitForSelector('[data-testid="counter-value"]');
    await shot(page, 'base-path-counter');
    assertClean(page, 'base path');
  });
});

describe('nsqd mode', () => {
  it('works without nsqlookupd', async () => {
    const base = await cluster.startAdmin([], 'nsqadmin-nsqd-mode', { nsqdMode: true });
    const page = await visit('/', 'table[data-testid="topics-table"]', { base });
    assert.ok(await page.$('tr[data-topic="events"]'));
    await page.click('nav a[data-nav="nodes"]');
    await page.waitForSelector('table[data-testid="nodes-table"]');
    assert.equal(await page.locator('th:text("Lookupd Conns.")').count(), 0);
    await page.click('nav a[data-nav="lookup"]');
    await page.waitForSelector('text=nsqadmin is not configured with nsqlookupd hosts');
    await shot(page, 'nsqd-mode-lookup');
    assertClean(page, 'nsqd mode');
  });
});

describe('failures', () => {
  it('shows the upstream error for an unknown topic', async () => {
    const page = await visit('/topics/does_not_exist', '[data-testid="load-error"]');
    assert.match(await page.textContent('[data-testid="load-error"]'), /UPSTREAM_ERROR/);
    await shot(page, 'error');
    page.problems = page.problems.filter((p) => !p.includes('502'));
    assertClean(page, 'error page');
  });

  it('stays usable with a wedged nsqd (partial answers shown as warnings)', async () => {
    const wedged = cluster.procs.find((p) => p.name === 'nsqd1');
    const addr = cluster.nsqds[1].http;
    process.kill(wedged.child.pid, 'SIGSTOP');
    try {
      const page = await visit('/nodes', 'table[data-testid="nodes-table"]');
      await page.waitForSelector('.alert-warning', { timeout: 20000 });
      assert.match(await page.textContent('.alert-warning'), new RegExp(addr));
      assert.ok(await page.$(`tr[data-node="${cluster.nsqds[0].http}"]`));
      await shot(page, 'nodes-wedged');
      page.problems = page.problems.filter((p) => !p.includes('502'));
      assertClean(page, 'nodes with a wedged nsqd');
    } finally {
      process.kill(wedged.child.pid, 'SIGCONT');
    }
  });
});
