// What the staff pages (/staff and /broadcast) share: their words, the API helper, small DOM
// helpers and the demo sign-in. Words: locales/nb/staff-pages.json, served per page as
// /<page>-texts.json (the `common` section and the page's own).
export const $ = (id) => document.getElementById(id);

/** Signed in on one staff page is signed in on the other. */
const SESSION_KEY = 'skolebro.staffSession';
const RTL = new Set(['ar', 'ur', 'fa', 'prs', 'ps', 'ku']);

let texts = {};
/** Language code -> 'ltr' | 'rtl', from /api/languages. */
const dirs = new Map();

export function t(key, params = {}) {
  const text = texts[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

export const hasText = (key) => key in texts;
export const languageName = (code) => texts[`lang.${code}`] ?? code;
export const dirOf = (code) => dirs.get(code) ?? (RTL.has(code) ? 'rtl' : 'ltr');

/**
 * Loads the page's words (and the languages' directions) and puts them in the page: the
 * title and every `data-t` element. Until then the page shows the same words from its HTML.
 */
export async function loadTexts(path) {
  const [loaded, { languages }] = await Promise.all([
    api(path),
    api('/api/languages').catch(() => ({ languages: [] })),
  ]);
  texts = loaded;
  for (const l of languages) dirs.set(l.code, l.dir);
  document.title = t('title');
  for (const node of document.querySelectorAll('[data-t]')) node.textContent = t(node.dataset.t);
}

/** An element with text and attributes; `null` children are skipped. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

/** JSON in and out; a non-2xx answer throws with the API's `status`, error `code` and message. */
export async function api(path, options = {}) {
  const res = await fetch(path, { headers: { 'content-type': 'application/json' }, ...options });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(body.message || `HTTP ${res.status}`);
    err.status = res.status;
    err.code = body.error;
    throw err;
  }
  return body;
}

export function status(text) {
  $('status').textContent = text;
}

/** A one-shot timer run again by `schedule`; scheduling replaces the pending run. */
export function poller(tick, defaultMs) {
  let timer = null;
  const stop = () => {
    clearTimeout(timer);
    timer = null;
  };
  return {
    schedule(ms = defaultMs) {
      stop();
      timer = setTimeout(tick, ms);
    },
    stop,
  };
}

/**
 * The demo sign-in both pages share (the #signin section, #people, #me and #signout).
 * `leave()` stops the page and clears what it showed; `enter(session)` shows the page for a
 * session and resolves false when the session has expired (having shown the sign-in itself).
 */
export function staffSignIn({ leave, enter }) {
  /** The sign-in list; `focus` moves focus there (after signing out, when the focused button is gone). */
  async function showSignIn(message = '', focus = true) {
    leave();
    sessionStorage.removeItem(SESSION_KEY);
    $('me').hidden = true;
    $('signout').hidden = true;
    $('signin').hidden = false;
    status(message);
    const { people } = await api('/api/staff/demo-people');
    $('people').replaceChildren(
      ...people.map((p) => {
        const roles = p.roles.map((r) => texts[`role.${r}`] ?? r).join(', ');
        const button = el(
          'button',
          { type: 'button', 'data-login': p.login },
          el('span', { class: 'name' }, p.name),
          el('span', { class: 'roles' }, roles),
        );
        button.addEventListener('click', () => signIn(p.login));
        return el('li', {}, button);
      }),
    );
    if (people.length === 0) $('signin-intro').textContent = t('signin.none');
    if (focus) $('people').querySelector('button')?.focus();
  }

  async function signIn(login) {
    try {
      const { session } = await api('/api/staff/sessions', {
        method: 'POST',
        body: JSON.stringify({ login }),
      });
      sessionStorage.setItem(SESSION_KEY, session);
      await enter(session);
    } catch (err) {
      // The list was out of date: the server no longer knows this demo login.
      status(err.code === 'unknown_login' ? t('error.unknown_login') : err.message);
    }
  }

  /** Back in the page after a reload while signed in, else the sign-in list. */
  async function start() {
    $('signout').addEventListener('click', () => showSignIn());
    const saved = sessionStorage.getItem(SESSION_KEY);
    if (saved) await enter(saved);
    else await showSignIn('', false);
  }

  return { showSignIn, start };
}
