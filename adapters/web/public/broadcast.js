// The broadcast admin page: sign in as demo staff, write an announcement in Norwegian, see
// it per language before anything is sent (and correct a translation by hand), send, and
// follow the progress. API: adapters/web/broadcast.ts. Words: /broadcast-texts.json
// (locales/nb/staff-pages.json). Shared with the staff inbox: staff-common.js.
import {
  $,
  api,
  dirOf,
  el,
  hasText,
  languageName,
  loadTexts,
  poller,
  staffSignIn,
  status,
  t,
} from '/staff-common.js';

const POLL_MS = 1000;
/** Always shown as columns; the final ones only when some guardian has them. */
const STATUSES = ['queued', 'sent', 'delivered', 'read', 'failed'];
const FINAL = ['opted-out', 'unreachable', 'cancelled'];

const state = {
  session: null,
  school: null,
  /** Class id -> name, from the audience list. */
  classNames: new Map(),
  /** The preview of the current draft (the API's PreviewView). */
  draft: null,
  /** The announcement being followed, and what the last poll said. */
  followed: null,
  progress: null,
};

const fullTime = new Intl.DateTimeFormat('nb-NO', {
  timeZone: 'Europe/Oslo',
  dateStyle: 'full',
  timeStyle: 'short',
});
const number = new Intl.NumberFormat('nb-NO', { maximumFractionDigits: 2 });

const channelName = (code) => (hasText(`channel.${code}`) ? t(`channel.${code}`) : code);

const base = () => `/api/staff/sessions/${state.session}/broadcasts`;

function duration(seconds) {
  if (seconds < 60) return t('duration.seconds', { n: Math.max(1, seconds) });
  if (seconds < 3600) return t('duration.minutes', { n: Math.ceil(seconds / 60) });
  return t('duration.hours', { h: Math.floor(seconds / 3600), m: Math.ceil((seconds % 3600) / 60) });
}

/** Shows one of the page's sections, hides the others. */
function show(id) {
  for (const section of ['signin', 'compose', 'preview', 'progress']) $(section).hidden = section !== id;
}

// --- Sign-in -------------------------------------------------------------------------------

/** Stops following an announcement and forgets the draft (the sign-in list is shown instead). */
function leave() {
  polling.stop();
  Object.assign(state, { session: null, draft: null, followed: null, progress: null });
  show('signin');
}

const { showSignIn, start } = staffSignIn({ leave, enter: enterCompose });

/** The compose form for `session`; false (and the sign-in shown) if it has expired. */
async function enterCompose(session) {
  state.session = session;
  let options;
  try {
    options = await api(`/api/staff/sessions/${state.session}/broadcast-audiences`);
  } catch (err) {
    if (err.status === 404) {
      // 404 without unknown_session: the route is not there (no broadcast service).
      await showSignIn(err.code === 'unknown_session' ? t('error.session') : t('error.unavailable'));
      return false;
    }
    throw err;
  }
  state.school = options.school;
  $('me').textContent = t('signedInAs', { name: options.me.name });
  $('me').hidden = false;
  $('signout').hidden = false;
  fillAudiences(options.audiences);
  newAnnouncement();
  return true;
}

function fillAudiences(audiences) {
  state.classNames = new Map(audiences.filter((a) => a.kind === 'class').map((a) => [a.id, a.name]));
  const option = (a) => {
    const label =
      a.kind === 'school'
        ? t('compose.school', { school: state.school?.name ?? a.name })
        : a.kind === 'trinn'
          ? t('compose.trinn', { trinn: a.name })
          : t('compose.class', { name: a.name });
    return el('option', { value: `${a.kind}:${a.id}` }, label);
  };
  const group = (kind, key) => {
    const list = audiences.filter((a) => a.kind === kind);
    return list.length ? el('optgroup', { label: t(key) }, ...list.map(option)) : null;
  };
  const select = $('audience');
  select.replaceChildren(
    ...audiences.filter((a) => a.kind === 'school').map(option),
    ...[group('trinn', 'compose.trinnGroup'), group('class', 'compose.classGroup')].filter(Boolean),
  );
  // Most senders may address less than the whole school: preselect the first audience they may use.
  const first = audiences.find((a) => a.allowed);
  if (first) select.value = `${first.kind}:${first.id}`;
}

