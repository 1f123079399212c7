// What the four apps share around the live connection: language and text size, the connection banner,
// and small readings of the meeting state (names, current item, my place in the queue).
// Also the small DOM helpers (build elements, announce to screen readers, confirm) every page uses, a button that
// shows it is working, an error line under a form, and files fetched with the session's token.
import { applyI18n, bindLangToggle, duration, errorText, initLang, t } from './i18n.js';
import { ApiError, current, loginUrl, request, signOut } from './net.js';

// ===== DOM helpers ==============================================================================

/** Create an element: h('button', {class: 'big', onclick: fn}, 'text', child). Strings become text nodes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = value;
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/**
 * A small button in a list row: shows `label`, and says to screen readers which row it acts on
 * ("Có mặt: Nguyễn Văn A"); the visible words start the spoken name (WCAG 2.5.3, label in name).
 */
export function button(label, about, onclick, extraClass = '') {
  return h('button', { type: 'button', class: `btn btn-small ${extraClass}`.trim(), 'aria-label': `${label}: ${about}`, onclick }, label);
}

/**
 * Replace an element's children, touching only those that changed: a child equal to the one already at its
 * place (same tag, attributes and text) stays as it is. Updates arrive many times a minute; a button that
 * is re-made under a finger between press and release loses the tap, and a re-made element loses focus.
 */
export function fill(el, ...children) {
  const fresh = children
    .flat(Infinity)
    .filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : document.createTextNode(String(c))));
  const focusedId = document.activeElement && el.contains(document.activeElement) ? document.activeElement.id : null;
  const old = [...el.childNodes];
  fresh.forEach((node, i) => {
    const there = old[i];
    if (!there) el.append(node);
    else if (!there.isEqualNode(node)) el.replaceChild(node, there);
  });
  for (const extra of old.slice(fresh.length)) extra.remove();
  if (focusedId && !el.contains(document.activeElement)) document.getElementById(focusedId)?.focus();
}

/** Say something to screen-reader users (and show it briefly to everyone). */
export function announce(text, kind = 'info') {
  const region = document.getElementById('toast');
  if (!region) return;
  const note = h('p', { class: `toast toast-${kind}` }, text);
  region.append(note);
  // On a phone the notes cover the buttons underneath (voting, the raised hand): the newest two are enough.
  while (region.children.length > 2) region.firstElementChild.remove();
  setTimeout(() => note.remove(), kind === 'error' ? 8000 : 4000);
}

/** Ask a yes/no question in a modal dialog; resolves true when confirmed. */
export function confirmDialog(question, { yes = t('common.confirm'), no = t('common.cancel') } = {}) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'dialog-q' });
    const finish = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    dialog.append(
      h('p', { id: 'dialog-q', class: 'dialog-question' }, question),
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'button', class: 'btn btn-primary', onclick: () => finish(true) }, yes),
        h('button', { type: 'button', class: 'btn', onclick: () => finish(false) }, no),
      ),
    );
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish(false);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Ask for a line of text in a modal dialog (at most `maxlength` characters); resolves the text or null. */
export function promptDialog(question, { value = '', label = question, required = false, maxlength = null } = {}) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'dialog-q' });
    const input = h('input', { id: 'dialog-input', type: 'text', value, required, maxlength, autocomplete: 'off' });
    const finish = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    const form = h(
      'form',
      { method: 'dialog', onsubmit: (event) => (event.preventDefault(), finish(input.value.trim())) },
      h('p', { id: 'dialog-q', class: 'dialog-question' }, question),
      h('label', { for: 'dialog-input', class: 'sr-only' }, label),
      input,
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'submit', class: 'btn btn-primary' }, t('common.ok')),
        h('button', { type: 'button', class: 'btn', onclick: () => finish(null) }, t('common.cancel')),
      ),
    );
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish(null);
    });
    dialog.append(form);
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

/**
 * Run `work` with `control` disabled and marked busy, so a second tap does nothing and the user sees that
 * something is happening. Focus comes back to the control if disabling it took focus away.
 */
export async function busy(control, work) {
  if (control.disabled) return undefined;
  const hadFocus = document.activeElement === control;
  control.disabled = true;
  control.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    control.disabled = false;
    control.removeAttribute('aria-busy');
    if (hadFocus && control.isConnected && (document.activeElement === document.body || !document.activeElement)) control.focus();
  }
}

