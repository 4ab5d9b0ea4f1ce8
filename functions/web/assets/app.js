/* Slipway stage view: the browser side.
 *
 * One classic script, no framework: a small router over location.pathname,
 * a JSON API client and one render function per page. Everything the API
 * returns is untrusted, so the DOM is built with createElement/textContent
 * only (never innerHTML) and links taken from the data are kept only when
 * they are http(s). The server's Content-Security-Policy forbids inline
 * scripts and style attributes, so all styling goes through classes.
 *
 * The pure helpers at the top (formatDuration, layerStages, layoutGraph,
 * parseRoute, …) touch no browser API so that node can load this file and
 * check them; the browser start-up at the bottom is guarded accordingly.
 */
'use strict';

// ---------------------------------------------------------------------------
// Statuses

/** Icon per status: a status is always shown as icon and word, never by colour alone. */
const STATUS_ICONS = {
  succeeded: '✔', failed: '✖', running: '●', queued: '◷',
  'waiting-for-approval': '‖', cancelled: '⊘', 'timed-out': '◔', skipped: '↷',
  // Deployment (release) statuses.
  'in-progress': '●', paused: '‖', aborted: '⊘',
  // A stage a run never had.
  none: '–',
};

/** Colour family per status (the CSS only knows these five tones). */
const STATUS_TONES = {
  succeeded: 'ok', failed: 'bad', 'timed-out': 'bad', running: 'run', 'in-progress': 'run',
  'waiting-for-approval': 'wait', paused: 'wait', queued: 'idle', cancelled: 'idle',
  skipped: 'idle', aborted: 'idle', none: 'idle',
};

/** Run statuses after which nothing changes any more: live polling stops. */
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed-out', 'skipped']);
/** Stage statuses a retry makes sense for. */
const RETRYABLE = new Set(['failed', 'timed-out', 'cancelled']);
/** Choices of the app page's status filter ('' = any). */
const STATUS_FILTERS = ['running', 'succeeded', 'failed', 'cancelled', 'timed-out', 'queued', 'skipped'];
const POLL_MS = 2000;
const PAGE_SIZE = 25;
const LOGIN_HINT = 'Ask Slipway for a sign-in link with the chat command "login", ' +
  'or create one with POST /api/login-links and an API token.';

// ---------------------------------------------------------------------------
// Pure helpers (no DOM; node loads these for checks)

/** Milliseconds as "1m 05s", "2h 03m", "3d 04h"; "—" when unknown. */
function formatDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms > 0 && ms < 1000) return '<1s';
  const total = Math.floor(ms / 1000);
  const pad = (n) => String(n).padStart(2, '0');
  const s = total % 60;
  const m = Math.floor(total / 60) % 60;
  const h = Math.floor(total / 3600) % 24;
  const d = Math.floor(total / 86400);
  if (d > 0) return `${d}d ${pad(h)}h`;
  if (h > 0) return `${h}h ${pad(m)}m`;
  if (m > 0) return `${m}m ${pad(s)}s`;
  return `${s}s`;
}

/** Time between two instants; a started, unfinished thing counts up to `now`. */
function elapsed(startMs, endMs, now) {
  if (startMs === null || startMs === undefined) return null;
  const end = endMs === null || endMs === undefined ? now : endMs;
  return end >= startMs ? end - startMs : null;
}

function shortCommit(commit) {
  return commit ? String(commit).slice(0, 8) : '—';
}

/** "sha256:0123456789ab" from a full digest: enough to tell images apart. */
function shortDigest(digest) {
  if (!digest) return '—';
  const d = String(digest);
  const i = d.indexOf(':');
  return i >= 0 ? d.slice(0, i + 1) + d.slice(i + 1, i + 13) : d.slice(0, 12);
}

