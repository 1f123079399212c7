// The draft minutes (biên bản) read inside the meeting, at the step where they are read and adopted: a
// full-screen dialog over the member's page. The page underneath stays as it is (the audio, the live connection),
// and what speaks to the member while they read comes into the dialog with them: the vote card (members vote
// on adoption while reading) and the notices. Back closes the dialog (a history entry of its own), as does its
// button and Escape; the keyboard goes back to the button that opened it.
import { $, h } from './common.js';
import { clock, errorText, t } from './i18n.js';
import { request } from './net.js';

const HISTORY_MARK = 'chibo-minutes-panel';
const RELOAD_DELAY_MS = 800; // the clerk types in bursts: one fetch after a burst, not one per keystroke saved

/** What of the live state the draft shows and changes often: the clerk's entries and the votes. */
function fingerprint(state) {
  if (!state) return '';
  const entries = (state.minutes || []).map((entry) => [entry.id, entry.text, entry.speaker_id, entry.kind]);
  const votes = Object.values(state.votes || {}).map((vote) => [vote.id, vote.status]);
  return JSON.stringify([state.status, state.current_item_id, entries, votes]);
}

export class MinutesPanel {
  /**
   * @param {object} options
   * @param {import('./net.js').LiveMeeting} options.live  the meeting's live connection (state events)
   * @param {HTMLElement} options.opener  the button that opens the panel (focus returns to it)
   * @param {HTMLElement[]} options.carried  elements shown inside the panel while it is open (vote card, notices)
   */
  constructor({ live, opener, carried }) {
    this.live = live;
    this.opener = opener;
    this.carried = carried;
    this.dialog = $('#record-panel');
    this.body = $('#record-panel-body');
    this.status = $('#record-panel-status');
    this.updated = $('#record-panel-updated');
    this.sizeButton = $('#record-panel-size');
    this.shown = '';
    this.loading = null;
    this.again = false;
    this.timer = null;
    this.seen = fingerprint(live.state);
    this.voteSeen = live.state?.open_vote_id ?? null;
    this.placeholders = new Map();
    this.returnFocus = null;
    this.leaving = null; // while the history entry of a panel just closed is being taken away

    $('#record-panel-close').addEventListener('click', () => this.close());
    this.dialog.addEventListener('cancel', (event) => {
      event.preventDefault(); // Escape: the same way out as the button, history included
      this.close();
    });
    this.sizeButton.addEventListener('click', () => {
      $('#text-size')?.click(); // the page's own "Chữ to", which the page keeps on this device
      this.syncSize();
    });
    window.addEventListener('popstate', () => {
      if (this.leaving) return this.leaving.done(); // the entry our own close took away
      if (this.isOpen) this.close({ fromHistory: true });
    });
    live.addEventListener('state', () => this.onState());
  }

  get isOpen() {
    return this.dialog.open;
  }

  async open() {
    if (this.leaving) await this.leaving.promise; // closed a moment ago: its history entry goes first
    if (this.isOpen) return;
    this.returnFocus = document.activeElement instanceof HTMLElement ? document.activeElement : this.opener;
    const slot = $('#record-panel-vote');
    for (const element of this.carried) {
      const mark = document.createComment(element.id);
      element.before(mark);
      this.placeholders.set(element, mark);
      (element.id === 'toast' ? this.dialog : slot).append(element);
    }
    this.dialog.showModal();
    history.pushState({ [HISTORY_MARK]: true }, '');
    this.syncSize();
    this.voteSeen = this.live.state?.open_vote_id ?? null;
    $('#record-panel-title').focus();
    this.load();
  }

  /** Close the panel; `fromHistory`: Back was pressed (its history entry is gone already). */
  close({ fromHistory = false } = {}) {
    if (!this.isOpen) return;
    this.dialog.close();
    for (const [element, mark] of this.placeholders) {
      mark.replaceWith(element);
    }
    this.placeholders.clear();
    if (!fromHistory && history.state?.[HISTORY_MARK]) this.leaveHistoryEntry();
    clearTimeout(this.timer);
    const target = this.returnFocus?.isConnected && !this.returnFocus.closest('[hidden]') ? this.returnFocus : this.opener;
    target.focus();
  }

  /** Take the panel's history entry away (Back would otherwise first "close" a panel already closed). */
  leaveHistoryEntry() {
    let done;
    const promise = new Promise((resolve) => (done = resolve));
    const timer = setTimeout(() => this.leaving?.done(), 1000); // should the browser never say it went back
    this.leaving = {
      promise,
      done: () => {
        clearTimeout(timer);
        this.leaving = null;
        done();
      },
    };
    history.back();
  }

  syncSize() {
    this.sizeButton.setAttribute('aria-pressed', String(document.body.classList.contains('large')));
  }

  onState() {
    const state = this.live.state;
    const now = fingerprint(state);
    const changed = now !== this.seen;
    this.seen = now;
    if (!this.isOpen) return;
    const vote = state?.open_vote_id ?? null;
    if (vote && vote !== this.voteSeen) {
      // Said inside the dialog (the page underneath is inert while it is open): a vote the member can cast above.
      // The vote card itself shows it on the screen: the words are for screen readers.
      this.say(t('member.draftVoteOpened', { question: state.votes[vote]?.question ?? '' }), { quiet: true });
    } else if (!vote && this.voteSeen) this.say('');
    this.voteSeen = vote;
    if (changed) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.load(), RELOAD_DELAY_MS);
    }
  }

  say(text, { isError = false, quiet = false } = {}) {
    this.status.textContent = text;
    this.status.classList.toggle('error', isError);
    this.status.classList.toggle('sr-only', quiet);
  }

  /** Fetch the draft as the record viewer shows it (the server's HTML, escaped, no script) and put it in place. */
  async load() {
    if (this.loading) {
      this.again = true; // changed again while fetching: fetch once more afterwards
      return this.loading;
    }
    if (!this.shown) this.body.replaceChildren(h('p', { class: 'muted' }, t('member.draftLoading')));
    this.loading = (async () => {
      try {
        const html = await request(`/api/meetings/${this.live.meetingId}/record.html`, { as: 'text' });
        if (html !== this.shown) this.show(html);
        this.updated.textContent = t('member.draftUpdated', { time: clock(new Date().toISOString()) });
        if (this.status.classList.contains('error')) this.say('');
      } catch (error) {
        this.say(t('member.draftFailed', { error: errorText(error.error) }), { isError: true });
        const retry = h('button', { type: 'button', class: 'btn', onclick: () => this.load() }, t('member.draftRetry'));
        if (!this.shown) this.body.replaceChildren(retry);
      }
    })();
    try {
      await this.loading;
    } finally {
      this.loading = null;
    }
    if (this.again && this.isOpen) {
      this.again = false;
      return this.load();
    }
  }

  show(html) {
    const article = new DOMParser().parseFromString(html, 'text/html').querySelector('article');
    if (!article) return;
    const scrolled = this.body.scrollTop; // the reader keeps their place when the clerk changes a line
    for (const wrap of article.querySelectorAll('.table-wrap')) {
      // A wide table scrolls sideways on a phone: reachable and named for the keyboard and screen readers.
      wrap.setAttribute('tabindex', '0');
      wrap.setAttribute('role', 'region');
      wrap.setAttribute('aria-label', wrap.querySelector('th')?.textContent || t('member.draftTitle'));
    }
    this.body.replaceChildren(document.importNode(article, true));
    this.body.scrollTop = scrolled;
    this.shown = html;
  }
}
