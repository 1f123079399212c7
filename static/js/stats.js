// Participation statistics (/stats), for the branch's secretary or deputy: per member across the branch's ended
// meetings, from GET /api/prep/branches/{id}/participation (meeting/stats.py): attendance and its rate, in the room
// or online, times spoken, action items done on time. A sortable table whose every figure is the API's own (a rate
// is shown as a percentage with the same digits), what each column counts, and the chart the API draws
// (participation.svg, fetched with the token and shown from an object URL).
import { $, bootPage, fill, h } from './common.js';
import { currentLang, dateOf, errorText, moment, t } from './i18n.js';
import { request } from './net.js';
import { PageState, count, percent } from './aftermeeting.js';

await bootPage();

const page = new PageState({
  allowed: (session) => session.role === 'secretary' || session.role === 'deputy',
  deniedKey: 'stats.notAllowed',
});
const session = page.gate();

// The table's columns, in the order shown: a count, a rate (0..1 or null) or the member's name.
const COLUMNS = [
  { key: 'name', kind: 'name' },
  { key: 'meetings_expected', kind: 'count' },
  { key: 'attended', kind: 'count' },
  { key: 'attendance_rate', kind: 'rate' },
  { key: 'in_room', kind: 'count' },
  { key: 'online', kind: 'count' },
  { key: 'late', kind: 'count' },
  { key: 'absent_excused', kind: 'count' },
  { key: 'absent_unexcused', kind: 'count' },
  { key: 'times_spoken', kind: 'count' },
  { key: 'opinions_recorded', kind: 'count' },
  { key: 'actions_assigned', kind: 'count' },
  { key: 'actions_done_on_time', kind: 'count' },
  { key: 'actions_done_late', kind: 'count' },
  { key: 'actions_overdue', kind: 'count' },
  { key: 'on_time_rate', kind: 'rate' },
];

const view = {
  data: null,
  query: '', // since=...&until=... as last asked
  sort: { key: null, dir: 'asc' }, // null: the API's order (the roster's)
  ticket: 0,
  chartUrl: null,
  chartTicket: 0,
};

// -- the period ---------------------------------------------------------------------------------------------------
function nextDay(iso) {
  const [year, month, day] = iso.split('-').map(Number);
  const date = new Date(Date.UTC(year, month - 1, day + 1));
  return date.toISOString().slice(0, 10);
}

/** The API's query for the chosen days (Vietnamese calendar days; the end day is included), or an error key. */
function periodQuery() {
  const since = $('#since').value;
  const until = $('#until').value;
  if (since && until && since > until) return { error: 'stats.badPeriod' };
  const params = new URLSearchParams();
  if (since) params.set('since', moment(since, '00:00'));
  if (until) params.set('until', moment(nextDay(until), '00:00'));
  return { query: params.toString() };
}

function periodLine(data) {
  const lastMoment = new Date(Date.parse(data.until) - 1).toISOString();
  return t('stats.periodShown', { since: dateOf(data.since), until: dateOf(lastMoment), meetings: data.summary.meetings });
}

// -- the table ----------------------------------------------------------------------------------------------------
function cellText(member, column) {
  if (column.kind === 'rate') return percent(member[column.key]);
  return count(member[column.key]);
}

function compare(a, b, column) {
  if (column.kind === 'name') return a.name.localeCompare(b.name, 'vi');
  const x = a[column.key];
  const y = b[column.key];
  if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1;
  if (y === null || y === undefined) return -1;
  return x - y;
}

function sortedMembers() {
  const members = view.data.members.slice();
  const column = COLUMNS.find((c) => c.key === view.sort.key);
  if (!column) return members;
  const sign = view.sort.dir === 'desc' ? -1 : 1;
  return members.sort((a, b) => {
    const order = compare(a, b, column);
    // Members without a figure (a rate with nothing to count) stay last whichever way the column is sorted.
    const missing = (m) => m[column.key] === null || m[column.key] === undefined;
    if (column.kind !== 'name' && (missing(a) || missing(b))) return order;
    return sign * order || a.member_id - b.member_id;
  });
}

function setSort(key, dir) {
  view.sort = { key, dir };
  renderTable();
}

function headerCell(column) {
  const sorted = view.sort.key === column.key;
  const label = t(`stats.columns.${column.key}`);
  const next = sorted && view.sort.dir === 'asc' ? 'desc' : sorted ? 'asc' : column.kind === 'name' ? 'asc' : 'desc';
  return h(
    'th',
    {
      scope: 'col',
      'aria-sort': sorted ? (view.sort.dir === 'asc' ? 'ascending' : 'descending') : null,
      dataset: { column: column.key },
    },
    h(
      'button',
      {
        type: 'button',
        id: `sort-${column.key}`,
        title: t(next === 'asc' ? 'stats.sortAscending' : 'stats.sortDescending', { column: label }),
        onclick: () => {
          setSort(column.key, next);
          $(`#sort-${column.key}`)?.focus();
        },
      },
      label,
      sorted ? h('span', { 'aria-hidden': 'true' }, view.sort.dir === 'asc' ? ' ▲' : ' ▼') : null,
    ),
  );
}