function newAnnouncement() {
  polling.stop();
  state.draft = null;
  state.followed = null;
  state.progress = null;
  $('compose-error').textContent = '';
  show('compose');
  status('');
  $('compose-title').focus();
}

// --- Compose and preview -------------------------------------------------------------------

async function makePreview() {
  const text = $('text').value;
  const [kind, ...rest] = $('audience').value.split(':');
  const id = rest.join(':');
  $('compose-error').textContent = '';
  if (!text.trim()) {
    $('compose-error').textContent = t('compose.empty');
    $('text').focus();
    return;
  }
  const local = $('send-at').value;
  // A datetime-local value has no zone: the browser's own (staff are in Oslo).
  const sendAt = local ? new Date(local) : null;
  if (sendAt && sendAt.getTime() <= Date.now()) {
    $('compose-error').textContent = t('compose.past');
    $('send-at').focus();
    return;
  }
  $('preview-button').disabled = true;
  status(t('compose.previewing'));
  try {
    state.draft = await api(base(), {
      method: 'POST',
      body: JSON.stringify({
        audience: { kind, id },
        text,
        ...(sendAt ? { sendAt: sendAt.toISOString() } : {}),
      }),
    });
    status('');
    renderPreview();
    show('preview');
    $('preview-error').textContent = '';
    $('preview-title').focus();
  } catch (err) {
    status('');
    if (err.status === 404 && err.code === 'unknown_session') return showSignIn(t('error.session'));
    // A refusal carries the API's explanation, in Norwegian.
    $('compose-error').textContent =
      err.status === 403 ? t('compose.refused', { message: err.message }) : t('compose.failed', err);
  } finally {
    $('preview-button').disabled = false;
  }
}

function audienceLabel(audience) {
  const option = [...$('audience').options].find((o) => o.value === `${audience.kind}:${audience.id}`);
  return option?.textContent ?? `${audience.kind} ${audience.id}`;
}

function renderPreview() {
  const { preview, audience, sendAt } = state.draft;
  const sms = preview.sms.messages
    ? t('preview.smsTotal', {
        messages: preview.sms.messages,
        segments: preview.sms.segments,
        nok: number.format(preview.sms.nok),
      })
    : t('preview.noSms');
  const rows = [
    ['preview.audience', audienceLabel(audience), 'audience'],
    ['preview.families', preview.families, 'families'],
    ['preview.guardians', preview.guardians, 'guardians'],
    ['preview.languages', preview.languages.map((l) => languageName(l.lang)).join(', '), 'languages'],
    ['preview.sms', sms, 'sms'],
    ['preview.smsOptedOut', preview.smsOptedOut, 'sms-opted-out'],
    ['preview.optedOut', preview.optedOut, 'opted-out'],
    ['preview.unreachable', preview.unreachable, 'unreachable'],
  ];
  $('summary').replaceChildren(
    ...rows.map(([key, value, name]) =>
      el('div', { 'data-summary': name }, el('dt', {}, t(key)), el('dd', {}, String(value))),
    ),
  );
  $('when').textContent = sendAt
    ? t('preview.sendAt', { time: fullTime.format(new Date(sendAt)) })
    : t('preview.sendNow');
  $('quiet').hidden = !preview.smsDeferredUntil;
  $('quiet').textContent = preview.smsDeferredUntil
    ? t('preview.quiet', { time: fullTime.format(new Date(preview.smsDeferredUntil)) })
    : '';
  $('times').replaceChildren(
    ...preview.channels.map((c) =>
      el(
        'li',
        { 'data-channel': c.channel },
        t(c.channel === 'sms' ? 'preview.channelTimeSms' : 'preview.channelTime', {
          channel: channelName(c.channel),
          messages: c.messages,
          segments: c.segments ?? 0,
          duration: duration(c.seconds),
        }),
      ),
    ),
  );
  $('languages').replaceChildren(...preview.languages.map(languageCard));
  $('send').textContent = t(sendAt ? 'preview.schedule' : 'preview.send');
}

