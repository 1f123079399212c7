// A member's own business around a meeting, on the sign-in page's meeting list and on the member page:
// the absence notice (báo vắng) for a meeting still to come, the meeting's calendar file ("Thêm vào lịch"), and
// their own tasks from past resolutions ("Nhiệm vụ của đồng chí", GET /api/me/actions).
//
// `meeting` is an entry of GET /api/prep/my/meetings: {meeting_id, title, status, scheduled_at, place,
// absence_notice: {reason, sent_at} | null}. The server says what is too late (meeting/planning.py
// send_absence_notice: only while the meeting is scheduled); the page only offers the buttons then.
import { announce, busy, confirmDialog, download, fill, h, promptDialog, showError } from './common.js';
import { dayText, errorText, t } from './i18n.js';
import { request } from './net.js';
import { counts, ordered, statusPill } from './review.js';

const REASON_MAX = 500; // meeting/api/prep_routes.py AbsenceBody
const TOO_LATE = new Set(['absence_too_late', 'absence_withdraw_too_late']);

/** A button acting on one meeting: its label first, then which meeting (WCAG 2.5.3, label in name). */
function meetingButton(id, label, meeting, onclick, extraClass = '') {
  return h(
    'button',
    { type: 'button', id, class: `btn ${extraClass}`.trim(), 'aria-label': `${label}: ${meeting.title}`, onclick },
    label,
  );
}

/** The reason, asked until one is given (null when the member cancels). */
async function askReason(meeting) {
  let question = t('absence.ask', { title: meeting.title });
  for (;;) {
    const reason = await promptDialog(question, { label: t('absence.reason'), required: true, maxlength: REASON_MAX });
    if (reason === null) return null;
    if (reason) return reason;
    question = `${t('absence.reasonRequired')} ${t('absence.ask', { title: meeting.title })}`;
  }
}

/**
 * The absence notice for one meeting, in an element that redraws itself: "Báo vắng" while the meeting is
 * scheduled; once sent, "Đã báo vắng: <reason>" and "Rút lại". A refusal stays written under the buttons (a
 * toast passes too quickly for an elderly reader); "too late" also takes the buttons away.
 */
export function absenceBlock(meeting) {
  const id = meeting.meeting_id;
  const box = h('div', { class: 'absence stack', dataset: { meeting: id } });
  let open = meeting.status === 'scheduled';
  let refusal = null;
  let busy = false;

  function render() {
    const notice = meeting.absence_notice;
    fill(
      box,
      notice ? h('p', { class: 'notice absence-sent' }, t('absence.sent', { reason: notice.reason })) : null,
      open
        ? notice
          ? meetingButton(`absence-withdraw-${id}`, t('absence.withdraw'), meeting, withdraw)
          : meetingButton(`absence-send-${id}`, t('absence.send'), meeting, send)
        : null,
      refusal ? h('p', { class: 'error absence-refused', role: 'alert' }, refusal) : null,
    );
  }

  async function act(work) {
    if (busy) return;
    busy = true;
    refusal = null;
    try {
      await work();
    } catch (error) {
      refusal = errorText(error.error);
      if (TOO_LATE.has(error.code)) open = false; // the meeting has started: nothing more to do here
      if (error.code === 'not_found' && meeting.absence_notice) meeting.absence_notice = null; // withdrawn elsewhere
    } finally {
      busy = false;
      render();
      // The button pressed has given way to the other one: keep the keyboard's place on it.
      (box.querySelector('button') || box).focus?.();
    }
  }

  async function send() {
    const reason = await askReason(meeting);
    if (reason === null) return;
    await act(async () => {
      const sent = await request(`/api/prep/meetings/${id}/absence`, { method: 'POST', body: { reason } });
      meeting.absence_notice = { reason: sent.reason, sent_at: sent.sent_at };
      announce(t('absence.sentDone'));
    });
  }

  async function withdraw() {
    if (!(await confirmDialog(t('absence.withdrawConfirm', { title: meeting.title }), { yes: t('absence.withdrawYes') }))) return;
    await act(async () => {
      await request(`/api/prep/meetings/${id}/absence`, { method: 'DELETE' });
      meeting.absence_notice = null;
      announce(t('absence.withdrawn'));
    });
  }

  render();
  onLanguage(box, render);
  return box;
}

