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

/** A time of day (HH:MM) in the meeting's local time zone. */
export function clock(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return date.toLocaleTimeString(lang === 'en' ? 'en-GB' : 'vi-VN', {
    hour: '2-digit',
    minute: '2-digit',
    timeZone: 'Asia/Ho_Chi_Minh',
  });
}

/** Day and time of a meeting ("Thứ Hai, 23/11, 07:30"), in the meeting's time zone. */
export function when(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleString(lang === 'en' ? 'en-GB' : 'vi-VN', {
    weekday: 'long',
    day: 'numeric',
    month: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZone: 'Asia/Ho_Chi_Minh',
  });
}

/** "m:ss" for a number of seconds (negative shown as overtime with a minus sign). */
export function duration(seconds) {
  const sign = seconds < 0 ? '−' : '';
  const s = Math.abs(Math.round(seconds));
  return `${sign}${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
