// The branch's roster and rules (/members), for its secretary and deputy: who belongs to the branch, in which
// category (which decides who counts toward the quorum and who votes), their role, phone and sign-in; and the
// branch's quorum and majority rules. Every change goes through the roster API, which checks it again.
import { $, announce, bootPage, busy, button, clearError, confirmDialog, fill, h, promptDialog, showError } from './common.js';
import { errorText, t } from './i18n.js';
import { current, loginUrl, request } from './net.js';
await bootPage();

const CATEGORY_ORDER = ['official', 'probationary', 'exempt', 'guest'];
const RULE_KINDS = ['quorum', 'majority'];

const session = current();
let branch = null;
let members = [];

function manager() {
  return session && (session.role === 'secretary' || session.role === 'deputy');
}

function fail(text) {
  const box = $('#load-error');
  box.textContent = text;
  box.hidden = false;
}

// -- the rules -------------------------------------------------------------------------------------------------
function ruleText(kind, strict, numerator, denominator) {
  if (!(numerator > 0 && denominator > 0 && numerator <= denominator)) return t('members.ruleInvalid');
  const fraction = `${numerator}/${denominator}`;
  return t(`members.${kind}Text`, { op: t(strict ? 'members.moreThan' : 'members.atLeast').toLowerCase(), fraction });
}

function readRule(kind) {
  return {
    strict: $(`#${kind}-strict`).value === 'true',
    numerator: Number($(`#${kind}-numerator`).value),
    denominator: Number($(`#${kind}-denominator`).value),
  };
}

function renderRuleTexts() {
  for (const kind of RULE_KINDS) {
    const rule = readRule(kind);
    $(`#${kind}-text`).textContent = ruleText(kind, rule.strict, rule.numerator, rule.denominator);
  }
}

function showRules() {
  for (const kind of RULE_KINDS) {
    $(`#${kind}-strict`).value = String(branch.rules[`${kind}_strict`]);
    $(`#${kind}-numerator`).value = branch.rules[`${kind}_numerator`];
    $(`#${kind}-denominator`).value = branch.rules[`${kind}_denominator`];
  }
  renderRuleTexts();
}

async function saveRules(event) {
  event.preventDefault();
  const error = $('#rules-error');
  const body = {};
  for (const kind of RULE_KINDS) {
    const rule = readRule(kind);
    if (!(Number.isInteger(rule.numerator) && Number.isInteger(rule.denominator) && rule.numerator > 0 && rule.numerator <= rule.denominator && rule.denominator <= 100)) {
      error.textContent = t('members.ruleInvalid');
      $(`#${kind}-numerator`).focus();
      return;
    }
    Object.assign(body, { [`${kind}_strict`]: rule.strict, [`${kind}_numerator`]: rule.numerator, [`${kind}_denominator`]: rule.denominator });
  }
  clearError(error);
  await busy($('#rules-save'), async () => {
    try {
      branch = await request(`/api/branches/${branch.id}`, { method: 'PATCH', body });
      showRules();
      announce(t('members.rulesSaved'));
    } catch (failure) {
      showError(error, failure);
    }
  });
}

// -- the roster ------------------------------------------------------------------------------------------------
function summary(list) {
  const active = list.filter((m) => m.active);
  const counts = Object.fromEntries(CATEGORY_ORDER.map((c) => [c, active.filter((m) => m.category === c).length]));
  return t('members.summary', { total: active.length, ...counts });
}

function renderRoster() {
  const showInactive = $('#show-inactive').checked;
  const shown = members
    .filter((m) => showInactive || m.active)
    .sort((a, b) => Number(b.active) - Number(a.active) || CATEGORY_ORDER.indexOf(a.category) - CATEGORY_ORDER.indexOf(b.category) || a.full_name.localeCompare(b.full_name, 'vi'));
  $('#roster-summary').textContent = summary(members);
  if (!shown.length) return fill($('#roster'), h('li', { class: 'muted' }, t('members.empty')));
  fill(
    $('#roster'),
    shown.map((member) => {
      const details = [
        t(`category.${member.category}`),
        member.role !== 'member' ? t(`members.roles.${member.role}`) : null,
        member.phone || null,
        member.username ? t('members.signsInAs', { username: member.username }) : t('members.noLogin'),
        member.active ? null : t('members.inactive'),
      ].filter(Boolean);
      return h(
        'li',
        { dataset: { member: member.id }, class: member.active ? '' : 'inactive' },
        h('span', { class: 'grow' }, h('strong', {}, member.full_name), h('br'), h('span', { class: 'muted' }, details.join(' · '))),
        button(t('members.edit'), member.full_name, () => startEdit(member)),
        // A forgotten password of a plain member only: a secretary's or deputy's is changed by its owner (access.py).
        member.username && member.role === 'member' ? button(t('members.resetPassword'), member.full_name, () => resetPassword(member)) : null,
        member.active
          ? button(t('members.deactivate'), member.full_name, () => setActive(member, false))
          : button(t('members.reactivate'), member.full_name, () => setActive(member, true)),
      );
    }),
  );
}

async function loadRoster() {
  ({ members } = await request(`/api/branches/${branch.id}/members`));
  renderRoster();
}