/** Redraw `el` in the new language while it is on the page (rows are remade when the list is; the old go). */
function onLanguage(el, render) {
  const redraw = () => (el.isConnected ? render() : document.removeEventListener('langchange', redraw));
  document.addEventListener('langchange', redraw);
}

/** A file name for the meeting's calendar file: its title, without the characters file systems refuse. */
export function calendarFileName(meeting) {
  const title = String(meeting.title || '')
    .replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '-')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 80);
  return `${title || `hop-chi-bo-${meeting.meeting_id}`}.ics`;
}

/**
 * Download the meeting's calendar file (GET /api/prep/meetings/{id}/invitation.ics). It needs the member's token,
 * so it is fetched here and handed to the browser as a download; opening it adds the meeting to the phone's
 * calendar, with its reminder.
 */
async function downloadCalendar(meeting) {
  try {
    await download(`/api/prep/meetings/${meeting.meeting_id}/invitation.ics`, calendarFileName(meeting));
    announce(t('member.calendarSaved'));
  } catch (error) {
    announce(errorText(error.error), 'error');
  }
}

/** "Thêm vào lịch" for one meeting. */
export function calendarButton(meeting) {
  const el = h('button', { type: 'button', id: `calendar-${meeting.meeting_id}`, class: 'btn' });
  el.addEventListener('click', () => busy(el, () => downloadCalendar(meeting)));
  const label = () => {
    el.textContent = t('member.addToCalendar');
    el.setAttribute('aria-label', `${t('member.addToCalendar')}: ${meeting.title}`);
  };
  label();
  onLanguage(el, label);
  return el;
}

/** What a member may do about a meeting still to come: the absence notice and the calendar file. */
export function meetingPrep(meeting) {
  const upcoming = meeting.status === 'scheduled';
  if (!upcoming && !meeting.absence_notice) return null;
  return [absenceBlock(meeting), upcoming ? h('div', { class: 'row' }, calendarButton(meeting)) : null];
}

/** The member's own meeting list entry for `meetingId`, or null (not in their list, or no member). */
export async function myMeeting(meetingId) {
  const { meetings } = await request('/api/prep/my/meetings');
  return meetings.find((m) => m.meeting_id === meetingId) || null;
}

/** The member page's part before the meeting starts: a word on what to do if one cannot come, and the notice. */
export async function showMemberPrep(area, meetingId) {
  let meeting;
  try {
    meeting = await myMeeting(meetingId);
  } catch {
    return; // a signed-in officer without a member record, or no network: the page works without it
  }
  const parts = meeting && meetingPrep(meeting);
  if (!parts) return;
  const render = () => fill(area, meeting.status === 'scheduled' ? h('p', {}, t('absence.hint')) : null, parts);
  render();
  onLanguage(area, render);
  area.hidden = false;
}

// -- my tasks ---------------------------------------------------------------------------------------------
/**
 * One task, "5 rõ": what, by when, who answers for it, the result expected, and its status in words; then what the
 * member may do about it (`report`: "Báo đã xong" while it is to do, "Chưa xong" once done) and, under the button,
 * why the branch did not take it (`failure`, written until the next try).
 */