/** Put an API failure into an error line (role=alert): its words, and a sign-in link when the session ran out. */
export function showError(el, failure) {
  const error = failure instanceof ApiError ? failure.error : { code: 'internal' };
  el.replaceChildren(errorText(error));
  if (failure instanceof ApiError && failure.status === 401) {
    el.append(' ', h('a', { href: loginUrl() }, t('conn.signInAgain')));
  }
  if (!(failure instanceof ApiError)) console.error(failure); // a bug in the page, not a refusal
}

export function clearError(el) {
  el.replaceChildren();
}

/** Fetch a file the API serves only with the session's token, and hand it to the browser as a download. */
export async function download(path, filename) {
  const blob = await request(path, { as: 'blob' });
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Fold Vietnamese for searching: lower case, no tone marks, đ as d ("Nguyễn" matches "nguyen"). */
export function fold(text) {
  return String(text || '')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/đ/g, 'd')
    .replace(/Đ/g, 'D')
    .toLowerCase();
}

/** Meeting id from ?m=ID (the login page links), or null. */
export function meetingIdFromUrl() {
  const value = new URLSearchParams(location.search).get('m');
  return value && /^\d+$/.test(value) ? Number(value) : null;
}

// ===== pages around the live connection ============================================================
/** Language, the language button, the large-text button: call first on every page. */
export async function bootPage() {
  await initLang();
  const langButton = $('#lang');
  if (langButton) bindLangToggle(langButton);
  const sizeButton = $('#text-size');
  if (sizeButton) {
    const apply = (large) => {
      document.body.classList.toggle('large', large);
      sizeButton.setAttribute('aria-pressed', String(large));
    };
    let large = false;
    try {
      large = localStorage.getItem('chibo.large') === '1';
    } catch {
      /* ignore */
    }
    apply(large);
    sizeButton.addEventListener('click', () => {
      large = !large;
      apply(large);
      try {
        localStorage.setItem('chibo.large', large ? '1' : '0');
      } catch {
        /* ignore */
      }
    });
  }
  addSignOut();
  applyI18n(document);
}

/** "Đăng xuất" in the page's header while someone is signed in (the sign-in page has its own, beside the list). */
function addSignOut() {
  const header = document.querySelector('header.bar');
  if (!header || !current() || document.getElementById('logout')) return;
  const control = h('button', { id: 'sign-out', type: 'button', class: 'btn btn-small', 'data-i18n': 'common.signOut' });
  control.addEventListener('click', async () => {
    await busy(control, signOut);
    location.assign('/');
  });
  header.append(control);
}

/** Show the connection's state in the header pill and the banners; returns a function to re-render. */
export function bindConnection(live) {
  const pill = $('#conn');
  const banner = $('#reconnecting');
  const expired = $('#expired');
  const relogin = $('#relogin');
  if (relogin) relogin.href = loginUrl();
  const render = () => {
    const status = live.status;
    if (pill) {
      pill.hidden = false;
      pill.dataset.state = status;
      const pending = live.pendingCount;
      pill.textContent = t(`conn.${status}`) + (pending ? ` · ${t('conn.pending', { n: pending })}` : '');
    }
    if (banner) banner.hidden = status !== 'reconnecting';
    if (expired) expired.hidden = status !== 'expired';
  };
  live.addEventListener('status', render);
  live.addEventListener('outbox', render);
  document.addEventListener('langchange', render);
  render();
  return render;
}

/** The signed-in session, or a trip to the sign-in page (which brings the user back here). */
export function requireSession() {
  const session = current();
  if (!session) {
    location.assign(loginUrl());
    return null;
  }
  return session;
}

// -- readings of state_to_json ---------------------------------------------------------------------------
export function names(state) {
  const map = new Map();
  for (const person of state?.roster || []) map.set(person.member_id, person.name);
  return map;
}

export function nameOf(state, memberId) {
  if (memberId == null) return '';
  return names(state).get(memberId) || t('common.member', { id: memberId });
}

export function currentItem(state) {
  return state?.agenda?.find((item) => item.id === state.current_item_id) || null;
}

export function queueOf(state, itemId = state?.current_item_id) {
  return (itemId && state?.queues?.[itemId]) || [];
}

