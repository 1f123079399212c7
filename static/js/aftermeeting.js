// What the after-meeting pages (/resolutions, /stats, /commune) share: who may open them (a signed-out visitor is
// sent to sign in and brought back; someone without the role is told so plainly), the loading / failed / shown
// states of the page, and the numbers they print (a rate as a percentage, a count). Dates: i18n.js.
import { $ } from './common.js';
import { currentLang, errorText, t } from './i18n.js';
import { current, loginUrl } from './net.js';

/** To the sign-in page, which brings the visitor back here afterwards (/?next=/resolutions). */
export function toSignIn() {
  location.assign(loginUrl());
}

/** A session signed in with a password and not yet expired (an invite link's session reaches its meeting only). */
function usableSession() {
  const session = current();
  if (!session || session.meetingId || !session.token) return null;
  if (session.exp <= Date.now() / 1000) return null;
  return session;
}

/**
 * The page's states: #loading (progress), #denied (not allowed), #failed (with a retry button) and #content.
 * Each page calls `gate()` first: null means the page shows nothing more (sent to sign in, or not allowed).
 */
export class PageState {
  constructor({ allowed, deniedKey }) {
    this.allowed = allowed;
    this.deniedKey = deniedKey;
    this.retry = null;
    this.error = null;
    $('#retry')?.addEventListener('click', () => this.retry?.());
    document.addEventListener('langchange', () => {
      if (this.error) $('#failed-text').textContent = errorText(this.error.error);
    });
  }

  gate() {
    const session = usableSession();
    if (!session) {
      toSignIn();
      return null;
    }
    if (!this.allowed(session)) {
      this.deny();
      return null;
    }
    return session;
  }

  loading(on) {
    $('#loading').hidden = !on;
    $('#main').setAttribute('aria-busy', String(on));
  }

  deny() {
    this.loading(false);
    $('#content').hidden = true;
    $('#failed').hidden = true;
    const denied = $('#denied');
    denied.dataset.i18n = this.deniedKey; // said again in the other language when the reader switches
    denied.textContent = t(this.deniedKey);
    denied.hidden = false;
  }

  /** A failure of the first load: said plainly, with a button to try again. */
  fail(error, retry) {
    if (this.handled(error)) return;
    this.loading(false);
    this.error = error;
    $('#failed-text').textContent = errorText(error.error);
    $('#failed').hidden = false;
    this.retry = () => {
      this.error = null;
      $('#failed').hidden = true;
      retry();
    };
  }

  shown() {
    this.loading(false);
    $('#failed').hidden = true;
    $('#content').hidden = false;
  }

  /** An expired session goes to sign in; a refusal of the role is the not-allowed notice. True when handled. */
  handled(error) {
    if (error?.status === 401) {
      toSignIn();
      return true;
    }
    if (error?.status === 403 && ['forbidden', 'commune_admin_only'].includes(error.code)) {
      this.deny();
      return true;
    }
    return false;
  }
}

function locale() {
  return currentLang() === 'en' ? 'en-GB' : 'vi-VN';
}

/**
 * A rate the API gives as a fraction with four decimals (0.8333) as a percentage with the same digits
 * ("83,33%"): nothing is rounded away. null (nothing to count) is a dash.
 */
export function percent(rate) {
  if (rate === null || rate === undefined) return '—';
  const hundredths = Math.round(rate * 10000); // exact: the API rounds to four decimals
  const value = hundredths / 100;
  return `${new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 }).format(value)}%`;
}

/** A whole number in the reader's language. */
export function count(value) {
  return value === null || value === undefined ? '—' : new Intl.NumberFormat(locale()).format(value);
}
