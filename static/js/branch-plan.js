// The plan of one meeting on the preparation page (/branch?m=ID): its agenda (add, rename, remove, move up and
// down) and who is assigned to each item (the presenter, the members designated to prepare an opinion), with the
// plan's own warnings. The plan is copied into the meeting's journal when the meeting opens; from then on the
// API refuses changes here (plan_locked) and the page says so.
import { $, announce, busy, clearError, confirmDialog, h, showError } from './common.js';
import { errorText, t } from './i18n.js';
import { ApiError, request } from './net.js';
import { assignable, memberOptions, replaceKeepingFocus } from './branch-kit.js';

// planning.MIN_DESIGNATED_THEMATIC: what the page says while the plan gives no warning (the rule is met).
const MIN_DESIGNATED = 5;

const state = {
  renaming: null, // { id, text }: the item whose title is being changed, and what has been typed
  errors: new Map(), // item id -> the last refusal of an action on that item (an ApiError, or words of our own)
  open: new Set(), // the assignment panels the user has open
};
let page = null;

function plan() {
  return page.plan;
}

function itemWarnings(itemId) {
  return (plan().warnings || []).filter((w) => w.item_id === itemId);
}

function countsDesignated(item) {
  return plan().kind === 'thematic' && item.kind === 'discussion';
}

/** Say why an action on an item was refused, under the item (kept when the list is drawn again). */
function itemError(itemId, failure) {
  if (failure == null) state.errors.delete(itemId);
  else state.errors.set(itemId, failure);
  const line = document.getElementById(`err-${itemId}`);
  if (line) writeError(line, failure);
}

function writeError(line, failure) {
  if (failure == null) clearError(line);
  else if (typeof failure === 'string') line.textContent = failure;
  else showError(line, failure);
}

async function act(control, itemId, work, okText) {
  const error = itemId ? null : $('#agenda-error');
  if (itemId) itemError(itemId, null);
  else clearError(error);
  return busy(control, async () => {
    try {
      await work();
    } catch (failure) {
      if (itemId) itemError(itemId, failure);
      else showError(error, failure);
      if (failure instanceof ApiError && failure.code === 'plan_locked') {
        // Opened meanwhile (the clerk at the door): the page now shows the plan as it is, locked; a title being
        // typed stays on screen, so nothing typed vanishes without a word.
        await page.refreshPlan().catch(() => {});
        $('#plan-locked').focus();
      } else {
        render();
      }
      return false;
    }
    if (okText) announce(okText);
    try {
      await page.refreshPlan();
    } catch (failure) {
      // Done, but the new plan did not arrive: say so where the user is looking.
      if (itemId) itemError(itemId, failure);
      else showError(error, failure);
    }
    return true;
  });
}

// -- the agenda ----------------------------------------------------------------------------------------------------
async function move(item, step, control) {
  const order = plan().agenda.map((i) => i.id);
  const from = order.indexOf(item.id);
  const to = from + step;
  if (to < 0 || to >= order.length) return;
  [order[from], order[to]] = [order[to], order[from]];
  const moved = await act(control, item.id, () =>
    request(`/api/meetings/${plan().meeting_id}/agenda/order`, { method: 'POST', body: { order } }),
  );
  if (moved) {
    // Keep the keyboard on the item that moved: the same button if it can still be pressed, else the other one.
    const same = document.getElementById(`${step < 0 ? 'up' : 'down'}-${item.id}`);
    const other = document.getElementById(`${step < 0 ? 'down' : 'up'}-${item.id}`);
    (same && !same.disabled ? same : other)?.focus();
    announce(t('branch.plan.moved', { title: item.title, n: to + 1 }));
  }
}

async function saveTitle(item, control) {
  const text = state.renaming.text.trim();
  if (!text) {
    itemError(item.id, t('branch.plan.needTitle'));
    $(`#rename-input-${item.id}`).focus();
    return;
  }
  const saved = await act(
    control,
    item.id,
    () => request(`/api/meetings/${plan().meeting_id}/agenda/${item.id}`, { method: 'PATCH', body: { title: text } }),
    t('branch.plan.renamed'),
  );
  if (saved) {
    state.renaming = null;
    render();
    document.getElementById(`rename-${item.id}`)?.focus();
  }
}

async function remove(item, control) {
  if (!(await confirmDialog(t('branch.plan.removeConfirm', { title: item.title }), { yes: t('branch.plan.remove') }))) {
    control.focus();
    return;
  }
  const index = plan().agenda.findIndex((i) => i.id === item.id);
  const removed = await act(
    control,
    item.id,
    () => request(`/api/meetings/${plan().meeting_id}/agenda/${item.id}`, { method: 'DELETE' }),
    t('branch.plan.removed', { title: item.title }),
  );
  if (removed) {
    const next = plan().agenda[Math.min(index, plan().agenda.length - 1)];
    (next ? document.getElementById(`rename-${next.id}`) : $('#add-item-title'))?.focus();
  }
}

