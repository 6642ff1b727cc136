// Starts the page's Python, or says in one sentence why it could not; once Python is ready, keeps a
// Pyodide memory snapshot for later visits.
//
// Where Python runs is decided here, from what the browser offers: in a worker where a worker can
// reach the page (cross-origin isolation and SharedArrayBuffer), else on the page's main thread. The
// app is the same in both; only its transport differs (src/webapp/browser/main.py).
// <html data-python-thread> says which was chosen.
//
// <html data-python> goes from "loading" to "ready" (Python sets it) or to "failed": set here when
// the browser cannot run the app, when a part of it fails to load, when Python has not started in
// time, or by Python's entry script (static/main.py) when the app raised before it was ready. A
// failure puts a sentence in place of "Starting Python…", drops the actions queued meanwhile and
// disables the forms, so nothing waits for good. Should Python be ready after all (a start slower
// than the time limit), the forms come back.
//
// The build renders this file with Jinja2: asset() gives content-hashed URLs relative to this file,
// and PYSCRIPT_CONFIG is pyscript.toml.
//
// Marks named "page:..." on the page's performance timeline time the start (docs/performance.md).
import { pageFunctions } from {{ asset('page-bridge.mjs')|tojson }};
// The login form's own helpers ("Show password", what a new password still needs): no Python.
import {{ asset('password-fields.mjs')|tojson }};

performance.mark("page:boot module");
const root = document.documentElement;
const status = document.getElementById("python-status");
const pageConfig = JSON.parse(document.getElementById("app-config").textContent);
const asset = (path) => new URL(path, import.meta.url).href;
const PYSCRIPT_CONFIG = {{ pyscript_config|tojson }};
// Set for the one reload that the isolating service worker needs.
const COI_RELOADED = "coi-reloaded";
// How long that service worker may take to be ready before the page does without it.
const SERVICE_WORKER_WAIT_MS = 5_000;

// Each kind of failure (<html data-python-failure>) and its sentence. Only "too-slow" may still end
// well: Python may be ready after all.
const SAY = {
  "no-webassembly": () =>
    "This browser cannot run the app: it has no WebAssembly, or it is turned off. Try another browser.",
  "not-loaded": () =>
    "The app could not start: a part of it did not load. Check your connection, then reload the page.",
  "python-error": (name) =>
    `The app could not start: its Python code stopped with an error${name ? ` (${name})` : ""}. ` +
    "Reload the page to try again.",
  "too-slow": (seconds) => `Python has not started after ${seconds} seconds. Reload the page to try again.`,
};

const disabledControls = [];

watchPython();
const limit = setTimeout(() => fail("too-slow", pageConfig.startTimeoutS), pageConfig.startTimeoutS * 1000);
addEventListener("error", (event) => failWith(event.error ?? event.message));
addEventListener("unhandledrejection", (event) => failWith(event.reason));

const thread = await chooseThread();
if (thread === "worker" || thread === "main") {
  await startPython(thread);
} else if (thread === "reloading") {
  clearTimeout(limit);
} else {
  fail("no-webassembly");
}

/** "worker", "main", "reloading" (to come back isolated), or null when the app cannot run here. */
async function chooseThread() {
  if (typeof WebAssembly !== "object") return null;
  if (window.crossOriginIsolated && typeof SharedArrayBuffer === "function") {
    session("removeItem", COI_RELOADED);
    return "worker";
  }
  // Servers that send the COOP/COEP headers isolate the page themselves; elsewhere a small service
  // worker of ours adds them, and the page reloads once under its control. A browser that isolates
  // the page and still gives it no SharedArrayBuffer (WebKitGTK) gets nothing from that.
  if (!window.crossOriginIsolated && (await isolateWithServiceWorker())) return "reloading";
  return "main";
}

