// The record viewer and the record verifier. Pages are shells; everything is read with the member's token
// (the same session as the other apps, from net.js). Vietnamese first, English second.
const app = document.getElementById('app');
const net = await import(app.dataset.net);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'onclick') node.addEventListener('click', value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function say(where, text, kind = 'info') {
  where.replaceChildren(el('p', { class: `notice ${kind}` }, text));
}

function problem(error) {
  const e = error?.error || {};
  return e.message ? `${e.message} / ${e.message_en || ''}` : `Lỗi / Error: ${error?.message || error}`;
}

async function authorised(path, options = {}) {
  const headers = { Authorization: `Bearer ${await net.token()}`, ...(options.headers || {}) };
  const response = await fetch(path, { ...options, headers, cache: 'no-store', credentials: 'same-origin' });
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch { /* not JSON */ }
    throw new net.ApiError(response.status, body?.error);
  }
  return response;
}

async function download(path, filename) {
  const blob = await (await authorised(path)).blob();
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function requireSignIn() {
  if (!net.current()) {
    location.href = net.loginUrl ? net.loginUrl() : '/';
    return false;
  }
  return true;
}

// -- the viewer --------------------------------------------------------------------------------------------------
async function viewer(meetingId) {
  const base = `/api/meetings/${meetingId}/record`;
  let status;
  try {
    status = await net.request(base);
  } catch (error) {
    say(app, problem(error), 'error');
    return;
  }
  const html = await (await authorised(`${base}.html`)).text();
  const doc = new DOMParser().parseFromString(html, 'text/html').querySelector('article');
  const me = net.current();
  const signers = status.signatures.filter((s) => s.member_id === me?.member_id);
  const sealed = status.status === 'sealed';
  const message = el('div', { role: 'status', 'aria-live': 'polite' });
  const tools = el('nav', { class: 'tools', 'aria-label': 'Biên bản / Record' },
    el('span', { class: sealed ? 'badge sealed' : 'badge draft' },
      sealed ? 'Đã ký, niêm phong / Signed and sealed' : 'Dự thảo / Draft'),
    el('button', { type: 'button', class: 'btn', onclick: () => download(`${base}.docx`, `bien-ban-${meetingId}.docx`) }, 'Tải DOCX / Download DOCX'),
    el('button', { type: 'button', class: 'btn', onclick: () => download(`${base}.pdf`, `bien-ban-${meetingId}.pdf`) }, 'Tải PDF / Download PDF'),
    el('a', { href: '/web/record/verify', class: 'btn' }, 'Kiểm tra tệp / Check a file'));
  const parts = [tools, message, doc || el('p', {}, '—')];
  if (!sealed && signers.length && signers.some((s) => !s.signed_at)) {
    const password = el('input', { type: 'password', id: 'password', autocomplete: 'current-password' });
    parts.push(el('section', { class: 'sign' },
      el('h2', {}, 'Ký biên bản / Sign the minutes'),
      el('p', {}, 'Nhập lại mật khẩu để ký đúng bản đang hiển thị. / Re-enter your password to sign exactly this text.'),
      el('label', { for: 'password' }, 'Mật khẩu / Password'), password,
      el('button', { type: 'button', class: 'btn primary', onclick: async () => {
        try {
          await net.request(`${base}/sign`, { method: 'POST', body: { password: password.value, content_sha256: status.content_sha256 } });
          location.reload();
        } catch (error) { say(message, problem(error), 'error'); }
      } }, 'Ký / Sign')));
  }
  if (sealed && signers.length) {
    const text = el('textarea', { id: 'addendum', rows: '4' });
    parts.push(el('section', { class: 'sign' },
      el('h2', {}, 'Đính chính, bổ sung / Addendum'),
      el('label', { for: 'addendum' }, 'Nội dung / Text'), text,
      el('button', { type: 'button', class: 'btn', onclick: async () => {
        try {
          await net.request(`${base}/addenda`, { method: 'POST', body: { text: text.value } });
          location.reload();
        } catch (error) { say(message, problem(error), 'error'); }
      } }, 'Lập biên bản bổ sung / Write the addendum')));
  }
  for (const extra of status.addenda) {
    const line = el('li', {}, `Biên bản bổ sung số ${extra.number}: ${extra.sealed ? 'đã ký / signed' : 'chưa ký / not signed'} `,
      el('button', { type: 'button', class: 'btn', onclick: () => download(`${base}/addenda/${extra.number}.pdf`, `bien-ban-${meetingId}-bo-sung-${extra.number}.pdf`) }, 'PDF'));
    if (!extra.sealed && signers.length) {
      line.append(el('button', { type: 'button', class: 'btn', onclick: async () => {
        const password = window.prompt('Mật khẩu / Password');
        if (!password) return;
        try {
          await net.request(`${base}/addenda/${extra.number}/sign`, { method: 'POST', body: { password } });
          location.reload();
        } catch (error) { say(message, problem(error), 'error'); }
      } }, 'Ký / Sign'));
    }
    parts.push(el('ul', { class: 'addenda' }, line));
  }
  app.replaceChildren(...parts);
}

// -- the verifier ------------------------------------------------------------------------------------------------
function verifier() {
  const result = document.getElementById('result');
  document.getElementById('check').addEventListener('click', async () => {
    const file = document.getElementById('file').files[0];
    if (!file) { say(result, 'Xin chọn tệp. / Choose a file.', 'error'); return; }
    try {
      const answer = await (await authorised('/api/records/verify', { method: 'POST', body: file, headers: { 'Content-Type': 'application/octet-stream' } })).json();
      if (answer.match) {
        say(result, `KHỚP: đúng bản ${answer.format.toUpperCase()} của biên bản cuộc họp #${answer.meeting_id}${answer.number ? ` (bổ sung số ${answer.number})` : ''}, ký lúc ${answer.sealed_at}. / MATCH: this is the sealed ${answer.format.toUpperCase()} file.` + (answer.record_valid ? '' : ' Cảnh báo: nhật ký không còn khớp! / Warning: the journal no longer matches!'), answer.record_valid ? 'ok' : 'error');
      } else if (answer.claims_meeting_id) {
        say(result, `KHÔNG KHỚP: tệp ghi là biên bản cuộc họp #${answer.claims_meeting_id} nhưng nội dung khác bản đã ký — có thể đã bị sửa. / NO MATCH: the file names a sealed record but differs from it.`, 'error');
      } else {
        say(result, 'KHÔNG KHỚP với biên bản đã ký nào. / NO MATCH with any sealed record.', 'error');
      }
    } catch (error) { say(result, problem(error), 'error'); }
  });
}

if (requireSignIn()) {
  if (app.dataset.verify) verifier();
  else viewer(Number(app.dataset.meeting));
}
