// Resolutions and their action items (/resolutions?m=ID), for the branch's secretary or deputy: pick one of the
// branch's meetings, draft its resolution, and follow its action items in the "5 rõ" form (who carries it out,
// what, by when, who answers for it, what result): add, edit, mark done or reopen, each item's status in words.
//
// The API (meeting/api/record_routes.py) checks every rule again: an incomplete item, an assignee who is not an
// active member, a record already signed and sealed. What it refuses is shown beside the form, which keeps what
// was typed.
import { $, announce, bootPage, busy, button, confirmDialog, fill, h } from './common.js';
import { dateOf, dayText, errorText, t } from './i18n.js';
import { request } from './net.js';
import { PageState } from './aftermeeting.js';

await bootPage();

const page = new PageState({
  allowed: (session) => session.role === 'secretary' || session.role === 'deputy',
  deniedKey: 'resolutions.notAllowed',
});
const session = page.gate();

const STATES = ['overdue', 'open', 'done'];
const PILL = { overdue: 'pill-bad', open: 'pill-warn', done: 'pill-ok' };
const ACTION_FIELDS = [
  { name: 'assignee_id', type: 'member', required: true },
  { name: 'task', type: 'textarea', required: true, max: 2000 },
  { name: 'deadline', type: 'date', required: true },
  { name: 'responsible', type: 'text', required: true, max: 300, hint: true },
  { name: 'expected_result', type: 'textarea', required: true, max: 2000 },
];
const RESOLUTION_FIELDS = [
  { name: 'title', type: 'text', required: true, max: 300 },
  { name: 'text', type: 'textarea', required: false, max: 20000 },
];

const view = {
  meetings: [],
  members: [], // who may carry out an item: active members of the branch, guests excepted
  meetingId: null,
  data: null, // GET /api/meetings/{id}/resolutions
  ticket: 0,
  forms: new Map(), // key -> form (kept while open, so what was typed survives every re-render)
  open: new Set(), // keys of the forms shown
  closedByUser: new Set(), // add-forms the user closed (an empty resolution opens its own by itself)
};

// -- forms --------------------------------------------------------------------------------------------------------
function fieldControl(id, field, value) {
  const common = { id, name: field.name, 'aria-describedby': `${id}-error${field.hint ? ` ${id}-hint` : ''}` };
  if (field.required) common['aria-required'] = 'true';
  if (field.type === 'textarea') return h('textarea', { ...common, rows: 3, maxlength: field.max }, value ?? '');
  if (field.type === 'date') return h('input', { ...common, type: 'date', value: value ?? '' });
  if (field.type === 'status') {
    return h(
      'select',
      common,
      ['draft', 'adopted'].map((status) =>
        h('option', { value: status, selected: status === value, 'data-i18n': `resolutions.status.${status}` }, t(`resolutions.status.${status}`)),
      ),
    );
  }
  if (field.type === 'member') {
    const people = view.members.slice();
    if (value != null && !people.some((m) => m.id === value)) people.push({ id: value, full_name: field.currentName || String(value) });
    return h(
      'select',
      common,
      h('option', { value: '', 'data-i18n': 'resolutions.chooseMember' }, t('resolutions.chooseMember')),
      people.map((m) => h('option', { value: m.id, selected: m.id === value }, m.full_name)),
    );
  }
  return h('input', { ...common, type: 'text', maxlength: field.max, autocomplete: 'off', value: value ?? '' });
}

/**
 * A form of labelled fields: `labels` is the i18n block of their labels, `submitKey` the button's words.
 * Every label carries data-i18n, so switching language relabels an open form without touching what was typed.
 */
