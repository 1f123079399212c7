// What the parts of the preparation page (/branch) share: a button that shows it is working, an error said
// in the reader's language (with a way back to the sign-in page when the session has run out), dates and times
// in the meeting's time zone, and files fetched with the session's token.
import { h } from './common.js';
import { currentLang, errorText, t } from './i18n.js';
import { ApiError, loginUrl, request, token } from './net.js';

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

const ZONE = 'Asia/Ho_Chi_Minh'; // Viet Nam: UTC+7 all year
const OFFSET = '+07:00';

function locale() {
  return currentLang() === 'en' ? 'en-GB' : 'vi-VN';
}

/** "Thứ Ba, 15/01/2030, 19:30": a day and time in the meeting's time zone. */
export function dayTime(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleString(locale(), {
    weekday: 'long',
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZone: ZONE,
  });
}

/** "15/01/2030 19:30": shorter, for lists. */
export function shortTime(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleString(locale(), {
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZone: ZONE,
  });
}

/** "15/01/2030" for a date ("2030-01-15") the server gives without a time. */
export function plainDate(isoDate) {
  const [year, month, day] = String(isoDate || '').split('-');
  return day ? `${day}/${month}/${year}` : '';
}

/** A date and a time of day typed on the page, as the moment they mean in Viet Nam. */
export function moment(date, time) {
  return `${date}T${time}:00${OFFSET}`;
}

/** The day ("2030-01-15") and time of day ("19:30") a moment falls on in Viet Nam: what the form fields hold. */
export function localParts(iso) {
  const at = new Date(iso);
  const date = at.toLocaleDateString('en-CA', { timeZone: ZONE });
  const time = at.toLocaleTimeString('en-GB', { timeZone: ZONE, hour: '2-digit', minute: '2-digit', hour12: false });
  return { date, time };
}

/** Today's date in Viet Nam ("2030-01-15"), whatever this device's own zone is. */
export function today() {
  return new Date().toLocaleDateString('en-CA', { timeZone: ZONE });
}

/** "2,4 MB", "180 KB" */
export function size(bytes) {
  const format = (n) => n.toLocaleString(locale(), { maximumFractionDigits: 1 });
  if (bytes >= 1024 * 1024) return `${format(bytes / (1024 * 1024))} MB`;
  return `${format(Math.max(1, Math.round(bytes / 1024)))} KB`;
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

/** Send a form with a file (multipart) to the API; the answer's JSON, or an ApiError as `request` gives. */
export async function upload(path, form) {
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await token()}`, Accept: 'application/json' },
      body: form,
      cache: 'no-store',
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, { code: 'network' });
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON */
  }
  if (!response.ok) throw new ApiError(response.status, body?.error || { code: response.status === 413 ? 'document_too_large' : 'internal' });
  return body;
}

/** Replace an element's children and put focus back on the element with the same id, if it had it. */
export function replaceKeepingFocus(el, nodes) {
  const active = document.activeElement;
  const focusedId = active && el.contains(active) ? active.id : null;
  el.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
  if (focusedId && !el.contains(document.activeElement)) document.getElementById(focusedId)?.focus();
}

/** People of the branch who may be given a task (presenter, prepared opinion): not guests, still active. */
export function assignable(members) {
  return members.filter((m) => m.active && m.category !== 'guest');
}

/** An <option> list of members, with an empty first choice when `empty` names it. */
export function memberOptions(members, chosen = null, empty = null) {
  const options = members.map((m) => h('option', { value: m.id, selected: m.id === chosen }, m.full_name));
  return empty ? [h('option', { value: '', selected: chosen == null }, empty), ...options] : options;
}
