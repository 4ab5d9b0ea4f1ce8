/* Slipway stage view: the overview and "Waiting for me" pages.
 *
 * The overview lists every app as a card (latest run per branch, what is
 * live in each environment, who holds its lock) and, for a signed-in viewer,
 * what waits for them; the waiting page is that list alone: approvals,
 * canary promotions and retries, each with its button.
 */
'use strict';

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
