// Skolebro web chat: sign in as a demo parent, send messages, poll for replies.
const $ = (id) => document.getElementById(id);
const state = { session: null, after: 0, inboxAfter: 0, languages: [], polling: null };
const RTL = new Set(['ar', 'ur', 'fa', 'prs', 'ps', 'ku']);

async function api(path, options = {}) {
  const res = await fetch(path, { headers: { 'content-type': 'application/json' }, ...options });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || `HTTP ${res.status}`);
  return body;
}

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
    $('status').textContent = '';
  } catch (err) {
    $('status').textContent = err.message;
  }
}

async function send(text, choice) {
  const id = crypto.randomUUID();
  const body = JSON.stringify(choice ? { id, text, choice } : { id, text });
  try {
    await api(`/api/sessions/${state.session}/messages`, { method: 'POST', body });
    $('status').textContent = '';
    setTimeout(poll, 60);
  } catch (err) {
    $('status').textContent = err.message;
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

init().catch((err) => {
  $('status').textContent = err.message;
});