async function addItem(event) {
  event.preventDefault();
  const field = $('#add-item-title');
  const title = field.value.trim();
  if (!title) {
    $('#agenda-error').textContent = t('branch.plan.needTitle');
    field.focus();
    return;
  }
  const added = await act($('#add-item'), null, () =>
    request(`/api/meetings/${plan().meeting_id}/agenda`, { method: 'POST', body: { title } }),
  );
  if (added) {
    field.value = '';
    announce(t('branch.plan.added', { title }));
    field.focus();
  }
}

// -- who presents, who prepares an opinion ----------------------------------------------------------------------------
function assign(item, control, { presenter = item.presenter?.member_id ?? null, designated }) {
  const body = { presenter_id: presenter, designated_speakers: designated ?? item.designated_speakers.map((p) => p.member_id) };
  return act(
    control,
    item.id,
    () => request(`/api/prep/meetings/${plan().meeting_id}/items/${item.id}/speakers`, { method: 'PUT', body }),
    t('branch.plan.assigned'),
  );
}

async function addSpeaker(item, control) {
  const select = $(`#speaker-${item.id}`);
  const memberId = Number(select.value);
  if (!memberId) {
    itemError(item.id, t('branch.plan.needSpeaker'));
    select.focus();
    return;
  }
  const designated = [...item.designated_speakers.map((p) => p.member_id), memberId];
  if (await assign(item, control, { designated })) {
    $(`#speaker-${item.id}`).value = '';
    $(`#speaker-add-${item.id}`)?.focus();
  }
}

async function dropSpeaker(item, memberId, control) {
  const designated = item.designated_speakers.map((p) => p.member_id).filter((id) => id !== memberId);
  if (await assign(item, control, { designated })) $(`#speaker-${item.id}`)?.focus();
}

async function savePresenter(item, control) {
  const value = $(`#presenter-${item.id}`).value;
  await assign(item, control, { presenter: value ? Number(value) : null });
}

// -- rendering -------------------------------------------------------------------------------------------------------
function render() {
  if (!page?.plan) return;
  const current = plan();
  const editable = current.editable;
  $('#plan-locked').hidden = editable;
  $('#add-item-form').hidden = !editable;
  const rule = $('#thematic-rule');
  rule.hidden = current.kind !== 'thematic';
  rule.textContent = t('branch.plan.thematicRule', { minimum: MIN_DESIGNATED });
  const list = $('#plan-agenda');
  // A choice made in a list but not saved yet survives drawing the list again.
  const chosen = new Map([...list.querySelectorAll('select')].map((s) => [s.id, s.value]));
  replaceKeepingFocus(
    list,
    current.agenda.map((item, index) => itemRow(item, index, editable)),
  );
  for (const [id, value] of chosen) {
    const select = document.getElementById(id);
    if (select && [...select.options].some((o) => o.value === value)) select.value = value;
  }
}

function itemRow(item, index, editable) {
  const count = item.designated_speakers.length;
  const last = plan().agenda.length - 1;
  const renaming = state.renaming?.id === item.id;
  const error = h('p', { id: `err-${item.id}`, class: 'error', role: 'alert' });
  writeError(error, state.errors.get(item.id));
  return h(
    'li',
    { class: 'prep-item', dataset: { item: item.id } },
    h(
      'div',
      { class: 'prep-item-head' },
      h('span', { class: 'num prep-item-num' }, `${index + 1}.`),
      renaming ? renameBox(item) : h('strong', { class: 'grow prep-item-title' }, item.title),
    ),
    editable && !renaming
      ? h(
          'div',
          { class: 'row' },
          itemButton('up', item, t('branch.plan.up'), () => move(item, -1, $(`#up-${item.id}`)), index === 0),
          itemButton('down', item, t('branch.plan.down'), () => move(item, 1, $(`#down-${item.id}`)), index === last),
          itemButton('rename', item, t('branch.plan.rename'), () => {
            state.renaming = { id: item.id, text: item.title };
            state.errors.delete(item.id);
            render();
            document.getElementById(`rename-input-${item.id}`)?.focus();
          }),
          itemButton('remove', item, t('branch.plan.remove'), () => remove(item, $(`#remove-${item.id}`))),
        )
      : null,
    item.presenter ? h('p', { class: 'prep-line' }, t('branch.plan.presenterIs', { name: item.presenter.name })) : null,
    count
      ? h('p', { class: 'prep-line' }, t('branch.plan.designatedAre', { names: item.designated_speakers.map((p) => p.name).join(', ') }))
      : null,
    countsDesignated(item)
      ? h(
          'p',
          { class: 'prep-line' },
          h('span', { class: `pill ${count >= MIN_DESIGNATED ? 'pill-ok' : 'pill-warn'}` }, t('branch.plan.count', { count, minimum: MIN_DESIGNATED })),
        )
      : null,
    itemWarnings(item.id).map((w) => h('p', { class: 'notice prep-warning' }, errorText(w))),
    error,
    editable ? assignPanel(item) : null,
  );
}

