/* Slipway stage view: building the page.
 *
 * Element and SVG builders (h, svg, link, extLink, timeEl, badge, facts,
 * code, scrollBox, actionButton) and the page frame around every page: the
 * content area, the flash messages (errors and notices), the data-loaded
 * marker browser tests wait for, and re-rendering without losing focus or
 * scroll position. Everything the API returns is untrusted, so the DOM is
 * built with createElement/textContent only (never innerHTML) and links
 * taken from the data are kept only when they are http(s). The server's
 * Content-Security-Policy forbids style attributes, so all styling goes
 * through classes.
 */
'use strict';

// ---------------------------------------------------------------------------
// DOM helpers

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Sets attributes; `on…` keys become listeners, null/false values are skipped. */
function setAttrs(node, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
}

/** Appends children; strings become text nodes (never parsed as HTML). */
function appendAll(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  return appendAll(node, children);
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  return appendAll(node, children);
}

function link(href, text, attrs) {
  return h('a', Object.assign({ href }, attrs || {}), text);
}

/** A link to somewhere the data points at (build, logs), only if it is http(s). */
function extLink(url, text) {
  const safe = safeUrl(url);
  return safe ? h('a', { href: safe, rel: 'noopener noreferrer', class: 'external' }, text) : null;
}

/** A time in the viewer's zone, with the exact UTC instant in datetime and title. */
function timeEl(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(Number(ms))) return h('span', { class: 'muted' }, '—');
  const d = new Date(Number(ms));
  const iso = d.toISOString();
  return h('time', { datetime: iso, title: iso }, d.toLocaleString());
}

/** Icon and word of a status; the icon is hidden from screen readers, the word says it. */
function badge(status) {
  const st = status || 'none';
  return h('span', { class: `status tone-${statusTone(st)} status-${statusClass(st)}` },
    h('span', { class: 'status-icon', 'aria-hidden': 'true' }, STATUS_ICONS[st] || '?'),
    ' ', h('span', { class: 'status-word' }, st === 'none' ? 'not run' : st));
}

/** A <dl> of the pairs whose value is present. */
function facts(pairs) {
  const dl = h('dl', { class: 'facts' });
  for (const [label, value] of pairs) {
    if (value === null || value === undefined || value === '' || value === false) continue;
    dl.append(h('div', { class: 'fact' }, h('dt', {}, label), h('dd', {}, value)));
  }
  return dl.childElementCount ? dl : null;
}

function code(text, title) {
  return h('code', { title: title || null }, text);
}

/** A horizontally scrolling box, focusable so keyboards can scroll it. */
function scrollBox(key, label, child) {
  return h('div', { class: 'scroll-x', 'data-scroll': key, tabindex: '0', role: 'region', 'aria-label': label }, child);
}

function actionButton(action, label, onclick, attrs) {
  const tone = { approve: 'primary', promote: 'primary', reject: 'danger', abort: 'danger', rollback: 'danger' }[action] || 'plain';
  return h('button', Object.assign({ type: 'button', class: `button button-${tone}`, 'data-action': action, onclick }, attrs || {}), label);
}

// ---------------------------------------------------------------------------
// Page frame: content, flash messages, loaded marker, focus

let flash = null; // {kind: 'error'|'notice', text, hint, fromPoll}

function mainEl() { return document.getElementById('main'); }
function contentEl() { return document.getElementById('content'); }

function setContent(nodes) {
  contentEl().replaceChildren(...[nodes].flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
}

/** Tells browser tests (and nothing else) that the page's data is on screen. */
function markLoaded() {
  mainEl().setAttribute('data-loaded', 'true');
}

/** Errors and notices live above the page content, so a re-render of the
 * data (polling, refetch after an action) leaves them in place. */
function renderFlash() {
  const box = document.getElementById('flash');
  box.replaceChildren();
  if (!flash) return;
  const error = flash.kind === 'error';
  box.append(h('div', {
    class: error ? 'alert alert-error' : 'alert alert-notice',
    role: error ? 'alert' : 'status',
    'data-testid': error ? 'error' : 'notice',
  }, h('span', { class: 'alert-icon', 'aria-hidden': 'true' }, error ? '✖' : '✔'), ' ', flash.text,
  flash.hint ? h('p', { class: 'hint' }, flash.hint) : null));
}

function showNotice(text) {
  flash = { kind: 'notice', text };
  renderFlash();
}

/** An API failure in the alert area; 401 explains how to sign in. */
function showError(err, opts) {
  const o = opts || {};
  let text = err && err.message ? err.message : String(err);
  let hint = null;
  if (err && err.status === 401) {
    text = o.action ? `Sign in to do this (${text}).` : 'Sign in to see this.';
    hint = LOGIN_HINT;
  }
  flash = { kind: 'error', text, hint, fromPoll: !!o.fromPoll };
  renderFlash();
}

/** A selector finding "the same" control after a re-render, so live updates don't steal keyboard focus. */
function focusSelector(el) {
  if (!el || !contentEl().contains(el) || typeof CSS === 'undefined') return null;
  if (el.dataset && el.dataset.action) {
    let sel = `[data-action="${CSS.escape(el.dataset.action)}"]`;
    if (el.dataset.stage) sel += `[data-stage="${CSS.escape(el.dataset.stage)}"]`;
    return sel;
  }
  const href = el.getAttribute && el.getAttribute('href');
  if (href) return `a[href="${CSS.escape(href)}"]`;
  if (el.id) return `#${CSS.escape(el.id)}`;
  if (el.dataset && el.dataset.scroll) return `[data-scroll="${CSS.escape(el.dataset.scroll)}"]`;
  return null;
}

/** Re-renders while keeping focus and horizontal scroll positions. */
function keepPlace(render) {
  const sel = focusSelector(document.activeElement);
  const scrolls = [...contentEl().querySelectorAll('[data-scroll]')].map((e) => [e.dataset.scroll, e.scrollLeft]);
  render();
  for (const [key, left] of scrolls) {
    const e = contentEl().querySelector(`[data-scroll="${CSS.escape(key)}"]`);
    if (e) e.scrollLeft = left;
  }
  const again = sel && contentEl().querySelector(sel);
  if (again) again.focus({ preventScroll: true });
}
