/* Slipway stage view: talking to the server.
 *
 * The session (who is signed in, the CSRF token every call carries, signing
 * out), the JSON API client with its ApiError, the actions a viewer can take
 * (approve, reject, retry, promote, abort, rollback: each POSTs, says what
 * happened and refetches the page's data) and loadInto, which fetches and
 * renders a page's data or shows why it could not.
 */
'use strict';

// ---------------------------------------------------------------------------
// Session

const session = { person: null, csrf: null, publicRead: false };

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
