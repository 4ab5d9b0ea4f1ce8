/* Slipway stage view: the sign-in and not-found pages.
 *
 * Sign-in shows the one-time link's code in a form that spends it by POST;
 * without a code it explains how to get a link. Not-found is any path the
 * router does not know.
 */
'use strict';

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
