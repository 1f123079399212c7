// The clerk's console (/clerk?m=ID): the roster at the door, the room's QR code, the live minutes, and the
// show-of-hands counts. The minutes are saved on every change through the outbox (kept on this device), so
// a dropped connection or a reload loses nothing and a replay is applied once.
import {
  $,
  announce,
  attendanceCounts,
  attendanceOf,
  bindConnection,
  bindOpenCard,
  bindRecordCard,
  bootPage,
  button,
  currentItem,
  fill,
  fold,
  h,
  meetingIdFromUrl,
  nameOf,
  promptDialog,
  requireSession,
} from './common.js';
import { bindRecordSignatures } from './recordsigners.js';
import { clock, errorText, t } from './i18n.js';
import { ALREADY_DONE, ApiError, itemMinutes, LiveMeeting, newId, request } from './net.js';
const AUTOSAVE_MS = 800;
const QR_REFRESH_MS = 4 * 60 * 1000; // the code turns every 10 minutes; refresh well before

await bootPage();
const session = requireSession();
const meetingId = meetingIdFromUrl() ?? session?.meetingId;
const me = session?.memberId;
const live = new LiveMeeting({ meetingId, client: 'clerk', memberId: me });
bindConnection(live);
bindOpenCard(live);
bindRecordCard(live); // the minutes in the record viewer, from the adoption step on
bindRecordSignatures(live); // in that card: who has signed the minutes, who is still to sign
const draftKey = `chibo.draft.${meetingId}.${me}`;

async function act(command, okText) {
  try {
    const answer = await live.send(command);
    if (okText) announce(okText);
    return answer;
  } catch (error) {
    if (!(error instanceof ApiError && ALREADY_DONE.has(error.code))) announce(errorText(error.error), 'error');
    return null;
  }
}

// -- the minutes editor --------------------------------------------------------------------------------------
// The entry being written: its id is made here, so its first save (write_entry) and every later one
// (revise_entry) name the same entry whether or not the server has answered yet.
let draft = loadDraft() || blankDraft();
let saveTimer = null;
let lastSavedAt = null;
let editorTouched = false; // the clerk chose the speaker or item by hand: do not follow the floor

function blankDraft() {
  return { entryId: null, itemId: null, speakerId: null, kind: 'opinion', text: '', sentText: '', sentSpeaker: null };
}

function loadDraft() {
  try {
    return JSON.parse(localStorage.getItem(draftKey) || 'null');
  } catch {
    return null;
  }
}

function keepDraft() {
  try {
    localStorage.setItem(draftKey, JSON.stringify(draft));
  } catch {
    /* the outbox still has what was sent */
  }
}

function scheduleSave() {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(saveNow, AUTOSAVE_MS);
}

/** Save what the editor holds: a new entry the first time, a revision after; never an empty text. */
function saveNow() {
  clearTimeout(saveTimer);
  const text = draft.text.trim();
  if (!text || !draft.itemId) return;
  if (!draft.entryId) {
    draft.entryId = newId('e');
    const command = writeCommand(text);
    draft.sentText = text;
    draft.sentSpeaker = draft.speakerId;
    keepDraft();
    track(live.send(command, { commandId: `w-${draft.entryId}` }), command);
    return;
  }
  if (text === draft.sentText && draft.speakerId === draft.sentSpeaker) return;
  const entryId = draft.entryId;
  const revise = { type: 'revise_entry', entry_id: entryId, text, speaker_id: draft.speakerId };
  // Still offline? Fold the change into the queued command rather than piling up revisions.
  const merged =
    live.replaceQueued((c) => c.type === 'write_entry' && c.entry_id === entryId, { ...writeCommand(text), entry_id: entryId }) ||
    live.replaceQueued((c) => c.type === 'revise_entry' && c.entry_id === entryId, revise);
  draft.sentText = text;
  draft.sentSpeaker = draft.speakerId;
  keepDraft();
  if (!merged) track(live.send(revise), revise);
  renderSaveState();
}

function writeCommand(text) {
  return { type: 'write_entry', entry_id: draft.entryId, item_id: draft.itemId, text, kind: draft.kind, speaker_id: draft.speakerId };
}

