/* Slipway stage view: pure helpers.
 *
 * The statuses (icon, tone, which are terminal or retryable), the page
 * constants and everything that computes without a browser: durations,
 * short commits and digests, safe links, query strings, the router's path
 * parsing, the pipeline's stages, the graph's layers and layout, and which
 * buttons a viewer gets. Nothing here touches the DOM, so node can load this
 * file and check the helpers (the export at the bottom is guarded
 * accordingly); in the browser it is the first of the classic scripts and
 * its declarations are shared with the others.
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

if (typeof document !== 'undefined' && typeof window !== 'undefined') {
  // The browser: main.js, loaded last, starts the page.
} else if (typeof module !== 'undefined') {
  module.exports = {
    formatDuration, elapsed, shortCommit, shortDigest, refName, safeUrl, withQuery, parseRoute,
    stageInfo, pipelineStages, layerStages, layoutGraph, mayOperate, stageActions, statusTone,
  };
}