async function isolateWithServiceWorker() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return false;
  // Once only: a page still not isolated after that reload is in a browser that cannot isolate it.
  if (session("getItem", COI_RELOADED)) return false;
  try {
    // Relative to the page: the service worker's scope is the page's folder.
    await navigator.serviceWorker.register("coi-serviceworker.js");
    await Promise.race([
      navigator.serviceWorker.ready,
      new Promise((_, reject) => setTimeout(() => reject(new Error("not ready in time")), SERVICE_WORKER_WAIT_MS)),
    ]);
  } catch (error) {
    // Service workers turned off (a private window, a policy): do without isolation.
    console.warn("The service worker that isolates the page is not available:", error);
    return false;
  }
  // Without a record of this reload, the next load would reload again, and so on.
  if (!session("setItem", COI_RELOADED, "1")) return false;
  location.reload();
  return true;
}

// sessionStorage may be blocked (a setting, a sandboxed frame): then getItem answers null, and the
// others false.
function session(method, ...args) {
  try {
    const value = sessionStorage[method](...args);
    return method === "getItem" ? value : true;
  } catch {
    return method === "getItem" ? null : false;
  }
}

async function startPython(thread) {
  root.dataset.pythonThread = thread;
  // PyScript's configuration, given inline: nothing to fetch before the worker starts, and PyScript
  // knows our interpreter from the start. (Given as a URL, a failed fetch of it made PyScript fall
  // back to an interpreter on the main thread from its default CDN.)
  const config = configElement("py-config", pyscriptConfig());
  // PyScript reads a configuration for MicroPython too, and loads every plugin that one does not
  // turn off: it gets ours (the app has no MicroPython script).
  const microPythonConfig = configElement("mpy-config", { plugins: PYSCRIPT_CONFIG.plugins });
  const script = document.createElement("script");
  script.type = "py";
  script.src = asset({{ asset('main.py')|tojson }});
  if (thread === "worker") script.setAttribute("worker", "");
  // PyScript catches Python's exceptions and only prints them, then says the script is done: done
  // and not ready is a failure (static/main.py names the exception, where it can).
  const doneButNotReady = () => fail("python-error", root.dataset.pythonError);
  script.addEventListener("py:done", doneButNotReady);
  document.head.append(config, microPythonConfig);
  try {
    const [{ hooks, whenDefined }, deviceKey] = await Promise.all([
      import(asset({{ asset('pyscript/core.js')|tojson }})),
      import(asset({{ asset('device-key.mjs')|tojson }})),
    ]);
    performance.mark("page:pyscript imported");
    hooks.main.onWorker.add(() => performance.mark("page:worker created"));
    // Before PyScript's own Python (its `pyscript` package), then ours, run (asynchronously, as
    // PyScript runs scripts by default); the worker's copy is sent there as source.
    const beforeRun = () => performance.mark("runtime:pyscript runs python");
    hooks.main.onBeforeRunAsync.add(beforeRun);
    hooks.worker.onBeforeRunAsync.add(beforeRun);
    lendToPython(thread, hooks, deviceKey);
    document.body.append(script);
    // What fails to load reaches the page as the rejection of a worker's `ready`; on the main
    // thread, as an unhandled rejection (seen above).
    const { xworker } = await whenDefined("py");
    xworker?.ready.then(doneButNotReady, failWith);
  } catch (error) {
    failWith(error);
  }
}

function configElement(name, content) {
  const element = document.createElement(name);
  element.setAttribute("type", "json");
  element.textContent = JSON.stringify(content);
  return element;
}

// pyscript.toml's URLs are relative to this module; PyScript would read them relative to the page.
function pyscriptConfig() {
  const config = { ...PYSCRIPT_CONFIG, interpreter: asset(PYSCRIPT_CONFIG.interpreter) };
  if (config.files) {
    config.files = Object.fromEntries(Object.entries(config.files).map(([url, target]) => [asset(url), target]));
  }
  return config;
}

/** Fail for an error that reached the page: Python's own, or a part that did not load. */
function failWith(reason) {
  // Pyodide's PythonError names the exception in `type`; from a worker it arrives as a plain Error
  // whose message holds the traceback.
  if (reason?.type) return fail("python-error", reason.type);
  const text = String(reason?.message ?? reason ?? "");
  if (text.includes("Traceback")) return fail("python-error", root.dataset.pythonError);
  return fail("not-loaded");
}

