// Absence notices and the report on the preparation page (/branch?m=ID): who has said they will be absent, why
// and when; once the meeting has ended, the report to the commune committee as DOCX and PDF, and "Gửi báo cáo".
import { $, announce, busy, clearError, confirmDialog, download, h, showError } from './common.js';
import { shortTime, t } from './i18n.js';
import { request } from './net.js';
import { replaceKeepingFocus } from './branch-kit.js';

let page = null;
let absences = []; // GET /api/prep/meetings/{id}/absences
let submitted = null; // the meeting's report as sent to the commune (GET .../report/submission), or null

function meetingId() {
  return page.meeting.id;
}

// -- absence notices ----------------------------------------------------------------------------------------------
async function loadAbsences() {
  try {
    absences = (await request(`/api/prep/meetings/${meetingId()}/absences`)).absences;
  } catch (failure) {
    showError($('#absences-error'), failure);
    return false;
  }
  clearError($('#absences-error'));
  renderAbsences();
  return true;
}

function renderAbsences() {
  $('#absences-count').textContent = absences.length ? t('branch.absences.count', { n: absences.length }) : '';
  replaceKeepingFocus(
    $('#absence-list'),
    absences.length
      ? absences.map((notice) =>
          h(
            'li',
            { class: 'prep-absence' },
            h('strong', {}, notice.name),
            h('p', { class: 'prep-line prep-reason' }, t('branch.absences.reason', { reason: notice.reason })),
            h('p', { class: 'prep-line muted' }, t('branch.absences.sentAt', { when: shortTime(notice.sent_at) })),
          ),
        )
      : [h('li', { class: 'muted' }, t('branch.absences.none'))],
  );
}

// -- the report -----------------------------------------------------------------------------------------------------
async function fetchReport(format, control) {
  const error = $('#report-error');
  clearError(error);
  await busy(control, async () => {
    try {
      await download(`/api/prep/meetings/${meetingId()}/report.${format}`, `bao-cao-hop-chi-bo-${meetingId()}.${format}`);
    } catch (failure) {
      showError(error, failure);
    }
  });
}

async function submit(event) {
  event.preventDefault();
  const error = $('#submit-error');
  clearError(error);
  const control = $('#report-submit');
  if (!(await confirmDialog(t('branch.report.confirm'), { yes: t('branch.report.submit') }))) {
    control.focus();
    return;
  }
  const body = { minutes_shared: $('#share-minutes').checked, note: $('#report-note').value.trim() };
  await busy(control, async () => {
    try {
      submitted = await request(`/api/prep/meetings/${meetingId()}/report/submit`, { method: 'POST', body });
    } catch (failure) {
      showError(error, failure); // the choice and the note stay as typed
      return;
    }
    renderReport();
    announce(t('branch.report.sent'));
  });
  $('#submit-done').focus();
}

/** Whether the report went to the commune already (on another day, from another device). */
async function loadSubmission() {
  if (page.meeting.status !== 'ended') return;
  const asked = meetingId();
  try {
    const { submission } = await request(`/api/prep/meetings/${asked}/report/submission`);
    if (page.meeting.id !== asked) return; // another meeting was chosen meanwhile
    submitted = submission;
    if (submission) {
      $('#share-minutes').checked = submission.minutes_shared;
      $('#report-note').value = submission.note || '';
    }
  } catch (failure) {
    showError($('#report-error'), failure);
    return;
  }
  renderReport();
}

function renderReport() {
  const ended = page.meeting.status === 'ended';
  $('#report-wait').hidden = ended;
  $('#report-ready').hidden = !ended;
  const done = $('#submit-done');
  done.hidden = !submitted;
  if (submitted) {
    const key = submitted.minutes_shared ? 'branch.report.sentAtShared' : 'branch.report.sentAt';
    done.textContent = t(key, { when: shortTime(submitted.submitted_at) });
  }
  $('#report-submit').textContent = t(submitted ? 'branch.report.submitAgain' : 'branch.report.submit');
}

export const afterPart = {
  async show(current) {
    if (page?.meeting?.id !== current.meeting.id) {
      submitted = null;
      $('#submit-form').reset();
    }
    page = current;
    absences = [];
    for (const id of ['#absences-error', '#report-error', '#submit-error']) clearError($(id));
    renderAbsences();
    renderReport();
    await Promise.all([loadAbsences(), loadSubmission()]);
  },
  render() {
    if (!page?.meeting) return;
    renderAbsences();
    renderReport();
  },
};

$('#absences-refresh').addEventListener('click', () =>
  busy($('#absences-refresh'), async () => {
    if (await loadAbsences()) announce(t('branch.absences.refreshed'));
  }),
);
$('#report-docx').addEventListener('click', () => fetchReport('docx', $('#report-docx')));
$('#report-pdf').addEventListener('click', () => fetchReport('pdf', $('#report-pdf')));
$('#submit-form').addEventListener('submit', submit);
