// The review of the last resolution (the agenda item of kind "review"): the previous meeting's action items
// ("5 rõ": task, who carries it out, deadline, who answers for it, expected result) with their status today,
// on the chair's console and on the hall's screen.
//
// The list comes from GET /api/meetings/{id}/review. It is fetched when the review step becomes current (seen
// in the live state the page already follows), again each time it becomes current, and on the chair's console
// when the chair opens the list before the step starts: never on every update of the state.
import { $, fill, h } from './common.js';
import { dayText, errorText, t } from './i18n.js';
import { request } from './net.js';

const ORDER = { overdue: 0, open: 1, done: 2 };
const PILL = { overdue: 'pill-bad', open: 'pill-warn', done: 'pill-ok' };
const HALL_SHOWN = 6; // rows readable from the back of the room; the rest are counted ("and 3 more tasks")

/** The meeting's review item, or null (a thematic meeting has none). */
export function reviewItem(state) {
  return state?.agenda?.find((item) => item.kind === 'review') || null;
}

function isCurrent(state, item) {
  return Boolean(item) && item.id === state.current_item_id;
}

/** Those still to do first (overdue, then in progress, then done), in the server's order within each. */
export function ordered(items) {
  return items.slice().sort((a, b) => (ORDER[a.status] ?? 9) - (ORDER[b.status] ?? 9));
}

export function counts(data) {
  const found = { open: 0, done: 0, overdue: 0 };
  for (const row of data.items) found[row.status] = (found[row.status] || 0) + 1;
  return found;
}

/** The status in words, coloured: the word carries the meaning, the colour only helps. */
export function statusPill(status) {
  return h('span', { class: `pill ${PILL[status] || ''} review-status`.trim() }, t(`review.states.${status}`));
}

function summaryLine(data) {
  const found = counts(data);
  return t('review.summary', { done: found.done, total: data.items.length });
}

function countsLine(data) {
  const found = counts(data);
  return t('review.counts', { overdue: found.overdue, open: found.open });
}

/** The list for one page: what was fetched, the failure if any, and whether a fetch is under way. */
export class ReviewList {
  constructor(meetingId, onChange) {
    this.meetingId = meetingId;
    this.onChange = onChange;
    this.data = null;
    this.error = null;
    this.loading = false;
    this.current = false;
    this.ticket = 0;
  }

  /** Called with every state: fetches when the review step has just become current; true when it has. */
  follow(state) {
    const now = isCurrent(state, reviewItem(state));
    const became = now && !this.current;
    this.current = now;
    if (became) this.load();
    return became;
  }

  async load() {
    const ticket = ++this.ticket; // a late answer to an older fetch is dropped
    this.loading = true;
    this.error = null;
    this.onChange();
    try {
      const data = await request(`/api/meetings/${this.meetingId}/review`);
      if (ticket !== this.ticket) return;
      this.data = data;
    } catch (error) {
      if (ticket !== this.ticket) return;
      this.error = error;
      this.data = null; // an old list must not pass for today's
    }
    this.loading = false;
    this.onChange();
  }
}

function failure(list, retry) {
  return h(
    'div',
    { class: 'notice review-failed', role: 'alert' },
    h('p', {}, t('review.failed')),
    list.error?.error?.code === 'network' ? null : h('p', {}, errorText(list.error.error)),
    retry ? h('button', { type: 'button', class: 'btn btn-small', onclick: retry }, t('review.retry')) : null,
  );
}

// -- the chair's console -------------------------------------------------------------------------------------
function chairRow(row, previousId) {
  const carried = previousId != null && row.meeting_id != null && row.meeting_id !== previousId;
  return h(
    'li',
    { class: 'review-row', dataset: { action: row.action_id, status: row.status } },
    h(
      'div',
      { class: 'grow' },
      h('p', { class: 'review-task' }, row.task, carried ? h('span', { class: 'muted' }, ` (${t('review.carried')})`) : null),
      h(
        'p',
        { class: 'review-meta' },
        `${t('review.assignee')}: ${row.assignee} · ${t('review.deadline')}: ${dayText(row.deadline)} · `,
        `${t('review.responsible')}: ${row.responsible}`,
      ),
      h('p', { class: 'review-meta' }, `${t('review.result')}: ${row.expected_result}`),
    ),
    statusPill(row.status),
  );
}

