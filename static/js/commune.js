// The commune committee's overview of its branches (/commune), for the commune admin (role "admin"): one month
// at a time, from GET /api/commune/overview (meeting/commune.py): whether each branch held its monthly meeting,
// whether its report is late, attendance. A branch meeting's report (DOCX or PDF) is downloaded once the branch
// has sent it; its minutes open only when the branch shared them. Minutes not shared are a fact about the branch,
// said as such ("Chi bộ chưa chia sẻ biên bản"), never shown as an error.
import { $, announce, bootPage, busy, button, download, fill, h } from './common.js';
import { dateOf, dayText, errorText, t, today } from './i18n.js';
import { request } from './net.js';
import { PageState, count, percent } from './aftermeeting.js';

await bootPage();

const page = new PageState({ allowed: (session) => session.role === 'admin', deniedKey: 'commune.notAllowed' });
const session = page.gate();

const MONTHLY_PILL = { held: 'pill-ok', planned: 'pill-warn', not_planned: 'pill-warn', late: 'pill-bad', missing: 'pill-bad' };
const REPORT_PILL = { submitted: 'pill-ok', submitted_late: 'pill-warn', due: 'pill-warn', late: 'pill-bad' };

const view = {
  data: null,
  month: null, // "YYYY-MM" asked for (null: the current month, as the API decides)
  ticket: 0,
  minutes: new Map(), // meeting id -> the shared minutes, while open
  unshared: new Set(), // meetings whose minutes the API said are not shared (since the overview was read)
};

