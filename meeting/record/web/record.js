// The record viewer (/web/meetings/<id>/record) and the record verifier (/web/record/verify).
// Like every page: a shell, everything read with the signed-in member's token, the words of one language at a time
// from static/i18n (the shared modules come from the versioned static/ prefix in data-static, so this page and the
// others share one language choice and one session). The biên bản itself is the official Vietnamese document: it
// stays Vietnamese (lang="vi") whatever the page's language.
const main = document.getElementById('main');
const base = main.dataset.static;
const [common, i18n, net, signers] = await Promise.all([
  import(`${base}js/common.js`),
  import(`${base}js/i18n.js`),
  import(`${base}js/net.js`),
  import(`${base}js/recordsigners.js`),
]);
const { $, announce, busy, download, fill, h, requireSession } = common;
const { errorText, shortTime, t } = i18n;
const { ApiError, request } = net;
const { signerItems, waitingLine } = signers;

await common.bootPage();
const session = requireSession();

/** An API failure in the reader's language (a bug in the page is logged and said as an internal error). */
function failureText(failure) {
  if (!(failure instanceof ApiError)) console.error(failure);
  return errorText(failure instanceof ApiError ? failure.error : { code: 'internal' });
}

/** A refusal kept under a form: the server's (in both languages) or the page's own ({ key }: an i18n key). */
function refusalText(error) {
  return error.key ? t(error.key) : errorText(error);
}

// -- the way back --------------------------------------------------------------------------------------------
// The record card of the chair's and clerk's consoles and of the member page adds ?from=chair|clerk|join; the
// verify page keeps it for its way back to the record.
const from = ['chair', 'clerk', 'join'].find((page) => page === new URLSearchParams(location.search).get('from'));
const fromQuery = (sep) => (from ? `${sep}from=${from}` : '');

function backTo(meetingId) {
  const pages = { chair: `/chair?m=${meetingId}`, clerk: `/clerk?m=${meetingId}`, join: `/join?m=${meetingId}` };
  if (meetingId && from) return [pages[from], `record.back.${from}`];
  if (meetingId && session?.meetingId) return [pages.join, 'record.back.join']; // an invite link: its meeting
  return ['/', 'record.back.home'];
}

function setBack(href, key) {
  const link = $('#back');
  link.href = href;
  link.dataset.i18n = key;
  link.textContent = t(key);
}

// -- the viewer ----------------------------------------------------------------------------------------------
const view = {
  meetingId: Number(main.dataset.meeting),
  status: null, // GET /api/meetings/<id>/record
  doc: null, // the biên bản as an <article> (GET …/record.html)
  errors: {}, // form key -> the API error shown under that form (kept through re-renders and language changes)
  working: 0, // forms being sent: the page is not drawn again under them by `follow`
};

/** `busy` (the button disabled while it works) that also keeps `follow` from redrawing the page meanwhile. */
async function sending(button, work) {
  view.working += 1;
  try {
    return await busy(button, work);
  } finally {
    view.working -= 1;
  }
}
const api = () => `/api/meetings/${view.meetingId}/record`;
const me = () => session?.memberId ?? null;

async function load() {
  const [status, html] = await Promise.all([request(api()), request(`${api()}.html`, { as: 'text' })]);
  view.status = status;
  view.doc = new DOMParser().parseFromString(html, 'text/html').querySelector('article');
}

async function showViewer() {
  setBack(...backTo(view.meetingId));
  try {
    await load();
  } catch (failure) {
    $('#loading').hidden = true;
    const failed = $('#failed');
    failed.hidden = false;
    fill(failed, h('p', {}, failureText(failure)), h('button', { type: 'button', class: 'btn btn-small', onclick: () => location.reload() }, t('record.retry')));
    return;
  }
  $('#loading').hidden = true;
  $('#content').hidden = false;
  render();
  document.addEventListener('langchange', render);
  follow();
}

const FOLLOW_MS = 10_000;

/**
 * Signatures are not journal events: while a signature is awaited (the record's or an addendum's), ask again now
 * and then, so the page says who has signed without a reload. The document is read again only when its text or
 * its state changed; whatever the reader is typing stays (keepTyped).
 */