/** One language of the preview: who gets it how, the text they get, and a way to correct it. */
function languageCard(l) {
  const language = languageName(l.lang);
  const titleId = `lang-${l.lang}-title`;
  const kind =
    l.lang === 'nb' ? 'original' : l.edited ? 'edited' : l.translated ? 'translated' : 'notTranslated';
  const channels = Object.entries(l.channels)
    .map(([channel, count]) => `${channelName(channel)}: ${count}`)
    .join(', ');
  const card = el(
    'li',
    { class: `lang-card ${kind}`, 'data-lang': l.lang, 'aria-labelledby': titleId },
    el(
      'h4',
      { id: titleId, tabindex: '-1' },
      `${language} `,
      el('span', { class: `tag tag-${kind}` }, t(`card.${kind}`)),
    ),
    el(
      'p',
      { class: 'meta' },
      l.guardians === 1 ? t('card.guardiansOne') : t('card.guardians', { count: l.guardians }),
      ' · ',
      t('card.channels', { channels: channels || t('card.noChannel') }),
    ),
    el('div', { class: 'text', lang: l.lang, dir: dirOf(l.lang) }, l.text),
    l.sms
      ? el(
          'p',
          { class: 'meta sms' },
          t('card.sms', {
            segmentsPerMessage: l.sms.segmentsPerMessage,
            encoding: l.sms.encoding,
            segments: l.sms.segments,
            nok: number.format(l.sms.nok),
          }),
        )
      : null,
  );
  if (l.lang !== 'nb') card.append(correction(l, language));
  return card;
}

/** The "Rett teksten" button and its form: the corrected text replaces the machine's for this language. */
function correction(l, language) {
  const fieldId = `fix-${l.lang}`;
  const open = el(
    'button',
    {
      type: 'button',
      class: 'secondary correct',
      'aria-expanded': 'false',
      'aria-controls': `${fieldId}-form`,
    },
    t('card.correct'),
  );
  const field = el('textarea', { id: fieldId, rows: '4', lang: l.lang, dir: dirOf(l.lang) });
  const note = el('p', { class: 'error', role: 'alert' });
  const form = el(
    'form',
    { id: `${fieldId}-form`, class: 'fix', hidden: true, novalidate: true },
    el('label', { for: fieldId }, t('card.correctLabel', { language })),
    field,
    el(
      'div',
      { class: 'actions' },
      el('button', { type: 'button', class: 'secondary', 'data-action': 'cancel' }, t('card.cancel')),
      el('button', { type: 'submit', class: 'primary' }, t('card.save')),
    ),
    note,
  );
  const close = () => {
    form.hidden = true;
    open.hidden = false;
    open.setAttribute('aria-expanded', 'false');
    open.focus();
  };
  open.addEventListener('click', () => {
    field.value = l.text;
    note.textContent = '';
    form.hidden = false;
    open.hidden = true;
    open.setAttribute('aria-expanded', 'true');
    field.focus();
  });
  form.querySelector('[data-action="cancel"]').addEventListener('click', close);
  field.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') close();
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = field.value;
    if (!text.trim()) {
      note.textContent = t('card.empty');
      return;
    }
    const save = form.querySelector('button[type="submit"]');
    save.disabled = true;
    save.textContent = t('card.saving');
    note.textContent = '';
    try {
      state.draft = await api(`${base()}/${state.draft.id}/texts/${l.lang}`, {
        method: 'PUT',
        body: JSON.stringify({ text }),
      });
      renderPreview();
      status(t('card.saved', { language }));
      $(`lang-${l.lang}-title`)?.focus();
    } catch (err) {
      save.disabled = false;
      save.textContent = t('card.save');
      note.textContent = t('card.failed', err);
    }
  });
  return el('div', { class: 'correction' }, open, form);
}