function taskRow(item, { report, pending, failure }) {
  const done = item.status === 'done';
  const label = t(done ? 'tasks.reopen' : 'tasks.markDone');
  const refusal = failure ? h('p', { class: 'error task-refused', role: 'alert' }) : null;
  if (refusal) showError(refusal, failure);
  return h(
    'li',
    { class: 'task-row', dataset: { action: item.action_id, status: item.status } },
    h(
      'div',
      { class: 'grow' },
      h('p', { class: 'review-task' }, item.task),
      h('p', { class: 'review-meta' }, `${t('review.deadline')}: ${dayText(item.deadline)} · ${t('review.responsible')}: ${item.responsible}`),
      h('p', { class: 'review-meta' }, `${t('review.result')}: ${item.expected_result}`),
      h('p', { class: 'review-meta' }, t('tasks.from', { title: item.meeting_title, date: dayText(item.meeting_date) })),
    ),
    statusPill(item.status),
    h(
      'div',
      { class: 'row-full stack' },
      h(
        'div',
        { class: 'row' },
        h(
          'button',
          {
            type: 'button',
            id: `task-report-${item.action_id}`,
            class: `btn task-report${done ? '' : ' btn-primary'}`,
            'aria-label': `${label}: ${item.task}`, // the visible words first (WCAG 2.5.3), then which task
            disabled: pending,
            'aria-busy': pending ? 'true' : null,
            onclick: () => report(item),
          },
          label,
        ),
      ),
      refusal,
    ),
  );
}

/**
 * Fill `section` (with a `div.tasks-summary` and a `ul.tasks-list` in it) with the member's own tasks, those still to
 * do first (overdue, in progress, done). `forMeeting`: an invite link, whose list is the tasks of its meeting
 * (meeting/api/record_routes.py my_actions), said above the list.
 *
 * The member reports a task done to the branch ("Báo đã xong", after a question: the branch sees it at once), or
 * takes that back ("Chưa xong"): PATCH /api/actions/{id} {done}, which the server allows the assignee for exactly
 * the items this list shows. The list changes where it stands (the task keeps its place, the counts follow) and
 * the keyboard stays on that task's new button; a refusal is written under the task, which keeps its state.
 */
export async function showTasks(section, { forMeeting = false } = {}) {
  const summary = section.querySelector('.tasks-summary');
  const list = section.querySelector('.tasks-list');
  let items = null;
  let failure = null;
  const pending = new Set(); // action ids whose report is on its way
  const failures = new Map(); // action id -> the refusal of its last report
  section.hidden = false;
  fill(summary, null);
  fill(list, h('li', { class: 'muted' }, t('common.loading')));
  try {
    ({ items } = await request('/api/me/actions'));
    items = ordered(items); // once: a task reported done stays where the member's eyes are
  } catch (error) {
    failure = error;
  }

  const buttonOf = (id) => document.getElementById(`task-report-${id}`);

  async function report(item) {
    const id = item.action_id;
    if (pending.has(id)) return;
    const done = item.status !== 'done';
    if (done && !(await confirmDialog(t('tasks.doneConfirm', { task: item.task }), { yes: t('tasks.markDone') }))) {
      buttonOf(id)?.focus();
      return;
    }
    pending.add(id);
    failures.delete(id);
    render();
    try {
      const row = await request(`/api/actions/${id}`, { method: 'PATCH', body: { done } });
      item.status = row.status;
      announce(t(done ? 'tasks.doneSaved' : 'tasks.reopened', { task: item.task }));
    } catch (error) {
      failures.set(id, error);
    } finally {
      pending.delete(id);
      render();
      buttonOf(id)?.focus(); // the button pressed has given way to the other one, or stays after a refusal
    }
  }

  const render = () => {
    const note = forMeeting ? h('p', { class: 'muted tasks-scope' }, t('tasks.forMeeting')) : null;
    if (failure) {
      fill(summary, note);
      fill(list, h('li', { class: 'error', role: 'alert' }, `${t('tasks.failed')} ${errorText(failure.error)}`));
    } else if (!items.length) {
      fill(summary, note);
      fill(list, h('li', { class: 'muted' }, t('tasks.empty')));
    } else {
      const found = counts({ items });
      fill(summary, note, h('p', { class: 'tasks-counts' }, t('tasks.summary', found)));
      fill(
        list,
        items.map((item) => taskRow(item, { report, pending: pending.has(item.action_id), failure: failures.get(item.action_id) })),
      );
    }
  };
  render();
  onLanguage(section, render);
}
