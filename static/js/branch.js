// The preparation page (/branch; /branch?m=ID for one meeting): the branch's secretary or deputy sees the
// branch's meetings, creates one from an order of business (regular, thematic, extraordinary), and prepares it:
// who chairs and keeps the minutes, links to the consoles, one-tap invite links for members far away.
import { $, announce, bootPage, busy, clearError, fill, h, meetingIdFromUrl, requireSession, showError } from './common.js';
import { currentLang, errorText, moment, t, when } from './i18n.js';
import { ApiError, request } from './net.js';
import { memberOptions } from './branch-kit.js';
import { afterPart } from './branch-after.js';
import { docsPart } from './branch-docs.js';
import { editPart } from './branch-edit.js';
import { planPart } from './branch-plan.js';

await bootPage();
const session = requireSession();

/** What the page knows; the other parts of the page read it and ask for `refreshPlan` after a change. */
const page = {
  session,
  branchId: session?.branchId ?? null,
  members: [], // the branch's roster (GET /api/branches/{id}/members)
  templates: [], // the orders of business (GET /api/agenda-templates)
  meetings: [], // the branch's meetings, newest first
  meeting: null, // the meeting being prepared (GET /api/meetings/{id})
  plan: null, // its plan with assignments and warnings (GET /api/prep/meetings/{id})
  refreshPlan,
};

function mayPrepare(who) {
  return Boolean(who) && !who.meetingId && who.branchId != null && (who.role === 'secretary' || who.role === 'deputy');
}

function deny() {
  $('#list-view').hidden = true;
  $('#meeting-view').hidden = true;
  $('#denied').hidden = false;
  document.documentElement.dataset.ready = 'branch';
}

function loadFailed(failure) {
  if (failure instanceof ApiError && failure.status === 403) return deny();
  const box = $('#load-error');
  showError(box, failure);
  box.hidden = false;
  document.documentElement.dataset.ready = 'branch';
}

function memberName(id) {
  if (id == null) return '';
  return page.members.find((m) => m.id === id)?.full_name || t('common.member', { id });
}

// -- moving between the list and one meeting (the address says which, so a reload stays put) -------------------
function go(path) {
  history.pushState(null, '', path);
  route();
}

document.addEventListener('click', (event) => {
  const link = event.target.closest?.('a[data-nav]');
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  go(link.getAttribute('href'));
});
let shownAddress = null; // the page's own address (a jump to a part of the page changes only the #fragment)
window.addEventListener('popstate', () => {
  if (location.pathname + location.search !== shownAddress) route();
});

let firstView = true;

async function route() {
  shownAddress = location.pathname + location.search;
  const id = meetingIdFromUrl();
  $('#load-error').hidden = true;
  if (id) await showMeeting(id);
  else await showList();
  if (!firstView) (id ? $('#m-title') : $('#create-heading')).focus();
  firstView = false;
  document.documentElement.dataset.ready = 'branch';
}

// -- the list ---------------------------------------------------------------------------------------------------
async function showList() {
  $('#meeting-view').hidden = true;
  $('#list-view').hidden = false;
  document.title = t('branch.pageTitle');
  try {
    ({ meetings: page.meetings } = await request(`/api/branches/${page.branchId}/meetings`));
  } catch (failure) {
    loadFailed(failure);
    return;
  }
  renderList();
}

function renderList() {
  const upcoming = page.meetings.filter((m) => m.status !== 'ended').sort((a, b) => a.scheduled_at.localeCompare(b.scheduled_at));
  const past = page.meetings.filter((m) => m.status === 'ended');
  fill($('#upcoming'), upcoming.length ? upcoming.map(meetingRow) : h('li', { class: 'muted' }, t('branch.list.noUpcoming')));
  fill($('#past'), past.length ? past.map(meetingRow) : h('li', { class: 'muted' }, t('branch.list.noPast')));
}

function statusPill(meeting) {
  const { status } = meeting;
  const tone = { scheduled: 'pill-warn', in_progress: 'pill-ok', ended: '' }[status] ?? '';
  // Opened for check-in at the door but not started: the plan is already locked.
  const words = status === 'scheduled' && meeting.live ? t('branch.meeting.opened') : t(`status.${status}`);
  return h('span', { class: `pill ${tone}`.trim() }, words);
}

function meetingRow(meeting) {
  const label = meeting.status === 'ended' ? t('branch.list.view') : t('branch.list.prepare');
  return h(
    'li',
    { dataset: { meeting: meeting.id } },
    h(
      'div',
      { class: 'grow' },
      h('strong', {}, meeting.title),
      h('br'),
      h('span', { class: 'muted' }, [t(`branch.kind.${meeting.kind}`), when(meeting.scheduled_at), meeting.place].filter(Boolean).join(' · ')),
      ' ',
      statusPill(meeting),
    ),
    h('a', { class: 'btn btn-primary', href: `/branch?m=${meeting.id}`, dataset: { nav: '' }, 'aria-label': `${label}: ${meeting.title}` }, label),
  );
}