export function attendanceOf(state, memberId) {
  return state?.attendance?.[String(memberId)] || { status: 'expected', mode: null };
}

export function rosterEntry(state, memberId) {
  return state?.roster?.find((p) => p.member_id === memberId) || null;
}

export function openVote(state) {
  return state?.open_vote_id ? state.votes[state.open_vote_id] : null;
}

/** The vote to show: the open one, else the last closed one of the current item. */
export function voteToShow(state) {
  const open = openVote(state);
  if (open) return open;
  const ofItem = Object.values(state?.votes || {}).filter((v) => v.item_id === state.current_item_id);
  return ofItem.length ? ofItem[ofItem.length - 1] : null;
}

/** Seconds left on the floor (negative when over), or seconds spoken when there is no limit. */
export function floorClock(state, nowMs) {
  const floor = state?.floor;
  if (!floor) return null;
  if (floor.deadline) return { left: (Date.parse(floor.deadline) - nowMs) / 1000, limited: true };
  return { left: (nowMs - Date.parse(floor.since)) / 1000, limited: false };
}

export function renderTimer(el, state, nowMs) {
  const clock = floorClock(state, nowMs);
  el.hidden = !clock;
  if (!clock) return;
  el.textContent = duration(clock.limited ? clock.left : clock.left);
  el.classList.toggle('over', clock.limited && clock.left < 0);
  el.classList.toggle('hall-timer-over', clock.limited && clock.left < 0);
}

/** Tally of a vote so far: remote ballots plus the hall's show of hands (the result once closed). */
export function runningTally(vote) {
  if (vote.result) return { ...vote.result };
  const counts = { votes_for: 0, votes_against: 0, votes_abstain: 0 };
  for (const choice of Object.values(vote.ballots || {})) {
    if (choice === 'for') counts.votes_for += 1;
    else if (choice === 'against') counts.votes_against += 1;
    else counts.votes_abstain += 1;
  }
  if (vote.hall_count) {
    counts.votes_for += vote.hall_count.votes_for;
    counts.votes_against += vote.hall_count.votes_against;
    counts.votes_abstain += vote.hall_count.votes_abstain;
  }
  return counts;
}

/** Attendance counts for the roster: in the room, online, excused, unexcused, not yet known, left. */
export function attendanceCounts(state) {
  const counts = { in_person: 0, remote: 0, absent_excused: 0, absent_unexcused: 0, expected: 0, left: 0 };
  for (const person of state?.roster || []) {
    const record = attendanceOf(state, person.member_id);
    if (record.status === 'present') counts[record.mode === 'remote' ? 'remote' : 'in_person'] += 1;
    else counts[record.status] = (counts[record.status] || 0) + 1;
  }
  return counts;
}

/** Keep a timer element ticking every second while the page is open. */
export function tick(fn) {
  fn();
  return setInterval(fn, 1000);
}

/** The chair's and clerk's consoles: while the meeting's journal is not open, a card to open it. */
export function bindOpenCard(live) {
  const card = $('#open-card');
  const render = () => (card.hidden = !live.state || live.state.opened);
  const button_ = $('#open-meeting');
  button_.addEventListener('click', async () => {
    button_.disabled = true;
    try {
      live.acceptState(await live.postToOwner(`/web/meetings/${live.meetingId}/open`));
      announce(t('common.opened'));
    } catch (error) {
      announce(errorText(error.error), 'error');
    } finally {
      button_.disabled = false;
    }
  });
  live.addEventListener('state', render);
  render();
}

/**
 * The minutes (biên bản) in the record viewer, where they are read, adopted and signed: a card shown from the
 * "reading and adopting the minutes" step on, and once the meeting has ended. `#record-card` holds a link
 * `#record-link`; the viewer itself checks who may read and who may sign.
 */
export function bindRecordCard(live) {
  const card = $('#record-card');
  if (!card) return;
  // The page it came from (chair, clerk, join), for the record page's way back.
  $('#record-link').href = `/web/meetings/${live.meetingId}/record?from=${location.pathname.slice(1)}`;
  const render = () => {
    const state = live.state;
    const item = state && currentItem(state);
    card.hidden = !state || !(state.status === 'ended' || item?.kind === 'minutes');
  };
  live.addEventListener('state', render);
  render();
}