function fail(kind, detail) {
  if (root.dataset.python !== "loading") return;
  console.error(`Python did not start: ${SAY[kind](detail)}`);
  if (kind === "python-error" && detail) root.dataset.pythonError = detail;
  root.dataset.pythonFailure = kind;
  root.dataset.python = "failed";
}

// What <html data-python> turns into: "failed" (from fail() or from Python) or "ready".
function watchPython() {
  new MutationObserver(() => {
    if (root.dataset.python === "failed") showFailure();
    else if (root.dataset.python === "ready") whenReady();
  }).observe(root, { attributeFilter: ["data-python"] });
}

function showFailure() {
  clearTimeout(limit);
  // Set by fail(), or by Python's entry script (static/main.py), which names only the exception.
  const kind = (root.dataset.pythonFailure ??= "python-error");
  // Had Python started from a snapshot, the next load starts without it (and, once ready, makes a
  // new one): a snapshot that breaks the start must not break every start.
  if (kind === "python-error") snapshotStore().then((store) => store.dropSnapshot(), () => {});
  status.textContent = SAY[kind](kind === "too-slow" ? pageConfig.startTimeoutS : root.dataset.pythonError);
  window.appActions.abandon();
  for (const control of document.querySelectorAll("#app :is(input, button, select, textarea)")) {
    if (control.disabled) continue;
    control.disabled = true;
    disabledControls.push(control);
  }
}

function whenReady() {
  performance.mark("page:python ready");
  clearTimeout(limit);
  // Ready after a failure: the start was only slow. Python handles the forms from now on.
  for (const control of disabledControls.splice(0)) control.disabled = false;
  if ("indexedDB" in window) snapshotSoon();
}

// A short-lived worker of ours makes a Pyodide memory snapshot of this build when there is none
// (snapshot-maker.mjs); html[data-pyodide-snapshot] tells the outcome: "present" (no worker was
// needed), "made", "busy" (another tab is making it), "unavailable" (no IndexedDB) or "failed".
function snapshotSoon() {
  // After the app's own first steps: the maker keeps a core busy for seconds.
  if ("requestIdleCallback" in window) requestIdleCallback(ensureSnapshot, { timeout: 2000 });
  else setTimeout(ensureSnapshot, 500);
}

async function ensureSnapshot() {
  const store = await snapshotStore();
  if (await store.hasSnapshot()) {
    root.dataset.pyodideSnapshot = "present";
    return;
  }
  const maker = new Worker(asset({{ asset('snapshot-maker.mjs')|tojson }}), { type: "module" });
  const done = (result) => {
    maker.terminate();
    root.dataset.pyodideSnapshot = result;
  };
  maker.addEventListener("message", ({ data }) => done(data));
  maker.addEventListener("error", (event) => {
    event.preventDefault();
    done("failed");
  });
}

function snapshotStore() {
  return import(asset({{ asset('snapshot-store.mjs')|tojson }}));
}

// What Python calls on this side: the page's functions (page-bridge.mjs), and the device key's
// (device-key.mjs), with which it signs proofs. A worker calls them through PyScript's `sync`, which
// waits for their promises: they are handed over as the worker is made, before its Python can ask.
// Python on the main thread finds them on `window`, and waits for the key's promises through JSPI
// (src/webapp/browser/device_key.py).
function lendToPython(thread, hooks, deviceKey) {
  deviceKey.preload(pageConfig.applicationKey);
  const keyFunctions = { devicePublicKey: deviceKey.publicKey, deviceSign: deviceKey.sign };
  if (thread === "worker") {
    hooks.main.onWorker.add((_, xworker) => Object.assign(xworker.sync, pageFunctions, keyFunctions));
  } else {
    window.appPage = pageFunctions;
    window.appDeviceKey = keyFunctions;
  }
}