/** A branch or tag name from a full git ref. */
function refName(ref) {
  return ref ? String(ref).replace(/^refs\/(heads|tags)\//, '') : '';
}

/** A class-name-safe form of a status (statuses come from the server). */
function statusClass(status) {
  return String(status || 'none').toLowerCase().replace(/[^a-z0-9-]/g, '');
}

function statusTone(status) {
  return STATUS_TONES[status] || 'idle';
}

/** The URL if it is http(s) (absolute or relative to this page), else null: no javascript: links from data. */
function safeUrl(url) {
  if (!url) return null;
  try {
    const base = typeof location !== 'undefined' ? location.href : 'http://localhost/';
    const u = new URL(String(url), base);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch (_) {
    return null;
  }
}

/** A path with the non-empty params as a query string. */
function withQuery(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

const seg = encodeURIComponent;

function safeDecode(s) {
  try { return decodeURIComponent(s); } catch (_) { return s; }
}

/** Which page a path shows, with its parameters. */
function parseRoute(pathname) {
  const p = String(pathname || '/').split('/').filter(Boolean).map(safeDecode);
  if (p.length === 0) return { page: 'overview' };
  if (p.length === 1 && p[0] === 'waiting') return { page: 'waiting' };
  if (p.length === 1 && p[0] === 'login') return { page: 'login' };
  if (p[0] === 'apps' && p.length === 2) return { page: 'app', app: p[1] };
  if (p[0] === 'apps' && p.length === 4 && p[2] === 'environments') {
    return { page: 'environment', app: p[1], env: p[3] };
  }
  if (p[0] === 'runs' && p.length === 2) return { page: 'run', run: p[1] };
  return { page: 'notfound' };
}

/** What a pipeline stage does. The server serializes StageKind as a tagged
 * enum nested under `kind` ({"kind": {"kind": "deploy", "environment": …}});
 * a flattened form ({"kind": "deploy", "environment": …}) is accepted too. */
function stageInfo(stage) {
  const k = stage && stage.kind;
  const src = k && typeof k === 'object' ? k : (stage || {});
  return {
    kind: (k && typeof k === 'object' ? k.kind : k) || null,
    environment: src.environment || null,
    app: src.app || null,
    strategy: src.strategy || null,
    service: src.service || null,
    job: src.job || null,
  };
}

/** The run's stages in pipeline order as {name, needs, info}. Without a
 * pipeline (it could not be read) the stage records are all there is. */
function pipelineStages(run) {
  const stages = run && run.pipeline && Array.isArray(run.pipeline.stages) ? run.pipeline.stages : null;
  if (stages) {
    return stages.map((s) => ({ name: s.name, needs: Array.isArray(s.needs) ? s.needs : [], info: stageInfo(s) }));
  }
  return Object.keys((run && run.stages) || {}).map((name) => ({ name, needs: [], info: stageInfo(null) }));
}

/** Layer of each stage: the longest path to it from a root through `needs`.
 * Needs naming no listed stage are ignored; a cycle (which the server never
 * sends) is cut instead of recursing forever. */
function layerStages(stages) {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const layer = new Map();
  const visiting = new Set();
  const depth = (name) => {
    if (layer.has(name)) return layer.get(name);
    if (visiting.has(name)) return 0;
    visiting.add(name);
    let d = 0;
    for (const need of byName.get(name).needs || []) {
      if (byName.has(need) && need !== name) d = Math.max(d, depth(need) + 1);
    }
    visiting.delete(name);
    layer.set(name, d);
    return d;
  };
  for (const s of stages) depth(s.name);
  return layer;
}

/** Positions for the stage graph: layers left to right; within a layer the
 * nodes are ordered by the mean row of their needs (fewer crossing edges),
 * ties by pipeline order, and short layers are centred vertically. */
function layoutGraph(stages, dims) {
  const g = Object.assign({ width: 184, height: 64, gapX: 56, gapY: 18, pad: 12 }, dims || {});
  const layerOf = layerStages(stages);
  const layers = [];
  stages.forEach((s, i) => {
    const l = layerOf.get(s.name);
    (layers[l] = layers[l] || []).push({ name: s.name, needs: s.needs || [], order: i });
  });
  const row = new Map();
  layers.forEach((nodes, l) => {
    if (l > 0) {
      for (const n of nodes) {
        const rows = n.needs.filter((x) => row.has(x)).map((x) => row.get(x));
        n.key = rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : Infinity;
      }
      nodes.sort((a, b) => (a.key - b.key) || (a.order - b.order));
    }
    nodes.forEach((n, r) => row.set(n.name, r));
  });
  const tallest = Math.max(1, ...Array.from(layers, (n) => (n ? n.length : 0)));
  const stepY = g.height + g.gapY;
  const pos = new Map();
  const nodes = [];
  layers.forEach((ns, l) => {
    const offset = ((tallest - ns.length) * stepY) / 2;
    ns.forEach((n, r) => {
      const node = { name: n.name, layer: l, row: r, x: g.pad + l * (g.width + g.gapX), y: g.pad + offset + r * stepY };
      pos.set(n.name, node);
      nodes.push(node);
    });
  });
  const edges = [];
  for (const s of stages) {
    for (const need of s.needs || []) {
      const a = pos.get(need);
      const b = pos.get(s.name);
      if (!a || !b || need === s.name) continue;
      const x1 = a.x + g.width, y1 = a.y + g.height / 2, x2 = b.x, y2 = b.y + g.height / 2;
      const mx = (x1 + x2) / 2;
      edges.push({ from: need, to: s.name, d: `M${x1} ${y1} C${mx} ${y1} ${mx} ${y2} ${x2 - 4} ${y2}` });
    }
  }
  return {
    nodes, edges, node: g,
    width: g.pad * 2 + Math.max(1, layers.length) * g.width + Math.max(0, layers.length - 1) * g.gapX,
    height: g.pad * 2 + tallest * g.height + (tallest - 1) * g.gapY,
  };
}

/** Whether an operate permission (a list of environments, or a bool on the environment page) covers `env`. */
function mayOperate(operate, env) {
  return operate === true || (Array.isArray(operate) && operate.includes(env));
}

/** The buttons a viewer gets on one stage of a run, per the run's `viewer.may`. */
function stageActions(run, name, record, info) {
  const may = (run && run.viewer && run.viewer.may) || {};
  const status = record && record.status;
  const out = [];
  if (status === 'waiting-for-approval' && Array.isArray(may.approve) && may.approve.includes(name)) {
    out.push('approve', 'reject');
  }
  if (RETRYABLE.has(status) && may.retry === true) out.push('retry');
  if (status === 'running' && info && info.kind === 'deploy' && info.environment &&
      mayOperate(may.operate, info.environment)) {
    out.push('promote', 'abort');
  }
  return out;
}

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

const session = { person: null, csrf: null, publicRead: false };
let flash = null; // {kind: 'error'|'notice', text, hint, fromPoll}
let navToken = 0;
let current = { alive: () => false };
let routedAt = null; // path + query last routed: a change of #fragment alone is no new page

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

// ---------------------------------------------------------------------------
// API client

class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** One JSON call with the session's CSRF token. Resolves {status, data, etag}
 * (304 has no data); rejects with ApiError carrying the server's reason. */
async function api(path, opts) {
  const o = opts || {};
  const headers = { Accept: 'application/json' };
  if (session.csrf) headers['X-CSRF-Token'] = session.csrf;
  if (o.body !== undefined) headers['Content-Type'] = 'application/json';
  // A manual If-None-Match makes fetch bypass the HTTP cache, so 304 reaches us.
  if (o.etag) headers['If-None-Match'] = o.etag;
  let res;
  try {
    res = await fetch(path, {
      method: o.method || 'GET', credentials: 'same-origin', headers,
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
    });
  } catch (e) {
    throw new ApiError(0, `Could not reach Slipway (${e.message || e}).`);
  }
  if (res.status === 304) return { status: 304, data: null, etag: o.etag };
  let data = null;
  try { data = await res.json(); } catch (_) { data = null; }
  if (!res.ok) {
    const reason = data && typeof data.error === 'string' ? data.error : `${res.status} ${res.statusText}`.trim();
    throw new ApiError(res.status, reason, data);
  }
  return { status: res.status, data: data || {}, etag: res.headers.get('ETag') };
}

// ---------------------------------------------------------------------------
// Actions (approve, reject, retry, promote, abort, rollback)

/** POSTs an action, shows what happened, then refetches the page's data.
 * data-loaded is dropped meanwhile, so tests can wait for the refreshed page. */
async function act(button, ctx, path, body, describe) {
  if (button) button.disabled = true;
  mainEl().removeAttribute('data-loaded');
  try {
    const res = await api(path, { method: 'POST', body });
    if (!ctx.alive()) return;
    showNotice(describe(res.data || {}));
  } catch (e) {
    if (ctx.alive()) {
      showError(e, { action: true });
      markLoaded();
    }
    return;
  } finally {
    if (button) button.disabled = false;
  }
  if (ctx.reload) ctx.reload();
}

const stagePath = (run, stage, verb) => `/api/runs/${seg(run)}/stages/${seg(stage)}/${verb}`;
const deployPath = (app, env, verb) => `/api/deploy/${seg(app)}/${seg(env)}/${verb}`;
const nowStatus = (d) => (d.status ? ` Stage is now ${d.status}.` : '');

function approve(ev, ctx, run, stage, attempt) {
  act(ev.currentTarget, ctx, stagePath(run, stage, 'approve'), { attempt },
    (d) => `Approved ${stage} of ${run}.${nowStatus(d)}`);
}

/** Rejecting ends the stage for everyone, so it asks why (cancel = don't). */
function reject(ev, ctx, run, stage, attempt) {
  const reason = window.prompt(`Reject ${stage} of ${run}? Why:`);
  if (reason === null) return;
  const body = reason.trim() ? { attempt, reason: reason.trim() } : { attempt };
  act(ev.currentTarget, ctx, stagePath(run, stage, 'reject'), body,
    (d) => `Rejected ${stage} of ${run}.${nowStatus(d)}`);
}

function retry(ev, ctx, run, stage) {
  act(ev.currentTarget, ctx, stagePath(run, stage, 'retry'), {}, () => `Retry of ${stage} of ${run} requested.`);
}

/** Promote, abort or rollback of an environment's deployment; the last two ask first. */
function operate(ev, ctx, verb, app, env) {
  const questions = {
    abort: `Abort the deployment to ${env} of ${app}?`,
    rollback: `Roll ${env} of ${app} back to the previous release?`,
  };
  if (questions[verb] && !window.confirm(questions[verb])) return;
  act(ev.currentTarget, ctx, deployPath(app, env, verb), {}, (d) => {
    const what = { promote: 'Promote', abort: 'Abort', rollback: 'Rollback' }[verb];
    const number = d.number ? ` (release #${d.number})` : '';
    const traffic = d.traffic_percent !== null && d.traffic_percent !== undefined ? `, traffic ${d.traffic_percent}%` : '';
    return `${what} of ${env} requested${number}${traffic}.`;
  });
}

// ---------------------------------------------------------------------------
// Loading a page's data

/** Fetches, renders, marks loaded; on failure shows the error and a bare heading. */
async function loadInto(ctx, fetchData, render, title) {
  try {
    const data = await fetchData();
    if (!ctx.alive()) return;
    keepPlace(() => setContent(render(data)));
  } catch (e) {
    if (!ctx.alive()) return;
    showError(e);
    if (!contentEl().querySelector('h1')) setContent(h('h1', {}, title));
    for (const l of contentEl().querySelectorAll('.loading')) l.remove();
  }
  markLoaded();
}

// ---------------------------------------------------------------------------
// Overview and waiting list

function pageOverview(route, params, ctx) {
  document.title = 'Slipway';
  const cursor = params.get('cursor');
  ctx.reload = () => loadInto(ctx, async () => {
    // The waiting list is personal: only fetched for a signed-in viewer.
    const waiting = session.person ? api('/api/waiting').catch((e) => ({ error: e })) : null;
    const apps = (await api(withQuery('/api/apps', { cursor }))).data;
    return { apps, waiting: waiting && (await waiting) };
  }, (d) => {
    if (d.waiting && d.waiting.error) showError(d.waiting.error);
    const apps = d.apps.apps || [];
    return [
      h('h1', {}, 'Overview'),
      d.waiting && !d.waiting.error ? h('section', { class: 'panel', 'aria-labelledby': 'waiting-heading' },
        h('h2', { id: 'waiting-heading' }, 'Waiting for you'), waitingList(d.waiting.data, ctx)) : null,
      h('h2', {}, 'Apps'),
      apps.length ? h('div', { class: 'cards' }, apps.map(appCard)) : h('p', { class: 'muted' }, 'No apps yet.'),
      d.apps.next ? h('p', { class: 'pager' }, link(withQuery('/', { cursor: d.apps.next }), 'More apps', { 'data-testid': 'older' })) : null,
    ];
  }, 'Overview');
  ctx.reload();
}

function appCard(app) {
  const branches = app.branches || [];
  const envs = app.environments || [];
  return h('section', { class: 'card', 'data-testid': 'app-card', 'data-app': app.name },
    h('h3', {}, link(`/apps/${seg(app.name)}`, app.name)),
    h('p', { class: 'muted' }, [app.repo, app.provider].filter(Boolean).join(' · ')),
    h('h4', {}, 'Latest run per branch'),
    branches.length ? h('ul', { class: 'plain-list' }, branches.map(runSummaryItem)) : h('p', { class: 'muted' }, 'No runs yet.'),
    h('h4', {}, 'Environments'),
    envs.length ? h('ul', { class: 'plain-list' }, envs.map((e) => envItem(app.name, e))) : h('p', { class: 'muted' }, 'No environments.'));
}

function runSummaryItem(r) {
  return h('li', { class: 'summary', 'data-run': r.id },
    badge(r.status), ' ', h('strong', {}, r.branch || refName(r.ref)), ' ',
    link(`/runs/${seg(r.id)}`, `#${r.number}`), ' ',
    code(shortCommit(r.commit), r.commit), r.author ? ` by ${r.author}` : '',
    h('span', { class: 'muted' }, ' · ', formatDuration(r.duration_ms), ' · ', timeEl(r.created_at_ms)));
}

/** One environment on an app card: what is live, what is rolling out, who holds it. */
function envItem(app, env) {
  const live = env.live;
  return h('li', { class: 'summary' },
    link(`/apps/${seg(app)}/environments/${seg(env.name)}`, env.name), ': ',
    live ? [`#${live.number} `, code(shortDigest(live.digest), live.digest), ' ',
      h('span', { class: 'muted' }, timeEl(live.finished_at_ms || live.created_at_ms))]
      : h('span', { class: 'muted' }, 'nothing live'),
    env.active ? [' · ', badge(env.active.status), activeTraffic(env.active)] : null,
    lockText(env.lock));
}

function activeTraffic(active) {
  return active.traffic_percent !== null && active.traffic_percent !== undefined ? ` ${active.traffic_percent}% traffic` : '';
}

/** "⊟ locked by …" text, or nothing when free (icon plus words, not colour). */
function lockText(lock) {
  if (!lock || !(lock.holder || lock.locked_by)) return null;
  const who = lock.locked_by ? `locked by ${lock.locked_by}` : `held by deployment ${lock.holder}`;
  return h('span', { class: 'lock-note' }, ' · ', h('span', { 'aria-hidden': 'true' }, '⊟ '), who);
}

function pageWaiting(route, params, ctx) {
  document.title = 'Waiting for me · Slipway';
  ctx.reload = () => loadInto(ctx, async () => (await api('/api/waiting')).data,
    (w) => [h('h1', {}, 'Waiting for me'), waitingList(w, ctx)], 'Waiting for me');
  ctx.reload();
}

/** Approvals, canary promotions and retries the viewer could act on, each with its button. */
function waitingList(w, ctx) {
  const items = [];
  for (const a of w.approvals || []) {
    items.push(waitingItem('approval', [
      h('strong', {}, 'Approve '), a.stage, ' of ', link(`/runs/${seg(a.run)}`, a.run),
      a.environment ? ` for ${a.environment}` : '', a.branch ? ` on ${a.branch}` : '', ' · commit ', code(shortCommit(a.commit), a.commit),
      h('span', { class: 'muted' }, ' · since ', timeEl(a.since_ms), ' · expires ', timeEl(a.expires_at_ms)),
    ], [
      actionButton('approve', 'Approve', (ev) => approve(ev, ctx, a.run, a.stage, a.attempt), { 'data-stage': a.stage }),
      actionButton('reject', 'Reject', (ev) => reject(ev, ctx, a.run, a.stage, a.attempt), { 'data-stage': a.stage }),
    ]));
  }
  for (const p of w.promotions || []) {
    items.push(waitingItem('promotion', [
      h('strong', {}, 'Promote '), link(`/apps/${seg(p.app)}/environments/${seg(p.environment)}`, `${p.environment} of ${p.app}`),
      p.traffic_percent !== null && p.traffic_percent !== undefined ? ` · canary at ${p.traffic_percent}%` : '',
      p.step !== null && p.step !== undefined ? ` (step ${p.step})` : '',
      p.run ? [' · run ', link(`/runs/${seg(p.run)}`, p.run)] : null,
    ], [actionButton('promote', 'Promote', (ev) => operate(ev, ctx, 'promote', p.app, p.environment), { 'data-environment': p.environment })]));
  }
  for (const r of w.retries || []) {
    items.push(waitingItem('retry', [
      h('strong', {}, 'Retry '), r.stage, ' of ', link(`/runs/${seg(r.run)}`, r.run),
      r.branch ? ` on ${r.branch}` : '', ' · ', badge(r.status),
    ], [actionButton('retry', 'Retry', (ev) => retry(ev, ctx, r.run, r.stage), { 'data-stage': r.stage })]));
  }
  return [
    h('ul', { class: 'waiting-list', 'data-testid': 'waiting-list' }, items),
    items.length ? null : h('p', { class: 'muted' }, 'Nothing is waiting for you.'),
  ];
}

function waitingItem(kind, text, buttons) {
  return h('li', { class: 'waiting-item', 'data-testid': 'waiting-item', 'data-kind': kind },
    h('div', { class: 'waiting-text' }, text), h('div', { class: 'buttons' }, buttons));
}

// ---------------------------------------------------------------------------
// App page: the stage matrix

function pageApp(route, params, ctx) {
  const app = route.app;
  document.title = `${app} · Slipway`;
  const q = { branch: params.get('branch') || '', status: params.get('status') || '', cursor: params.get('cursor') || '' };
  setContent([h('h1', {}, app), filtersForm(app, q), h('p', { class: 'loading' }, 'Loading…')]);
  ctx.reload = () => loadInto(ctx,
    async () => (await api(withQuery(`/api/apps/${seg(app)}/runs`, Object.assign({}, q, { limit: PAGE_SIZE })))).data,
    (d) => renderApp(app, q, d), app);
  ctx.reload();
}

function renderApp(app, q, d) {
  const envs = d.environments || [];
  const base = `/apps/${seg(app)}`;
  return [
    h('h1', {}, app),
    envs.length ? h('nav', { class: 'env-links', 'aria-label': 'Environments' }, 'Environments: ',
      envs.map((e, i) => [i ? ', ' : '', link(`${base}/environments/${seg(e)}`, e)])) : null,
    filtersForm(app, q),
    scrollBox('matrix', 'Runs by stage', stageMatrix(d.stages || [], d.averages || {}, d.runs || [])),
    h('p', { class: 'pager' },
      q.cursor ? link(withQuery(base, { branch: q.branch, status: q.status }), 'Newest runs') : null, ' ',
      d.next ? link(withQuery(base, { branch: q.branch, status: q.status, cursor: d.next }), 'Older runs', { 'data-testid': 'older' }) : null),
  ];
}

/** Branch and status filters; submitting navigates, so the filters live in the URL. */
function filtersForm(app, q) {
  const base = `/apps/${seg(app)}`;
  const status = h('select', { name: 'status', id: 'filter-status' },
    h('option', { value: '', selected: !q.status }, 'any'),
    STATUS_FILTERS.map((s) => h('option', { value: s, selected: q.status === s }, `${STATUS_ICONS[s]} ${s}`)));
  const form = h('form', { class: 'filters', 'data-testid': 'filters', role: 'search', method: 'get', action: base },
    h('label', { for: 'filter-branch' }, 'Branch'),
    h('input', { name: 'branch', id: 'filter-branch', type: 'text', value: q.branch, autocomplete: 'off', spellcheck: 'false' }),
    h('label', { for: 'filter-status' }, 'Status'), status,
    h('button', { type: 'submit', class: 'button button-plain' }, 'Filter'),
    q.branch || q.status ? link(base, 'Clear filters') : null);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    navigate(withQuery(base, { branch: String(fd.get('branch') || '').trim(), status: fd.get('status') }));
  });
  return form;
}

/** Jenkins-style stage view: a row per run, a column per stage, averages on top. */
function stageMatrix(stages, averages, runs) {
  const head = ['Run', 'Branch', 'Commit', 'Author', 'Started', 'Duration'];
  return h('table', { class: 'matrix', 'data-testid': 'stage-matrix' },
    h('caption', { class: 'visually-hidden' }, 'Runs by stage, newest first'),
    h('thead', {},
      h('tr', {}, head.map((t) => h('th', { scope: 'col' }, t)), stages.map((s) => h('th', { scope: 'col', class: 'stage-col' }, s))),
      h('tr', { class: 'averages', 'data-testid': 'averages' },
        h('th', { scope: 'row', colspan: head.length }, 'Average'),
        stages.map((s) => h('td', { class: 'cell' }, formatDuration(averages[s]))))),
    h('tbody', {}, runs.length ? runs.map((r) => runRow(r, stages))
      : h('tr', {}, h('td', { colspan: head.length + stages.length, class: 'muted' }, 'No runs match.'))));
}

function runRow(r, stages) {
  const byName = new Map((r.stages || []).map((s) => [s.name, s]));
  const branch = r.branch || refName(r.ref);
  return h('tr', { 'data-run': r.id },
    h('th', { scope: 'row', class: 'run-cell' }, link(`/runs/${seg(r.id)}`, `#${r.number}`), ' ', badge(r.status)),
    h('td', {}, branch, r.kind && r.kind !== 'push' ? h('span', { class: 'tag' }, r.kind === 'merge_request' ? 'MR' : r.kind) : null),
    h('td', {}, code(shortCommit(r.commit), r.commit)),
    h('td', {}, r.author || h('span', { class: 'muted' }, '—')),
    h('td', {}, timeEl(r.created_at_ms)),
    h('td', {}, formatDuration(r.duration_ms)),
    stages.map((name) => {
      const s = byName.get(name);
      const status = s ? s.status : 'none';
      return h('td', { class: `cell tone-${statusTone(status)}`, 'data-stage': name, 'data-status': status },
        badge(status),
        s ? h('span', { class: 'cell-duration' }, formatDuration(s.duration_ms)) : null,
        s && s.attempt > 1 ? h('span', { class: 'cell-attempt' }, `attempt ${s.attempt}`) : null);
    }));
}

// ---------------------------------------------------------------------------
// Run page: stage graph, stage details, live polling

function pageRun(route, params, ctx) {
  const id = route.run;
  document.title = `${id} · Slipway`;
  let etag = null, run = null, timer = null, busy = false, again = false;

  // One fetch at a time; a reload asked for meanwhile runs right after.
  const load = async () => {
    if (busy) { again = true; return; }
    busy = true;
    clearTimeout(timer);
    timer = null;
    let keepPolling = true;
    try {
      const res = await api(`/api/runs/${seg(id)}`, { etag });
      if (!ctx.alive()) return;
      if (flash && flash.fromPoll) { flash = null; renderFlash(); }
      if (res.status !== 304) {
        etag = res.etag;
        run = res.data;
        document.title = `${run.app} #${run.number} · Slipway`;
        keepPlace(() => setContent(renderRun(run, ctx)));
      }
    } catch (e) {
      if (!ctx.alive()) return;
      showError(e, { fromPoll: !!run });
      if (!run) setContent(h('h1', {}, `Run ${id}`));
      keepPolling = !(e.status >= 400 && e.status < 500); // a 404 or 401 will not fix itself
    } finally {
      busy = false;
    }
    if (again) { again = false; load(); return; } // its answer may predate an action: fetch again first
    markLoaded();
    if (keepPolling) schedule();
  };

  // Polls every 2 s while the run can still change and the tab is visible.
  const schedule = () => {
    if (!ctx.alive() || document.hidden || !run || TERMINAL.has(run.status) || timer) return;
    timer = setTimeout(() => { timer = null; if (!document.hidden) load(); }, POLL_MS);
  };

  ctx.reload = load;
  ctx.resume = () => { if (!timer && !busy) load(); };
  ctx.dispose = () => clearTimeout(timer);
  load();
}

function renderRun(run, ctx) {
  const stages = pipelineStages(run);
  const records = run.stages || {};
  const withheld = (run.pipeline && run.pipeline.withheld) || {};
  const live = !TERMINAL.has(run.status);
  return [
    h('h1', {}, `Run #${run.number} of `, link(`/apps/${seg(run.app)}`, run.app)),
    h('p', { class: 'run-status', 'data-testid': 'run-status' }, badge(run.status),
      live ? h('span', { class: 'muted' }, ' · updating live') : null),
    triggerFacts(run),
    run.error ? h('p', { class: 'callout callout-bad' }, h('strong', {}, 'Error: '), run.error) : null,
    okToTestNote(run),
    h('h2', {}, 'Stages'),
    stages.length ? scrollBox('graph', 'Stage graph', stageGraph(stages, records)) : h('p', { class: 'muted' }, 'No stages.'),
    h('ol', { class: 'stage-list' }, stages.map((s) => stageItem(run, s, records[s.name], ctx))),
    Object.keys(withheld).length ? [h('h2', {}, 'Not run in this run'),
      h('ul', { class: 'plain-list' }, Object.entries(withheld).map(([name, why]) =>
        h('li', { 'data-testid': 'withheld', 'data-stage': name }, badge('skipped'), ' ', h('strong', {}, name), ': ', why)))] : null,
  ];
}

function triggerFacts(run) {
  const t = run.trigger || {};
  const kind = t.kind === 'merge_request'
    ? `merge request${t.merge_request ? ` !${t.merge_request}` : ''}${t.target_branch ? ` into ${t.target_branch}` : ''}`
    : t.kind;
  return facts([
    ['Ref', refName(t.git_ref) || null],
    ['Commit', t.commit ? code(shortCommit(t.commit), t.commit) : null],
    ['Kind', kind],
    ['Author', t.actor],
    ['Repository', t.repo ? `${t.repo}${t.provider ? ` (${t.provider})` : ''}` : null],
    ['Created', timeEl(run.created_at_ms)],
    ['Finished', run.finished_at_ms ? timeEl(run.finished_at_ms) : null],
    ['Duration', formatDuration(elapsed(run.created_at_ms, run.finished_at_ms, Date.now()))],
  ]);
}

/** A merge request from someone untrusted waits for a trusted "/ok-to-test". */
function okToTestNote(run) {
  const o = run.ok_to_test;
  if (!o || typeof o !== 'object') return null;
  if (o.granted) {
    return h('p', { class: 'callout' }, `Allowed to run by ${o.granted.by} (${o.granted.trusted_as}) at `, timeEl(o.granted.at_ms), '.');
  }
  return h('p', { class: 'callout callout-wait' }, 'Held until a trusted person comments "/ok-to-test" (asked ', timeEl(o.asked_at_ms), ').');
}

/** The DAG as SVG: a node per stage (linking to its details below), an edge per need. */
function stageGraph(stages, records) {
  const layout = layoutGraph(stages);
  const n = layout.node;
  const root = svg('svg', {
    class: 'stage-graph', 'data-testid': 'stage-graph', role: 'group', 'aria-label': 'Stage graph',
    viewBox: `0 0 ${layout.width} ${layout.height}`, width: layout.width, height: layout.height,
  }, svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 8 8', refX: '7', refY: '4', markerWidth: '8', markerHeight: '8', orient: 'auto' },
    svg('path', { d: 'M0 0 L8 4 L0 8 z', class: 'arrow' }))));
  for (const e of layout.edges) {
    const from = records[e.from];
    const done = from && from.status === 'succeeded';
    root.append(svg('path', { class: done ? 'edge edge-done' : 'edge', 'data-edge': `${e.from}->${e.to}`, d: e.d, 'marker-end': 'url(#arrow)' }));
  }
  for (const node of layout.nodes) {
    const rec = records[node.name];
    const status = rec ? rec.status : 'queued';
    const dur = rec ? formatDuration(elapsed(rec.started_at_ms, rec.finished_at_ms, Date.now())) : '';
    const label = node.name.length > 22 ? `${node.name.slice(0, 21)}…` : node.name;
    const a = svg('a', { href: `#stage-${seg(node.name)}`, class: 'node-link', 'aria-label': `${node.name}: ${status}` },
      svg('rect', { width: n.width, height: n.height, rx: '8', ry: '8' }),
      svg('text', { x: '12', y: '20', class: 'node-name' }, label),
      svg('text', { x: '12', y: '39', class: 'node-status' }, `${STATUS_ICONS[status] || '?'} ${status}`),
      svg('text', { x: '12', y: '56', class: 'node-duration' }, rec && rec.started_at_ms ? dur : ''));
    a.addEventListener('click', (ev) => { ev.preventDefault(); focusStage(node.name); });
    root.append(svg('g', {
      class: `node tone-${statusTone(status)}`, 'data-stage': node.name, 'data-status': status,
      transform: `translate(${node.x} ${node.y})`,
    }, svg('title', {}, `${node.name}: ${status}`), a));
  }
  return root;
}

