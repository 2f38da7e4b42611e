// The staff inbox page: sign in as demo staff, read each parent's thread in Norwegian with the
// original beside it, answer in Norwegian. API: adapters/web/staff.ts. Words: /staff-texts.json
// (locales/nb/staff-pages.json). Shared with the broadcast page: staff-common.js.
import { $, api, dirOf, el, languageName, loadTexts, poller, staffSignIn, status, t } from '/staff-common.js';

const POLL_MS = 1500;
const FLAGGED = ['safety', 'handoff'];

const state = {
  session: null,
  me: null,
  /** Thread id -> its <li> in the list. */
  items: new Map(),
  /** Thread id -> lastAt when last shown; a later lastAt makes it "new". */
  seen: new Map(),
  /** Thread id -> safety/handoff kinds seen in it (the list API does not say). */
  flags: new Map(),
  open: null,
  about: null,
  /** Entry ids rendered in the open thread. */
  rendered: new Set(),
  /** A reply not yet accepted: a retry reuses its id, so the server counts it once. */
  pending: null,
};

const clock = new Intl.DateTimeFormat('nb-NO', {
  timeZone: 'Europe/Oslo',
  hour: '2-digit',
  minute: '2-digit',
});
const dayKey = new Intl.DateTimeFormat('nb-NO', { timeZone: 'Europe/Oslo', dateStyle: 'short' });
const shortDay = new Intl.DateTimeFormat('nb-NO', {
  timeZone: 'Europe/Oslo',
  day: 'numeric',
  month: 'numeric',
});
const fullTime = new Intl.DateTimeFormat('nb-NO', {
  timeZone: 'Europe/Oslo',
  dateStyle: 'full',
  timeStyle: 'short',
});
// Notice days are calendar dates (already Oslo dates), so they are formatted as UTC noon.
const longDay = new Intl.DateTimeFormat('nb-NO', {
  timeZone: 'UTC',
  weekday: 'long',
  day: 'numeric',
  month: 'long',
});
const dateOnly = new Intl.DateTimeFormat('nb-NO', { timeZone: 'UTC', day: 'numeric', month: 'long' });
const and = new Intl.ListFormat('nb', { type: 'conjunction' });

/** A v4 UUID; crypto.randomUUID exists only in secure contexts (https, localhost). */
function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const threadPath = (id) => `/api/staff/sessions/${state.session}/threads/${encodeURIComponent(id)}`;

function time(iso) {
  const at = new Date(iso);
  const today = dayKey.format(new Date()) === dayKey.format(at);
  const text = today ? `${t('today')} ${clock.format(at)}` : `${shortDay.format(at)} ${clock.format(at)}`;
  return el('time', { datetime: iso, title: fullTime.format(at) }, text);
}

const day = (iso) => longDay.format(new Date(`${iso}T12:00:00Z`));

// --- Sign-in -------------------------------------------------------------------------------

/** Stops polling and forgets the signed-in inbox (the sign-in list is shown instead). */
function leave() {
  polling.stop();
  state.session = null;
  state.open = null;
  state.me = null;
  state.pending = null;
  for (const memory of [state.items, state.seen, state.flags, state.rendered]) memory.clear();
  $('threads').replaceChildren();
  $('entries').replaceChildren();
  $('thread-open').hidden = true;
  $('thread-none').hidden = false;
  $('inbox').classList.remove('showing-thread');
  $('inbox').hidden = true;
}

const { showSignIn, start } = staffSignIn({ leave, enter: enterInbox });

/** Shows the inbox for `session`; false (and the sign-in shown) if it has expired. */
async function enterInbox(session) {
  state.session = session;
  try {
    await refreshList();
  } catch (err) {
    if (err.status === 404) {
      await showSignIn(t('error.session'));
      return false;
    }
    throw err;
  }
  $('signin').hidden = true;
  $('inbox').hidden = false;
  $('signout').hidden = false;
  $('me').hidden = false;
  status('');
  ($('threads').querySelector('button') ?? $('threads-title')).focus();
  polling.schedule();
  return true;
}

// --- Polling -------------------------------------------------------------------------------

const polling = poller(tick, POLL_MS);