function memberRow(member) {
  return h(
    'tr',
    { dataset: { member: member.member_id } },
    h(
      'th',
      { scope: 'row', dataset: { column: 'name' } },
      member.name,
      h('br'),
      h('span', { class: 'muted' }, t(`category.${member.category}`)),
    ),
    COLUMNS.slice(1).map((column) => h('td', { class: 'num', dataset: { column: column.key } }, cellText(member, column))),
  );
}

function renderSortControls() {
  const by = $('#sort-by');
  fill(
    by,
    h('option', { value: '', selected: view.sort.key === null }, t('stats.rosterOrder')),
    COLUMNS.map((c) => h('option', { value: c.key, selected: view.sort.key === c.key }, t(`stats.columns.${c.key}`))),
  );
  by.value = view.sort.key ?? '';
  $('#sort-dir').value = view.sort.dir;
  $('#sort-dir').disabled = view.sort.key === null;
}

function renderTable() {
  const data = view.data;
  const empty = !data.members.length;
  $('#no-members').hidden = !empty;
  $('#table-block').hidden = empty;
  renderSortControls();
  $('#table-caption').textContent = t('stats.caption', { n: data.members.length });
  fill($('#stats-head'), COLUMNS.map(headerCell));
  fill($('#stats-body'), sortedMembers().map(memberRow));
  fill(
    $('#column-notes'),
    COLUMNS.map((c) => [h('dt', {}, t(`stats.columns.${c.key}`)), h('dd', {}, t(`stats.notes.${c.key}`))]),
  );
}

function figure(labelKey, value) {
  return h('div', { class: 'figure' }, h('strong', {}, value), h('span', {}, t(labelKey)));
}

function renderSummary() {
  const { summary, meetings } = view.data;
  fill(
    $('#summary'),
    figure('stats.summary.meetings', count(summary.meetings)),
    figure('stats.summary.attendance_rate', percent(summary.attendance_rate)),
    figure('stats.summary.in_room_share', percent(summary.in_room_share)),
    figure('stats.summary.times_spoken', count(summary.times_spoken)),
  );
  $('#meetings-summary').textContent = t('stats.meetingsCounted', { n: meetings.length });
  fill(
    $('#meetings'),
    meetings.length
      ? meetings.map((m) => h('li', {}, `${dateOf(m.scheduled_at)} · ${m.title}`))
      : h('li', { class: 'muted' }, t('stats.noMeetings')),
  );
}

function render() {
  if (!view.data) return;
  $('#period-shown').textContent = periodLine(view.data);
  renderSummary();
  renderTable();
}

// -- the chart ----------------------------------------------------------------------------------------------------
async function loadChart() {
  const ticket = ++view.chartTicket;
  const img = $('#chart');
  const status = $('#chart-status');
  status.className = 'after-loading';
  fill(status, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('stats.chartLoading'));
  const params = new URLSearchParams(view.query);
  params.set('lang', currentLang());
  let blob;
  try {
    blob = await request(`/api/prep/branches/${session.branchId}/participation.svg?${params}`, { as: 'blob' });
  } catch (error) {
    if (ticket !== view.chartTicket || page.handled(error)) return;
    status.className = 'error';
    fill(status, `${t('stats.chartFailed')} ${errorText(error.error)}`);
    return;
  }
  if (ticket !== view.chartTicket) return;
  const url = URL.createObjectURL(blob);
  img.onload = () => {
    if (ticket !== view.chartTicket) return;
    fill(status);
    status.className = 'after-loading';
    img.hidden = false;
  };
  img.onerror = () => {
    if (ticket !== view.chartTicket) return;
    status.className = 'error';
    fill(status, t('stats.chartFailed'));
  };
  img.alt = t('stats.chartAlt');
  img.src = url;
  if (view.chartUrl) URL.revokeObjectURL(view.chartUrl);
  view.chartUrl = url;
}

// -- loading ------------------------------------------------------------------------------------------------------
async function load(query) {
  const ticket = ++view.ticket;
  page.loading(true);
  $('#period-submit').disabled = true;
  try {
    const data = await request(`/api/prep/branches/${session.branchId}/participation${query ? `?${query}` : ''}`);
    if (ticket !== view.ticket) return;
    view.data = data;
    view.query = query;
  } catch (error) {
    if (ticket !== view.ticket) return;
    if (view.data && !page.handled(error)) {
      page.loading(false);
      $('#period-error').textContent = errorText(error.error);
    } else if (!view.data) page.fail(error, () => load(query));
    return;
  } finally {
    if (ticket === view.ticket) $('#period-submit').disabled = false;
  }
  page.shown();
  render();
  document.documentElement.dataset.ready = 'stats';
  await loadChart();
}

if (session) {
  $('#period-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const asked = periodQuery();
    $('#period-error').textContent = asked.error ? t(asked.error) : '';
    if (asked.error) {
      $('#since').focus();
      return;
    }
    load(asked.query);
  });
  $('#sort-by').addEventListener('change', (event) => {
    const key = event.target.value || null;
    const column = COLUMNS.find((c) => c.key === key);
    setSort(key, column && column.kind !== 'name' ? 'desc' : 'asc');
  });
  $('#sort-dir').addEventListener('change', (event) => setSort(view.sort.key, event.target.value));
  document.addEventListener('langchange', () => {
    render();
    if (view.data) loadChart();
  });
  window.addEventListener('pagehide', () => view.chartUrl && URL.revokeObjectURL(view.chartUrl));
  load('');
}
