// Starts the page's Python, and once it is ready keeps a Pyodide memory snapshot for later visits.
//
// The build renders this file with Jinja2: asset() gives content-hashed URLs relative to this file.
const root = document.documentElement;
const status = document.getElementById("python-status");
const asset = (path) => new URL(path, import.meta.url).href;

// The Python worker needs cross-origin isolation (SharedArrayBuffer). Servers that send the COOP/COEP
// headers give it directly; elsewhere a small service worker of ours adds them and the page reloads
// once, under its control.
if (window.crossOriginIsolated) {
  sessionStorage.removeItem("coi-reloaded");
  if ("caches" in window) snapshotWhenReady();
  import(asset({{ asset('pyscript/core.js')|tojson }})).then(lendDeviceKey);
} else if ("serviceWorker" in navigator && window.isSecureContext) {
  // Relative to the page: the service worker's scope is the page's folder.
  await navigator.serviceWorker.register("coi-serviceworker.js");
  // Reload once the service worker is active, so that it serves the reloaded page. Once only: a page
  // still not isolated after that is in a browser that cannot isolate it.
  await navigator.serviceWorker.ready;
  if (!sessionStorage.getItem("coi-reloaded")) {
    sessionStorage.setItem("coi-reloaded", "1");
    location.reload();
  } else {
    status.textContent = "This browser could not isolate the page, which the app needs. Try another browser.";
  }
} else {
  status.textContent = "This page must be served over HTTPS (or from localhost) to run.";
}

// Once Python is ready, a short-lived worker of ours makes a Pyodide memory snapshot of this build
// (snapshot-loader.mjs); html[data-pyodide-snapshot] tells its outcome.
function snapshotWhenReady() {
  const observer = new MutationObserver(() => {
    if (root.dataset.python !== "ready") return;
    observer.disconnect();
    // After the app's own first steps: the maker keeps a core busy for seconds.
    if ("requestIdleCallback" in window) requestIdleCallback(makeSnapshot, { timeout: 2000 });
    else setTimeout(makeSnapshot, 500);
  });
  observer.observe(root, { attributeFilter: ["data-python"] });
}

function makeSnapshot() {
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
  maker.postMessage(asset({{ asset('snapshot-loader.mjs')|tojson }}));
}

// The Python worker signs proofs with the device key, which lives on this side (device-key.mjs): it
// calls these through PyScript's `sync`, which waits for their promises.
async function lendDeviceKey({ whenDefined }) {
  const deviceKey = await import(asset({{ asset('device-key.mjs')|tojson }}));
  await whenDefined("py");
  const { sync } = document.querySelector("script[type=py][worker]").xworker;
  sync.devicePublicKey = deviceKey.publicKey;
  sync.deviceSign = deviceKey.sign;
}