/** Moves to a stage's details (ids hold raw names, so look them up rather than trust URL fragments). */
function focusStage(name) {
  const target = document.getElementById(`stage-${name}`);
  if (!target) return;
  target.scrollIntoView({ block: 'start' });
  target.focus({ preventScroll: true });
}

function stageItem(run, stage, rec, ctx) {
  const r = rec || {};
  const status = r.status || 'queued';
  const info = stage.info;
  const kind = info.kind === 'deploy'
    ? `deploy to ${info.environment}${info.strategy ? ` (${info.strategy})` : ''}${info.app && info.app !== run.app ? ` of ${info.app}` : ''}`
    : info.kind === 'build' ? `build${info.service ? ` on ${info.service}` : ''}${info.job ? `: ${info.job}` : ''}` : info.kind;
  const duration = elapsed(r.started_at_ms, r.finished_at_ms, Date.now());
  return h('li', { class: `stage tone-${statusTone(status)}`, 'data-testid': 'stage', 'data-stage': stage.name, 'data-status': status, id: `stage-${stage.name}`, tabindex: '-1' },
    h('h3', {}, stage.name, ' ', badge(status)),
    kind ? h('p', { class: 'muted' }, kind, stage.needs.length ? ` · needs ${stage.needs.join(', ')}` : '') : null,
    facts([
      ['Attempt', r.attempt ? String(r.attempt) : null],
      ['Retried by', r.retried_by || null],
      ['Started', r.started_at_ms ? timeEl(r.started_at_ms) : null],
      ['Finished', r.finished_at_ms ? timeEl(r.finished_at_ms) : null],
      ['Duration', duration !== null ? formatDuration(duration) : null],
      ['Build time', r.build_duration_ms !== null && r.build_duration_ms !== undefined ? formatDuration(r.build_duration_ms) : null],
      ['Build', extLink(r.url, r.external_id ? `build ${r.external_id}` : 'build')],
      ['Logs', extLink(r.log_url, 'logs')],
      ['Image', r.image ? [code(r.image.reference), r.image.digest ? ['@', code(r.image.digest)] : null] : null],
      ['Reason', r.reason],
    ]),
    testsBlock(r.tests),
    r.approval ? approvalBlock(r.approval) : null,
    stageButtons(run, stage, r, ctx));
}