function follow() {
  setTimeout(async () => {
    const { status } = view;
    const awaited = status.status !== 'sealed' || status.addenda.some((a) => !a.sealed) || isSigner(status.signatures);
    if (awaited && document.visibilityState === 'visible' && !view.working) {
      try {
        const fresh = await request(api());
        if (JSON.stringify(fresh) !== JSON.stringify(view.status)) {
          if (fresh.content_sha256 !== status.content_sha256 || fresh.status !== status.status) {
            await load();
            // A new text is on screen: whoever is about to sign is told to read it again first.
            if (view.status.status !== 'sealed' && fresh.content_sha256 !== status.content_sha256) view.errors.record = { key: 'record.changedWhileOpen' };
          } else view.status = fresh;
          render();
        }
      } catch {
        /* no network for a moment: the next round tries again */
      }
    }
    follow();
  }, FOLLOW_MS);
}

/** The signature lines of a document (the record or an addendum) still waiting for this member. */
function myPending(signatures) {
  return signatures.filter((s) => s.member_id != null && s.member_id === me() && !s.signed_at);
}

function isSigner(signatures) {
  return signatures.some((s) => s.member_id != null && s.member_id === me());
}

/** What the reader typed stays when the page is drawn again (a language change, a refusal, a reload of the status). */
function keepTyped(render_) {
  const typed = new Map();
  for (const field of document.querySelectorAll('#content [data-keep]')) typed.set(field.id, field.value);
  const focused = document.activeElement?.id;
  render_();
  for (const [id, value] of typed) {
    const field = document.getElementById(id);
    if (field) field.value = value;
  }
  if (focused) document.getElementById(focused)?.focus();
}

function render() {
  keepTyped(() => {
    const { status } = view;
    const sealed = status.status === 'sealed';
    document.title = `${t('record.pageTitle')} ${status.number || ''}`.trim();
    fill(
      $('#content'),
      summaryCard(status, sealed),
      h('section', { class: 'sheet', 'aria-label': t('record.documentLabel') }, view.doc ? view.doc.cloneNode(true) : h('p', { lang: 'vi' }, '—')),
      sealed ? null : signCard(status),
      sealed ? addendaCard(status) : null,
    );
  });
}

function summaryCard(status, sealed) {
  const pending = myPending(status.signatures).length > 0 && !sealed;
  const seal = status.digital_seal; // from the PAdES seal; absent where the server does not report it
  return h(
    'section',
    { class: 'card stack', 'aria-labelledby': 'status-heading' },
    h('h2', { id: 'status-heading' }, t('record.statusHeading')),
    h('p', {}, h('span', { id: 'record-state', class: `pill ${sealed ? 'pill-ok' : 'pill-warn'}` }, sealed ? t('record.sealedShort') : t('record.draft'))),
    sealed ? h('p', {}, t('record.sealedAt', { time: shortTime(status.sealed_at) })) : null,
    h('h3', { id: 'signers-heading' }, t('record.signersHeading')),
    h('ul', { id: 'signers', class: 'list', 'aria-labelledby': 'signers-heading' }, signerItems(status.signatures)),
    h('p', { id: 'waiting' }, waitingLine(status.signatures)),
    sealed
      ? h(
          'p',
          { id: 'digital-seal', class: seal?.signed ? 'notice notice-ok' : 'notice' },
          seal?.signed ? t('record.pdfSigned', { signer: seal.signer || '—', time: shortTime(seal.signed_at) }) : t('record.pdfNotSigned'),
        )
      : null,
    pending ? h('p', {}, h('a', { href: '#sign', class: 'btn btn-primary' }, t('record.toSign'))) : null,
    h(
      'div',
      { class: 'row' },
      downloadButton(`${api()}.docx`, `bien-ban-${view.meetingId}.docx`, t('record.downloadDocx')),
      downloadButton(`${api()}.pdf`, `bien-ban-${view.meetingId}.pdf`, t('record.downloadPdf')),
      h('a', { class: 'btn', href: `/web/record/verify?m=${view.meetingId}${fromQuery('&')}` }, t('record.checkFile')),
    ),
  );
}

