// The sign-in page (/): username and password, then the meetings this person may open, by role.
import { $, bootPage, busy, fill, h } from './common.js';
import { errorText, shortTime, t } from './i18n.js';
import { current, isFresh, login, request, signOut, takeEndedReason } from './net.js';
import { meetingPrep, showTasks } from './mine.js';
await bootPage();

function nextPage() {
  const next = new URLSearchParams(location.search).get('next');
  // Only our own pages: never a redirect to another site.
  const page = /^\/(join|chair|clerk|hall|branch|resolutions|stats|commune|members|web\/meetings\/\d+\/record|web\/record\/verify)(\?[\w=&%.-]*)?$/;
  return next && page.test(next) ? next : null;
}

/**
 * The other pages this person may use, by role: [label key, address]. Each page adds its own line here.
 * `session.role`: secretary | deputy | member, or admin for a commune committee admin.
 */
function navLinks(session) {
  const manager = session.role === 'secretary' || session.role === 'deputy';
  const links = [];
  if (manager) links.push(['branch.nav', '/branch']);
  if (manager) links.push(['resolutions.nav', '/resolutions']);
  if (manager) links.push(['members.nav', '/members']);
  if (manager) links.push(['stats.nav', '/stats']);
  if (session.role === 'admin') links.push(['commune.nav', '/commune']);
  return links;
}

function renderNav(session) {
  const links = navLinks(session);
  $('#nav').hidden = !links.length;
  fill($('#nav-links'), links.map(([key, href]) => h('li', {}, h('a', { class: 'btn btn-wide', href }, t(key)))));
}

async function submit(event) {
  event.preventDefault();
  const error = $('#login-error');
  const username = $('#username').value.trim();
  const password = $('#password').value;
  if (!username || !password) {
    error.textContent = t('login.missing');
    (username ? $('#password') : $('#username')).focus();
    return;
  }
  error.textContent = '';
  const signedIn = await busy($('#login-submit'), async () => {
    try {
      await login(username, password);
      return true;
    } catch (failure) {
      // Not showError: a 401 here is a wrong password, not a session that ran out.
      error.textContent = errorText(failure.error);
      $('#password').select();
      return false;
    }
  });
  if (!signedIn) return;
  const next = nextPage();
  if (next) location.assign(next);
  else showMeetings();
}

async function showMeetings() {
  const session = current();
  $('#login-view').hidden = true;
  $('#meetings-view').hidden = false;
  $('#who').textContent = session.name ? t('login.signedInAs', { name: session.name }) : '';
  renderNav(session);
  showMyTasks(session);
  const list = $('#meetings');
  // A commune admin belongs to no branch: no meetings of their own, their work is in the pages below.
  $('#meetings-heading').hidden = session.memberId === null;
  if (session.memberId === null) return fill(list);
  fill(list, h('li', { class: 'muted' }, t('common.loading')));
  let meetings;
  try {
    ({ meetings } = await request('/api/prep/my/meetings'));
  } catch (failure) {
    fill(list, h('li', { class: 'error' }, errorText(failure.error)));
    return;
  }
  if (!meetings.length) return fill(list, h('li', { class: 'muted' }, t('login.noMeetings')));
  const manager = session.role === 'secretary' || session.role === 'deputy';
  const rows = await Promise.all(
    meetings.map(async (meeting) => {
      let plan = null;
      try {
        plan = await request(`/api/prep/meetings/${meeting.meeting_id}`);
      } catch {
        /* the links for a plain member still work */
      }
      const id = meeting.meeting_id;
      const isChair = plan?.chair_id === session.memberId;
      const isClerk = plan?.clerk_id === session.memberId;
      return h(
        'li',
        {},
        h(
          'div',
          { class: 'grow' },
          h('strong', {}, meeting.title),
          h('br'),
          h('span', { class: 'muted' }, `${shortTime(meeting.scheduled_at)} · ${meeting.place || ''}`),
        ),
        h(
          'div',
          { class: 'row' },
          h('a', { class: 'btn btn-primary', href: `/join?m=${id}` }, t('login.openMember')),
          isChair || manager ? h('a', { class: 'btn', href: `/chair?m=${id}` }, t('login.openChair')) : null,
          isClerk || manager ? h('a', { class: 'btn', href: `/clerk?m=${id}` }, t('login.openClerk')) : null,
          isChair || isClerk || manager ? h('a', { class: 'btn', href: `/hall?m=${id}` }, t('login.openHall')) : null,
        ),
        memberPart(meeting),
      );
    }),
  );
  fill(list, rows);
}

/** The member's own part of a meeting row (mine.js): the absence notice and "Thêm vào lịch" while it is to come. */
function memberPart(meeting) {
  const parts = meetingPrep(meeting);
  return parts && h('div', { class: 'row-full stack' }, parts);
}

/** "Nhiệm vụ của đồng chí": the member's own tasks from past resolutions (mine.js); none for a commune admin. */
function showMyTasks(session) {
  if (session.memberId == null) return;
  showTasks($('#tasks-view'));
}

$('#login-form').addEventListener('submit', submit);
$('#logout').addEventListener('click', async () => {
  await busy($('#logout'), signOut);
  $('#meetings-view').hidden = true;
  $('#login-view').hidden = false;
  $('#username').focus();
});
const ended = takeEndedReason(); // sent here because the session ended on the server: say so
if (ended) $('#login-error').textContent = errorText({ code: ended });
const session = current();
if (session && isFresh(session) && !session.meetingId) {
  const next = nextPage();
  if (next) location.assign(next);
  else showMeetings();
}
document.documentElement.dataset.ready = 'login';
