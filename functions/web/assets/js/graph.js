/* Slipway stage view: the run page's stage graph.
 *
 * The pipeline's DAG drawn as SVG from layoutGraph's positions: a node per
 * stage with its status and duration, linking to the stage's details further
 * down the run page, and an edge per need (drawn as done once the needed
 * stage succeeded).
 */
'use strict';

// ---------------------------------------------------------------------------
// Run page: the stage graph

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