async function send() {
  if (!state.draft) return;
  $('send').disabled = true;
  $('preview-error').textContent = '';
  status(t('preview.sending'));
  try {
    const progress = await api(`${base()}/${state.draft.id}/send`, { method: 'POST', body: '{}' });
    follow(progress);
    status(t(progress.status === 'scheduled' ? 'progress.scheduled' : 'progress.started'));
  } catch (err) {
    status('');
    if (err.status === 404 && err.code === 'unknown_session') return showSignIn(t('error.session'));
    $('preview-error').textContent = t('preview.sendFailed', err);
  } finally {
    $('send').disabled = false;
  }
}

// --- Progress ------------------------------------------------------------------------------

function follow(progress) {
  state.followed = { id: state.draft.id, expected: state.draft.preview.guardians, finished: false };
  show('progress');
  renderProgress(progress);
  $('progress-title').focus();
  polling.schedule();
}

const polling = poller(tick, POLL_MS);

async function tick() {
  const followed = state.followed;
  if (!state.session || !followed) return;
  try {
    const progress = await api(`${base()}/${followed.id}`);
    if (state.followed !== followed) return;
    renderProgress(progress);
    status('');
    // Settled: nothing is in flight, so there is nothing more to watch for.
    if (progress.settled) return;
  } catch (err) {
    if (err.status === 404 && err.code === 'unknown_session') {
      await showSignIn(t('error.session')).catch((e) => status(e.message));
      return;
    }
    status(err.status ? err.message : t('error.network'));
  }
  polling.schedule();
}

/**
 * How far the announcement has come: guardians with nothing more to happen, of all in the
 * audience. 100 % exactly when the API says it is settled. Before that, guardians not yet
 * fanned out, queued, or sent by SMS (which waits for a delivery receipt) are still open,
 * and the bar stops at 99 %. A cancelled announcement counts only the messages that left.
 */
function advance(p, expected) {
  const total = Math.max(p.guardians, expected);
  if (p.status === 'scheduled' || p.status === 'draft' || total === 0) return { total, done: 0, percent: 0 };
  const open = total - p.guardians + (p.byStatus.queued ?? 0) + (p.byChannel.sms?.sent ?? 0);
  if (p.status === 'cancelled' || p.status === 'failed') {
    const done = Math.max(0, total - open - (p.byStatus.cancelled ?? 0));
    return { total, done, percent: Math.floor((100 * done) / total) };
  }
  if (p.settled) return { total, done: total, percent: 100 };
  const done = Math.max(0, total - open);
  return { total, done, percent: Math.min(99, Math.floor((100 * done) / total)) };
}

function renderProgress(p) {
  state.progress = p;
  const { total, done, percent } = advance(p, state.followed?.expected ?? p.guardians);
  $('bar').setAttribute('aria-valuenow', String(percent));
  $('bar').setAttribute('aria-valuetext', t('progress.valueText', { percent }));
  $('bar-fill').style.width = `${percent}%`;
  $('bar-percent').textContent = `${percent} %`;
  $('progress-state').textContent =
    p.status === 'scheduled'
      ? t('progress.status.scheduled', { time: fullTime.format(new Date(p.sendAt)) })
      : p.settled && p.status !== 'cancelled' && p.status !== 'failed'
        ? t('progress.settled')
        : t(`progress.status.${p.status}`);
  $('progress-state').dataset.status = p.status;
  const reached = Math.max(0, done - p.notReached.length);
  $('progress-done').textContent = t('progress.done', {
    done,
    total,
    reached,
    notReached: p.notReached.length,
  });
  const active = !p.settled && ['scheduled', 'sending', 'sent'].includes(p.status);
  // Keep focus on the page when the focused cancel button goes away.
  if (!active && document.activeElement === $('cancel')) $('progress-title').focus();
  $('cancel').hidden = !active;
  $('new').hidden = active;

  const columns = [...STATUSES, ...FINAL.filter((s) => (p.byStatus[s] ?? 0) > 0)];
  countsTable($('by-channel'), t('progress.channel'), columns, p.byChannel, channelName);
  countsTable($('by-lang'), t('progress.language'), columns, p.byLang, languageName);
  renderNotReached(p);

  if (p.settled && state.followed && !state.followed.finished) {
    state.followed.finished = true;
    status(t('progress.finished', { done: total, total, notReached: p.notReached.length }));
  }
}

