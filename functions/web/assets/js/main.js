/* Slipway stage view: the browser side, router and start-up.
 *
 * The browser side is classic scripts, no framework, loaded in order with
 * defer (format, dom, api, graph, the page-*.js files, then this one) and
 * sharing the global scope: a small router over location.pathname, a JSON
 * API client and one render function per page. This last file holds the
 * router (a render function per page, in-place navigation for same-origin
 * links, back and forward) and the start-up: the session (api.js), then
 * the first page. Everything the API returns is untrusted (see dom.js);
 * the server's Content-Security-Policy forbids inline scripts.
 */
'use strict';

// ---------------------------------------------------------------------------
// Router and start-up

let navToken = 0;
let current = { alive: () => false };
let routedAt = null; // path + query last routed: a change of #fragment alone is no new page

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
}
