// The hall station (/hall?m=ID): the projector's big screen, and the room's microphone and speakers.
import {
  $,
  announce,
  attendanceCounts,
  bindConnection,
  bootPage,
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
  voteToShow,
} from './common.js';
import { errorText, t } from './i18n.js';
import { bindHallReview, reviewItem } from './review.js';
import { LiveMeeting } from './net.js';
import { MeetingMedia } from './media.js';
const QUEUE_SHOWN = 6;
const DONE = new Set(['closed', 'skipped']);
let agendaFitted = null; // the agenda card's height when the agenda was last fitted to it

await bootPage();
const session = requireSession();
const meetingId = meetingIdFromUrl() ?? session?.meetingId;
const live = new LiveMeeting({ meetingId, client: 'hall', memberId: session?.memberId });
bindConnection(live);
bindHallReview(live); // the review step: the last resolution's tasks and their status (review.js)
let media = null;

function render() {
  const state = live.state;
  if (!state) return;
  $('#meeting-title').textContent = state.title;
  document.title = `${state.title} — ${t('hall.pageTitle')}`;
  const item = currentItem(state);
  $('#item-line').textContent = item ? item.title : t(`status.${state.status}`);
  $('#speaker').textContent = state.floor ? nameOf(state, state.floor.member_id) : t('hall.nobody');
  renderTimer($('#timer'), state, live.now());
  renderHallMic(state);
  renderAgendaCard(state);
  const queue = queueOf(state);
  fill(
    $('#queue'),
    queue.length
      ? queue.slice(0, QUEUE_SHOWN).map((hand, i) => h('li', {}, `${i + 1}. ${nameOf(state, hand.member_id)}`))
      : h('li', { class: 'muted' }, t('hall.queueEmpty')),
    queue.length > QUEUE_SHOWN ? h('li', { class: 'muted' }, t('hall.more', { n: queue.length - QUEUE_SHOWN })) : null,
  );
  const q = state.quorum;
  fill(
    $('#quorum'),
    h('span', { class: `pill ${q.met ? 'pill-ok' : 'pill-bad'}` }, t(q.met ? 'quorum.met' : 'quorum.notMet')),
    ' ',
    t('quorum.figures', { present: q.present, eligible: q.eligible, required: q.required, rule: q.rule }),
  );
  const counts = attendanceCounts(state);
  fill(
    $('#figures'),
    ['in_person', 'remote'].map((key) => h('div', { class: 'figure' }, h('strong', {}, String(counts[key])), t(`attendance.${key}`))),
  );
  renderVote(state);
  renderAgenda(state); // last: the card's height follows the vote, the queue and the notice above
}

/**
 * The agenda, whole when the card holds it. On a projector (app.css gives the card the rest of the screen's height
 * and hides what overflows) a long agenda shows a window around the current item instead: the one or two items just
 * done, the current one, the next ones, and '… N mục trước' / '… còn N mục' for those left out. The number of rows is
 * measured: from the whole agenda down, one row fewer until the card no longer overflows.
 */
function renderAgenda(state) {
  const list = $('#agenda');
  const card = $('#agenda-card');
  const n = state.agenda.length;
  const current = state.agenda.findIndex((entry) => entry.id === state.current_item_id);
  const waiting = state.agenda.findIndex((entry) => !DONE.has(entry.status));
  const anchor = current >= 0 ? current : waiting >= 0 ? waiting : n - 1; // before the start the first, after the end the last
  for (let rows = n; rows >= 1; rows -= 1) {
    fill(list, agendaRows(state, agendaWindow(n, anchor, rows)));
    if (card.hidden || card.scrollHeight <= card.clientHeight + 1) break;
  }
  agendaFitted = card.clientHeight;
}

/**
 * Which items [start, end) show in `rows` rows, counting a '… N' line above and below when items are left out there:
 * the anchor first, then one done before it, one after, a second done, then the next ones, then earlier ones.
 */
