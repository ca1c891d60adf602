// Admin action buttons with a confirmation step, and the page-level flash area.

import { h, replace, alert } from './dom.js';

let openDialogs = 0;
let running = 0;

/** Whether a confirmation dialog is open or an action is running (live refresh waits). */
export function dialogOpen() {
  return openDialogs > 0 || running > 0;
}

/**
 * Asks "Are you sure you want to <verb> <name>?". Resolves true on Confirm, false on
 * Cancel or Escape.
 */
export function confirmAction(verb, name) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'confirm', 'data-testid': 'confirm-dialog' });
    const finish = (ok) => {
      openDialogs--;
      dlg.close();
      dlg.remove();
      resolve(ok);
    };
    replace(dlg,
      h('p', {}, 'Are you sure you want to ', h('b', { text: verb }), ' ', h('i', { text: name }), '?'),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', class: 'btn-cancel', onclick: () => finish(false) }, 'Cancel'),
        h('button', { type: 'button', class: 'btn-primary btn-confirm', onclick: () => finish(true) }, 'Confirm')));
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); finish(false); });
    document.body.appendChild(dlg);
    openDialogs++;
    dlg.showModal();
  });
}

/** The flash area at the top of a view: shows action results. */
export function flashArea() {
  const el = h('div', { id: 'error', class: 'flash' });
  return {
    el,
    error(msg) { replace(el, alert('error', msg)); },
    success(msg) { replace(el, alert('success', msg)); },
    warning(msg) { replace(el, alert('warning', msg)); },
    clear() { replace(el); },
  };
}

/**
 * A button that asks for confirmation, then runs `run()` (a promise). On success,
 * `after(result)` runs; on failure the error message goes to `flash`.
 */
export function actionButton(label, { variant, verb, name, run, after, flash, testid, small }) {
  const btn = h('button', {
    type: 'button',
    class: small ? 'btn-x' : `btn-${variant || 'primary'}`,
    'data-testid': testid,
    title: small ? `${verb} ${name}` : null,
  }, label);
  btn.addEventListener('click', async () => {
    if (!(await confirmAction(verb, name))) return;
    btn.disabled = true;
    running++;
    try {
      const res = await run();
      if (flash) {
        if (res && res.message) flash.warning(res.message);
        else flash.success(`${verb[0].toUpperCase()}${verb.slice(1)}: ${name} — done`);
      }
      if (after) await after(res);
    } catch (e) {
      if (flash) flash.error(e.message);
    } finally {
      running--;
      btn.disabled = false;
    }
  });
  return btn;
}