function track(promise, command) {
  renderSaveState();
  promise
    .then(() => {
      lastSavedAt = new Date().toISOString();
      renderSaveState();
    })
    .catch((error) => {
      if (error instanceof ApiError && ALREADY_DONE.has(error.code)) return renderSaveState();
      if (error instanceof ApiError && error.code === 'entry_exists' && command.type === 'write_entry') {
        // The id was taken by an earlier write of ours whose answer was lost: revise it instead.
        live.send({ type: 'revise_entry', entry_id: command.entry_id, text: command.text, speaker_id: command.speaker_id }).catch(() => {});
        return;
      }
      announce(errorText(error.error), 'error');
      renderSaveState();
    });
}

function startNewEntry() {
  saveNow();
  const state = live.state;
  draft = blankDraft();
  draft.itemId = state?.current_item_id || lastItemId(state);
  draft.speakerId = state?.floor?.member_id ?? null;
  editorTouched = false;
  keepDraft();
  renderEditor(true);
  renderEntries(live.state);
  $('#entry-text').focus();
}

function editEntry(entryId) {
  // Looked up at click time: the row's button may have been kept across updates.
  const entry = live.state.minutes.find((e) => e.id === entryId);
  if (!entry) return;
  saveNow();
  draft = {
    entryId: entry.id,
    itemId: entry.item_id,
    speakerId: entry.speaker_id,
    kind: entry.kind,
    text: entry.text,
    sentText: entry.text,
    sentSpeaker: entry.speaker_id,
  };
  editorTouched = true;
  keepDraft();
  renderEditor(true);
  renderEntries(live.state);
  $('#entry-text').focus();
}

function lastItemId(state) {
  if (!state) return null;
  const taken = state.agenda.filter((item) => item.status !== 'pending' && item.status !== 'skipped');
  return (taken[taken.length - 1] || state.agenda[0])?.id ?? null;
}

function renderSaveState() {
  const out = $('#save-state');
  const pending = live.pendingCount;
  if (pending && live.status !== 'online') out.textContent = t('clerk.savedLocally', { n: pending });
  else if (pending) out.textContent = t('clerk.saving');
  else if (lastSavedAt) out.textContent = t('clerk.savedAt', { time: clock(lastSavedAt) });
  else out.textContent = '';
}

let followedItem; // the current item at the last render (undefined before the first)

function renderEditor(force = false) {
  const state = live.state;
  if (!state) return;
  // The chair moved on and everything typed is saved: a fresh entry under the new item.
  if (followedItem !== undefined && state.current_item_id && state.current_item_id !== followedItem) {
    const saved = !draft.text.trim() || (draft.entryId && draft.text.trim() === draft.sentText);
    if (saved && draft.itemId !== state.current_item_id) {
      draft = blankDraft();
      editorTouched = false;
      force = true;
    }
  }
  followedItem = state.current_item_id;
  // Follow the meeting while the clerk has not started typing: the current item, the current speaker.
  if (!draft.entryId && !draft.text && !editorTouched) {
    draft.itemId = state.current_item_id || draft.itemId || lastItemId(state);
    draft.speakerId = state.floor?.member_id ?? draft.speakerId;
  }
  if (!draft.itemId) draft.itemId = lastItemId(state);
  const itemSelect = $('#entry-item');
  fill(itemSelect, state.agenda.map((item, i) => h('option', { value: item.id }, `${i + 1}. ${item.title}`)));
  itemSelect.value = draft.itemId || '';
  itemSelect.disabled = Boolean(draft.entryId); // an entry stays under the item it was written for
  const speaker = $('#entry-speaker');
  fill(
    speaker,
    h('option', { value: '' }, t('clerk.noSpeaker')),
    state.roster.map((p) => h('option', { value: p.member_id }, p.name)),
  );
  speaker.value = draft.speakerId ? String(draft.speakerId) : '';
  $('#entry-kind').value = draft.kind;
  $('#entry-kind').disabled = Boolean(draft.entryId);
  const area = $('#entry-text');
  if (force || document.activeElement !== area) area.value = draft.text;
  const item = currentItem(state);
  $('#current-line').textContent = item
    ? t('clerk.currentLine', { title: item.title, speaker: state.floor ? nameOf(state, state.floor.member_id) : t('clerk.nobody') })
    : t('clerk.noCurrent');
}

