// Small DOM helpers: build elements, and keep keyed lists in place so that an
// input being typed in is never replaced by a re-render.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function setText(el, text) {
  const value = text ?? "";
  if (el.textContent !== value) el.textContent = value;
}

export function setAttr(el, name, value) {
  if (value === null || value === undefined || value === false) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else {
    const v = value === true ? "" : String(value);
    if (el.getAttribute(name) !== v) el.setAttribute(name, v);
  }
}

/**
 * Make *container*'s children match *items* (in order), one element per key:
 * create(item) builds a new one, update(el, item) refreshes it. Elements that
 * left are removed first; then the longest run of elements already in the
 * right order stays where it is and only the others move, so focus and typed
 * text survive, and one client moving from the top of the list (no pid yet)
 * to the bottom moves one row, not the 250 others (each move takes a row out
 * of layout and puts it back).
 */
export function keyedList(container, items, key, create, update) {
  // The key is kept as a property too: reading it back through dataset for
  // every child on every render is what the browser is slow at.
  const existing = new Map();
  for (const el of container.children) {
    if (el.listKey !== undefined) existing.set(el.listKey, el);
  }
  const els = [];
  const wanted = new Set();
  for (const item of items) {
    const k = String(key(item));
    wanted.add(k);
    let el = existing.get(k);
    if (!el) {
      el = create(item);
      el.dataset.key = k;
      el.listKey = k;
    }
    update(el, item);
    els.push(el);
  }
  for (const [k, el] of existing) if (!wanted.has(k)) el.remove();

  const where = new Map();          // element -> its place among the keyed children now
  let after = null;                 // what follows the last keyed child
  for (const el of container.children) {
    if (el.listKey === undefined) continue;
    where.set(el, where.size);
    after = el.nextSibling;
  }
  const stay = inOrder(els.map((el) => where.get(el) ?? -1));
  let next = after;
  for (let i = els.length - 1; i >= 0; i -= 1) {
    if (!stay.has(i)) container.insertBefore(els[i], next);
    next = els[i];
  }
}

/** The indexes of a longest strictly increasing run of *places* (-1: none), as a Set. */
function inOrder(places) {
  const tails = [];                 // tails[k]: index ending the best run of length k + 1
  const before = new Array(places.length);
  for (let i = 0; i < places.length; i += 1) {
    const v = places[i];
    if (v < 0) continue;
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (places[tails[mid]] < v) lo = mid + 1;
      else hi = mid;
    }
    before[i] = lo > 0 ? tails[lo - 1] : -1;
    tails[lo] = i;
  }
  const stay = new Set();
  for (let i = tails.length ? tails.at(-1) : -1; i >= 0; i = before[i]) stay.add(i);
  return stay;
}

/**
 * Skip work whose inputs did not change: true when *inputs* (an array) are,
 * item by item (===), the ones *el* was last drawn from; otherwise remembers
 * them and returns false, and the caller redraws *el*.
 */
export function unchanged(el, inputs) {
  const last = el.drawnFrom;
  if (last && last.length === inputs.length && last.every((v, i) => v === inputs[i])) return true;
  el.drawnFrom = inputs;
  return false;
}