function agendaWindow(n, anchor, rows) {
  if (n <= rows || n === 0) return { start: 0, end: n };
  const used = (start, end) => end - start + (start > 0 ? 1 : 0) + (end < n ? 1 : 0);
  let start = anchor;
  let end = anchor + 1;
  const order = [anchor - 1, anchor + 1, anchor - 2];
  for (let i = anchor + 2; i < n; i += 1) order.push(i);
  for (let i = anchor - 3; i >= 0; i -= 1) order.push(i);
  for (const i of order) {
    if (i < 0 || i >= n) continue;
    const next = i === start - 1 ? [i, end] : i === end ? [start, i + 1] : null;
    if (next && used(...next) <= rows) [start, end] = next;
  }
  return { start, end };
}

function agendaRows(state, { start, end }) {
  const n = state.agenda.length;
  return [
    start > 0 ? h('li', { class: 'muted agenda-more' }, t('hall.agendaBefore', { n: start })) : null,
    state.agenda.slice(start, end).map((entry, i) =>
      h(
        'li',
        { 'aria-current': entry.id === state.current_item_id ? 'step' : null },
        h('span', { class: `grow ${DONE.has(entry.status) ? 'done' : ''}` }, `${start + i + 1}. ${entry.title}`),
        h('span', { class: 'state muted' }, t(`item.${entry.status}`)),
      ),
    ),
    end < n ? h('li', { class: 'muted agenda-more' }, t('hall.agendaAfter', { n: n - end })) : null,
  ];
}

/** The chair has muted the room's microphone: said in big letters, so the room knows why nobody online hears it. */
function renderHallMic(state) {
  $('#hall-muted').hidden = !state.hall_muted;
}

/**
 * During the review step its big card (review.js) takes the agenda's place, and the speaker, the queue and the
 * quorum share one row under it (app.css, .hall-reviewing): a 16:9 projector shows it all without scrolling.
 */
function renderAgendaCard(state) {
  const review = reviewItem(state);
  const reviewing = Boolean(review) && review.id === state.current_item_id;
  $('#agenda-card').hidden = reviewing;
  document.body.classList.toggle('hall-reviewing', reviewing);
}

function renderVote(state) {
  const vote = voteToShow(state);
  $('#vote-card').hidden = !vote;
  if (!vote) return;
  $('#vote-question').textContent = vote.question;
  const counts = runningTally(vote);
  const tally = h(
    'div',
    { class: 'tally' },
    ['for', 'against', 'abstain'].map((c) => h('p', {}, h('strong', { class: 'num' }, String(counts[`votes_${c}`])), t(`choice.${c}`))),
  );
  if (vote.status === 'open') {
    fill($('#vote-body'), h('p', { class: 'pill pill-warn' }, t('hall.voting')), tally);
  } else {
    fill(
      $('#vote-body'),
      h('p', { class: `hall-result ${vote.result.passed ? '' : ''}` }, h('span', { class: `pill ${vote.result.passed ? 'pill-ok' : 'pill-bad'}` }, t(vote.result.passed ? 'vote.passed' : 'vote.failed'))),
      tally,
      h('p', { class: 'muted' }, t('vote.basis', { not_voting: vote.result.not_voting, basis: vote.result.basis })),
    );
  }
}

async function toggleAudio(event) {
  const button = event.currentTarget;
  if (media) {
    media.stop();
    media = null;
    button.setAttribute('aria-pressed', 'false');
    button.textContent = t('hall.audioOn');
    return;
  }
  media = new MeetingMedia(live, $('#meeting-audio'), { role: 'hall' });
  media.unlockAudio();
  const mic = await media.requestMic();
  if (mic !== 'granted') announce(t('hall.noMic'), 'error');
  media.start();
  button.setAttribute('aria-pressed', 'true');
  button.textContent = t('hall.audioOff');
}

$('#audio').addEventListener('click', toggleAudio);
live.addEventListener('state', render);
live.addEventListener('rejected', (event) => announce(errorText(event.detail.error.error), 'error'));
document.addEventListener('langchange', render);
// The card's height changes with the window, a vote or a banner coming or going: the agenda is fitted again.
new ResizeObserver(() => {
  if (live.state && $('#agenda-card').clientHeight !== agendaFitted) renderAgenda(live.state);
}).observe($('#agenda-card'));
tick(() => live.state && renderTimer($('#timer'), live.state, live.now()));
if (session && meetingId) live.start().then(() => (document.documentElement.dataset.ready = 'hall'));