async function tick() {
  if (!state.session) return;
  try {
    await refreshList();
    if (state.open) await refreshThread(state.open);
    status('');
  } catch (err) {
    if (err.status === 404 && err.code === 'unknown_session') {
      await showSignIn(t('error.session')).catch((e) => status(e.message));
      return;
    }
    status(err.status ? err.message : t('error.network'));
  }
  if (state.session) polling.schedule();
}

// --- Thread list ---------------------------------------------------------------------------

async function refreshList() {
  const { me, threads } = await api(`/api/staff/sessions/${state.session}/threads`);
  state.me = me;
  $('me').textContent = t('signedInAs', { name: me.name });
  $('threads-empty').hidden = threads.length > 0;
  const list = $('threads');
  const focused = document.activeElement;
  const wanted = threads.map((thread) => {
    if (thread.id === state.open) state.seen.set(thread.id, thread.lastAt);
    return listItem(thread);
  });
  for (const [id, item] of state.items) {
    if (!threads.some((thread) => thread.id === id)) {
      item.remove();
      state.items.delete(id);
    }
  }
  // Moving a node drops its focus, so reorder only when the order really changed.
  if (wanted.some((item, i) => list.children[i] !== item)) {
    list.replaceChildren(...wanted);
    if (focused && list.contains(focused)) focused.focus();
  }
}

/** What each list button last showed, so an unchanged thread is not redrawn every poll. */
const drawn = new WeakMap();

function listItem(thread) {
  let item = state.items.get(thread.id);
  if (!item) {
    const button = el('button', { type: 'button', class: 'thread-button', 'data-thread': thread.id });
    button.addEventListener('click', () => openThread(thread.id));
    item = el('li', {}, button);
    state.items.set(thread.id, item);
  }
  const button = item.firstElementChild;
  const flags = [...new Set([...(thread.flags ?? []), ...(state.flags.get(thread.id) ?? [])])];
  const fresh = thread.id !== state.open && state.seen.get(thread.id) !== thread.lastAt;
  const key = JSON.stringify([thread, flags, fresh, thread.id === state.open]);
  if (drawn.get(button) === key) return item;
  drawn.set(button, key);
  const guardian = thread.guardian;
  const child = thread.child
    ? t('thread.about', { child: thread.child.name, className: thread.child.className })
    : null;
  const language = guardian ? languageName(guardian.lang) : null;
  const parts = [
    el(
      'span',
      { class: 'line' },
      el('span', { class: 'guardian' }, guardian?.name ?? t('threads.unknownGuardian')),
      time(thread.lastAt),
    ),
    el('span', { class: 'line meta' }, [child, language].filter(Boolean).join(' · ')),
    flags.length || fresh
      ? el(
          'span',
          { class: 'tags' },
          ...flags.map((kind) => el('span', { class: `tag tag-${kind}` }, t(`kind.${kind}`))),
          fresh ? el('span', { class: 'tag tag-new' }, t('threads.new')) : null,
        )
      : null,
  ];
  button.replaceChildren(...parts.filter(Boolean));
  item.classList.toggle('flagged', flags.length > 0);
  item.classList.toggle('fresh', fresh);
  if (thread.id === state.open) button.setAttribute('aria-current', 'true');
  else button.removeAttribute('aria-current');
  return item;
}

// --- The open thread -----------------------------------------------------------------------

async function openThread(id) {
  state.open = id;
  state.rendered.clear();
  $('entries').replaceChildren();
  $('escalations').replaceChildren();
  $('reply-status').textContent = '';
  $('thread-none').hidden = true;
  $('thread-open').hidden = false;
  $('inbox').classList.add('showing-thread');
  // The first render is the whole history: not announced entry by entry.
  $('entries').setAttribute('aria-busy', 'true');
  try {
    await refreshThread(id);
    // Opening is taking it up: open safety reports stop counting towards the office.
    await api(`${threadPath(id)}/ack`, { method: 'POST', body: '{}' });
  } catch (err) {
    status(err.status ? err.message : t('error.network'));
  }
  $('entries').setAttribute('aria-busy', 'false');
  $('thread-title').focus();
  for (const [threadId, item] of state.items) {
    const button = item.firstElementChild;
    if (threadId === id) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
  }
}

function closeThread() {
  const id = state.open;
  state.open = null;
  $('thread-open').hidden = true;
  $('thread-none').hidden = false;
  $('inbox').classList.remove('showing-thread');
  state.items.get(id)?.querySelector('button')?.focus();
}

