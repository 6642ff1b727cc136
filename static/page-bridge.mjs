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
    app().innerHTML = `<div data-view="${view}">${html}</div>`;
    root.dataset.view = view;
  },
  pageFill(region, html) {
    const element = app().querySelector(`[data-region="${CSS.escape(region)}"]`);
    if (element) element.innerHTML = html;
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