// -- creating a meeting from an order of business ---------------------------------------------------------------
let titleTouched = false;

function chosenTemplate() {
  const id = $('#template-choices input:checked')?.value;
  return page.templates.find((tpl) => tpl.id === id) || page.templates[0];
}

function suggestedTitle() {
  const template = chosenTemplate();
  if (!template) return '';
  const name = currentLang() === 'en' ? template.title_en : template.title;
  const [year, month] = ($('#new-date').value || '').split('-');
  return month ? t('branch.create.suggested', { title: name, month: Number(month), year }) : name;
}

function renderTemplates() {
  const chosen = chosenTemplate()?.id ?? page.templates[0]?.id;
  fill(
    $('#template-choices'),
    page.templates.map((tpl) =>
      h(
        'label',
        { class: 'prep-choice', for: `tpl-${tpl.id}` },
        h('input', { type: 'radio', name: 'template', id: `tpl-${tpl.id}`, value: tpl.id, checked: tpl.id === chosen }),
        h('span', {}, t(`branch.kind.${tpl.meeting_kind}`), h('br'), h('span', { class: 'muted' }, currentLang() === 'en' ? tpl.title_en : tpl.title)),
      ),
    ),
  );
  renderTemplatePreview();
}

function renderTemplatePreview() {
  const template = chosenTemplate();
  fill($('#template-items'), (template?.items || []).map((item) => h('li', {}, currentLang() === 'en' ? item.title_en : item.title)));
  if (!titleTouched) $('#new-title').value = suggestedTitle();
}

function renderOfficerChoices() {
  const people = page.members.filter((m) => m.active && m.category !== 'guest');
  const keep = (select, fallback) => (select.value ? Number(select.value) : fallback);
  fill($('#new-chair'), memberOptions(people, keep($('#new-chair'), page.session.memberId), t('branch.create.nobody')));
  fill($('#new-clerk'), memberOptions(people, keep($('#new-clerk'), null), t('branch.create.nobody')));
}

function toggleCreate(open) {
  $('#create-form').hidden = !open;
  $('#create-toggle').hidden = open;
  $('#create-toggle').setAttribute('aria-expanded', String(open));
  if (open) {
    $('#template-choices input:checked')?.focus();
  } else {
    $('#create-toggle').focus();
  }
}

async function createMeeting(event) {
  event.preventDefault();
  const error = $('#create-error');
  clearError(error);
  const title = $('#new-title').value.trim();
  const date = $('#new-date').value;
  const time = $('#new-time').value;
  const missing = !title ? ['#new-title', 'branch.create.needTitle'] : !date ? ['#new-date', 'branch.create.needDate'] : !time ? ['#new-time', 'branch.create.needTime'] : null;
  if (missing) {
    error.textContent = t(missing[1]);
    $(missing[0]).focus();
    return;
  }
  const template = chosenTemplate();
  const body = {
    kind: template.meeting_kind,
    template_id: template.id,
    title,
    scheduled_at: moment(date, time),
    place: $('#new-place').value.trim(),
    chair_id: $('#new-chair').value ? Number($('#new-chair').value) : null,
    clerk_id: $('#new-clerk').value ? Number($('#new-clerk').value) : null,
  };
  await busy($('#create-submit'), async () => {
    let created;
    try {
      created = await request(`/api/branches/${page.branchId}/meetings`, { method: 'POST', body });
    } catch (failure) {
      showError(error, failure); // the form keeps everything typed
      return;
    }
    $('#create-form').reset();
    titleTouched = false;
    $('#create-form').hidden = true;
    $('#create-toggle').hidden = false;
    $('#create-toggle').setAttribute('aria-expanded', 'false');
    renderTemplates();
    renderOfficerChoices();
    announce(t('branch.create.done', { title: created.title }));
    justCreated = created.id;
    go(`/branch?m=${created.id}`);
  });
}

// -- one meeting --------------------------------------------------------------------------------------------------
let justCreated = null;

async function showMeeting(id) {
  $('#list-view').hidden = true;
  $('#meeting-view').hidden = false;
  const created = $('#m-created');
  created.hidden = justCreated !== id;
  justCreated = null;
  try {
    const [meeting, plan] = await Promise.all([request(`/api/meetings/${id}`), request(`/api/prep/meetings/${id}`)]);
    page.meeting = meeting;
    page.plan = plan;
  } catch (failure) {
    $('#meeting-view').hidden = true;
    loadFailed(failure);
    return;
  }
  document.title = `${page.meeting.title} — ${t('branch.pageTitle')}`;
  renderMeeting();
  clearError($('#invite-error'));
  $('#invite-result').hidden = true;
  for (const part of parts) await part.show(page);
}