async function refreshThread(id) {
  let body;
  try {
    body = await api(threadPath(id));
  } catch (err) {
    if (err.status === 403 && state.open === id) {
      $('thread-title').textContent = t('thread.gone');
      $('thread-about').textContent = '';
      $('reply').hidden = true;
      return;
    }
    throw err;
  }
  // The user may have opened another thread while this one loaded.
  if (state.open !== id) return;
  const { thread, entries, escalations } = body;
  state.about = thread;
  $('reply').hidden = false;
  $('thread-title').textContent = thread.guardian?.name ?? t('threads.unknownGuardian');
  $('thread-about').textContent = [
    thread.child ? t('thread.about', { child: thread.child.name, className: thread.child.className }) : null,
    t('thread.writesIn', { language: languageName(thread.lang) }),
  ]
    .filter(Boolean)
    .join(' · ');
  $('reply-hint').textContent =
    thread.lang === 'nb'
      ? t('reply.hintNorwegian')
      : t('reply.hintTranslated', { language: languageName(thread.lang) });

  const flags = state.flags.get(id) ?? new Set();
  for (const entry of entries) if (FLAGGED.includes(entry.kind)) flags.add(entry.kind);
  state.flags.set(id, flags);
  $('escalations').replaceChildren(...escalations.map(renderEscalation));
  for (const entry of entries) {
    if (state.rendered.has(entry.id)) continue;
    state.rendered.add(entry.id);
    $('entries').append(renderEntry(entry, thread));
  }
}

function renderEscalation(escalation) {
  const who = (id) => (id === state.me?.id ? t('escalation.you') : t('escalation.colleague'));
  const open = !escalation.ackedBy && !escalation.escalatedAt;
  const line = escalation.ackedBy
    ? t('escalation.acked', { who: who(escalation.ackedBy) })
    : escalation.escalatedAt
      ? t('escalation.passed')
      : t('escalation.open');
  return el(
    'li',
    { class: `escalation escalation-${escalation.reason}${open ? ' open' : ''}` },
    el('span', { class: `tag tag-${escalation.reason}` }, t(`kind.${escalation.reason}`)),
    ' ',
    el('span', {}, `${t(`escalation.${escalation.reason}`)}. ${line} `),
    time(escalation.ackedAt ?? escalation.escalatedAt ?? escalation.at),
  );
}

/** The child a notice is about, as far as the thread tells: its child when the class matches. */
function noticeChild(notice, thread) {
  const child = thread.child;
  if (child && notice.classId.toLowerCase().endsWith(child.className.toLowerCase())) {
    return t('thread.about', { child: child.name, className: child.className });
  }
  return t('child.unknown');
}

function noticeText(notice, thread) {
  const child = noticeChild(notice, thread);
  if (notice.kind === 'leave') {
    const from = dateOnly.format(new Date(`${notice.from}T12:00:00Z`));
    const to = dateOnly.format(new Date(`${notice.to}T12:00:00Z`));
    return t('leave.request', { child, from, to });
  }
  const days = and.format(notice.days.map(day));
  if (notice.mode === 'absent') return t('absence.absent', { child, days });
  const key = notice.time ? `absence.${notice.mode}` : `absence.${notice.mode}NoTime`;
  return t(key, { child, days, time: notice.time });
}

/** One side of a pair: a label and the words, marked with their language and direction. */
function side(label, text, lang, extraClass = '') {
  return el(
    'div',
    { class: `side ${extraClass}`.trim() },
    el('p', { class: 'label' }, label),
    el('div', { class: `text ${extraClass}`.trim(), lang, dir: dirOf(lang) }, text),
  );
}

/** A parent's words: Norwegian (translated or not) beside the original. */
function parentWords(entry) {
  const { original, norwegian } = entry;
  if (!original) return null;
  const language = languageName(original.lang);
  if (original.lang === 'nb')
    return el('div', { class: 'pair' }, side(t('writtenInNorwegian'), original.text, 'nb'));
  if (!norwegian?.translated) {
    return el(
      'div',
      { class: 'pair' },
      side(
        `${t('notTranslated')} · ${t('original', { language })}`,
        original.text,
        original.lang,
        'original',
      ),
    );
  }
  return el(
    'div',
    { class: 'pair two' },
    side(t('machineTranslated', { language }), norwegian.text, 'nb', 'norwegian'),
    side(t('original', { language }), original.text, original.lang, 'original'),
  );
}