function renderEntries(state) {
  if (!state) return;
  const itemId = draft.itemId || state.current_item_id;
  const places = itemMinutes(state, itemId);
  if (!places.length) return fill($('#entries'), h('li', { class: 'muted' }, t('clerk.noEntries')));
  const last = places.length - 1;
  fill(
    $('#entries'),
    places.map((place, index) => {
      if (place.kind === 'vote') {
        const vote = state.votes[place.ref];
        return h('li', { class: 'minute-fixed', dataset: { vote: place.ref } }, h('span', { class: 'muted' }, t('clerk.voteRow', { question: vote?.question ?? '' })));
      }
      if (place.kind === 'conclusion') {
        const item = state.agenda.find((i) => i.id === place.ref);
        return h('li', { class: 'minute-fixed', dataset: { conclusion: place.ref } }, h('span', { class: 'muted' }, t('clerk.conclusionRow', { text: item?.conclusion ?? '' })));
      }
      const entry = place.entry;
      const history = historyList(entry);
      const about = entry.text.slice(0, 40);
      return h(
        'li',
        { class: entry.id === draft.entryId ? 'me' : null, dataset: { entry: entry.id } },
        h(
          'div',
          { class: 'grow' },
          h('span', { class: 'who' }, entry.speaker_id ? nameOf(state, entry.speaker_id) : t(`entry.${entry.kind}`)),
          ' ',
          h('span', { class: 'muted' }, `${clock(entry.written_at)} · ${t('clerk.revisions', { n: entry.revisions })}`),
          h('p', { class: 'entry-text' }, entry.text),
          history,
        ),
        button(t('clerk.edit'), about, () => editEntry(entry.id)),
        moveButton('up', entry, about, index === 0),
        moveButton('down', entry, about, index === last),
        entry.revisions > 1
          ? h('button', { type: 'button', class: 'btn btn-small', 'aria-expanded': String(openHistories.has(entry.id)), 'aria-controls': history.id, onclick: () => toggleHistory(entry) }, t('clerk.history'))
          : null,
      );
    }),
  );
}

function moveButton(direction, entry, about, disabled) {
  const label = t(direction === 'up' ? 'clerk.moveUp' : 'clerk.moveDown');
  return h(
    'button',
    { type: 'button', id: `entry-${direction}-${entry.id}`, class: 'btn btn-small', 'aria-label': `${label}: ${about}`, disabled, onclick: () => moveEntry(entry.id, direction) },
    label,
  );
}

/** One place up or down in the item's minutes (a journaled command); the keyboard stays on the moved entry. */
async function moveEntry(entryId, direction) {
  const moved = await act({ type: 'move_entry', entry_id: entryId, direction });
  if (!moved) return;
  renderEntries(live.state);
  const itemId = live.state.minutes.find((e) => e.id === entryId)?.item_id;
  const place = itemMinutes(live.state, itemId).findIndex((p) => p.kind === 'entry' && p.ref === entryId);
  announce(t('clerk.moved', { n: place + 1 }));
  const same = document.getElementById(`entry-${direction}-${entryId}`);
  const other = document.getElementById(`entry-${direction === 'up' ? 'down' : 'up'}-${entryId}`);
  (same && !same.disabled ? same : other)?.focus();
}

// Revision histories the clerk has opened (entry id -> revisions), drawn again with every update.
const openHistories = new Map();

async function toggleHistory(entry) {
  if (openHistories.has(entry.id)) {
    openHistories.delete(entry.id);
    renderEntries(live.state);
    return;
  }
  await loadHistory(entry);
  renderEntries(live.state);
}

const historiesLoading = new Set();

/** Fetch an entry's revisions; true when they arrived. */
async function loadHistory(entry) {
  if (historiesLoading.has(entry.id)) return false;
  historiesLoading.add(entry.id);
  try {
    const { revisions } = await request(`/web/meetings/${meetingId}/minutes/${encodeURIComponent(entry.id)}/revisions`);
    openHistories.set(entry.id, revisions);
    return true;
  } catch (error) {
    announce(errorText(error.error), 'error');
    return false;
  } finally {
    historiesLoading.delete(entry.id);
  }
}

