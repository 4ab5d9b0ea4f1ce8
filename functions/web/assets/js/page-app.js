/* Slipway stage view: the app page.
 *
 * One app's runs as a Jenkins-style stage matrix (a row per run, a column
 * per stage, average durations on top), with branch and status filters that
 * live in the URL and paging to older runs.
 */
'use strict';

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
