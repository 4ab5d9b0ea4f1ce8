/* Slipway stage view: the environment page.
 *
 * One environment of an app: the live release (with Roll back for those who
 * may operate it), the deployment rolling out now (a canary with its traffic
 * share, Promote and Abort), the lock, and the release history page by page.
 */
'use strict';

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