function historyList(entry) {
  const revisions = openHistories.get(entry.id);
  if (revisions && revisions.length < entry.revisions && !historiesLoading.has(entry.id)) {
    loadHistory(entry).then((loaded) => loaded && renderEntries(live.state)); // a newer version was saved
  }
  return h(
    'ol',
    { class: 'history', hidden: !revisions, id: `history-${entry.id}` },
    (revisions || []).map((r, i) => h('li', {}, h('span', { class: 'muted' }, `${t('clerk.version', { n: i + 1 })} · ${clock(r.at)}: `), r.text)),
  );
}

// -- roster and check-in -------------------------------------------------------------------------------------
function renderRoster(state) {
  const counts = attendanceCounts(state);
  $('#roster-figures').textContent = t('clerk.rosterFigures', {
    room: counts.in_person,
    online: counts.remote,
    excused: counts.absent_excused,
    unexcused: counts.absent_unexcused,
    unknown: counts.expected,
  });
  if (!state.opened) return fill($('#roster'), h('li', { class: 'muted' }, t('common.openTitle')));
  const query = fold($('#search').value.trim());
  const people = state.roster.filter((p) => !query || fold(p.name).includes(query));
  if (!people.length) return fill($('#roster'), h('li', { class: 'muted' }, t('clerk.noMatch')));
  fill(
    $('#roster'),
    people.map((person) => {
      const record = attendanceOf(state, person.member_id);
      const present = record.status === 'present';
      const label = present ? t(`attendance.${record.mode}`) : t(`attendance.${record.status}`);
      return h(
        'li',
        { dataset: { member: person.member_id } },
        h('span', { class: 'grow' }, h('strong', {}, person.name), h('br'), h('span', { class: 'muted' }, `${t(`category.${person.category}`)} · ${label}${record.reason ? ' — ' + record.reason : ''}`)),
        !present || record.mode !== 'in_person'
          ? button(t(present ? 'clerk.toRoom' : 'clerk.checkIn'), person.name, () => act({ type: 'check_in', member_id: person.member_id, mode: 'in_person' }, t('clerk.checkedIn', { name: person.name })), 'btn-go')
          : null,
        present
          ? button(t('clerk.leave'), person.name, () => act({ type: 'leave', member_id: person.member_id }))
          : record.status === 'left'
            ? null // attended and left: the record says so, never "absent"
            : button(t('clerk.absent'), person.name, () => markAbsent(person)),
      );
    }),
  );
}

async function markAbsent(person) {
  const reason = await promptDialog(t('clerk.absentReason', { name: person.name }), { label: t('clerk.reason') });
  if (reason === null) return;
  act({ type: 'mark_absent', member_id: person.member_id, reason: reason || null });
}

async function loadQr() {
  try {
    const svg = await request(`/web/meetings/${meetingId}/checkin-qr.svg`, { as: 'blob' });
    const img = $('#qr-img');
    const old = img.src;
    img.src = URL.createObjectURL(svg);
    img.alt = t('clerk.qrAlt');
    if (old.startsWith('blob:')) URL.revokeObjectURL(old);
  } catch (error) {
    $('#qr').replaceChildren(h('p', { class: 'muted' }, errorText(error.error)));
  }
}

// -- show of hands -------------------------------------------------------------------------------------------
const hallCounts = { votes_for: 0, votes_against: 0, votes_abstain: 0 };
let hallVoteId = null;

function hallAllowed(state, vote) {
  return state.roster.filter((p) => {
    const record = attendanceOf(state, p.member_id);
    return p.may_vote && record.mode === 'in_person' && !(String(p.member_id) in vote.ballots);
  }).length;
}