/** A staff reply: the Norwegian as written and what the parent received. */
function replyWords(entry) {
  const { original, translation } = entry;
  if (!original) return null;
  const norwegian = side(t('norwegian'), original.text, 'nb', 'norwegian');
  if (!translation || translation.lang === 'nb') {
    return el('div', { class: 'pair' }, norwegian, el('p', { class: 'note' }, t('parentReceivedNorwegian')));
  }
  if (!translation.translated) {
    return el('div', { class: 'pair' }, norwegian, el('p', { class: 'note' }, t('replyNotTranslated')));
  }
  return el(
    'div',
    { class: 'pair two' },
    norwegian,
    side(
      t('parentReceived', { language: languageName(translation.lang) }),
      translation.text,
      translation.lang,
      'received',
    ),
  );
}

function renderEntry(entry, thread) {
  const mine = entry.staffId && entry.staffId === state.me?.id;
  const who =
    entry.from === 'parent'
      ? t('from.parent', { name: thread.guardian?.name ?? t('threads.unknownGuardian') })
      : entry.from === 'staff'
        ? t(mine ? 'from.me' : 'from.colleague')
        : t('from.system');
  const toOthers = entry.from === 'parent' && entry.to && state.me && !entry.to.includes(state.me.id);
  let body;
  if (entry.notice) body = el('p', { class: 'notice' }, noticeText(entry.notice, thread));
  else if (entry.from === 'staff') body = replyWords(entry);
  else if (entry.kind === 'escalated') {
    body = el('div', {}, el('p', { class: 'note' }, t('escalated.note')), parentWords(entry));
  } else body = parentWords(entry);
  return el(
    'li',
    {
      class: `entry from-${entry.from} kind-${entry.kind}${mine ? ' mine' : ''}`,
      'data-entry': entry.id,
      'data-kind': entry.kind,
    },
    el(
      'p',
      { class: 'head' },
      el('span', { class: `tag tag-${entry.kind}` }, t(`kind.${entry.kind}`)),
      ' ',
      el('span', { class: 'who' }, who),
      ' ',
      time(entry.at),
    ),
    toOthers ? el('p', { class: 'note' }, t('toOthers')) : null,
    body,
  );
}

// --- Replying ------------------------------------------------------------------------------

async function sendReply() {
  const threadId = state.open;
  const text = $('reply-text').value;
  if (!threadId) return;
  if (!text.trim()) {
    $('reply-status').textContent = t('reply.empty');
    $('reply-text').focus();
    return;
  }
  // The same words to the same thread after a failure keep their id; anything else is a new reply.
  const same = state.pending && state.pending.threadId === threadId && state.pending.text === text;
  const pending = same ? state.pending : { id: uuid(), threadId, text };
  state.pending = pending;
  $('reply-send').disabled = true;
  $('reply-status').textContent = t('reply.sending');
  try {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await api(`${threadPath(threadId)}/replies`, {
          method: 'POST',
          body: JSON.stringify({ id: pending.id, text: pending.text }),
        });
        break;
      } catch (err) {
        // No answer, or the server in trouble: try again with the same id. A 4xx will not get better.
        const retryable = !err.status || err.status >= 500 || err.status === 429;
        if (!retryable || attempt >= 5) {
          if (!retryable) state.pending = null;
          $('reply-status').textContent = t('reply.failed', { message: err.message });
          return;
        }
        $('reply-status').textContent = t('reply.retrying');
        await sleep(Math.min(500 * 2 ** attempt, 8000));
      }
    }
    state.pending = null;
    if ($('reply-text').value === pending.text) $('reply-text').value = '';
    $('reply-status').textContent = t('reply.sent');
    polling.schedule(300);
  } finally {
    $('reply-send').disabled = false;
  }
}

// --- Start ---------------------------------------------------------------------------------

async function init() {
  await loadTexts('/staff-texts.json');
  $('back').addEventListener('click', closeThread);
  $('reply').addEventListener('submit', (e) => {
    e.preventDefault();
    sendReply();
  });
  $('reply-text').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      $('reply').requestSubmit();
    }
  });
  await start();
}

init().catch((err) => status(err.message));
