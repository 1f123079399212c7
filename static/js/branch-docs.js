// The documents of one meeting on the preparation page (/branch?m=ID): upload (the API checks type and size by
// the file's content; its refusal is shown and the form keeps the file and what was typed), the list, delete
// while not yet sent, "Gửi tài liệu" (distribute to the members), the 3-working-day rule for a thematic
// meeting's draft report, and who opened which document when (the access log).
import { $, announce, busy, clearError, confirmDialog, download, h, showError } from './common.js';
import { currentLang, dayText, errorText, shortTime, t } from './i18n.js';
import { ApiError, request, token } from './net.js';
import { replaceKeepingFocus } from './branch-kit.js';

let page = null;
let documents = []; // GET /api/prep/meetings/{id}/access: each document with who opened it and who has not

const DRAFT_WARNINGS = new Set(['warn_draft_not_distributed', 'warn_draft_late']);

function meetingId() {
  return page.meeting.id;
}

let maxBytes = null; // the server's upload limit, from the same answer

async function load() {
  ({ documents, max_bytes: maxBytes } = await request(`/api/prep/meetings/${meetingId()}/access`));
}

function renderFileHint() {
  const mb = maxBytes ? Math.round((maxBytes / (1024 * 1024)) * 10) / 10 : null;
  const shown = mb?.toLocaleString(currentLang() === 'en' ? 'en-GB' : 'vi-VN');
  $('#doc-file-hint').textContent = t(mb ? 'branch.docs.fileHint' : 'branch.docs.fileTypes', { mb: shown });
}

async function reload() {
  try {
    await load();
  } catch (failure) {
    showError($('#docs-error'), failure);
    return false;
  }
  render();
  return true;
}

/** "2,4 MB", "180 KB" */
function size(bytes) {
  const format = (n) => n.toLocaleString(currentLang() === 'en' ? 'en-GB' : 'vi-VN', { maximumFractionDigits: 1 });
  if (bytes >= 1024 * 1024) return `${format(bytes / (1024 * 1024))} MB`;
  return `${format(Math.max(1, Math.round(bytes / 1024)))} KB`;
}

