// Every word the apps show comes from one table per language (static/i18n/vi.js, en.js).
// Vietnamese is loaded with the page; English only when someone switches to it.
import vi from '../i18n/vi.js';

const LANG_KEY = 'chibo.lang';
let lang = 'vi';
let table = vi;

/** The current language code: "vi" or "en". */
export function currentLang() {
  return lang;
}

function lookup(source, key) {
  let node = source;
  for (const part of key.split('.')) {
    if (node == null || typeof node !== 'object') return undefined;
    node = node[part];
  }
  return typeof node === 'string' ? node : undefined;
}

/** The text for `key` with {name} placeholders filled; Vietnamese if the other table lacks it. */
export function t(key, params = {}) {
  const template = lookup(table, key) ?? lookup(vi, key) ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** An error from the API or the hub, in the reader's language. */
export function errorText(error) {
  if (!error) return t('errors.internal');
  if (lang === 'en' && error.message_en) return error.message_en;
  if (lang !== 'en' && error.message) return error.message;
  const local = lookup(table, `errors.${error.code}`);
  return local ?? t('errors.internal');
}

/** Fill every [data-i18n] element (text) and [data-i18n-attr] ("attr:key;attr:key") under root. */
export function applyI18n(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':');
      if (attr && key) el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
  document.documentElement.lang = lang;
}

async function load(code) {
  if (code === 'en') return (await import('../i18n/en.js')).default;
  return vi;
}

/** Switch language, remember it on this device, refill the page and tell the app (event "langchange"). */
export async function setLang(code) {
  table = await load(code);
  lang = code === 'en' ? 'en' : 'vi';
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
  applyI18n(document);
  document.dispatchEvent(new CustomEvent('langchange', { detail: lang }));
}

/** Start in the language chosen before on this device (Vietnamese otherwise). */
export async function initLang() {
  let saved = 'vi';
  try {
    saved = localStorage.getItem(LANG_KEY) || 'vi';
  } catch {
    /* ignore */
  }
  if (saved === 'en') {
    table = await load('en');
    lang = 'en';
  }
  applyI18n(document);
}

/** Wire a button that toggles between the two languages. */
export function bindLangToggle(button) {
  const render = () => {
    // The button names the other language, in that language, so anyone can find their way back.
    button.textContent = lang === 'en' ? 'Tiếng Việt' : 'English';
    button.lang = lang === 'en' ? 'vi' : 'en';
  };
  render();
  button.addEventListener('click', async () => {
    await setLang(lang === 'en' ? 'vi' : 'en');
    render();
  });
  document.addEventListener('langchange', render);
}

// ===== dates and times ==========================================================================
// One set for every page, all in the meeting's time zone whatever this device's own zone is.

const ZONE = 'Asia/Ho_Chi_Minh'; // Viet Nam: UTC+7 all year
const OFFSET = '+07:00';

function locale() {
  return lang === 'en' ? 'en-GB' : 'vi-VN';
}

/** A time of day ("19:30"). */
export function clock(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit', timeZone: ZONE });
}

/** "Thứ Ba, 15/01/2030, 19:30": the day and time of a meeting (or of anything else said in full). */
export function when(iso) {
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

/** "15/01/2030": the calendar day an instant falls on. */
export function dateOf(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleDateString(locale(), { day: '2-digit', month: '2-digit', year: 'numeric', timeZone: ZONE });
}

/** "2030-01-15" -> "15/01/2030": a date the server gives without a time (both languages write the day first). */
export function dayText(isoDate) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate || '');
  return match ? `${match[3]}/${match[2]}/${match[1]}` : '';
}

/** The calendar day ("2030-01-15") an instant (a Date or an ISO string) falls on: what a date field holds. */
export function isoDayOf(instant) {
  return new Date(instant).toLocaleDateString('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' });
}

/** Today's date ("2030-01-15"). */
export function today() {
  return isoDayOf(new Date());
}

/** The day ("2030-01-15") and time of day ("19:30") a moment falls on: what the form fields hold. */
export function localParts(iso) {
  const time = new Date(iso).toLocaleTimeString('en-GB', { timeZone: ZONE, hour: '2-digit', minute: '2-digit', hour12: false });
  return { date: isoDayOf(iso), time };
}

/** A date and a time of day typed on a page ("2030-01-15", "19:30"), as the moment they mean in Viet Nam. */
export function moment(date, time) {
  return `${date}T${time}:00${OFFSET}`;
}

/** "m:ss" for a number of seconds (negative shown as overtime with a minus sign). */
export function duration(seconds) {
  const sign = seconds < 0 ? '−' : '';
  const s = Math.abs(Math.round(seconds));
  return `${sign}${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