function stageButtons(run, stage, rec, ctx) {
  const info = stage.info;
  const app = info.app || run.app;
  const handlers = {
    approve: ['Approve', (ev) => approve(ev, ctx, run.id, stage.name, rec.attempt)],
    reject: ['Reject', (ev) => reject(ev, ctx, run.id, stage.name, rec.attempt)],
    retry: ['Retry', (ev) => retry(ev, ctx, run.id, stage.name)],
    promote: ['Promote', (ev) => operate(ev, ctx, 'promote', app, info.environment)],
    abort: ['Abort', (ev) => operate(ev, ctx, 'abort', app, info.environment)],
  };
  const actions = stageActions(run, stage.name, rec, info);
  if (!actions.length) return null;
  return h('div', { class: 'buttons' }, actions.map((a) =>
    actionButton(a, handlers[a][0], handlers[a][1], { 'data-stage': stage.name })));
}

/** Test counts and the listed failures (name, class, message: whatever the report had). */
function testsBlock(t) {
  if (!t || typeof t !== 'object') return null;
  const num = (v) => (Number.isFinite(v) ? v : 0);
  const failures = Array.isArray(t.failures) ? t.failures : [];
  return h('div', { class: 'tests' },
    h('h4', {}, 'Tests'),
    h('p', {}, `${num(t.passed)} passed, ${num(t.failed)} failed, ${num(t.errored)} errored, ${num(t.skipped)} skipped`,
      t.duration_ms ? h('span', { class: 'muted' }, ` · ${formatDuration(t.duration_ms)}`) : null),
    failures.length ? h('ul', { class: 'failures' }, failures.map((f) => {
      const cls = f.classname || f.class;
      return h('li', { 'data-testid': 'failing-test' },
        h('span', { class: 'status-icon', 'aria-hidden': 'true' }, '✖'), ' ',
        h('strong', { class: 'test-name' }, f.name || '(unnamed test)'),
        cls ? h('span', { class: 'muted' }, ` in ${cls}`) : null,
        f.kind ? h('span', { class: 'tag' }, f.kind) : null,
        f.message ? h('pre', { class: 'test-message' }, f.message) : null);
    })) : null);
}

