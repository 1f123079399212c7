// The member's page (/join): one big "Tham gia" button, then the meeting on a phone.
import {
  $,
  announce,
  attendanceOf,
  bindConnection,
  button,
  bootPage,
  confirmDialog,
  currentItem,
  download,
  fill,
  h,
  meetingIdFromUrl,
  nameOf,
  queueOf,
  renderTimer,
  rosterEntry,
  runningTally,
  tick,
} from './common.js';
import { errorText, t, when } from './i18n.js';
import { ALREADY_DONE, ApiError, current, exchangeInvite, itemMinutes, LiveMeeting, loginUrl, request } from './net.js';
const CHECKIN_KEY = 'chibo.checkin';

await bootPage();

// Secrets in the address (invite token, room code) are taken out of it at once: not kept in history.
const fragment = new URLSearchParams(location.hash.slice(1));
const invite = fragment.get('invite');
const roomCode = fragment.get('checkin');
if (invite || roomCode) history.replaceState(null, '', location.pathname + location.search);
if (roomCode) sessionStorage.setItem(CHECKIN_KEY, roomCode);

const joinButton = $('#join');
const joinStatus = $('#join-status');
let live = null;
let media = null;
let meetingId = null;
let me = null;
let joined = false;
let lastFloorHolder = null;
let lastMuted = null; // whether the chair had muted me at the last render (null: not rendered yet)
let docsLoaded = false;
let minutesPanel = null; // the draft minutes read in the meeting (minutes-panel.js, loaded at the adoption step)
let endedShown = null; // after the meeting: shows the ended view again

function setJoinStatus(text, isError = false) {
  joinStatus.textContent = text;
  joinStatus.classList.toggle('error', isError);
}

async function whoAmI() {
  const saved = current();
  if (!invite) return saved;
  // Asked each time the link is opened: what it reaches changes (the meeting; after it, only its record).
  try {
    return await exchangeInvite(invite);
  } catch (error) {
    if (error instanceof ApiError && error.transient && saved?.invite === invite) return saved; // no network
    throw error;
  }
}

async function findMeeting(session) {
  const pendingCode = sessionStorage.getItem(CHECKIN_KEY);
  if (pendingCode && /^\d+\./.test(pendingCode)) return Number(pendingCode.split('.')[0]);
  const fromUrl = meetingIdFromUrl();
  if (fromUrl) return fromUrl;
  if (session.meetingId) return session.meetingId;
  // Signed in with a password and no meeting named: the meeting in progress, else the next one.
  const { meetings } = await request('/api/prep/my/meetings');
  const live_ = meetings.find((m) => m.status === 'in_progress') || meetings.find((m) => m.status === 'scheduled');
  return live_ ? live_.meeting_id : null;
}

async function prepare() {
  // The button works at once; what follows only fills in the meeting's name while the member reads.
  joinButton.disabled = false;
  document.documentElement.dataset.ready = 'join';
  performance.mark('chibo-interactive'); // bench/pageweight.py reads this: the Join button works from here
  let session;
  try {
    session = await whoAmI();
  } catch (error) {
    joinButton.disabled = true;
    if (error instanceof ApiError && error.code === 'meeting_ended') return showEnded(null); // took no part
    setJoinStatus(errorText(error.error), true);
    return;
  }
  if (!session) {
    if (sessionStorage.getItem(CHECKIN_KEY)) {
      location.assign(loginUrl());
      return;
    }
    joinButton.disabled = true;
    setJoinStatus(t('member.needInvite'), true);
    fill($('#join-meeting'), h('a', { href: loginUrl() }, t('member.signIn')));
    return;
  }
  me = session.memberId;
  if (session.recordOnly) return showEnded(session.meetingId); // the link after its meeting: the record only
  try {
    meetingId = await findMeeting(session);
  } catch (error) {
    setJoinStatus(errorText(error.error), true);
    return;
  }
  if (!meetingId) {
    joinButton.disabled = true;
    setJoinStatus(t('member.noMeeting'), true);
    return;
  }
  live = new LiveMeeting({ meetingId, client: 'member', memberId: me });
  live.addEventListener('state', () => render());
  live.addEventListener('rejected', (event) => announce(errorText(event.detail.error.error), 'error'));
  try {
    const state = await live.refresh();
    fill($('#join-meeting'), [state.title, when(state.scheduled_at), state.place].filter(Boolean).join(' · '));
    $('#meeting-title').textContent = state.title;
    document.title = `${state.title} — ${t('member.pageTitle')}`;
    if (state.status === 'ended') return showEnded(meetingId, state);
  } catch (error) {
    setJoinStatus(errorText(error.error), true);
  }
  showMine();
}

