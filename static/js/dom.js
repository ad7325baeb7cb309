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
 * create(item) builds a new one, update(el, item) refreshes it. Elements are
 * moved only when out of place, so focus and typed text survive.
 */
export function keyedList(container, items, key, create, update) {
  // The key is kept as a property too: reading it back through dataset for
  // every child on every render is what the browser is slow at.
  const existing = new Map();
  for (const el of container.children) {
    if (el.listKey !== undefined) existing.set(el.listKey, el);
  }
  const wanted = new Set();
  let cursor = container.firstElementChild;
  while (cursor && cursor.listKey === undefined) cursor = cursor.nextElementSibling;
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
    if (el !== cursor) container.insertBefore(el, cursor);
    else cursor = cursor.nextElementSibling;
  }
  for (const [k, el] of existing) if (!wanted.has(k)) el.remove();
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