function replaceMember(changed) {
  members = members.map((m) => (m.id === changed.id ? changed : m));
  renderRoster();
}

async function setActive(member, active) {
  // Taking someone off the roster is confirmed; bringing them back is not (nothing is lost either way).
  if (!active && !(await confirmDialog(t('members.deactivateConfirm', { name: member.full_name })))) return;
  try {
    replaceMember(await request(`/api/members/${member.id}`, { method: 'PATCH', body: { active } }));
    announce(t(active ? 'members.reactivated' : 'members.deactivated', { name: member.full_name }));
  } catch (failure) {
    announce(errorText(failure.error), 'error');
  }
}

async function resetPassword(member) {
  const password = await promptDialog(t('members.newPasswordFor', { name: member.full_name }), { label: t('members.password'), required: true, maxlength: 200 });
  if (password === null || password === undefined) return;
  if (password.length < 8) return announce(t('members.passwordShort'), 'error');
  try {
    await request(`/api/members/${member.id}`, { method: 'PATCH', body: { password } });
    announce(t('members.passwordSet', { name: member.full_name }));
  } catch (failure) {
    announce(errorText(failure.error), 'error');
  }
}

// -- adding and changing one member ----------------------------------------------------------------------------
function startEdit(member) {
  $('#member-id').value = member.id;
  $('#full-name').value = member.full_name;
  $('#category').value = member.category;
  $('#role').value = member.role;
  $('#phone').value = member.phone || '';
  $('#username').value = member.username || '';
  $('#password').value = '';
  // A login's name stays as it is; a member without one may be given one here.
  $('#username').disabled = Boolean(member.username);
  $('#login-fields').hidden = Boolean(member.username);
  $('#add-heading').textContent = t('members.editTitle', { name: member.full_name });
  $('#member-save').textContent = t('members.save');
  $('#member-cancel').hidden = false;
  clearError($('#member-error'));
  $('#add-card').scrollIntoView({ block: 'start' });
  $('#full-name').focus();
}

function resetForm() {
  $('#member-form').reset();
  $('#member-id').value = '';
  $('#username').disabled = false;
  $('#login-fields').hidden = false;
  $('#add-heading').textContent = t('members.addTitle');
  $('#member-save').textContent = t('members.add');
  $('#member-cancel').hidden = true;
  clearError($('#member-error'));
}

/** What the form says, checked as the API will check it; null (and the error shown) when something is wrong. */
function readForm() {
  const error = $('#member-error');
  const fullName = $('#full-name').value.trim();
  const username = $('#username').disabled ? '' : $('#username').value.trim();
  const password = $('#password').value;
  const problem = !fullName
    ? ['members.nameMissing', '#full-name']
    : Boolean(username) !== Boolean(password)
      ? ['members.loginBoth', username ? '#password' : '#username']
      : username && !/^[A-Za-z0-9_.@-]{3,100}$/.test(username)
        ? ['members.usernameBad', '#username']
        : password && password.length < 8
          ? ['members.passwordShort', '#password']
          : null;
  if (problem) {
    error.textContent = t(problem[0]);
    $(problem[1]).focus();
    return null;
  }
  error.textContent = '';
  const body = { full_name: fullName, category: $('#category').value, role: $('#role').value, phone: $('#phone').value.trim() };
  if (username) Object.assign(body, { username, password });
  return body;
}

async function saveMember(event) {
  event.preventDefault();
  const body = readForm();
  if (!body) return;
  const id = $('#member-id').value;
  await busy($('#member-save'), async () => {
    try {
      if (id) {
        replaceMember(await request(`/api/members/${id}`, { method: 'PATCH', body }));
        announce(t('members.saved', { name: body.full_name }));
      } else {
        const created = await request(`/api/branches/${branch.id}/members`, { method: 'POST', body });
        members = [...members, created];
        renderRoster();
        announce(t('members.added', { name: body.full_name }));
      }
      resetForm();
    } catch (failure) {
      showError($('#member-error'), failure); // what was typed stays in the form
    }
  });
}

// -- start -----------------------------------------------------------------------------------------------------
async function start() {
  if (!session) {
    location.assign(loginUrl());
    return;
  }
  if (!manager() || !session.branchId) {
    fail(t('members.notAllowed'));
    return;
  }
  try {
    branch = await request(`/api/branches/${session.branchId}`);
    $('#branch-name').textContent = t('members.headingOf', { name: branch.name });
    showRules();
    await loadRoster();
  } catch (failure) {
    fail(errorText(failure.error));
    return;
  }
  $('#rules-card').hidden = false;
  $('#roster-card').hidden = false;
  $('#add-card').hidden = false;
}

$('#rules-form').addEventListener('submit', saveRules);
$('#rules-form').addEventListener('input', renderRuleTexts);
$('#member-form').addEventListener('submit', saveMember);
$('#member-cancel').addEventListener('click', resetForm);
$('#show-inactive').addEventListener('change', renderRoster);
document.addEventListener('langchange', () => {
  if (branch) {
    renderRuleTexts();
    renderRoster();
  }
});
await start();
document.documentElement.dataset.ready = 'members';