function closeEndedMeeting() {
  joined = false;
  media?.stop();
  live.stop();
  minutesPanel?.then((panel) => panel.close()).catch(() => {});
  $('#meeting-view').hidden = true;
  placeTasks(false);
  $('#tasks-card').hidden = true; // the record token does not reach the member's tasks
  showEnded(meetingId);
}

/**
 * After the meeting: no Join button; the minutes once signed and sealed (read in the record viewer, PDF, DOCX),
 * or a plain word that they are not yet. `meeting` null: the link reached nothing (the member took no part).
 */
async function showEnded(meeting, state = null) {
  live = null; // a tap on the hidden Join button, queued before this was known, does nothing
  endedShown = () => showEnded(meeting, state); // said again in the other language when it changes
  $('#join-view').hidden = true;
  $('#ended-view').hidden = false;
  $('#ended-heading').focus();
  const status = $('#ended-status');
  const offer = $('#ended-record');
  if (state) $('#ended-meeting').textContent = [state.title, when(state.scheduled_at)].filter(Boolean).join(' · ');
  if (meeting == null) return fill(status, t('member.endedNotAttended'));
  fill(status, t('member.recordChecking'));
  fill(offer);
  let record;
  try {
    record = await request(`/api/meetings/${meeting}/record`);
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 'record_not_sealed')) {
      fill(status, errorText(error.error));
      fill(offer, h('button', { type: 'button', class: 'btn', onclick: () => showEnded(meeting, state) }, t('member.recordCheckAgain')));
      return;
    }
  }
  if (record?.status !== 'sealed') {
    fill(status, t('member.recordNotSealed'));
    fill(offer, h('button', { type: 'button', class: 'btn', onclick: () => showEnded(meeting, state) }, t('member.recordCheckAgain')));
    return;
  }
  const minutes = record.minutes;
  $('#meeting-title').textContent = minutes.title;
  document.title = `${minutes.title} — ${t('member.pageTitle')}`;
  $('#ended-meeting').textContent = [minutes.title, when(minutes.scheduled_at), minutes.place].filter(Boolean).join(' · ');
  fill(status, t('member.recordSealed', { when: when(record.sealed_at) }));
  const file = (fmt) => async (event) => {
    const control = event.currentTarget;
    control.disabled = true;
    try {
      await download(`/api/meetings/${meeting}/record.${fmt}`, `bien-ban-${meeting}.${fmt}`);
      announce(t('member.recordDownloaded', { file: `bien-ban-${meeting}.${fmt}` }));
    } catch (error) {
      announce(errorText(error.error), 'error');
    } finally {
      control.disabled = false;
    }
  };
  fill(
    offer,
    h('a', { class: 'btn btn-wide btn-primary', href: `/web/meetings/${meeting}/record?from=join` }, t('member.recordRead')),
    h('button', { type: 'button', class: 'btn btn-wide', onclick: file('pdf') }, t('member.recordPdf')),
    h('button', { type: 'button', class: 'btn btn-wide', onclick: file('docx') }, t('member.recordDocx')),
  );
}

/**
 * The member's own part (mine.js, loaded after the Join button works: it is not needed for it): before the
 * meeting the absence notice and the calendar file; their tasks from past resolutions ("Nhiệm vụ của đồng chí").
 */
async function showMine() {
  try {
    const mine = await import('./mine.js');
    await Promise.all([
      mine.showMemberPrep($('#before-meeting'), meetingId),
      me != null ? mine.showTasks($('#tasks-card'), { forMeeting: Boolean(current()?.meetingId) }) : null,
    ]);
  } catch {
    /* a dropped link: the page works without it */
  }
}

/** The tasks card sits under the Join card before joining, and above "Rời cuộc họp" in the meeting. */
function placeTasks(inMeeting) {
  const card = $('#tasks-card');
  if (inMeeting) $('#leave-card').before(card);
  else $('#join-view').after(card);
}

