// The chair's console (/chair?m=ID): the agenda step by step, the floor, attendance and quorum, votes.
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
  confirmDialog,
  currentItem,
  fill,
  h,
  meetingIdFromUrl,
  nameOf,
  queueOf,
  renderTimer,
  requireSession,
  runningTally,
  tick,
} from './common.js';
import { bindRecordSignatures } from './recordsigners.js';
import { errorText, t } from './i18n.js';
import { bindChairReview } from './review.js';
import { ALREADY_DONE, ApiError, LiveMeeting, newId } from './net.js';
await bootPage();
const session = requireSession();
const meetingId = meetingIdFromUrl() ?? session?.meetingId;
const live = new LiveMeeting({ meetingId, client: 'chair', memberId: session?.memberId });
bindConnection(live);
bindChairReview(live); // the review step: the last resolution's tasks and their status (review.js)
bindOpenCard(live);
bindRecordCard(live); // the minutes in the record viewer, from the adoption step on
bindRecordSignatures(live); // in that card: who has signed the minutes, who is still to sign

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

function nextPending(state) {
  const index = state.agenda.findIndex((item) => item.id === state.current_item_id);
  return state.agenda.slice(index + 1).find((item) => item.status === 'pending') || state.agenda.find((item) => item.status === 'pending');
}

// -- rendering -----------------------------------------------------------------------------------------------
function render() {
  const state = live.state;
  if (!state) return;
  $('#meeting-title').textContent = state.title;
  const notMine = $('#not-mine');
  notMine.hidden = !state.opened || state.chair_id === session?.memberId;
  notMine.textContent = t('chair.notChair');
  document.title = `${state.title} — ${t('chair.pageTitle')}`;
  renderRun(state);
  renderFloor(state);
  renderQuorum(state);
  renderAgenda(state);
  renderVotes(state);
}

function renderRun(state) {
  const item = currentItem(state);
  const started = state.status === 'in_progress';
  $('#meeting-status').textContent = `${t(`status.${state.status}`)}${item ? ' · ' + t('chair.current', { title: item.title }) : ''}`;
  $('#start').hidden = state.status !== 'scheduled';
  $('#end').hidden = !started;
  const next = nextPending(state);
  $('#next-item').hidden = !started || !next;
  $('#next-item').textContent = next ? t('chair.nextItemNamed', { title: next.title }) : t('chair.nextItem');
  $('#close-item').hidden = !started || !item;
  const box = $('#conclude-box');
  box.hidden = !started || !item;
  if (item && box.dataset.item !== item.id) {
    box.dataset.item = item.id;
    $('#conclusion').value = item.conclusion || '';
  }
  $('#conclusion-label').textContent = item ? t('chair.conclusionFor', { title: item.title }) : t('chair.conclusion');
}

function renderFloor(state) {
  const floor = state.floor;
  $('#floor-name').textContent = floor ? nameOf(state, floor.member_id) : t('chair.nobody');
  renderTimer($('#floor-timer'), state, live.now());
  $('#revoke').disabled = !floor;
  const queue = queueOf(state);
  $('#next-speaker').disabled = !queue.length || state.status !== 'in_progress';
  fill(
    $('#queue'),
    queue.length
      ? queue.map((hand, index) =>
          h(
            'li',
            {},
            h('span', { class: 'grow' }, `${index + 1}. ${nameOf(state, hand.member_id)}`, ' ', modeBadge(state, hand.member_id)),
            hand.kind === 'point_of_order' ? h('span', { class: 'pill pill-warn' }, t('hand.point_of_order')) : null,
            button(t('chair.grant'), nameOf(state, hand.member_id), () => act({ type: 'grant_floor', member_id: hand.member_id }), 'btn-go'),
            button(t('chair.lowerHand'), nameOf(state, hand.member_id), () => act({ type: 'lower_hand', member_id: hand.member_id })),
          ),
        )
      : h('li', { class: 'muted' }, t('chair.queueEmpty')),
  );
  const select = $('#grant-who');
  const chosen = select.value;
  const present = state.roster.filter((p) => attendanceOf(state, p.member_id).status === 'present');
  fill(select, present.map((p) => h('option', { value: p.member_id }, p.name)));
  if (chosen) select.value = chosen;
  $('#grant').disabled = !present.length || state.status !== 'in_progress' || !state.current_item_id;
}