// -- months -------------------------------------------------------------------------------------------------------
function shiftMonth(label, by) {
  const [year, month] = label.split('-').map(Number);
  const index = year * 12 + (month - 1) + by;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

function monthText(label) {
  const [year, month] = label.split('-');
  return `${month}/${year}`;
}

// -- downloads and minutes ----------------------------------------------------------------------------------------
function downloadReport(meeting, fmt, control) {
  return busy(control, async () => {
    try {
      await download(`/api/commune/meetings/${meeting.meeting_id}/report.${fmt}`, `bao-cao-hop-chi-bo-${meeting.meeting_id}.${fmt}`);
      announce(t('commune.downloaded'));
    } catch (error) {
      if (!page.handled(error)) announce(errorText(error.error), 'error');
    }
  });
}

async function openMinutes(meeting) {
  try {
    view.minutes.set(meeting.meeting_id, await request(`/api/commune/meetings/${meeting.meeting_id}/minutes`));
  } catch (error) {
    if (error.code === 'minutes_not_shared') {
      // Not an error: the branch keeps its minutes. Said in the meeting's block, where the button was.
      view.unshared.add(meeting.meeting_id);
      render();
      $(`#meeting-${meeting.meeting_id}-minutes-note`)?.focus();
      return;
    }
    if (!page.handled(error)) announce(errorText(error.error), 'error');
    return;
  }
  render();
  $(`#minutes-${meeting.meeting_id}-heading`)?.focus();
}

function closeMinutes(meeting) {
  view.minutes.delete(meeting.meeting_id);
  render();
  $(`#minutes-open-${meeting.meeting_id}`)?.focus();
}

// -- rendering ----------------------------------------------------------------------------------------------------
function pill(classes, text) {
  return h('span', { class: `pill ${classes || ''}`.trim() }, text);
}

function minutesView(meeting, minutes) {
  const id = meeting.meeting_id;
  return h(
    'section',
    { class: 'stack minutes-view', 'aria-labelledby': `minutes-${id}-heading` },
    h('h4', { id: `minutes-${id}-heading`, tabindex: '-1' }, t('commune.minutesOf', { title: minutes.title })),
    minutes.items.map((item) =>
      h(
        'div',
        { class: 'minutes-item' },
        h('h5', {}, item.title),
        item.entries.map((entry) =>
          h('p', {}, h('strong', {}, `${entry.speaker || t(`commune.entryKinds.${entry.kind}`)}: `), entry.text),
        ),
        item.conclusion ? h('p', {}, h('strong', {}, `${t('commune.conclusion')}: `), item.conclusion) : null,
        !item.entries.length && !item.conclusion ? h('p', { class: 'muted' }, t('commune.itemEmpty')) : null,
      ),
    ),
    button(t('commune.closeMinutes'), minutes.title, () => closeMinutes(meeting)),
  );
}

function meetingBlock(branch, meeting) {
  const id = meeting.meeting_id;
  const about = `${branch.name} — ${meeting.title}`;
  const report = meeting.report;
  const attendance = meeting.attendance;
  const ended = meeting.status === 'ended';
  const shared = report?.minutes_shared && !view.unshared.has(id);
  const minutes = view.minutes.get(id);
  let reportLine = null;
  if (report) {
    const when = report.submitted_at
      ? t('commune.sentOn', { date: dateOf(report.submitted_at) })
      : t('commune.dueOn', { date: dayText(report.due) });
    reportLine = h('p', {}, `${t('commune.report')}: `, pill(REPORT_PILL[report.state], t(`commune.reportStates.${report.state}`)), ` ${when}`);
  }
  const actions = [];
  if (report?.submitted_at) {
    actions.push(button(t('commune.downloadDocx'), about, (event) => downloadReport(meeting, 'docx', event.currentTarget)));
    actions.push(button(t('commune.downloadPdf'), about, (event) => downloadReport(meeting, 'pdf', event.currentTarget)));
  }
  if (shared && !minutes) {
    const open = button(t('commune.openMinutes'), about, () => openMinutes(meeting));
    open.id = `minutes-open-${id}`;
    actions.push(open);
  }
  return h(
    'div',
    { class: 'branch-meeting', dataset: { meeting: id } },
    h(
      'p',
      {},
      h('strong', {}, meeting.title),
      ` · ${t(`commune.kinds.${meeting.kind}`)} · ${dateOf(meeting.scheduled_at)} · ${t(`status.${meeting.status}`)}`,
    ),
    attendance
      ? h(
          'p',
          { class: 'num' },
          t('commune.attendance', { present: count(attendance.present), expected: count(attendance.expected), rate: percent(attendance.rate) }),
        )
      : null,
    reportLine,
    actions.length ? h('div', { class: 'row' }, actions) : null,
    ended && !shared
      ? h('p', { class: 'not-shared', id: `meeting-${id}-minutes-note`, tabindex: '-1' }, t('commune.notShared'))
      : null,
    minutes ? minutesView(meeting, minutes) : null,
  );
}

function branchRow(branch) {
  const status = branch.monthly_meeting;
  return h(
    'li',
    { class: 'branch-row', dataset: { branch: branch.branch_id, monthly: status } },
    h('h3', {}, branch.name),
    h('p', { class: 'muted' }, t('commune.members', { n: count(branch.members) })),
    h('p', {}, `${t('commune.monthly')}: `, pill(MONTHLY_PILL[status], t(`commune.monthlyStates.${status}`))),
    branch.meeting ? meetingBlock(branch, branch.meeting) : null,
    branch.other_meetings.length
      ? [h('p', { class: 'muted' }, t('commune.otherMeetings')), branch.other_meetings.map((m) => meetingBlock(branch, m))]
      : null,
    branch.overdue_reports
      ? h('p', {}, pill('pill-bad', t('commune.overdueReports', { n: count(branch.overdue_reports) })))
      : null,
  );
}

function figure(labelKey, value) {
  return h('div', { class: 'figure' }, h('strong', {}, value), h('span', {}, t(labelKey)));
}

function render() {
  const data = view.data;
  if (!data) return;
  const focusedId = document.activeElement?.id;
  const totals = data.totals;
  $('#totals-heading').textContent = t('commune.totalsTitle', { commune: data.commune.name, month: monthText(data.month) });
  fill(
    $('#totals'),
    figure('commune.totals.branches', count(totals.branches)),
    figure('commune.totals.held', count(totals.held)),
    figure('commune.totals.not_held', count(totals.not_held)),
    figure('commune.totals.reports_late', count(totals.reports_late)),
    figure(
      'commune.totals.attendance',
      `${percent(totals.attendance.rate)} (${count(totals.attendance.present)}/${count(totals.attendance.expected)})`,
    ),
  );
  $('#due-rule').textContent = t('commune.dueRule', { days: data.commune.report_due_working_days });
  $('#no-branches').hidden = data.branches.length > 0;
  fill($('#branches'), data.branches.map(branchRow));
  if (focusedId && document.activeElement?.id !== focusedId) document.getElementById(focusedId)?.focus();
}

// -- loading ------------------------------------------------------------------------------------------------------
async function load(month) {
  const ticket = ++view.ticket;
  page.loading(true);
  $('#month-submit').disabled = true;
  try {
    const data = await request(`/api/commune/overview${month ? `?month=${encodeURIComponent(month)}` : ''}`);
    if (ticket !== view.ticket) return;
    view.data = data;
    view.month = data.month;
    view.minutes.clear();
    view.unshared.clear();
  } catch (error) {
    if (ticket !== view.ticket) return;
    if (view.data && !page.handled(error)) {
      page.loading(false);
      $('#month-error').textContent = errorText(error.error);
    } else if (!view.data) page.fail(error, () => load(month));
    return;
  } finally {
    if (ticket === view.ticket) $('#month-submit').disabled = false;
  }
  $('#month').value = view.month;
  $('#month-error').textContent = '';
  page.shown();
  render();
  document.documentElement.dataset.ready = 'commune';
}

if (session) {
  $('#month-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const month = $('#month').value.trim();
    if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) {
      $('#month-error').textContent = t('commune.badMonth');
      $('#month').focus();
      return;
    }
    load(month);
  });
  $('#month-prev').addEventListener('click', () => load(shiftMonth(view.month || today().slice(0, 7), -1)));
  $('#month-next').addEventListener('click', () => load(shiftMonth(view.month || today().slice(0, 7), 1)));
  document.addEventListener('langchange', render);
  load(null);
}