async function join() {
  joinButton.disabled = true;
  setJoinStatus(t('member.joining'));
  // A tap that comes before the meeting is found waits for it instead of being lost.
  await preparing;
  if (!live) return; // prepare() has said why in the status line
  // Inside the tap: browsers let a page play sound only after one. The media code loads only now, so the
  // page is usable sooner on a slow link (it is not needed before "Tham gia").
  const audio = $('#meeting-audio');
  audio.play().catch(() => {});
  const { MeetingMedia } = await import('./media.js');
  media = new MeetingMedia(live, audio);
  const mic = await media.requestMic();
  if (mic !== 'granted') announce(t(mic === 'denied' ? 'member.micDenied' : 'member.micMissing'), 'error');
  // Scanned the room's code: present in the room before the live connection says "online" (which would
  // check the member in as remote).
  const code = sessionStorage.getItem(CHECKIN_KEY);
  if (code) {
    sessionStorage.removeItem(CHECKIN_KEY);
    const [codeMeeting, secret] = code.split('.');
    if (Number(codeMeeting) === meetingId) {
      try {
        await live.postToOwner(`/web/meetings/${meetingId}/checkin`, { code: secret });
        announce(t('member.checkinDone'));
      } catch (error) {
        if (!(error instanceof ApiError && ALREADY_DONE.has(error.code))) announce(errorText(error.error), 'error');
      }
    }
  }
  bindConnection(live); // the connection's state matters from here on
  await live.start();
  joined = true;
  $('#join-view').hidden = true;
  $('#meeting-view').hidden = false;
  placeTasks(true);
  render();
  $('#floor-heading').focus?.();
  loadDocuments();
  if (attendanceOf(live.state, me).mode !== 'in_person') media.start();
  // The hub checks a connected member in by itself; without it (HTTP only) the page does.
  if (!(await hubWithin(live, 4000)) && attendanceOf(live.state, me).status !== 'present') {
    live.send({ type: 'check_in', member_id: me, mode: 'remote' }).catch((error) => {
      if (!(error instanceof ApiError && ALREADY_DONE.has(error.code))) announce(errorText(error.error), 'error');
    });
  }
}

/** True once the live hub has welcomed this page, false if it has not within `ms`. */
function hubWithin(meeting, ms) {
  if (meeting.hubUp) return Promise.resolve(true);
  return new Promise((resolve) => {
    const up = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      meeting.removeEventListener('hub-up', up);
      resolve(false);
    }, ms);
    meeting.addEventListener('hub-up', up, { once: true });
  });
}

async function loadDocuments() {
  if (docsLoaded) return;
  try {
    const { documents } = await request(`/api/prep/meetings/${meetingId}/documents`);
    docsLoaded = true;
    const list = $('#docs');
    if (!documents.length) return fill(list, h('li', { class: 'muted' }, t('member.docsEmpty')));
    fill(
      list,
      documents.map((doc) =>
        h(
          'li',
          {},
          h('span', { class: 'grow' }, doc.title || doc.filename),
          button(t('member.open'), doc.title || doc.filename, () => openDocument(doc)),
        ),
      ),
    );
  } catch {
    fill($('#docs'), h('li', { class: 'muted' }, t('member.docsUnavailable')));
  }
}

async function openDocument(doc) {
  // The file needs our token, so it is fetched here and handed to the browser as a local object.
  const opened = window.open('', '_blank');
  try {
    const blob = await request(`/api/prep/documents/${doc.id}/file`, { as: 'blob' });
    const url = URL.createObjectURL(blob);
    if (opened) opened.location.href = url;
    else location.assign(url);
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (error) {
    opened?.close();
    announce(errorText(error.error), 'error');
  }
}

// -- actions -------------------------------------------------------------------------------------------------
async function act(command, okText) {
  try {
    await live.send(command);
    if (okText) announce(okText);
  } catch (error) {
    if (!(error instanceof ApiError && ALREADY_DONE.has(error.code))) announce(errorText(error.error), 'error');
  }
}

function toggleHand() {
  const mine = queueOf(live.state).some((hand) => hand.member_id === me);
  if (mine) act({ type: 'lower_hand' }, t('member.handLowered'));
  else act({ type: 'raise_hand', kind: 'speak' }, t('member.handRaised'));
}

async function castBallot(vote, choice) {
  const label = t(`choice.${choice}`);
  if (!(await confirmDialog(t('member.voteConfirm', { choice: label }), { yes: t('member.voteYes') }))) return;
  act({ type: 'cast_ballot', vote_id: vote.id, choice }, t('member.voted', { choice: label }));
}

async function leave() {
  if (!(await confirmDialog(t('member.leaveConfirm'), { yes: t('member.leave') }))) return;
  try {
    await live.send({ type: 'leave', member_id: me });
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 'not_checked_in')) announce(errorText(error.error), 'error');
  }
  media?.stop();
  live.stop();
  joined = false;
  $('#meeting-view').hidden = true;
  $('#join-view').hidden = false;
  placeTasks(false);
  joinButton.disabled = false;
  setJoinStatus(t('member.leftMeeting'));
  joinButton.focus();
}

