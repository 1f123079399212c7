// Who has signed the minutes (biên bản) and who is still to sign: the same lines on the record page and in the
// record card of the chair's and clerk's consoles. Signatures are not journal events (they are kept beside the
// record), so the consoles ask the record's status again while something is still to be signed.
import { $, fill, h } from './common.js';
import { shortTime, t } from './i18n.js';
import { request } from './net.js';

/** "Chủ trì: Nguyễn Văn An — đã ký lúc 15/01/2030 19:30" / "… — chưa ký", one list item per signature line. */
export function signerItems(signatures) {
  return signatures.map((s) =>
    h(
      'li',
      { class: 'signer', dataset: { role: s.role, signed: s.signed_at ? 'yes' : 'no' } },
      h('span', { class: 'grow' }, h('strong', {}, t(`record.role.${s.role}`)), ': ', s.name || t('record.noName')),
      h(
        'span',
        { class: `pill ${s.signed_at ? 'pill-ok' : 'pill-warn'}` },
        s.signed_at ? t('record.signedAt', { time: shortTime(s.signed_at) }) : t('record.notSigned'),
      ),
    ),
  );
}

/** One sentence: who is still to sign, or that both have. */
export function waitingLine(signatures) {
  const waiting = signatures.filter((s) => !s.signed_at);
  if (!waiting.length) return t('record.allSigned');
  const names = waiting.map((s) => `${t(`record.role.${s.role}`)} (${s.name || t('record.noName')})`);
  return t('record.waiting', { names: names.join(', ') });
}

/** The addenda still to be signed, each as one line naming who is still to sign it. */
export function pendingAddenda(addenda) {
  return addenda
    .filter((a) => !a.sealed)
    .map((a) => `${t('record.addendumTitle', { number: a.number })}: ${waitingLine(a.signatures)}`);
}

const SOON_MS = 10_000; // while a signature is awaited
const LATER_MS = 60_000; // once everything is signed (an addendum may still be written)

/**
 * The consoles' record card (`#record-card`, shown by bindRecordCard from the adoption step on): under its link,
 * who has signed and who is still to sign, refreshed while the card is shown and the page is visible.
 */
export function bindRecordSignatures(live) {
  const card = $('#record-card');
  if (!card) return;
  const box = h('div', { id: 'record-signers', class: 'stack' });
  card.insertBefore(box, $('#record-link'));
  let status = null;
  let timer = null;
  let asking = false;

  const render = () => {
    if (!status) return fill(box);
    const sealed = status.status === 'sealed';
    fill(
      box,
      h('h3', { id: 'record-signers-heading' }, t('record.signersHeading')),
      h('p', { class: sealed ? 'pill pill-ok' : 'pill pill-warn' }, sealed ? t('record.sealedShort') : t('record.draft')),
      h('ul', { class: 'list', 'aria-labelledby': 'record-signers-heading' }, signerItems(status.signatures)),
      h('p', { role: 'status' }, waitingLine(status.signatures)),
      pendingAddenda(status.addenda).map((line) => h('p', { class: 'notice' }, line)),
    );
  };

  const schedule = () => {
    clearTimeout(timer);
    if (card.hidden) return;
    const pending = !status || status.status !== 'sealed' || status.addenda.some((a) => !a.sealed);
    timer = setTimeout(refresh, pending ? SOON_MS : LATER_MS);
  };

  async function refresh() {
    if (card.hidden || asking || document.visibilityState === 'hidden') return schedule();
    asking = true;
    try {
      status = await request(`/api/meetings/${live.meetingId}/record`);
      render();
    } catch {
      /* not yet readable (the journal not opened) or no network: the card's link still leads to the record */
    } finally {
      asking = false;
      schedule();
    }
  }

  let shown = false;
  live.addEventListener('state', () => {
    if (!card.hidden && !shown) refresh(); // the card has just appeared
    shown = !card.hidden;
  });
  document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && refresh());
  document.addEventListener('langchange', render);
}