function downloadButton(path, filename, label) {
  const button = h('button', { type: 'button', class: 'btn' }, label);
  button.addEventListener('click', () =>
    busy(button, async () => {
      try {
        await download(path, filename);
        announce(t('record.downloaded'));
      } catch (failure) {
        announce(failureText(failure), 'error');
      }
    }),
  );
  return button;
}

/** What sealing closes, said before anyone signs (seal.sealing_locks on the server says what it counts). */
function locksList(status) {
  const locks = status.locks || {};
  const items = [h('li', {}, t('record.locksMinutes'))];
  if (locks.resolutions) items.push(h('li', {}, t('record.locksResolutions', { resolutions: locks.resolutions, actions: locks.action_items ?? 0 })));
  items.push(h('li', {}, t('record.locksAddenda')));
  const parts = [h('p', {}, t('record.locksIntro')), h('ul', { id: 'locks' }, items)];
  if (locks.resolutions === 0) {
    const manager = session?.role === 'secretary' || session?.role === 'deputy';
    parts.push(
      h(
        'p',
        { id: 'no-resolution', class: 'notice' },
        t('record.noResolution'),
        manager ? [' ', h('a', { href: `/resolutions?m=${view.meetingId}` }, t('record.draftResolution'))] : null,
      ),
    );
  }
  return parts;
}

function signCard(status) {
  const minutes = status.minutes || {};
  const mine = myPending(status.signatures);
  const card = h('section', { id: 'sign', class: 'card stack', 'aria-labelledby': 'sign-heading', tabindex: '-1' }, h('h2', { id: 'sign-heading' }, t('record.signHeading')));
  card.append(...locksList(status));
  if (!minutes.ended_at) card.append(h('p', { class: 'notice' }, t('record.notEnded')));
  else if (!status.adopted) card.append(h('p', { class: 'notice' }, t('record.notAdopted')));
  else if (mine.length) {
    const roles = mine.map((s) => t(`record.role.${s.role}`).toLowerCase()).join(', ');
    card.append(
      h('p', {}, t('record.signAs', { roles })),
      h('p', { class: 'muted' }, t('record.signCovers')),
      passwordForm('record', t('record.sign'), (password) => signRecord(password)),
    );
  }
  return card;
}

/**
 * A password field, its button and its error line. `send(password)` does the work; a refusal is shown under the
 * form in the reader's language, the password is emptied and focused again; nothing else on the page is lost.
 */
function passwordForm(key, label, send) {
  const inputId = `password-${key}`;
  const errorId = `error-${key}`;
  const error = view.errors[key];
  const input = h('input', {
    id: inputId,
    type: 'password',
    autocomplete: 'current-password',
    'data-keep': '', // through a language change; emptied after a refusal
    required: true,
    'aria-describedby': error ? errorId : null,
    'aria-invalid': error ? 'true' : null,
  });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, label);
  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: inputId }, t('record.password')), input),
    submit,
    h('p', { id: errorId, class: 'error', role: 'alert' }, error ? refusalText(error) : ''),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    sending(submit, async () => {
      const password = input.value;
      if (!password) {
        showFormError(key, { key: 'record.passwordMissing' }, inputId);
        return;
      }
      try {
        await send(password);
        delete view.errors[key];
      } catch (failure) {
        if (!(failure instanceof ApiError)) console.error(failure);
        const refusal = failure instanceof ApiError ? failure.error : { code: 'internal' };
        if (refusal.code === 'record_changed') {
          // The text on screen is no longer the one to sign: show the new one, then say why.
          try {
            await load();
          } catch {
            /* the message below still says what happened */
          }
        }
        showFormError(key, refusal, inputId);
      }
    });
  });
  return form;
}

function showFormError(key, error, inputId) {
  view.errors[key] = error;
  render();
  const input = document.getElementById(inputId);
  if (input) {
    input.value = ''; // never keep a refused password; everything else typed stays (keepTyped)
    input.focus();
  }
}

async function signRecord(password) {
  const answer = await request(`${api()}/sign`, { method: 'POST', body: { password, content_sha256: view.status.content_sha256 } });
  await load();
  render();
  announce(answer.status === 'sealed' ? t('record.sealedOk') : t('record.signedOk'));
  $('#status-heading')?.scrollIntoView({ block: 'start' });
}

