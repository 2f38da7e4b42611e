// Skolebro web chat: sign in as a demo parent, send messages, poll for replies.
const $ = (id) => document.getElementById(id);
const state = { session: null, after: 0, inboxAfter: 0, languages: [], polling: null, status: null };
const RTL = new Set(['ar', 'ur', 'fa', 'prs', 'ps', 'ku']);
/** A message that cannot reach the server is sent again (same id, so never twice) after these waits. */
const RETRY_MS = [1000, 2000, 4000, 8000, 8000];

/** A failed call: `code` is the API's `error`, or `network` when the server could not be reached. */
class ChatError extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}

async function api(path, options = {}) {
  let res;
  try {
    res = await fetch(path, { headers: { 'content-type': 'application/json' }, ...options });
  } catch {
    throw new ChatError('network');
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ChatError(typeof body.error === 'string' ? body.error : 'generic');
  return body;
}

/**
 * Says what went wrong in the language chosen in the picker (else Norwegian), from the texts
 * /api/languages sent; never the API's English `message`. `from` says who may clear it:
 * a poll clears only what a poll showed, so a send's error stays until the next send.
 */
function showError(err, from) {
  state.status = { err, from };
  const code = err instanceof ChatError ? err.code : 'generic';
  const status = $('status');
  const chosen = state.languages.find((l) => l.code === $('language').value);
  const nb = state.languages.find((l) => l.code === 'nb');
  const language = chosen?.errors ? chosen : nb;
  const text = language?.errors?.[code] ?? language?.errors?.generic;
  status.textContent = text ?? status.dataset.fallback;
  status.lang = text ? language.code : 'nb';
  status.dir = text ? language.dir : 'ltr';
}

function clearStatus(from) {
  if (from && state.status?.from !== from) return;
  state.status = null;
  $('status').textContent = '';
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function setDirection(lang, dir) {
  const rtl = dir ? dir === 'rtl' : RTL.has(lang);
  document.documentElement.dir = rtl ? 'rtl' : 'ltr';
  if (lang) document.documentElement.lang = lang;
  $('language').value = lang;
}

/**
 * A message from a person at the school: their words (usually machine-translated) and, behind a
 * toggle, the Norwegian original. The toggle's label comes with the message when the server
 * sends one (`original.label`); otherwise the page's bilingual fallback (#log data-show-original).
 */
function renderStaff(item, message) {
  const text = document.createElement('div');
  text.className = 'staff-text';
  text.textContent = message.text;
  item.append(text);
  if (!message.original) return;
  const quote = document.createElement('blockquote');
  quote.id = `original-${message.seq}`;
  quote.className = 'original';
  quote.lang = message.original.lang || 'nb';
  quote.dir = 'ltr';
  quote.hidden = true;
  quote.textContent = message.original.text;
  const toggle = document.createElement('button');
  toggle.type = 'button';
  toggle.className = 'show-original';
  toggle.setAttribute('aria-expanded', 'false');
  toggle.setAttribute('aria-controls', quote.id);
  toggle.textContent = message.original.label || $('log').dataset.showOriginal;
  toggle.addEventListener('click', () => {
    quote.hidden = !quote.hidden;
    toggle.setAttribute('aria-expanded', String(!quote.hidden));
  });
  item.append(toggle, quote);
}

function renderAnnouncement(message) {
  const item = document.createElement('li');
  item.className = 'msg bot announcement';
  item.dataset.inboxSeq = message.seq;
  if (message.lang) item.lang = message.lang;
  item.dir = message.dir;
  item.textContent = message.text;
  $('log').append(item);
  item.scrollIntoView({ block: 'end' });
}

function render(message) {
  const item = document.createElement('li');
  item.className = `msg ${message.from}`;
  item.dataset.seq = message.seq;
  if (message.lang) item.lang = message.lang;
  item.dir = message.from === 'user' ? 'auto' : message.dir;
  if (message.from === 'staff') renderStaff(item, message);
  else item.textContent = message.text;
  if (message.choices?.length) {
    const choices = document.createElement('div');
    choices.className = 'choices';
    for (const c of message.choices) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = c.label;
      b.dataset.value = c.value;
      b.addEventListener('click', () => send('', c.value, c.label));
      choices.append(b);
    }
    item.append(choices);
  }
  $('log').append(item);
  item.scrollIntoView({ block: 'end' });
  if (message.from === 'bot' && message.lang) setDirection(message.lang, message.dir);
}

async function poll() {
  if (!state.session) return;
  try {
    const { messages, announcements = [] } = await api(
      `/api/sessions/${state.session}/messages?after=${state.after}&inboxAfter=${state.inboxAfter}`,
    );
    for (const m of messages) {
      state.after = Math.max(state.after, m.seq);
      if (!document.querySelector(`[data-seq="${m.seq}"]`)) render(m);
    }
    // Announcements from the school arrive in the parent's inbox, not in this conversation.
    for (const a of announcements) {
      state.inboxAfter = Math.max(state.inboxAfter, a.seq);
      if (!document.querySelector(`[data-inbox-seq="${a.seq}"]`)) renderAnnouncement(a);
    }
    clearStatus('poll');
  } catch (err) {
    showError(err, 'poll');
  }
}

async function send(text, choice) {
  const id = crypto.randomUUID();
  const body = JSON.stringify(choice ? { id, text, choice } : { id, text });
  for (let attempt = 0; ; attempt++) {
    try {
      await api(`/api/sessions/${state.session}/messages`, { method: 'POST', body });
      clearStatus();
      setTimeout(poll, 60);
      return;
    } catch (err) {
      if (err.code === 'network' && attempt < RETRY_MS.length) {
        showError(err, 'send');
        await sleep(RETRY_MS[attempt]);
        continue;
      }
      // Given up: say so (not "trying again") and give the parent their words back to send later.
      showError(err.code === 'network' ? new ChatError('generic') : err, 'send');
      if (text && !$('text').value) $('text').value = text;
      return;
    }
  }
}

async function start(login, label) {
  const { session } = await api('/api/sessions', {
    method: 'POST',
    body: JSON.stringify(login ? { login } : {}),
  });
  state.session = session;
  $('signin').hidden = true;
  $('chat').hidden = false;
  $('who').textContent = label;
  $('text').focus();
  state.polling = setInterval(poll, 700);
}

async function init() {
  const { languages } = await api('/api/languages');
  state.languages = languages;
  for (const l of languages) $('language').append(new Option(l.name, l.code));
  $('language').value = 'nb';
  $('language').addEventListener('change', (e) => {
    const lang = e.target.value;
    setDirection(lang);
    if (state.status) showError(state.status.err, state.status.from);
    if (state.session) send('', `lang:${lang}`);
  });
  const { people } = await api('/api/demo/people');
  for (const p of people) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = `${p.name} (${p.lang})`;
    b.dataset.login = p.login;
    b.addEventListener('click', () => start(p.login, p.name));
    li.append(b);
    $('people').append(li);
  }
  $('anonymous').addEventListener('click', () => start(null, ''));
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('text').value;
    if (!text.trim()) return;
    $('text').value = '';
    send(text);
  });
  $('text').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      $('composer').requestSubmit();
    }
  });
}

init().catch((err) => showError(err, 'init'));