function makeForm({ key, fields, labels, initial = {}, submitKey, onSubmit, onCancel }) {
  const controls = new Map();
  const errors = new Map();
  const alert = h('p', { class: 'error form-alert', role: 'alert', id: `${key}-alert` });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-i18n': submitKey }, t(submitKey));
  const rows = fields.map((field) => {
    const id = `${key}-${field.name.replace(/_/g, '-')}`;
    const control = fieldControl(id, field, initial[field.name]);
    const error = h('p', { class: 'error field-error', id: `${id}-error`, hidden: true });
    controls.set(field.name, control);
    errors.set(field.name, error);
    const labelKey = `${labels}.${field.name}`;
    return h(
      'div',
      { class: 'field' },
      h(
        'label',
        { for: id },
        h('span', { 'data-i18n': labelKey }, t(labelKey)),
        field.required ? [' ', h('span', { class: 'required-mark', 'data-i18n': 'resolutions.required' }, t('resolutions.required'))] : null,
      ),
      field.hint ? h('p', { class: 'muted field-hint', id: `${id}-hint`, 'data-i18n': `${labels}Hints.${field.name}` }, t(`${labels}Hints.${field.name}`)) : null,
      control,
      error,
    );
  });
  const form = h(
    'form',
    { class: 'stack after-form', id: `${key}-form`, novalidate: true },
    rows,
    alert,
    h(
      'div',
      { class: 'row' },
      submit,
      h('button', { type: 'button', class: 'btn', 'data-i18n': 'common.cancel', onclick: onCancel }, t('common.cancel')),
    ),
  );
  const api = {
    key,
    el: form,
    values() {
      const out = {};
      for (const field of fields) out[field.name] = controls.get(field.name).value.trim();
      return out;
    },
    /** Mark the fields the server or the check found wanting; the others clear. */
    mark(names) {
      for (const field of fields) {
        const bad = names.includes(field.name);
        const control = controls.get(field.name);
        const error = errors.get(field.name);
        if (bad) control.setAttribute('aria-invalid', 'true');
        else control.removeAttribute('aria-invalid');
        error.hidden = !bad;
        const messageKey = `resolutions.missing.${field.name}`;
        if (bad) {
          error.dataset.i18n = messageKey;
          error.textContent = t(messageKey);
        } else {
          delete error.dataset.i18n;
          error.textContent = '';
        }
      }
    },
    /** The required fields left empty (checked before sending; the API checks them again). */
    check() {
      const values = api.values();
      const missing = fields.filter((f) => f.required && !values[f.name]).map((f) => f.name);
      api.mark(missing);
      if (missing.length) {
        api.say(t('resolutions.incomplete', { fields: missing.map((name) => t(`${labels}.${name}`)).join('; ') }));
        controls.get(missing[0]).focus();
      } else api.say('');
      return missing.length === 0;
    },
    say(text) {
      alert.textContent = text;
    },
    dirty() {
      return fields.some((f) => controls.get(f.name).value.trim() !== String(initial[f.name] ?? '').trim());
    },
    focus() {
      controls.get(fields[0].name).focus();
    },
  };
  // A field filled in after being marked loses its mark at once (the others keep theirs).
  form.addEventListener('input', (event) => {
    const name = event.target.name;
    if (!controls.has(name) || event.target.getAttribute('aria-invalid') !== 'true' || !event.target.value.trim()) return;
    event.target.removeAttribute('aria-invalid');
    const error = errors.get(name);
    error.hidden = true;
    error.textContent = '';
    delete error.dataset.i18n;
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!api.check()) return;
    form.setAttribute('aria-busy', 'true');
    busy(submit, () => onSubmit(api)).finally(() => form.setAttribute('aria-busy', 'false'));
  });
  return api;
}

function formFor(key, make) {
  if (!view.forms.has(key)) view.forms.set(key, make());
  return view.forms.get(key);
}

function openForm(key, focus = true) {
  view.open.add(key);
  view.closedByUser.delete(key);
  render();
  if (focus) view.forms.get(key)?.focus();
}

function closeForm(key, focusSelector) {
  view.open.delete(key);
  view.forms.delete(key);
  view.closedByUser.add(key);
  render();
  if (focusSelector) document.querySelector(focusSelector)?.focus();
}

