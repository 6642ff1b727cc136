// What the app's Python asks of the page (src/webapp/browser/dom_page.py), one call each, strings
// in and out.
//
// In a worker, every touch of the page through PyScript's `window` and `document` is a synchronous
// round trip to this thread, and Pyodide makes dozens more to learn the type of each page object it
// is handed: reading one attribute cost 40 to 160 ms on a busy machine. A call of one of these
// functions through PyScript's `sync` is one round trip. boot.mjs hands them to the worker, and to
// Python on the main thread as `window.appPage`.
const root = document.documentElement;
const app = () => document.getElementById("app");
const forms = (name) => app().querySelectorAll(`form[data-form="${CSS.escape(name)}"]`);
const STORAGE = { localStorage: () => localStorage, sessionStorage: () => sessionStorage };
const LOG = {
  error: (text) => console.error(text),
  warning: (text) => console.warn(text),
  info: (text) => console.info(text),
};

// Python hears "app-visible" when the page comes back into view (src/webapp/browser/dom_page.py).
// Not the browser's own "visibilitychange": that fires as the page unloads too, and a worker's
// handler would then read the page through round trips that no one answers any more. PyScript
// waits for an answer by spinning, so the old worker kept a core busy until the browser killed it
// 2 s later, slowing the next page's start by up to a third (docs/performance.md).
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") document.dispatchEvent(new Event("app-visible"));
});

// Focus after a redraw (WCAG 2.4.3): a keyboard or screen-reader user must not be dropped at the
// top of the page. A new view starts at its refused field, else its notice, else its heading (the
// signed-in view's first field is the message's "To", whose keyboard would cover a phone's screen).
// A step drawn in a region (the account's confirmations) marks where it starts: data-focus-start.
const VIEW_START = ['[aria-invalid="true"]', "[data-focus-start]", ".notice", "h1"];

function focusStart(within) {
  const target = VIEW_START.map((selector) => within.querySelector(selector)).find(Boolean);
  target?.focus();
}

/** What identifies the focused element inside `container` across a redraw, or null when focus is
 * elsewhere: its id, a view's start (its notice), else its button's value and its form's hidden
 * fields (a device's "Sign out"). */
function focusedIn(container) {
  const element = document.activeElement;
  if (!element || element === document.body || !container.contains(element)) return null;
  if (element.id) return `#${CSS.escape(element.id)}`;
  const start = VIEW_START.find((selector) => element.matches(selector));
  if (start) return start;
  if (!element.form || !element.value) return null;
  const hidden = [...element.form.querySelectorAll("input[type=hidden]")];
  const fields = hidden.map((input) => `[name="${CSS.escape(input.name)}"][value="${CSS.escape(input.value)}"]`);
  return { value: element.value, fields };
}

/** Focus the control drawn again in `container` that `key` identifies; false if it is gone. */
function refocus(container, key) {
  let target = null;
  if (typeof key === "string") {
    target = container.querySelector(key);
  } else {
    const forms = [...container.querySelectorAll("form")].filter((form) => key.fields.every((field) => form.querySelector(field)));
    target = forms.map((form) => form.querySelector(`button[value="${CSS.escape(key.value)}"]`)).find(Boolean);
  }
  target?.focus();
  return Boolean(target);
}

export const pageFunctions = {
  /** What Python reads of the page as it starts, as JSON: the app's configuration (JSON text), the
   * page's address, the view shown before Python drew one, and why each storage cannot be used
   * (null when it can). */
  pageStart() {
    const blocked = {};
    for (const [area, open] of Object.entries(STORAGE)) {
      try {
        open();
        blocked[area] = null;
      } catch (error) {
        blocked[area] = String(error);
      }
    }
    return JSON.stringify({
      config: document.getElementById("app-config").textContent,
      location: location.href,
      view: root.dataset.view,
      blocked,
    });
  },
  pageShow(view, html) {
    const focused = focusedIn(app());
    // Drawn for a submission (the form is busy until Python is done), or as another view: focus
    // goes where the new view starts. Drawn again by itself (a countdown): focus stays put.
    const answer = root.dataset.view !== view || app().querySelector('form[aria-busy="true"]');
    app().innerHTML = `<div data-view="${view}">${html}</div>`;
    root.dataset.view = view;
    if (answer || (focused && !refocus(app(), focused))) focusStart(app());
  },
  pageFill(region, html) {
    const element = app().querySelector(`[data-region="${CSS.escape(region)}"]`);
    if (!element) return;
    const focused = focusedIn(element);
    element.innerHTML = html;
    // A region that starts somewhere of its own (a step asking to confirm) is where focus goes.
    const within = VIEW_START.some((selector) => element.querySelector(selector)) ? element : app();
    if (focused && !refocus(element, focused)) focusStart(within);
  },
  pageSetField(form, name, value) {
    for (const element of forms(form)) if (element.elements[name]) element.elements[name].value = value;
  },
  /** A busy form takes no second submission (index.html's inline script) until Python is done. */
  pageMarkBusy(form, busy) {
    for (const element of forms(form)) {
      if (busy) element.setAttribute("aria-busy", "true");
      else element.removeAttribute("aria-busy");
    }
  },
  pageTakeActions() {
    return window.appActions.take();
  },
  pageMarkReady() {
    root.dataset.python = "ready";
  },
  pageAnnounce(json) {
    window.appSession.announce(json);
  },
  /** What the page's scripts asked of Python (index.html, appSession) before it listened. */
  pageTakeRequests() {
    return window.appSession.take();
  },
  pageAnswer(id, json) {
    window.appSession.answer(id, JSON.parse(json));
  },
  pageLog(level, text) {
    (LOG[level] ?? LOG.info)(text);
  },
  // Web Storage: these throw what the browser throws (storage blocked, quota exceeded).
  storageGet(area, key) {
    return STORAGE[area]().getItem(key);
  },
  storageSet(area, key, value) {
    STORAGE[area]().setItem(key, value);
  },
  storageRemove(area, key) {
    STORAGE[area]().removeItem(key);
  },
};
