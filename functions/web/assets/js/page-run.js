/* Slipway stage view: the run page.
 *
 * One run: what triggered it, its stage graph (graph.js), every stage's
 * details (attempts, times, build and log links, image, tests, approvals)
 * with the buttons the viewer may use, and the stages withheld from it. The
 * page polls with the run's ETag while the run can still change and the tab
 * is visible.
 */
'use strict';

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
