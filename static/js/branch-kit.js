// What the parts of the preparation page (/branch) share beyond the helpers of every page (common.js, i18n.js):
// lists that keep the keyboard's place, and the choice of members for a task.
import { h } from './common.js';

/** Replace an element's children and put focus back on the element with the same id, if it had it. */
export function replaceKeepingFocus(el, nodes) {
  const active = document.activeElement;
  const focusedId = active && el.contains(active) ? active.id : null;
  el.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
  if (focusedId && !el.contains(document.activeElement)) document.getElementById(focusedId)?.focus();
}

/** People of the branch who may be given a task (presenter, prepared opinion): not guests, still active. */
export function assignable(members) {
  return members.filter((m) => m.active && m.category !== 'guest');
}

/** An <option> list of members, with an empty first choice when `empty` names it. */
export function memberOptions(members, chosen = null, empty = null) {
  const options = members.map((m) => h('option', { value: m.id, selected: m.id === chosen }, m.full_name));
  return empty ? [h('option', { value: '', selected: chosen == null }, empty), ...options] : options;
}