function modeBadge(state, memberId) {
  const mode = attendanceOf(state, memberId).mode;
  return mode ? h('span', { class: 'muted' }, `(${t(`attendance.${mode}`)})`) : null;
}

function renderQuorum(state) {
  const q = state.quorum;
  fill(
    $('#quorum-line'),
    h('span', { class: `pill ${q.met ? 'pill-ok' : 'pill-bad'}` }, t(q.met ? 'quorum.met' : 'quorum.notMet')),
    ' ',
    t('quorum.figures', { present: q.present, eligible: q.eligible, required: q.required, rule: q.rule }),
  );
  const counts = attendanceCounts(state);
  fill(
    $('#attendance-figures'),
    ['in_person', 'remote', 'absent_excused', 'absent_unexcused', 'expected'].map((key) =>
      h('div', { class: 'figure' }, h('strong', {}, String(counts[key] || 0)), t(`attendance.${key}`)),
    ),
  );
  // Each present member's microphone (and the hall's) can be muted by the chair: a journaled command.
  const canMute = state.opened && state.status !== 'ended';
  fill(
    $('#attendance'),
    canMute
      ? h('li', {}, h('span', { class: 'grow' }, t('chair.hallMic'), micPill(state.hall_muted)), muteButton(state, null, t('chair.hallMic')))
      : null,
    state.roster.map((person) => {
      const record = attendanceOf(state, person.member_id);
      const label = record.status === 'present' ? t(`attendance.${record.mode}`) : t(`attendance.${record.status}`);
      const muted = isMuted(state, person.member_id);
      return h(
        'li',
        {},
        h('span', { class: 'grow' }, person.name, ' ', h('span', { class: 'muted' }, `· ${t(`category.${person.category}`)}`), micPill(muted)),
        h('span', {}, label, record.reason ? ` — ${record.reason}` : ''),
        canMute && (record.status === 'present' || muted) ? muteButton(state, person.member_id, person.name) : null,
      );
    }),
  );
}

/** Whether the chair has muted this member's microphone (the hall's when `memberId` is null). */
function isMuted(state, memberId) {
  return memberId === null ? Boolean(state.hall_muted) : (state.muted || []).includes(memberId);
}

function micPill(muted) {
  return muted ? [' ', h('span', { class: 'pill pill-warn' }, t('chair.micMuted'))] : null;
}

function muteButton(state, memberId, name) {
  const muted = isMuted(state, memberId);
  const label = t(muted ? 'chair.unmute' : 'chair.mute');
  const mic = memberId === null ? 'hall' : String(memberId);
  return h(
    'button',
    { type: 'button', class: 'btn btn-small', 'aria-label': `${label}: ${name}`, dataset: { mic }, onclick: () => toggleMute(memberId, name) },
    label,
  );
}

// The state is read at click time: a button kept across updates must not act on an old copy.
function toggleMute(memberId, name) {
  const muted = isMuted(live.state, memberId);
  const target = memberId === null ? { hall: true } : { member_id: memberId };
  act({ type: muted ? 'unmute_microphone' : 'mute_microphone', ...target }, t(muted ? 'chair.unmutedDone' : 'chair.mutedDone', { name }));
}

function renderAgenda(state) {
  const started = state.status === 'in_progress';
  fill(
    $('#agenda'),
    state.agenda.map((item, index) => {
      const isCurrent = item.id === state.current_item_id;
      return h(
        'li',
        { 'aria-current': isCurrent ? 'step' : null },
        h('span', { class: `grow ${item.status === 'closed' || item.status === 'skipped' ? 'done' : ''}` }, `${index + 1}. ${item.title}`,
          item.conclusion ? h('span', { class: 'muted' }, ` — ${t('chair.concluded')}`) : null),
        h('span', { class: 'state muted' }, t(`item.${item.status}`)),
        started && item.status !== 'open'
          ? button(t(item.status === 'pending' ? 'chair.openItem' : 'chair.reopenItem'), item.title, () => act({ type: 'open_item', item_id: item.id }))
          : null,
        item.status === 'pending' && state.status !== 'ended'
          ? button(t('chair.skipItem'), item.title, () => act({ type: 'skip_item', item_id: item.id }))
          : null,
      );
    }),
  );
}