/** The other parts of one meeting's page (agenda, documents, ...): each has show(page) and render(page). */
const parts = [editPart, planPart, docsPart, afterPart];

async function refreshPlan() {
  page.plan = await request(`/api/prep/meetings/${page.meeting.id}`);
  page.meeting = await request(`/api/meetings/${page.meeting.id}`);
  renderMeeting();
  for (const part of parts) part.render(page);
}

function renderMeeting() {
  const meeting = page.meeting;
  $('#m-title').textContent = meeting.title;
  fill(
    $('#m-meta'),
    [t(`branch.kind.${meeting.kind}`), when(meeting.scheduled_at), meeting.place].filter(Boolean).join(' · '),
    ' ',
    statusPill(meeting),
  );
  const nobody = t('branch.meeting.nobody');
  $('#m-officers').textContent = t('branch.meeting.officers', {
    chair: meeting.chair_id ? memberName(meeting.chair_id) : nobody,
    clerk: meeting.clerk_id ? memberName(meeting.clerk_id) : nobody,
  });
  const general = (page.plan?.warnings || []).filter((w) => w.code === 'warn_no_chair' || w.code === 'warn_no_clerk');
  fill($('#m-warnings'), general.map((w) => h('p', { class: 'notice' }, errorText(w))));
  const id = meeting.id;
  const link = (key, path) => h('a', { class: 'btn', href: `${path}?m=${id}` }, t(key));
  fill(
    $('#m-links'),
    link('branch.meeting.member', '/join'),
    link('branch.meeting.chair', '/chair'),
    link('branch.meeting.clerk', '/clerk'),
    link('branch.meeting.hall', '/hall'),
  );
  $('#invite-card').hidden = meeting.status === 'ended';
  $('#jump-invite').hidden = meeting.status === 'ended';
  const invitee = $('#invite-member');
  const keep = invitee.value ? Number(invitee.value) : null;
  fill(invitee, memberOptions(page.members.filter((m) => m.active), keep, t('branch.invite.choose')));
}

// -- one-tap invite links -------------------------------------------------------------------------------------------
async function makeInvite() {
  const error = $('#invite-error');
  clearError(error);
  const memberId = Number($('#invite-member').value);
  if (!memberId) {
    error.textContent = t('branch.invite.needMember');
    $('#invite-member').focus();
    return;
  }
  await busy($('#invite-make'), async () => {
    let invite;
    try {
      invite = await request(`/api/meetings/${page.meeting.id}/invites`, { method: 'POST', body: { member_id: memberId } });
    } catch (failure) {
      showError(error, failure);
      return;
    }
    $('#invite-link-label').textContent = t('branch.invite.linkFor', { name: memberName(memberId) });
    $('#invite-link').value = invite.url;
    $('#invite-expiry').textContent = t('branch.invite.expires', { when: when(invite.expires_at) });
    $('#invite-result').hidden = false;
    announce(t('branch.invite.made'));
    $('#invite-link').focus();
    $('#invite-link').select();
  });
}

async function copyInvite() {
  const field = $('#invite-link');
  let copied = false;
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(field.value);
      copied = true;
    }
  } catch {
    /* not allowed here (a page over plain http): the old way below */
  }
  if (!copied) {
    field.focus();
    field.select();
    try {
      copied = document.execCommand('copy');
    } catch {
      copied = false;
    }
  }
  announce(t(copied ? 'branch.invite.copied' : 'branch.invite.copyByHand'), copied ? 'info' : 'error');
}

// -- start ----------------------------------------------------------------------------------------------------------
async function start() {
  if (!session) return; // on the way to the sign-in page
  if (!mayPrepare(session)) return deny();
  try {
    const [{ members }, { templates }] = await Promise.all([
      request(`/api/branches/${page.branchId}/members`),
      request('/api/agenda-templates'),
    ]);
    page.members = members;
    page.templates = templates;
  } catch (failure) {
    loadFailed(failure);
    return;
  }
  renderTemplates();
  renderOfficerChoices();
  $('#create-toggle').addEventListener('click', () => toggleCreate(true));
  $('#create-cancel').addEventListener('click', () => toggleCreate(false));
  $('#create-form').addEventListener('submit', createMeeting);
  $('#template-choices').addEventListener('change', renderTemplatePreview);
  $('#new-date').addEventListener('change', () => titleTouched || ($('#new-title').value = suggestedTitle()));
  $('#new-title').addEventListener('input', () => (titleTouched = $('#new-title').value.trim() !== ''));
  $('#invite-make').addEventListener('click', makeInvite);
  $('#invite-copy').addEventListener('click', copyInvite);
  document.addEventListener('langchange', () => {
    renderTemplates();
    renderOfficerChoices();
    if (!$('#list-view').hidden) renderList();
    if (!$('#meeting-view').hidden && page.meeting) {
      renderMeeting();
      for (const part of parts) part.render(page);
    }
  });
  await route();
}

await start();