/** What an approval stage asked for and every answer so far. */
function approvalBlock(a) {
  const decisions = Array.isArray(a.decisions) ? a.decisions : [];
  const approvals = decisions.filter((d) => d.verdict === 'approved').length;
  return h('div', { class: 'approval', 'data-testid': 'approval' },
    h('h4', {}, 'Approval'),
    facts([
      ['Environment', a.environment],
      ['Commit', a.commit ? code(shortCommit(a.commit), a.commit) : null],
      ['Image', a.image ? code(a.image) : null],
      ['Digest', a.digest ? code(shortDigest(a.digest), a.digest) : null],
      ['Approvals', a.required !== undefined ? `${approvals} of ${a.required} needed` : null],
      ['Approvers', Array.isArray(a.approvers) && a.approvers.length ? a.approvers.join(', ') : null],
      ['Expires', a.expires_at_ms ? timeEl(a.expires_at_ms) : null],
    ]),
    decisions.length ? h('ul', { class: 'decisions' }, decisions.map((d) => {
      const ok = d.verdict === 'approved';
      return h('li', { class: ok ? 'tone-ok' : 'tone-bad' },
        h('span', { 'aria-hidden': 'true' }, ok ? '✔ ' : '✖ '), h('strong', {}, d.verdict), ` by ${d.by}`,
        d.via ? h('span', { class: 'muted', title: d.identity || null }, ` via ${d.via}`) : null,
        ' at ', timeEl(d.at_ms), d.reason ? `: ${d.reason}` : '');
    })) : h('p', { class: 'muted' }, 'No decisions yet.'));
}

