// The message catalogue: every user-visible string on the page comes from
// static/i18n/<lang>.json. Markup asks for its text with data-i18n="key"
// (and data-i18n-title / -placeholder / -aria-label for attributes); scripts
// call t(key, params). A missing key shows as the raw key, so the tests catch it.

export const LANGS = ["zh-CN", "en"];
const DEFAULT_LANG = "zh-CN"; // the tutorial's language, when the browser names none
const STORAGE_KEY = "forkscope.lang";

const catalogues = new Map();
const listeners = [];
let lang = DEFAULT_LANG;
let messages = {};

function fromUrl() {
  const wanted = new URLSearchParams(location.search).get("lang");
  return LANGS.includes(wanted) ? wanted : null;
}

function fromStorage() {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    return LANGS.includes(stored) ? stored : null;
  } catch {
    return null; // storage may be disabled; the default is fine
  }
}

// The browser's first language decides: any Chinese (zh, zh-TW, zh-Hans-CN...)
// gets the tutorial's zh-CN, anything else English. The same list is what the
// browser sends as Accept-Language, so a page and a curl agree.
export function fromBrowser(languages = navigator.languages || [navigator.language]) {
  const first = (languages || []).find(Boolean);
  if (!first) return DEFAULT_LANG;
  return first.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

async function load(which) {
  if (!catalogues.has(which)) {
    const response = await fetch(`/static/i18n/${which}.json`, { cache: "no-cache" });
    if (!response.ok) throw new Error(`catalogue ${which}: HTTP ${response.status}`);
    catalogues.set(which, await response.json());
  }
  return catalogues.get(which);
}

export function currentLang() {
  return lang;
}

export function has(key) {
  return Object.prototype.hasOwnProperty.call(messages, key);
}

/** The message for *key* with {name} placeholders filled from *params*. */
export function t(key, params = {}) {
  const template = has(key) ? messages[key] : key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => {
    const value = params[name];
    return value === undefined || value === null ? whole : String(value);
  });
}

/** Fill every data-i18n* element under *root* from the catalogue. */
export function applyDom(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const [attr, data] of [["title", "i18nTitle"], ["placeholder", "i18nPlaceholder"],
                              ["aria-label", "i18nAriaLabel"]]) {
    for (const el of root.querySelectorAll(`[data-${attr === "aria-label" ? "i18n-aria-label" : "i18n-" + attr}]`)) {
      el.setAttribute(attr, t(el.dataset[data]));
    }
  }
  document.documentElement.lang = lang;
  document.title = t("app.title");
}

export function onLangChange(fn) {
  listeners.push(fn);
}

export async function setLang(which, { remember = true } = {}) {
  messages = await load(which);
  lang = which;
  if (remember) {
    try {
      localStorage.setItem(STORAGE_KEY, which);
    } catch {
      // not remembered; the switch still works for this page
    }
    const url = new URL(location.href);
    if (url.searchParams.has("lang")) {
      url.searchParams.set("lang", which);
      history.replaceState(null, "", url);
    }
  }
  applyDom();
  for (const fn of listeners) fn(which);
}

export async function initI18n() {
  // ?lang= (a shared link) over the reader's own stored choice over the browser's
  const first = fromUrl() || fromStorage() || fromBrowser();
  await setLang(first, { remember: false });
  // The other catalogue too, now: on flaky Wi-Fi the switch must not wait.
  for (const other of LANGS) load(other).catch(() => {});
}