// -- rendering -----------------------------------------------------------------------------------------------
function render() {
  const state = live?.state;
  if (!state || !joined) return;
  $('#meeting-title').textContent = state.title;
  renderStatus(state);
  renderRecordCard(state);
  renderFloor(state);
  renderHand(state);
  renderVote(state);
  renderAgenda(state);
  renderQueue(state);
  renderMinutes(state);
}

/** The draft minutes, read without leaving the meeting: offered from the adoption step on, and after the end. */
function renderRecordCard(state) {
  const card = $('#record-card');
  card.hidden = !(state.status === 'ended' || currentItem(state)?.kind === 'minutes');
  if (card.hidden) return;
  $('#record-help').textContent = t(state.status === 'ended' ? 'member.draftHelpEnded' : 'member.draftHelp');
  loadMinutesPanel(); // fetched while the member reads the card, ready for the tap
}

function loadMinutesPanel() {
  if (!minutesPanel) {
    minutesPanel = import('./minutes-panel.js').then(
      ({ MinutesPanel }) => new MinutesPanel({ live, opener: $('#record-open'), carried: [$('#vote-card'), $('#toast')] }),
    );
    minutesPanel.catch(() => {
      minutesPanel = null; // a dropped link: the next tap tries again
    });
  }
  return minutesPanel;
}

async function openMinutes() {
  try {
    (await loadMinutesPanel()).open();
  } catch {
    announce(t('errors.network'), 'error');
  }
}

function renderStatus(state) {
  const note = $('#meeting-state');
  const mine = attendanceOf(state, me);
  const lines = [];
  if (state.status === 'scheduled') lines.push(t('member.notStarted'));
  else if (state.status === 'ended') lines.push(t('member.ended'));
  if (state.status !== 'ended' && mine.status === 'present' && mine.mode === 'in_person') lines.push(t('member.inRoom'));
  note.hidden = !lines.length;
  note.textContent = lines.join(' ');
}

function renderFloor(state) {
  const floor = state.floor;
  const mine = floor && floor.member_id === me;
  // The chair's mute (in the journal, so it holds across reconnects): the server no longer mixes my voice,
  // and the page keeps the microphone closed and says so, even while I have the floor.
  const muted = (state.muted || []).includes(me);
  const open = Boolean(mine) && !muted;
  $('#floor-name').textContent = floor ? (mine ? t('member.youSpeak') : nameOf(state, floor.member_id)) : t('member.nobodySpeaking');
  renderTimer($('#floor-timer'), state, live.now());
  $('#muted-notice').hidden = !muted;
  const micState = $('#mic-state');
  micState.className = `mic ${open ? 'mic-live' : 'mic-off'}`;
  if (muted) micState.textContent = t('member.micMuted');
  else micState.textContent = mine ? t('member.micLive') : media?.hasMic ? t('member.micOff') : t('member.listenOnly');
  $('#yield').hidden = !mine;
  media?.setMicLive(open);
  const holder = floor ? floor.member_id : null;
  if (holder !== lastFloorHolder) {
    if (mine) announce(t(muted ? 'member.floorGrantedMuted' : 'member.floorGranted'));
    else if (lastFloorHolder === me) announce(t('member.floorEnded'));
    lastFloorHolder = holder;
  }
  if (muted !== lastMuted) {
    if (lastMuted !== null) announce(t(muted ? 'member.mutedByChair' : 'member.unmutedByChair'));
    lastMuted = muted;
  }
}

function renderHand(state) {
  const button = $('#hand');
  const place = $('#my-place');
  const queue = queueOf(state);
  const index = queue.findIndex((hand) => hand.member_id === me);
  const present = attendanceOf(state, me).status === 'present';
  const speaking = state.floor?.member_id === me;
  button.setAttribute('aria-pressed', String(index >= 0));
  button.textContent = index >= 0 ? t('member.lower') : t('member.raise');
  const blocked = state.status !== 'in_progress' || !state.current_item_id || !present || speaking;
  button.disabled = blocked;
  if (index >= 0) place.textContent = t('member.place', { n: index + 1, total: queue.length });
  else if (speaking) place.textContent = '';
  else if (!state.current_item_id && state.status === 'in_progress') place.textContent = t('member.noItem');
  else place.textContent = blocked ? '' : t('member.raiseHint');
}