// ---------------------------------------------------------------------------
// Environment page: live release, active rollout, lock, release history

function pageEnvironment(route, params, ctx) {
  const { app, env } = route;
  document.title = `${env} of ${app} · Slipway`;
  const cursor = params.get('cursor') || '';
  ctx.reload = () => loadInto(ctx,
    async () => (await api(withQuery(`/api/apps/${seg(app)}/environments/${seg(env)}`, { cursor, limit: PAGE_SIZE }))).data,
    (d) => renderEnvironment(app, env, cursor, d, ctx), `${env} of ${app}`);
  ctx.reload();
}

function renderEnvironment(app, env, cursor, d, ctx) {
  const may = (d.viewer && d.viewer.may) || {};
  const canOperate = mayOperate(may.operate, env);
  const base = `/apps/${seg(app)}/environments/${seg(env)}`;
  const releases = d.releases || [];
  return [
    h('h1', {}, env, h('span', { class: 'muted' }, ' of '), link(`/apps/${seg(app)}`, app)),
    h('section', { class: 'panel' }, h('h2', {}, 'Live'),
      d.live ? releaseFacts(d.live) : h('p', { class: 'muted' }, 'Nothing is live yet.'),
      canOperate ? h('div', { class: 'buttons' },
        actionButton('rollback', 'Roll back', (ev) => operate(ev, ctx, 'rollback', app, env))) : null),
    d.active ? activePanel(app, env, d.active, canOperate, ctx) : null,
    lockPanel(d.lock),
    h('h2', {}, 'Releases'),
    scrollBox('releases', 'Release history', releaseTable(releases)),
    h('p', { class: 'pager' },
      cursor ? link(base, 'Newest releases') : null, ' ',
      d.next ? link(withQuery(base, { cursor: d.next }), 'Older releases', { 'data-testid': 'older' }) : null),
  ];
}