/** What the API refused, beside the form, which keeps everything typed. */
function refused(form, error) {
  const code = error?.code;
  form.say(errorText(error?.error));
  if (code === 'action_incomplete') {
    const fields = String(error.error?.details?.fields || '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    form.mark(fields);
  } else if (code === 'designated_not_member') form.mark(['assignee_id']);
  if (code === 'record_sealed' && view.data) {
    view.data.sealed = true;
    $('#sealed-note').hidden = false;
  }
  if (error?.status === 401) form.say(`${errorText(error.error)} ${t('resolutions.signInAgain')}`);
}

function actionBody(values) {
  return {
    assignee_id: Number(values.assignee_id),
    task: values.task,
    deadline: values.deadline,
    responsible: values.responsible,
    expected_result: values.expected_result,
  };
}

function addActionForm(resolution) {
  const key = `add-${resolution.resolution_id}`;
  return formFor(key, () =>
    makeForm({
      key,
      fields: ACTION_FIELDS,
      labels: 'resolutions.field',
      submitKey: 'resolutions.addAction',
      onCancel: () => closeForm(key, `#add-open-${resolution.resolution_id}`),
      onSubmit: async (form) => {
        try {
          view.data = await request(`/api/resolutions/${resolution.resolution_id}/actions`, {
            method: 'POST',
            body: actionBody(form.values()),
          });
        } catch (error) {
          refused(form, error);
          return;
        }
        view.open.delete(key);
        view.forms.delete(key);
        view.closedByUser.add(key);
        render();
        announce(t('resolutions.added'));
        $(`#add-open-${resolution.resolution_id}`)?.focus();
      },
    }),
  );
}

function editActionForm(action) {
  const key = `edit-${action.action_id}`;
  const fields = ACTION_FIELDS.map((f) => (f.name === 'assignee_id' ? { ...f, currentName: action.assignee } : f));
  return formFor(key, () =>
    makeForm({
      key,
      fields,
      labels: 'resolutions.field',
      initial: action,
      submitKey: 'resolutions.saveAction',
      onCancel: () => closeForm(key, `#edit-open-${action.action_id}`),
      onSubmit: async (form) => {
        try {
          await request(`/api/actions/${action.action_id}`, { method: 'PATCH', body: actionBody(form.values()) });
        } catch (error) {
          refused(form, error);
          return;
        }
        view.open.delete(key);
        view.forms.delete(key);
        announce(t('resolutions.saved'));
        await reload(`#edit-open-${action.action_id}`);
      },
    }),
  );
}

function resolutionForm(resolution) {
  const key = resolution ? `res-edit-${resolution.resolution_id}` : `res-new-${view.meetingId}`;
  const fields = resolution ? [...RESOLUTION_FIELDS, { name: 'status', type: 'status', required: true }] : RESOLUTION_FIELDS;
  const meeting = view.meetings.find((m) => m.id === view.meetingId);
  const initial = resolution || { title: meeting ? t('resolutions.defaultTitle', { title: meeting.title }) : '' };
  return formFor(key, () =>
    makeForm({
      key,
      fields,
      labels: 'resolutions.resField',
      initial,
      submitKey: resolution ? 'resolutions.saveResolution' : 'resolutions.createResolution',
      onCancel: () => closeForm(key, resolution ? `#res-edit-open-${resolution.resolution_id}` : '#res-new-open'),
      onSubmit: async (form) => {
        const values = form.values();
        try {
          if (resolution) {
            view.data = await request(`/api/resolutions/${resolution.resolution_id}`, { method: 'PATCH', body: values });
          } else {
            view.data = await request(`/api/meetings/${view.meetingId}/resolutions`, { method: 'POST', body: values });
          }
        } catch (error) {
          refused(form, error);
          return;
        }
        view.open.delete(key);
        view.forms.delete(key);
        render();
        announce(t(resolution ? 'resolutions.saved' : 'resolutions.created'));
        const focusId = resolution ? resolution.resolution_id : view.data.resolutions.at(-1)?.resolution_id;
        $(`#res-${focusId}-title`)?.focus();
      },
    }),
  );
}

// -- marking done -------------------------------------------------------------------------------------------------
async function setDone(action, done) {
  try {
    await request(`/api/actions/${action.action_id}`, { method: 'PATCH', body: { done } });
  } catch (error) {
    if (page.handled(error)) return;
    announce(errorText(error.error), 'error');
    return;
  }
  announce(t(done ? 'resolutions.markedDone' : 'resolutions.reopened', { task: action.task }));
  await reload(`#done-${action.action_id}`);
}

// -- rendering ----------------------------------------------------------------------------------------------------
function statusPill(status) {
  return h('span', { class: `pill ${PILL[status] || ''} action-status`.trim() }, t(`resolutions.states.${status}`));
}

function pair(labelKey, value) {
  return h('div', { class: 'action-pair' }, h('dt', {}, t(labelKey)), h('dd', {}, value || '—'));
}

function actionItem(action, sealed) {
  const editKey = `edit-${action.action_id}`;
  const editing = view.open.has(editKey);
  const done = action.status === 'done';
  const doneButton = button(
    t(done ? 'resolutions.reopen' : 'resolutions.markDone'),
    action.task,
    () => setDone(action, !done),
    done ? '' : 'btn-go',
  );
  doneButton.id = `done-${action.action_id}`;
  const editButton = sealed || editing ? null : button(t('resolutions.edit'), action.task, () => openForm(editKey));
  if (editButton) editButton.id = `edit-open-${action.action_id}`;
  return h(
    'li',
    { class: 'action-item', dataset: { action: action.action_id, status: action.status } },
    h(
      'div',
      { class: 'action-head' },
      h('p', { class: 'action-task' }, action.task),
      statusPill(action.status),
    ),
    h(
      'dl',
      { class: 'action-fields' },
      pair('resolutions.show.assignee', action.assignee),
      pair('resolutions.show.deadline', dayText(action.deadline)),
      pair('resolutions.show.responsible', action.responsible),
      pair('resolutions.show.expected_result', action.expected_result),
    ),
    h('div', { class: 'row' }, doneButton, editButton),
    editing ? editActionForm(action).el : null,
  );
}

function countsLine(actions) {
  const found = { open: 0, done: 0, overdue: 0 };
  for (const action of actions) found[action.status] = (found[action.status] || 0) + 1;
  return t('resolutions.counts', { total: actions.length, done: found.done, open: found.open, overdue: found.overdue });
}

function resolutionCard(resolution, sealed) {
  const id = resolution.resolution_id;
  const addKey = `add-${id}`;
  if (!sealed && !resolution.actions.length && !view.closedByUser.has(addKey)) view.open.add(addKey);
  const adding = view.open.has(addKey);
  const editKey = `res-edit-${id}`;
  const editing = view.open.has(editKey);
  const ordered = resolution.actions.slice().sort((a, b) => STATES.indexOf(a.status) - STATES.indexOf(b.status));
  return h(
    'article',
    { class: 'card stack resolution', 'aria-labelledby': `res-${id}-title`, dataset: { resolution: id } },
    h(
      'div',
      { class: 'action-head' },
      h('h2', { id: `res-${id}-title`, tabindex: '-1' }, resolution.title),
      h('span', { class: `pill ${resolution.status === 'adopted' ? 'pill-ok' : 'pill-warn'}` }, t(`resolutions.status.${resolution.status}`)),
    ),
    resolution.text ? h('p', { class: 'resolution-text' }, resolution.text) : null,
    sealed || editing
      ? null
      : h('button', { type: 'button', class: 'btn btn-small', id: `res-edit-open-${id}`, onclick: () => openForm(editKey) }, t('resolutions.editResolution')),
    editing ? resolutionForm(resolution).el : null,
    h('h3', { id: `res-${id}-actions` }, t('resolutions.actionsTitle')),
    h('p', { class: 'action-counts' }, resolution.actions.length ? countsLine(resolution.actions) : t('resolutions.noActions')),
    resolution.actions.length
      ? h('ul', { class: 'list action-list', 'aria-labelledby': `res-${id}-actions` }, ordered.map((a) => actionItem(a, sealed)))
      : null,
    adding
      ? h('section', { class: 'add-action', 'aria-labelledby': `${addKey}-heading` },
          h('h3', { id: `${addKey}-heading` }, t('resolutions.addTitle')),
          addActionForm(resolution).el)
      : sealed
        ? null
        : h('button', { type: 'button', class: 'btn btn-primary', id: `add-open-${id}`, onclick: () => openForm(addKey) }, t('resolutions.addAction')),
  );
}

function newResolutionBlock(data) {
  const key = `res-new-${view.meetingId}`;
  if (data.sealed && !view.open.has(key)) return null;
  const none = !data.resolutions.length;
  if (none && !view.closedByUser.has(key)) view.open.add(key);
  const open = view.open.has(key);
  return h(
    'section',
    { class: 'card stack', 'aria-labelledby': 'res-new-heading' },
    h('h2', { id: 'res-new-heading' }, t(none ? 'resolutions.noResolution' : 'resolutions.anotherResolution')),
    none ? h('p', { class: 'muted' }, t('resolutions.noResolutionHelp')) : null,
    open
      ? resolutionForm(null).el
      : h('button', { type: 'button', class: 'btn', id: 'res-new-open', onclick: () => openForm(key) }, t('resolutions.startResolution')),
  );
}

function render() {
  const data = view.data;
  const container = $('#resolutions');
  if (!data) {
    fill(container);
    return;
  }
  const focusedId = document.activeElement?.id;
  $('#sealed-note').hidden = !data.sealed;
  fill(container, data.resolutions.map((r) => resolutionCard(r, data.sealed)), newResolutionBlock(data));
  if (focusedId && document.activeElement?.id !== focusedId) document.getElementById(focusedId)?.focus();
}

function meetingLabel(meeting) {
  return `${dateOf(meeting.scheduled_at)} · ${meeting.title} · ${t(`status.${meeting.status}`)}`;
}

function renderMeetings() {
  const select = $('#meeting');
  fill(select, view.meetings.map((m) => h('option', { value: m.id, selected: m.id === view.meetingId }, meetingLabel(m))));
  select.value = String(view.meetingId ?? '');
  $('#no-meetings').hidden = view.meetings.length > 0;
  select.disabled = view.meetings.length === 0;
}

// -- loading ------------------------------------------------------------------------------------------------------
async function reload(focusSelector) {
  const ticket = ++view.ticket; // a late answer for another meeting is dropped
  const meetingId = view.meetingId;
  $('#meeting-loading').hidden = false;
  $('#meeting-failed').hidden = true;
  $('#main').setAttribute('aria-busy', 'true');
  try {
    const data = await request(`/api/meetings/${meetingId}/resolutions`);
    if (ticket !== view.ticket) return;
    view.data = data;
  } catch (error) {
    if (ticket !== view.ticket) return;
    if (page.handled(error)) return;
    $('#meeting-failed-text').textContent = errorText(error.error);
    $('#meeting-failed').hidden = false;
    return;
  } finally {
    if (ticket === view.ticket) {
      $('#meeting-loading').hidden = true;
      $('#main').setAttribute('aria-busy', 'false');
    }
  }
  render();
  if (focusSelector) document.querySelector(focusSelector)?.focus();
}

function chooseMeeting() {
  const asked = Number(new URLSearchParams(location.search).get('m'));
  if (view.meetings.some((m) => m.id === asked)) return asked;
  const held = view.meetings.find((m) => m.status === 'ended') || view.meetings.find((m) => m.status === 'in_progress');
  return (held || view.meetings[0])?.id ?? null;
}

async function start() {
  page.loading(true);
  try {
    const [meetings, members] = await Promise.all([
      request(`/api/branches/${session.branchId}/meetings`),
      request(`/api/branches/${session.branchId}/members`),
    ]);
    view.meetings = meetings.meetings;
    view.members = members.members.filter((m) => m.active && m.category !== 'guest');
  } catch (error) {
    page.fail(error, start);
    return;
  }
  view.meetingId = chooseMeeting();
  renderMeetings();
  page.shown();
  if (view.meetingId != null) await reload();
  document.documentElement.dataset.ready = 'resolutions';
}

if (session) {
  $('#meeting').addEventListener('change', async (event) => {
    const chosen = Number(event.target.value);
    const typing = [...view.open].some((key) => view.forms.get(key)?.dirty());
    if (typing && !(await confirmDialog(t('resolutions.discard')))) {
      event.target.value = String(view.meetingId);
      return;
    }
    view.meetingId = chosen;
    view.open.clear();
    view.forms.clear();
    view.closedByUser.clear();
    view.data = null;
    render();
    history.replaceState(null, '', `/resolutions?m=${chosen}`);
    await reload();
  });
  $('#meeting-retry').addEventListener('click', () => reload());
  document.addEventListener('langchange', () => {
    renderMeetings();
    render();
  });
  start();
}