function renderVote(state) {
  const card = $('#vote-card');
  const vote = state.open_vote_id ? state.votes[state.open_vote_id] : null;
  const closedHere = Object.values(state.votes).filter((v) => v.status === 'closed' && v.item_id === state.current_item_id);
  const shown = vote || closedHere[closedHere.length - 1];
  card.hidden = !shown;
  if (!shown) return;
  $('#vote-question').textContent = shown.question;
  const body = $('#vote-body');
  if (shown.status === 'closed') {
    const result = shown.result;
    fill(
      body,
      h('p', { class: `pill ${result.passed ? 'pill-ok' : 'pill-bad'}` }, t(result.passed ? 'vote.passed' : 'vote.failed')),
      tallyView(result),
    );
    return;
  }
  const mine = shown.ballots[String(me)];
  const entry = rosterEntry(state, me);
  const record = attendanceOf(state, me);
  if (mine) return fill(body, h('p', { class: 'notice notice-ok' }, t('member.voted', { choice: t(`choice.${mine}`) })));
  if (!entry?.may_vote) return fill(body, h('p', { class: 'notice' }, t('member.voteNotAllowed')));
  if (record.mode === 'in_person') return fill(body, h('p', { class: 'notice' }, t('member.voteInRoom')));
  // Keep the same buttons across renders so focus stays put while others vote.
  if (body.dataset.vote === shown.id && body.querySelector('.vote-buttons')) return;
  body.dataset.vote = shown.id;
  fill(
    body,
    h('p', {}, t('member.voteAsk')),
    h(
      'div',
      { class: 'vote-buttons' },
      ['for', 'against', 'abstain'].map((choice) =>
        h(
          'button',
          { type: 'button', id: `vote-${choice}`, class: `btn ${choice === 'for' ? 'btn-go' : ''}`, dataset: { vote: shown.id }, onclick: () => castBallot(shown, choice) },
          t(`choice.${choice}`),
        ),
      ),
    ),
  );
}

export function tallyView(counts) {
  return h(
    'div',
    { class: 'tally' },
    ['for', 'against', 'abstain'].map((choice) =>
      h('p', {}, h('strong', { class: 'num' }, String(counts[`votes_${choice}`] ?? 0)), t(`choice.${choice}`)),
    ),
  );
}

function renderAgenda(state) {
  fill(
    $('#agenda'),
    state.agenda.map((item, index) =>
      h(
        'li',
        { 'aria-current': item.id === state.current_item_id ? 'step' : null },
        h('span', { class: `grow ${item.status === 'closed' || item.status === 'skipped' ? 'done' : ''}` }, `${index + 1}. ${item.title}`),
        h('span', { class: 'state muted' }, t(`item.${item.status}`)),
      ),
    ),
  );
}

function renderQueue(state) {
  const queue = queueOf(state);
  if (!queue.length) return fill($('#queue'), h('li', { class: 'muted' }, t('member.queueEmpty')));
  fill(
    $('#queue'),
    queue.map((hand, index) =>
      h(
        'li',
        { class: hand.member_id === me ? 'me' : null },
        `${index + 1}. ${nameOf(state, hand.member_id)}`,
        hand.member_id === me ? ` (${t('member.you')})` : '',
        hand.kind === 'point_of_order' ? h('span', { class: 'pill pill-warn' }, t('hand.point_of_order')) : null,
      ),
    ),
  );
}

function renderMinutes(state) {
  const item = currentItem(state);
  // The current item's entries in the clerk's reading order (the record's), not merely as written.
  const entries = item ? itemMinutes(state, item.id).flatMap((place) => (place.entry ? [place.entry] : [])) : state.minutes;
  const box = $('#minutes');
  if (!entries.length) return fill(box, h('p', { class: 'muted' }, t('member.minutesEmpty')));
  fill(
    box,
    item ? h('h3', {}, item.title) : null,
    entries.map((entry) =>
      h(
        'div',
        { class: 'minutes-entry' },
        h('p', { class: 'who' }, entry.speaker_id ? nameOf(state, entry.speaker_id) : t(`entry.${entry.kind}`)),
        h('p', { class: 'text' }, entry.text),
      ),
    ),
  );
}

joinButton.addEventListener('click', () =>
  join().catch((error) => {
    // Whatever failed (the media code on a dropped link, the server), the member can try again.
    setJoinStatus(errorText(error?.error), true);
    joinButton.disabled = false;
  }),
);
$('#hand').addEventListener('click', toggleHand);
$('#yield').addEventListener('click', () => act({ type: 'yield_floor' }));
$('#leave').addEventListener('click', leave);
$('#record-open').addEventListener('click', openMinutes);
document.addEventListener('langchange', () => (endedShown ? endedShown() : render()));
tick(() => {
  // The link's token, renewed after the meeting, reads only its record: the live meeting no longer answers it.
  if (joined && current()?.recordOnly) return closeEndedMeeting();
  if (live?.state && joined) renderTimer($('#floor-timer'), live.state, live.now());
});
const preparing = prepare();