function releaseFacts(r) {
  return facts([
    ['Release', `#${r.number}${r.kind === 'rollback' ? ' (rollback)' : ''}`],
    ['Image', r.image ? code(r.image) : null],
    ['Digest', r.digest ? code(shortDigest(r.digest), r.digest) : null],
    ['Commit', r.commit ? code(shortCommit(r.commit), r.commit) : null],
    ['Run', r.run ? link(`/runs/${seg(r.run)}`, r.run) : null],
    ['Since', timeEl(r.finished_at_ms || r.created_at_ms)],
  ]);
}

/** The deployment rolling out now; a canary gets its traffic share and Promote/Abort. */
function activePanel(app, env, a, canOperate, ctx) {
  const canary = a.strategy === 'canary';
  return h('section', { class: 'panel', 'data-testid': canary ? 'canary' : 'active' },
    h('h2', {}, canary ? 'Canary' : 'Rolling out'),
    h('p', {}, badge(a.status), ` release #${a.number}`,
      canary && a.traffic_percent !== null && a.traffic_percent !== undefined ? ` · ${a.traffic_percent}% of traffic` : '',
      a.step !== null && a.step !== undefined ? ` · step ${a.step}` : ''),
    a.traffic_percent !== null && a.traffic_percent !== undefined && canary ? trafficBar(a.traffic_percent) : null,
    releaseFacts(a),
    canOperate && canary ? h('div', { class: 'buttons' },
      actionButton('promote', 'Promote', (ev) => operate(ev, ctx, 'promote', app, env)),
      actionButton('abort', 'Abort', (ev) => operate(ev, ctx, 'abort', app, env))) : null);
}

/** A <meter> for the canary's traffic share (its number is in the text too). */
function trafficBar(percent) {
  return h('meter', { class: 'traffic', min: '0', max: '100', value: String(percent), 'aria-label': 'Canary traffic' }, `${percent}%`);
}

function lockPanel(lock) {
  if (!lock || !(lock.holder || lock.locked_by)) return null;
  return h('section', { class: 'panel', 'data-testid': 'lock' },
    h('h2', {}, h('span', { 'aria-hidden': 'true' }, '⊟ '), 'Locked'),
    facts([
      ['Locked by', lock.locked_by],
      ['Reason', lock.reason],
      ['Held by deployment', lock.holder],
      ['Since', lock.since_ms ? timeEl(lock.since_ms) : null],
      ['Expires', lock.expires_at_ms ? timeEl(lock.expires_at_ms) : null],
    ]));
}