/** The chair's card (#review-card): shown while the review step is to come or under way. */
export function bindChairReview(live) {
  const card = $('#review-card');
  const details = $('#review-details');
  const list = new ReviewList(live.meetingId, render);
  // Before the step starts, the chair may open the list to look at it: fetched then, once.
  details.addEventListener('toggle', () => {
    if (details.open && !list.data && !list.loading) list.load();
  });

  function render() {
    const state = live.state;
    const item = reviewItem(state);
    const current = isCurrent(state, item);
    card.hidden = !item || !(current || item.status === 'pending');
    if (card.hidden) return;
    $('#review-when').textContent = current ? t('review.now') : t('review.preview');
    $('#review-summary').textContent = list.data && !list.error ? `${summaryLine(list.data)} (${countsLine(list.data)})` : '';
    let body;
    if (list.error) body = failure(list, () => list.load());
    else if (list.data && !list.data.items.length) body = h('p', { class: 'review-empty' }, t('review.empty'));
    else if (list.data) {
      body = h(
        'ul',
        { class: 'list review-list', 'aria-labelledby': 'review-heading' },
        ordered(list.data.items).map((row) => chairRow(row, list.data.previous_meeting_id)),
      );
    } else body = list.loading ? h('p', { class: 'muted' }, t('review.loading')) : null;
    fill($('#review-body'), body);
  }

  live.addEventListener('state', () => {
    if (list.follow(live.state)) details.open = true; // the step has begun: the list opens by itself
    render();
  });
  document.addEventListener('langchange', () => live.state && render());
}

// -- the hall's screen ---------------------------------------------------------------------------------------
function hallTable(items) {
  const shown = ordered(items).slice(0, HALL_SHOWN);
  return [
    h(
      'table',
      { class: 'review-table' },
      h('thead', {}, h('tr', {}, ['task', 'assignee', 'deadline', 'status'].map((key) => h('th', { scope: 'col' }, t(`review.${key}`))))),
      h(
        'tbody',
        {},
        shown.map((row) =>
          h(
            'tr',
            { dataset: { action: row.action_id, status: row.status } },
            h('td', {}, row.task),
            h('td', {}, row.assignee),
            h('td', { class: 'num' }, dayText(row.deadline)),
            h('td', {}, statusPill(row.status)),
          ),
        ),
      ),
    ),
    items.length > HALL_SHOWN ? h('p', { class: 'muted review-more' }, t('review.more', { n: items.length - HALL_SHOWN })) : null,
  ];
}

/** The hall's card (#review-card): large, only while the review step is under way. */
export function bindHallReview(live) {
  const card = $('#review-card');
  const list = new ReviewList(live.meetingId, render);

  function render() {
    const state = live.state;
    const current = isCurrent(state, reviewItem(state));
    card.hidden = !current;
    if (!current) return;
    const data = list.error ? null : list.data;
    fill(
      $('#review-summary'),
      data && data.items.length ? [h('strong', {}, summaryLine(data)), ' ', h('span', { class: 'muted' }, `(${countsLine(data)})`)] : null,
    );
    let body;
    if (list.error) body = failure(list, null);
    else if (data && !data.items.length) body = h('p', { class: 'review-empty' }, t('review.empty'));
    else if (data) body = hallTable(data.items);
    else body = list.loading ? h('p', { class: 'muted' }, t('review.loading')) : null;
    fill($('#review-body'), body);
  }

  live.addEventListener('state', () => {
    list.follow(live.state);
    render();
  });
  document.addEventListener('langchange', () => live.state && render());
}