function renderVotes(state) {
  const open = state.open_vote_id ? state.votes[state.open_vote_id] : null;
  $('#vote-open').hidden = Boolean(open) || state.status !== 'in_progress' || !state.current_item_id;
  const question = $('#vote-question');
  const item = currentItem(state);
  if (item && question.dataset.item !== item.id) {
    question.dataset.item = item.id;
    question.value = item.title; // the item usually says what is adopted ("Thông qua biên bản ...")
  }
  const running = $('#vote-running');
  running.hidden = !open;
  if (open) {
    const counts = runningTally(open);
    const voters = state.roster.filter((p) => p.may_vote);
    const online = voters.filter((p) => attendanceOf(state, p.member_id).mode === 'remote');
    const ballots = Object.keys(open.ballots).length;
    fill(
      running,
      h('p', { class: 'floor-name' }, open.question),
      h('div', { class: 'tally' }, ['for', 'against', 'abstain'].map((c) => h('p', {}, h('strong', { class: 'num' }, String(counts[`votes_${c}`])), t(`choice.${c}`)))),
      h('p', {}, t('chair.ballotsIn', { n: ballots, total: online.length })),
      h('p', {}, open.hall_count ? t('chair.hallCounted') : t('chair.hallWaiting')),
      h('button', { type: 'button', class: 'btn btn-primary', dataset: { vote: open.id }, onclick: () => closeVote(open.id) }, t('chair.closeVote')),
    );
  }
  const closed = Object.values(state.votes).filter((v) => v.status === 'closed');
  fill(
    $('#vote-results'),
    closed.map((vote) =>
      h(
        'li',
        {},
        h('span', { class: 'grow' }, vote.question),
        h('span', { class: `pill ${vote.result.passed ? 'pill-ok' : 'pill-bad'}` }, t(vote.result.passed ? 'vote.passed' : 'vote.failed')),
        h('span', { class: 'num' }, t('vote.summary', {
          for: vote.result.votes_for, against: vote.result.votes_against, abstain: vote.result.votes_abstain,
          not_voting: vote.result.not_voting, basis: vote.result.basis,
        })),
      ),
    ),
  );
}

// Handlers look the vote up at click time: a button kept across updates must not act on an old copy.
async function closeVote(voteId) {
  const vote = live.state.votes[voteId];
  if (!vote) return;
  if (!vote.hall_count && live.state.quorum.present_in_room > 0) {
    if (!(await confirmDialog(t('chair.closeWithoutHall')))) return;
  }
  act({ type: 'close_vote', vote_id: vote.id }, t('chair.voteClosed'));
}

// -- wiring --------------------------------------------------------------------------------------------------
$('#start').addEventListener('click', () => act({ type: 'start_meeting' }, t('chair.started')));
$('#end').addEventListener('click', async () => {
  if (await confirmDialog(t('chair.endConfirm'))) act({ type: 'end_meeting' }, t('chair.ended'));
});
$('#next-item').addEventListener('click', () => {
  const next = nextPending(live.state);
  if (next) act({ type: 'open_item', item_id: next.id });
});
$('#close-item').addEventListener('click', () => {
  if (live.state.current_item_id) act({ type: 'close_item', item_id: live.state.current_item_id });
});
$('#conclude').addEventListener('click', () => {
  const text = $('#conclusion').value.trim();
  const item = live.state.current_item_id;
  if (!text) return announce(t('chair.conclusionEmpty'), 'error');
  act({ type: 'conclude_item', item_id: item, text }, t('chair.concludedSaved'));
});
$('#next-speaker').addEventListener('click', () => act({ type: 'next_speaker' }));
$('#revoke').addEventListener('click', () => act({ type: 'revoke_floor' }));
$('#grant').addEventListener('click', () => {
  const who = Number($('#grant-who').value);
  if (who) act({ type: 'grant_floor', member_id: who });
});
$('#open-vote').addEventListener('click', () => {
  const question = $('#vote-question').value.trim();
  if (!question) return announce(t('chair.questionEmpty'), 'error');
  act({ type: 'open_vote', vote_id: newId('v'), question }, t('chair.voteOpened'));
});
live.addEventListener('state', render);
live.addEventListener('rejected', (event) => announce(errorText(event.detail.error.error), 'error'));
document.addEventListener('langchange', render);
tick(() => live.state && renderTimer($('#floor-timer'), live.state, live.now()));
if (session && meetingId) {
  live.start().then(() => {
    document.documentElement.dataset.ready = 'chair';
    if (!live.state) {
      $('#load-error').hidden = false;
      $('#load-error').textContent = t('common.loadFailed');
    }
  });
}
