// Correcting a meeting's details on the preparation page (/branch?m=ID) while its plan can still change: title,
// day and time, place, chair and clerk (PATCH /api/meetings/{id}). What was typed stays when the API refuses.
import { $, announce, busy, clearError, showError } from './common.js';
import { localParts, moment, t } from './i18n.js';
import { ApiError, request } from './net.js';
import { memberOptions } from './branch-kit.js';

let page = null;

function people() {
  return page.members.filter((m) => m.active && m.category !== 'guest');
}

function fillForm() {
  const meeting = page.meeting;
  const { date, time } = localParts(meeting.scheduled_at);
  $('#edit-title').value = meeting.title;
  $('#edit-date').value = date;
  $('#edit-time').value = time;
  $('#edit-place').value = meeting.place || '';
  $('#edit-chair').replaceChildren(...memberOptions(people(), meeting.chair_id, t('branch.create.nobody')));
  $('#edit-clerk').replaceChildren(...memberOptions(people(), meeting.clerk_id, t('branch.create.nobody')));
}

function toggle(open) {
  $('#edit-form').hidden = !open;
  $('#edit-toggle').setAttribute('aria-expanded', String(open));
  clearError($('#edit-error'));
  if (open) {
    fillForm();
    $('#edit-title').focus();
  } else if (!$('#edit-toggle').hidden) {
    $('#edit-toggle').focus();
  }
}

async function save(event) {
  event.preventDefault();
  const error = $('#edit-error');
  clearError(error);
  const title = $('#edit-title').value.trim();
  const date = $('#edit-date').value;
  const time = $('#edit-time').value;
  const missing = !title ? ['#edit-title', 'branch.create.needTitle'] : !date ? ['#edit-date', 'branch.create.needDate'] : !time ? ['#edit-time', 'branch.create.needTime'] : null;
  if (missing) {
    error.textContent = t(missing[1]);
    $(missing[0]).focus();
    return;
  }
  const body = { title, scheduled_at: moment(date, time), place: $('#edit-place').value.trim() };
  // The API keeps a chair or clerk it is not sent: "not chosen" leaves them as they are.
  if ($('#edit-chair').value) body.chair_id = Number($('#edit-chair').value);
  if ($('#edit-clerk').value) body.clerk_id = Number($('#edit-clerk').value);
  await busy($('#edit-save'), async () => {
    try {
      await request(`/api/meetings/${page.meeting.id}`, { method: 'PATCH', body });
    } catch (failure) {
      showError(error, failure); // the form keeps what was typed
      if (failure instanceof ApiError && failure.code === 'plan_locked') await page.refreshPlan().catch(() => {});
      return;
    }
    try {
      await page.refreshPlan();
    } catch (failure) {
      showError($('#load-error'), failure); // saved, but the page could not show it: said at the top
      $('#load-error').hidden = false;
    }
    $('#edit-form').hidden = true;
    $('#edit-toggle').setAttribute('aria-expanded', 'false');
    announce(t('branch.edit.saved'));
    $('#m-title').focus();
  });
}

function render() {
  if (!page?.plan) return;
  $('#edit-toggle').hidden = !page.plan.editable;
}

export const editPart = {
  async show(current) {
    page = current;
    $('#edit-form').hidden = true;
    $('#edit-toggle').setAttribute('aria-expanded', 'false');
    render();
  },
  render() {
    render();
  },
};

$('#edit-toggle').addEventListener('click', () => toggle($('#edit-form').hidden));
$('#edit-cancel').addEventListener('click', () => toggle(false));
$('#edit-form').addEventListener('submit', save);
