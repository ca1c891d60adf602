// The lookup page: the configured nsqlookupds, topics and channels that exist only in
// lookup data (no nsqd produces them) with delete buttons, and the create form.

import { h, alert } from './dom.js';
import * as api from './api.js';
import { actionButton } from './confirm.js';
import { crumbs, titleRow, pollingView, warning } from './page.js';
import { table, th } from './tables.js';

function createForm(flash, refresh) {
  const topic = h('input', { type: 'text', name: 'topic', placeholder: 'Topic', 'data-testid': 'create-topic' });
  const channel = h('input', { type: 'text', name: 'channel', placeholder: 'Channel', 'data-testid': 'create-channel' });
  const submit = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'create-submit' }, 'Create');
  const form = h('form', { class: 'inline', 'data-testid': 'create-form' },
    h('label', {}, 'Topic Name', topic), h('label', {}, 'Channel Name', channel), submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const t = topic.value.trim();
    const c = channel.value.trim();
    if (!t && !c) return;
    submit.disabled = true;
    try {
      const res = await api.post('/topics', { topic: t, channel: c });
      if (res.message) flash.warning(res.message);
      else flash.success(c ? `Created channel ${t}/${c}` : `Created topic ${t}`);
      topic.value = '';
      channel.value = '';
      await refresh();
    } catch (err) {
      flash.error(err.message);
    } finally {
      submit.disabled = false;
    }
  });
  return h('div', { class: 'panel' }, h('h2', { style: 'margin-top:0' }, 'Create Topic/Channel'), form,
    h('div', { class: 'help' }, 'If Channel Name is empty, just the topic is created.'));
}

export function mount(root) {
  document.title = 'nsqadmin - Lookup';
  let form = null;
  return pollingView(root, {
    load: () => api.get('/topics?inactive=true'),
    render(d, flash, refresh) {
      const lookupds = window.NSQLOOKUPD || [];
      const head = [crumbs([[null, 'Lookup']]), titleRow('Lookup')];
      if (!lookupds.length) {
        return [head, flash.el, alert('warning', 'nsqadmin is not configured with nsqlookupd hosts')];
      }
      const inactive = Object.entries(d.topics || {});
      const tree = inactive.length ? [
        alert('info', 'Below is a tree of Topics/Channels that are currently inactive (i.e. not produced on any nsqd in the cluster but are present in the lookup data)'),
        h('div', { class: 'panel' }, h('ul', { class: 'tree', 'data-testid': 'inactive-tree' }, inactive.map(([t, chans]) => h('li', { 'data-topic': t },
          actionButton('✘', { small: true, verb: 'delete', name: t, flash, after: refresh, testid: 'delete-inactive-topic', run: () => api.del('/topics/' + api.seg(t)) }),
          h('span', {}, t),
          (chans || []).length ? h('ul', {}, chans.map((c) => h('li', { 'data-channel': c },
            actionButton('✘', { small: true, verb: 'delete', name: `${t}/${c}`, flash, after: refresh, testid: 'delete-inactive-channel', run: () => api.del('/topics/' + api.seg(t) + '/' + api.seg(c)) }),
            h('span', {}, c)))) : null)))),
      ] : [h('div', { class: 'empty', 'data-testid': 'no-inactive' }, 'No inactive Topics')];
      if (window.IS_ADMIN && !form) form = createForm(flash, refresh);
      return [head, flash.el, warning(d),
        h('h2', {}, 'nsqlookupd hosts'),
        table('lookupd-hosts', h('tr', {}, th('nsqlookupd Host')), lookupds.map((a) => h('tr', {}, h('td', { class: 'mono' }, a)))),
        h('h2', {}, 'Inactive Topics'), tree,
        window.IS_ADMIN ? form : null];
    },
  });
}