function releaseTable(releases) {
  const head = ['#', 'Kind', 'Status', 'Image', 'Commit', 'Run', 'Strategy', 'By', 'Created', 'Finished', 'Duration', 'Notes'];
  return h('table', { class: 'releases' },
    h('caption', { class: 'visually-hidden' }, 'Releases, newest first'),
    h('thead', {}, h('tr', {}, head.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, releases.length ? releases.map(releaseRow)
      : h('tr', {}, h('td', { colspan: head.length, class: 'muted' }, 'No releases yet.'))));
}

function releaseRow(r) {
  const rollback = r.kind === 'rollback';
  const stage = r.stage && typeof r.stage === 'object' ? r.stage.stage : r.stage;
  const fo = r.freeze_override;
  return h('tr', { 'data-testid': 'release', 'data-number': r.number, class: rollback ? 'rollback' : null },
    h('th', { scope: 'row' }, `#${r.number}`),
    h('td', {}, rollback ? [h('span', { 'aria-hidden': 'true' }, '↶ '), 'rollback'] : r.kind || 'deploy'),
    h('td', {}, badge(r.status)),
    h('td', { class: 'image-cell' }, r.image ? code(r.image) : '—', r.digest ? [h('br'), code(shortDigest(r.digest), r.digest)] : null),
    h('td', {}, r.commit ? code(shortCommit(r.commit), r.commit) : '—'),
    h('td', {}, r.run ? [link(`/runs/${seg(r.run)}`, r.run), stage ? h('span', { class: 'muted' }, ` · ${stage}`) : null] : '—'),
    h('td', {}, r.strategy || '—', r.step !== null && r.step !== undefined ? ` (step ${r.step})` : ''),
    h('td', {}, r.requested_by || '—', r.operated_by && r.operated_by !== r.requested_by ? h('span', { class: 'muted' }, ` · operated by ${r.operated_by}`) : null),
    h('td', {}, timeEl(r.created_at_ms)),
    h('td', {}, r.finished_at_ms ? timeEl(r.finished_at_ms) : '—'),
    h('td', {}, formatDuration(r.duration_ms)),
    h('td', { class: 'notes' },
      r.live === true ? h('span', { class: 'tag tone-ok' }, '✔ live') : null,
      r.rolled_back ? h('span', { class: 'tag tone-bad' }, '↶ rolled back') : null,
      fo ? h('span', { class: 'tag tone-wait', title: fo.reason || null }, `freeze ${fo.freeze || ''} overridden by ${fo.by || '?'}${fo.reason ? `: ${fo.reason}` : ''}`) : null,
      r.message ? h('span', { class: 'muted' }, ` ${r.message}`) : null));
}

// ---------------------------------------------------------------------------
// Login and not-found pages

/** The code is spent by the POST (never by the GET that showed this page), so link previews can't use it up. */
function pageLogin(route, params, ctx) {
  document.title = 'Sign in · Slipway';
  const codeParam = params.get('code');
  setContent([
    h('h1', {}, 'Sign in to Slipway'),
    session.person ? h('p', {}, 'You are signed in as ', h('strong', {}, session.person), '.') : null,
    codeParam
      ? h('form', { method: 'post', action: '/login', class: 'login-form' },
        h('input', { type: 'hidden', name: 'code', value: codeParam }),
        h('p', {}, 'This sign-in link works once, in this browser.'),
        h('button', { type: 'submit', class: 'button button-primary' }, 'Sign in'))
      : [h('p', {}, 'Signing in needs a sign-in link.'), h('p', { class: 'hint' }, LOGIN_HINT)],
  ]);
  markLoaded();
}

function pageNotFound() {
  document.title = 'Not found · Slipway';
  setContent([h('h1', {}, 'Not found'), h('p', {}, 'There is no page here. ', link('/', 'Go to the overview'), '.')]);
  markLoaded();
}

// ---------------------------------------------------------------------------
// Router and start-up

const PAGES = {
  overview: pageOverview, waiting: pageWaiting, app: pageApp, run: pageRun,
  environment: pageEnvironment, login: pageLogin, notfound: pageNotFound,
};

function navigate(url) {
  history.pushState(null, '', url);
  route(true);
}

/** Shows the page for the current location; `moved` = an in-app navigation (scroll up, focus main). */
function route(moved) {
  if (current.dispose) current.dispose();
  const token = ++navToken;
  routedAt = location.pathname + location.search;
  const r = parseRoute(location.pathname);
  const main = mainEl();
  main.setAttribute('data-page', r.page);
  main.removeAttribute('data-loaded');
  flash = null;
  renderFlash();
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === r.page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  current = { alive: () => token === navToken };
  setContent(h('p', { class: 'loading' }, 'Loading…'));
  PAGES[r.page](r, new URLSearchParams(location.search), current);
  if (moved) {
    window.scrollTo(0, 0);
    main.focus({ preventScroll: true });
  }
}

/** Same-origin links to app pages navigate in place; new tabs, downloads, in-page anchors and the API stay with the browser. */
function onDocumentClick(ev) {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target && ev.target.closest ? ev.target.closest('a[href]') : null;
  if (!a || a.hasAttribute('download') || (a.getAttribute('target') || '_self') !== '_self') return;
  const url = new URL(a.getAttribute('href'), location.href);
  if (url.origin !== location.origin || parseRoute(url.pathname).page === 'notfound') return;
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return;
  ev.preventDefault();
  navigate(url.pathname + url.search + url.hash);
}

/** Who is signed in, asked once; a 401 just means nobody. */
async function loadSession() {
  try {
    const res = await api('/api/session');
    session.person = res.data.person || null;
    session.csrf = res.data.csrf || null;
  } catch (e) {
    session.publicRead = !!(e.body && e.body.public_read);
    if (e.status !== 401) console.warn('session:', e.message);
  }
  const who = document.getElementById('session-person');
  who.replaceChildren();
  if (session.person) who.append('Signed in as ', h('strong', {}, session.person));
  else who.append('Not signed in ', h('a', { href: '/login', class: 'muted' }, '(how?)'));
  document.getElementById('sign-out').hidden = !session.person;
}

async function signOut(ev) {
  const button = ev.currentTarget; // gone from the event once it has been dispatched
  button.disabled = true;
  try {
    await api('/logout', { method: 'POST' });
    location.assign('/');
  } catch (e) {
    button.disabled = false;
    showError(e, { action: true });
  }
}

async function start() {
  document.addEventListener('click', onDocumentClick);
  window.addEventListener('popstate', () => {
    // Fragment navigation (the skip link) fires popstate too; only a new path or query is a new page.
    if (location.pathname + location.search !== routedAt) route(false);
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && current.resume) current.resume();
  });
  document.getElementById('sign-out').addEventListener('click', signOut);
  await loadSession();
  route(false);
}

if (typeof document !== 'undefined' && typeof window !== 'undefined') {
  start();
} else if (typeof module !== 'undefined') {
  module.exports = {
    formatDuration, elapsed, shortCommit, shortDigest, refName, safeUrl, withQuery, parseRoute,
    stageInfo, pipelineStages, layerStages, layoutGraph, mayOperate, stageActions, statusTone,
  };
}