// -- addenda (after sealing) ---------------------------------------------------------------------------------
function addendaCard(status) {
  const signer = isSigner(status.signatures);
  const pending = status.addenda.find((a) => !a.sealed);
  const card = h(
    'section',
    { id: 'addenda', class: 'card stack', 'aria-labelledby': 'addenda-heading' },
    h('h2', { id: 'addenda-heading' }, t('record.addendaHeading')),
    h('p', { class: 'muted' }, t('record.addendaHelp')),
  );
  if (!status.addenda.length) card.append(h('p', {}, t('record.noAddenda')));
  for (const extra of status.addenda) card.append(addendumBlock(extra));
  if (signer && pending) card.append(h('p', { class: 'notice' }, t('record.addendumPending', { number: pending.number })));
  // The form stays even while an addendum awaits its signatures: what the reader has typed is never taken away.
  if (signer) card.append(addendumForm());
  return card;
}

function addendumBlock(extra) {
  const headingId = `addendum-${extra.number}-heading`;
  const mine = myPending(extra.signatures);
  const stem = `${api()}/addenda/${extra.number}`;
  const name = `bien-ban-${view.meetingId}-bo-sung-${extra.number}`;
  return h(
    'article',
    { id: `addendum-${extra.number}`, class: 'addendum stack', 'aria-labelledby': headingId },
    h('h3', { id: headingId }, t('record.addendumTitle', { number: extra.number })),
    h('p', { class: 'addendum-text', lang: 'vi' }, extra.text),
    h('p', {}, h('span', { class: `pill ${extra.sealed ? 'pill-ok' : 'pill-warn'}` }, extra.sealed ? t('record.sealedAt', { time: shortTime(extra.sealed_at) }) : t('record.draft'))),
    h('ul', { class: 'list', 'aria-label': `${t('record.signersHeading')}: ${t('record.addendumTitle', { number: extra.number })}` }, signerItems(extra.signatures)),
    h('p', {}, waitingLine(extra.signatures)),
    h(
      'div',
      { class: 'row' },
      downloadButton(`${stem}.docx`, `${name}.docx`, t('record.downloadDocx')),
      downloadButton(`${stem}.pdf`, `${name}.pdf`, t('record.downloadPdf')),
    ),
    !extra.sealed && mine.length
      ? passwordForm(`addendum-${extra.number}`, t('record.signAddendum', { number: extra.number }), (password) => signAddendum(extra.number, password))
      : null,
  );
}

function addendumForm() {
  const key = 'addendum-new';
  const error = view.errors[key];
  const text = h('textarea', { id: 'addendum-text', rows: '5', maxlength: '20000', 'data-keep': '', 'aria-describedby': error ? 'error-addendum-new' : null });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('record.addendumWrite'));
  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'addendum-text' }, t('record.addendumText')), text),
    submit,
    h('p', { id: 'error-addendum-new', class: 'error', role: 'alert' }, error ? refusalText(error) : ''),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    sending(submit, async () => {
      if (!text.value.trim()) {
        view.errors[key] = { key: 'record.addendumEmpty' };
        render();
        $('#addendum-text')?.focus();
        return;
      }
      try {
        const answer = await request(`${api()}/addenda`, { method: 'POST', body: { text: text.value.trim() } });
        delete view.errors[key];
        await load();
        render();
        $('#addendum-text') && ($('#addendum-text').value = '');
        const written = answer.addenda[answer.addenda.length - 1];
        announce(t('record.addendumWritten', { number: written.number }));
        document.getElementById(`password-addendum-${written.number}`)?.focus();
      } catch (failure) {
        view.errors[key] = failure instanceof ApiError ? failure.error : { code: 'internal' };
        if (!(failure instanceof ApiError)) console.error(failure);
        try {
          await load(); // e.g. the other signer wrote an addendum meanwhile: show it
        } catch {
          /* the message below still says what happened */
        }
        render(); // the text typed stays (keepTyped)
        $('#addendum-text')?.focus();
      }
    });
  });
  return form;
}

async function signAddendum(number, password) {
  await request(`${api()}/addenda/${number}/sign`, { method: 'POST', body: { password } });
  await load();
  render();
  announce(t('record.addendumSignedOk', { number }));
}