/** A table of counts: one row per key (channel or language), one column per status, and a total row. */
function countsTable(table, head, columns, counts, name) {
  const caption = table.querySelector('caption');
  const keys = Object.keys(counts).sort();
  const cell = (tag, text, attrs = {}) => el(tag, attrs, String(text));
  const row = (label, c, attrs = {}) =>
    el(
      'tr',
      attrs,
      cell('th', label, { scope: 'row' }),
      ...columns.map((s) => cell('td', c[s] ?? 0, { 'data-status': s })),
    );
  const totals = {};
  for (const key of keys) for (const [s, n] of Object.entries(counts[key])) totals[s] = (totals[s] ?? 0) + n;
  table.replaceChildren(
    caption,
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        cell('th', head, { scope: 'col' }),
        ...columns.map((s) => cell('th', t(`status.${s}`), { scope: 'col' })),
      ),
    ),
    el(
      'tbody',
      {},
      ...keys.map((key) => row(name(key), counts[key], { 'data-key': key })),
      row(t('progress.total'), totals, { class: 'total' }),
    ),
  );
}

function reasonText(reason) {
  const key = `reason.${reason}`;
  return hasText(key) ? t(key) : `${t('reason.failed')} (${reason})`;
}

function renderNotReached(p) {
  const rows = p.notReached;
  $('not-reached-title').textContent = t('progress.notReached', { count: rows.length });
  $('not-reached-title').dataset.count = String(rows.length);
  $('not-reached-note').textContent = rows.length
    ? ''
    : p.settled
      ? t('progress.notReachedNone')
      : t('progress.notReachedWaiting');
  const table = $('not-reached');
  table.hidden = rows.length === 0;
  table.replaceChildren(
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        ...[
          'progress.name',
          'progress.language',
          'progress.class',
          'progress.channel',
          'progress.reason',
        ].map((key) => el('th', { scope: 'col' }, t(key))),
      ),
    ),
    el(
      'tbody',
      {},
      ...rows.map((r) =>
        el(
          'tr',
          { 'data-guardian': r.guardianId },
          el('th', { scope: 'row' }, r.name),
          el('td', {}, languageName(r.lang)),
          el('td', {}, r.classIds.map(className).join(', ')),
          el('td', {}, channelName(r.channel ?? 'none')),
          el('td', {}, reasonText(r.reason)),
        ),
      ),
    ),
  );
  const csv = $('csv');
  csv.hidden = rows.length === 0;
  csv.href = `${base()}/${state.followed?.id ?? p.id}/not-reached.csv`;
}

/** A class's name (3A) as the audience list gave it, else its id. */
const className = (id) => state.classNames.get(id) ?? id;

async function cancel() {
  const followed = state.followed;
  if (!followed || !window.confirm(t('progress.cancelConfirm'))) return;
  $('cancel').disabled = true;
  try {
    const progress = await api(`${base()}/${followed.id}/cancel`, { method: 'POST', body: '{}' });
    renderProgress(progress);
    status(t('progress.cancelled'));
    polling.schedule();
  } catch (err) {
    status(err.status ? err.message : t('error.network'));
  } finally {
    $('cancel').disabled = false;
  }
}

// --- Start ---------------------------------------------------------------------------------

async function init() {
  await loadTexts('/broadcast-texts.json');
  $('compose-form').addEventListener('submit', (e) => {
    e.preventDefault();
    makePreview();
  });
  $('text').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      $('compose-form').requestSubmit();
    }
  });
  $('back').addEventListener('click', () => {
    show('compose');
    $('text').focus();
  });
  $('send').addEventListener('click', send);
  $('cancel').addEventListener('click', cancel);
  $('new').addEventListener('click', () => {
    $('text').value = '';
    $('send-at').value = '';
    newAnnouncement();
  });

  await start();
}

init().catch((err) => status(err.message));