function itemButton(kind, item, label, onclick, disabled = false) {
  return h(
    'button',
    { type: 'button', id: `${kind}-${item.id}`, class: 'btn btn-small', 'aria-label': `${label}: ${item.title}`, disabled, onclick },
    label,
  );
}

function renameBox(item) {
  const input = h('input', { id: `rename-input-${item.id}`, type: 'text', maxlength: 300, value: state.renaming.text, autocomplete: 'off' });
  input.value = state.renaming.text;
  input.addEventListener('input', () => (state.renaming.text = input.value));
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      saveTitle(item, $(`#rename-save-${item.id}`));
    } else if (event.key === 'Escape') {
      event.preventDefault();
      cancelRename(item);
    }
  });
  return h(
    'div',
    { class: 'grow stack prep-rename' },
    h('label', { for: input.id }, t('branch.plan.renameLabel', { title: item.title })),
    input,
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'button', id: `rename-save-${item.id}`, class: 'btn btn-primary btn-small', onclick: () => saveTitle(item, $(`#rename-save-${item.id}`)) }, t('branch.plan.save')),
      h('button', { type: 'button', class: 'btn btn-small', onclick: () => cancelRename(item) }, t('common.cancel')),
    ),
  );
}

function cancelRename(item) {
  state.renaming = null;
  render();
  document.getElementById(`rename-${item.id}`)?.focus();
}

function assignPanel(item) {
  const people = assignable(page.members);
  const designatedIds = new Set(item.designated_speakers.map((p) => p.member_id));
  const panelId = `assign-${item.id}`;
  const panel = h('details', { id: panelId, class: 'prep-assign', open: state.open.has(item.id) });
  panel.addEventListener('toggle', () => (panel.open ? state.open.add(item.id) : state.open.delete(item.id)));
  panel.append(
    h('summary', {}, t('branch.plan.assign'), h('span', { class: 'sr-only' }, `: ${item.title}`)),
    h(
      'div',
      { class: 'stack' },
      h('label', { for: `presenter-${item.id}` }, t('branch.plan.presenter'), h('span', { class: 'sr-only' }, `: ${item.title}`)),
      h(
        'div',
        { class: 'row' },
        h('select', { id: `presenter-${item.id}`, class: 'flex-wide' }, memberOptions(people, item.presenter?.member_id ?? null, t('branch.plan.noPresenter'))),
        h('button', { type: 'button', id: `presenter-save-${item.id}`, class: 'btn btn-small', 'aria-label': `${t('branch.plan.savePresenter')}: ${item.title}`, onclick: () => savePresenter(item, $(`#presenter-save-${item.id}`)) }, t('branch.plan.savePresenter')),
      ),
      h('p', { class: 'prep-label', id: `designated-label-${item.id}` }, t('branch.plan.designated')),
      h(
        'ol',
        { class: 'list prep-speakers', 'aria-labelledby': `designated-label-${item.id}` },
        item.designated_speakers.length
          ? item.designated_speakers.map((person) =>
              h(
                'li',
                {},
                h('span', { class: 'grow' }, person.name),
                h('button', { type: 'button', id: `drop-${item.id}-${person.member_id}`, class: 'btn btn-small', 'aria-label': `${t('branch.plan.drop')}: ${person.name}`, onclick: () => dropSpeaker(item, person.member_id, $(`#drop-${item.id}-${person.member_id}`)) }, t('branch.plan.drop')),
              ),
            )
          : h('li', { class: 'muted' }, t('branch.plan.noDesignated')),
      ),
      h('label', { for: `speaker-${item.id}` }, t('branch.plan.addSpeakerLabel'), h('span', { class: 'sr-only' }, `: ${item.title}`)),
      h(
        'div',
        { class: 'row' },
        h('select', { id: `speaker-${item.id}`, class: 'flex-wide' }, memberOptions(people.filter((m) => !designatedIds.has(m.id)), null, t('branch.invite.choose'))),
        h('button', { type: 'button', id: `speaker-add-${item.id}`, class: 'btn btn-small', 'aria-label': `${t('branch.plan.addSpeaker')}: ${item.title}`, onclick: () => addSpeaker(item, $(`#speaker-add-${item.id}`)) }, t('branch.plan.addSpeaker')),
      ),
    ),
  );
  return panel;
}

export const planPart = {
  async show(current) {
    page = current;
    state.renaming = null;
    state.errors.clear();
    // A thematic meeting's topic and prepared discussion need people assigned: their panels start open.
    const wide = current.plan.kind === 'thematic' ? ['discussion', 'topic_report'] : [];
    state.open = new Set(current.plan.agenda.filter((item) => wide.includes(item.kind)).map((item) => item.id));
    clearError($('#agenda-error'));
    render();
  },
  render() {
    render();
  },
};

$('#add-item-form').addEventListener('submit', addItem);