// -- upload ------------------------------------------------------------------------------------------------------
/** Send a form with a file (multipart) to the API; the answer's JSON, or an ApiError as `request` gives. */
async function upload(path, form) {
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await token()}`, Accept: 'application/json' },
      body: form,
      cache: 'no-store',
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, { code: 'network' });
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON */
  }
  if (!response.ok) throw new ApiError(response.status, body?.error || { code: response.status === 413 ? 'document_too_large' : 'internal' });
  return body;
}

async function send(event) {
  event.preventDefault();
  const error = $('#upload-error');
  clearError(error);
  const file = $('#doc-file').files[0];
  if (!file) {
    error.textContent = t('branch.docs.needFile');
    $('#doc-file').focus();
    return;
  }
  const form = new FormData();
  form.append('file', file, file.name);
  form.append('kind', $('#doc-kind').value);
  form.append('title', $('#doc-title').value.trim());
  await busy($('#upload'), async () => {
    let added;
    try {
      added = await upload(`/api/prep/meetings/${meetingId()}/documents`, form);
    } catch (failure) {
      // Too large for a proxy in front of us (no JSON answer), or the link dropped mid-file: said in our words.
      if (failure instanceof ApiError && failure.status === 413 && !failure.error.message) error.textContent = t('branch.docs.tooLarge');
      else if (failure instanceof ApiError && failure.status === 0) error.textContent = t('branch.docs.uploadNetwork');
      else showError(error, failure); // the form keeps the file, its kind and title
      return;
    }
    $('#upload-form').reset();
    announce(t('branch.docs.uploaded', { title: added.title }));
    await reload();
  });
}

// -- distribute, delete, open ---------------------------------------------------------------------------------------
async function distribute(ids, control) {
  const count = ids ? ids.length : documents.filter((d) => !d.distributed_at).length;
  if (!(await confirmDialog(t('branch.docs.distributeConfirm', { n: count }), { yes: t('branch.docs.distribute') }))) {
    control.focus();
    return;
  }
  const error = $('#docs-error');
  clearError(error);
  await busy(control, async () => {
    try {
      await request(`/api/prep/meetings/${meetingId()}/distribute`, { method: 'POST', body: ids ? { document_ids: ids } : {} });
    } catch (failure) {
      showError(error, failure);
      return;
    }
    announce(t('branch.docs.distributed', { n: count }));
    await reload();
    await page.refreshPlan().catch(() => {}); // the draft report's deadline and the plan's warnings
  });
  (control.isConnected && !control.hidden ? control : $('#docs-heading')).focus();
}

async function remove(document_, control) {
  if (!(await confirmDialog(t('branch.docs.removeConfirm', { title: document_.title }), { yes: t('branch.docs.remove') }))) {
    control.focus();
    return;
  }
  const error = $('#docs-error');
  clearError(error);
  await busy(control, async () => {
    try {
      await request(`/api/prep/documents/${document_.id}`, { method: 'DELETE' });
    } catch (failure) {
      showError(error, failure);
      return;
    }
    announce(t('branch.docs.removed', { title: document_.title }));
    await reload();
    $('#docs-heading').focus();
  });
}

async function open(document_, control) {
  const error = $('#docs-error');
  clearError(error);
  await busy(control, async () => {
    try {
      await download(`/api/prep/documents/${document_.id}/file`, document_.filename);
    } catch (failure) {
      showError(error, failure);
    }
  });
}

// -- rendering ------------------------------------------------------------------------------------------------------
const KINDS = ['draft_report', 'slides', 'other'];

function renderDraftRule() {
  const draft = page.plan?.draft;
  const box = $('#draft-rule');
  box.hidden = !draft;
  if (!draft) return;
  $('#draft-rule-text').textContent = t('branch.docs.draftRule', { days: draft.lead_working_days, deadline: dayText(draft.deadline) });
  let state;
  if (!draft.distributed_at) state = h('span', { class: 'pill pill-warn' }, t('branch.docs.draftNotSent'));
  else if (draft.on_time) state = h('span', { class: 'pill pill-ok' }, t('branch.docs.draftOnTime', { when: shortTime(draft.distributed_at) }));
  else state = h('span', { class: 'pill pill-bad' }, t('branch.docs.draftLate', { when: shortTime(draft.distributed_at) }));
  const warnings = (page.plan.warnings || []).filter((w) => DRAFT_WARNINGS.has(w.code));
  replaceKeepingFocus($('#draft-state'), [state, warnings.map((w) => h('p', { class: 'notice prep-warning' }, errorText(w)))]);
}

function documentRow(doc) {
  const sent = Boolean(doc.distributed_at);
  const opened = doc.opened_by || [];
  const notOpened = doc.not_opened || [];
  return h(
    'li',
    { class: 'prep-doc', dataset: { document: doc.id } },
    h(
      'div',
      { class: 'prep-doc-head' },
      h('strong', { class: 'prep-doc-title' }, doc.title),
      h('span', { class: `pill ${sent ? 'pill-ok' : 'pill-warn'}` }, sent ? t('branch.docs.sentAt', { when: shortTime(doc.distributed_at) }) : t('branch.docs.notSent')),
    ),
    h('p', { class: 'prep-line muted' }, [t(`branch.docs.kinds.${doc.kind}`), doc.filename, size(doc.size), t('branch.docs.uploadedAt', { when: shortTime(doc.uploaded_at) })].join(' · ')),
    h(
      'div',
      { class: 'row' },
      docButton('open', doc, t('branch.docs.open'), () => open(doc, $(`#doc-open-${doc.id}`))),
      sent ? null : docButton('send', doc, t('branch.docs.distributeOne'), () => distribute([doc.id], $(`#doc-send-${doc.id}`)), 'btn-go'),
      sent ? null : docButton('remove', doc, t('branch.docs.remove'), () => remove(doc, $(`#doc-remove-${doc.id}`))),
    ),
    h(
      'details',
      { class: 'prep-access', id: `doc-access-${doc.id}`, open: openLogs.has(doc.id) },
      h('summary', {}, t('branch.docs.accessSummary', { opened: opened.length, notOpened: notOpened.length }), h('span', { class: 'sr-only' }, `: ${doc.title}`)),
      opened.length
        ? h(
            'ul',
            { class: 'list prep-readers' },
            opened.map((reader) =>
              h(
                'li',
                {},
                h('strong', {}, reader.name || t('branch.docs.someone')),
                h(
                  'span',
                  { class: 'muted' },
                  reader.times > 1
                    ? t('branch.docs.openedMany', { first: shortTime(reader.first_opened_at), last: shortTime(reader.last_opened_at), n: reader.times })
                    : t('branch.docs.openedOnce', { first: shortTime(reader.first_opened_at) }),
                ),
              ),
            ),
          )
        : h('p', { class: 'prep-line muted' }, t('branch.docs.nobodyOpened')),
      notOpened.length ? h('p', { class: 'prep-line' }, t('branch.docs.notOpened', { names: notOpened.map((p) => p.name).join(', ') })) : null,
    ),
  );
}

const openLogs = new Set(); // documents whose access log the user has open

function docButton(kind, doc, label, onclick, extra = '') {
  return h('button', { type: 'button', id: `doc-${kind}-${doc.id}`, class: `btn btn-small ${extra}`.trim(), 'aria-label': `${label}: ${doc.title}`, onclick }, label);
}

function render() {
  if (!page?.meeting) return;
  renderDraftRule();
  renderFileHint();
  const list = $('#doc-list');
  replaceKeepingFocus(list, documents.length ? documents.map(documentRow) : [h('li', { class: 'muted' }, t('branch.docs.none'))]);
  for (const details of list.querySelectorAll('details')) {
    const id = Number(details.closest('li').dataset.document);
    details.addEventListener('toggle', () => (details.open ? openLogs.add(id) : openLogs.delete(id)));
  }
  const waiting = documents.filter((d) => !d.distributed_at).length;
  const all = $('#distribute');
  all.hidden = !waiting;
  all.textContent = t('branch.docs.distributeAll', { n: waiting });
  const kind = $('#doc-kind');
  const chosen = kind.value || 'other';
  replaceKeepingFocus(kind, KINDS.map((k) => h('option', { value: k, selected: k === chosen }, t(`branch.docs.kinds.${k}`))));
  kind.value = chosen;
}

export const docsPart = {
  async show(current) {
    if (page?.meeting?.id !== current.meeting.id) $('#upload-form').reset(); // a file chosen for another meeting
    page = current;
    openLogs.clear();
    documents = [];
    clearError($('#docs-error'));
    clearError($('#upload-error'));
    render();
    await reload();
  },
  render() {
    render();
  },
};

$('#upload-form').addEventListener('submit', send);
$('#distribute').addEventListener('click', () => distribute(null, $('#distribute')));
$('#docs-refresh').addEventListener('click', () =>
  busy($('#docs-refresh'), async () => {
    clearError($('#docs-error'));
    if (await reload()) announce(t('branch.docs.refreshed'));
  }),
);