// -- the verifier --------------------------------------------------------------------------------------------
/**
 * What the file's own digital seal says (`digital_signature`: a PAdES signature in a sealed PDF) and whether the
 * journal it carries is the server's (`embedded_journal`). `expected`: a sealed PDF, which should carry a seal.
 */
function sealLines(answer, expected) {
  const seal = answer.digital_signature;
  const lines = [];
  if (seal?.present) {
    if (seal.intact && seal.valid) {
      lines.push(h('p', { class: 'notice notice-ok' }, t('record.sealIntact', { signer: seal.signer || '—', time: shortTime(seal.signed_at) })));
      if (seal.trusted) lines.push(h('p', { class: 'notice notice-ok' }, t('record.sealTrusted')));
      else lines.push(h('p', { class: 'notice' }, t(seal.trust_roots_configured ? 'record.sealUntrusted' : 'record.sealNoRoots')));
    } else lines.push(h('p', { class: 'notice' }, t('record.sealBroken')));
  } else if (expected) lines.push(h('p', { class: 'notice' }, t('record.pdfNotSigned')));
  const carried = answer.embedded_journal;
  if (carried?.present) {
    lines.push(h('p', { class: carried.matches ? 'notice notice-ok' : 'notice' }, t(carried.matches ? 'record.carriedJournalOk' : 'record.carriedJournalDiffers')));
  }
  return lines;
}

function showVerifier() {
  const meetingId = Number(new URLSearchParams(location.search).get('m')) || null;
  if (meetingId) setBack(`/web/meetings/${meetingId}/record${fromQuery('?')}`, 'record.back.record');
  else setBack('/', 'record.back.home');
  $('#loading')?.remove();
  const result = $('#result');
  let shown = null; // the last answer, drawn again in the other language when the reader switches
  const draw = () => {
    if (!shown) return fill(result);
    const { answer, file, error } = shown;
    if (error) return fill(result, h('p', { class: 'notice' }, refusalText(error)));
    if (answer === 'checking') return fill(result, h('p', {}, t('record.verifyChecking')));
    if (answer.match) {
      const params = { file, format: answer.format.toUpperCase(), meeting: answer.meeting_id, number: answer.number, time: shortTime(answer.sealed_at) };
      return fill(
        result,
        h('p', { class: 'notice notice-ok' }, t(answer.number ? 'record.verifyMatchAddendum' : 'record.verifyMatch', params)),
        h('p', { class: answer.record_valid ? 'notice notice-ok' : 'notice' }, t(answer.record_valid ? 'record.verifyJournalOk' : 'record.verifyJournalBroken')),
        sealLines(answer, answer.format === 'pdf'),
        h('p', {}, h('a', { href: `/web/meetings/${answer.meeting_id}/record` }, t('record.openRecord'))),
      );
    }
    const verdict = answer.claims_meeting_id
      ? t('record.verifyTampered', { file, meeting: answer.claims_meeting_id })
      : t('record.verifyNoMatch', { file });
    return fill(result, h('p', { class: 'notice' }, verdict), sealLines(answer, false));
  };
  document.addEventListener('langchange', draw);
  const check = $('#check');
  check.addEventListener('click', () =>
    busy(check, async () => {
      const file = $('#file').files[0];
      if (!file) {
        shown = { error: { key: 'record.verifyChoose' } };
        draw();
        $('#file').focus();
        return;
      }
      shown = { answer: 'checking', file: file.name };
      draw();
      try {
        const response = await fetch('/api/records/verify', {
          method: 'POST',
          body: file,
          headers: { Authorization: `Bearer ${await net.token()}`, 'Content-Type': 'application/octet-stream', Accept: 'application/json' },
          cache: 'no-store',
        });
        const body = await response.json().catch(() => null);
        if (!response.ok) throw new ApiError(response.status, body?.error);
        shown = { answer: body, file: file.name };
      } catch (failure) {
        shown = { error: failure instanceof ApiError ? failure.error : { code: 'network' }, file: file.name };
      }
      draw();
    }),
  );
}

if (session) {
  if (main.dataset.verify) showVerifier();
  else showViewer();
}