function renderHall(state) {
  const vote = state.open_vote_id ? state.votes[state.open_vote_id] : null;
  $('#hall-card').hidden = !vote;
  if (!vote) return;
  if (hallVoteId !== vote.id) {
    hallVoteId = vote.id;
    Object.assign(hallCounts, vote.hall_count || { votes_for: 0, votes_against: 0, votes_abstain: 0 });
    fill(
      $('#hall-counters'),
      ['for', 'against', 'abstain'].map((choice) => {
        const key = `votes_${choice}`;
        const input = h('input', { id: `hall-${choice}`, type: 'number', min: 0, inputmode: 'numeric', value: hallCounts[key] });
        input.addEventListener('input', () => (hallCounts[key] = Math.max(0, Number(input.value) || 0)));
        const step = (delta) => {
          hallCounts[key] = Math.max(0, hallCounts[key] + delta);
          input.value = hallCounts[key];
        };
        return h(
          'div',
          { class: 'counter' },
          h('label', { for: `hall-${choice}`, class: 'counter-label' }, t(`choice.${choice}`)),
          h('button', { type: 'button', class: 'btn btn-small', onclick: () => step(-1), 'aria-label': t('clerk.minusOne', { what: t(`choice.${choice}`) }) }, '−'),
          input,
          h('button', { type: 'button', class: 'btn btn-small', onclick: () => step(1), 'aria-label': t('clerk.plusOne', { what: t(`choice.${choice}`) }) }, '+'),
        );
      }),
    );
  }
  $('#hall-question').textContent = vote.question;
  $('#hall-allowed').textContent = t('clerk.hallAllowed', { n: hallAllowed(state, vote) });
  const counted = vote.hall_count;
  $('#hall-recorded').textContent = counted
    ? t('clerk.hallRecorded', { for: counted.votes_for, against: counted.votes_against, abstain: counted.votes_abstain })
    : '';
}

// -- wiring --------------------------------------------------------------------------------------------------
function render() {
  const state = live.state;
  if (!state) return;
  $('#meeting-title').textContent = state.title;
  const notMine = $('#not-mine');
  notMine.hidden = !state.opened || state.clerk_id === session?.memberId;
  notMine.textContent = t('clerk.notClerk');
  document.title = `${state.title} — ${t('clerk.pageTitle')}`;
  renderEditor();
  renderEntries(state);
  renderRoster(state);
  renderHall(state);
  renderSaveState();
}

$('#entry-text').addEventListener('input', (event) => {
  draft.text = event.target.value;
  keepDraft(); // on this device at once, even before the autosave sends it
  scheduleSave();
});
$('#entry-text').addEventListener('blur', saveNow);
$('#entry-speaker').addEventListener('change', (event) => {
  draft.speakerId = event.target.value ? Number(event.target.value) : null;
  editorTouched = true;
  keepDraft();
  saveNow();
});
$('#entry-item').addEventListener('change', (event) => {
  draft.itemId = event.target.value;
  editorTouched = true;
  keepDraft();
  renderEntries(live.state);
});
$('#entry-kind').addEventListener('change', (event) => {
  draft.kind = event.target.value;
  keepDraft();
});
$('#new-entry').addEventListener('click', startNewEntry);
$('#search').addEventListener('input', () => live.state && renderRoster(live.state));
$('#hall-record').addEventListener('click', () => {
  if (!hallVoteId) return;
  act({ type: 'record_hall_count', vote_id: hallVoteId, ...hallCounts }, t('clerk.hallSaved'));
});
$('#qr-big').addEventListener('click', (event) => {
  const big = $('#qr').classList.toggle('big');
  event.currentTarget.setAttribute('aria-pressed', String(big));
  event.currentTarget.textContent = t(big ? 'clerk.qrSmaller' : 'clerk.qrBigger');
});
$('#qr').addEventListener('click', () => {
  if ($('#qr').classList.contains('big')) $('#qr-big').click();
});
live.addEventListener('state', render);
live.addEventListener('status', renderSaveState);
live.addEventListener('outbox', renderSaveState);
live.addEventListener('rejected', (event) => announce(errorText(event.detail.error.error), 'error'));
document.addEventListener('langchange', render);
window.addEventListener('beforeunload', saveNow);
if (session && meetingId) {
  live.start().then(() => {
    document.documentElement.dataset.ready = 'clerk';
    if (!live.state) {
      $('#load-error').hidden = false;
      $('#load-error').textContent = t('common.loadFailed');
    }
  });
  loadQr();
  setInterval(loadQr, QR_REFRESH_MS);
}
