// Pyodide memory snapshots, kept in Cache Storage: the module pyscript.toml names as `interpreter`.
//
// PyScript calls `loadPyodide(options)` from here. When this browser holds a snapshot made for this
// very build (this runtime and this app archive), Pyodide starts from it, with the app's imports
// already done; otherwise, or if the snapshot fails to load, it starts as usual. The snapshot is made
// in the browser after a first visit, by `makeSnapshot()` in a short-lived worker (snapshot-maker.mjs):
// the first visit downloads nothing more.
//
// The build renders this file with Jinja2 (like pyscript.toml): asset() gives content-hashed URLs
// relative to this file, so its own name changes with the runtime and the app archive; the cache's
// name comes from sitebuild/site.py.
//
// Marks named "runtime:..." on the performance timeline of the thread it runs in time the start
// (docs/performance.md), PyScript's own steps included (its "py:progress" events).
import { loadPyodide as loadRuntime, version } from {{ asset('pyodide/pyodide.mjs')|tojson }};

export { version };

const mark = (name) => performance.mark(`runtime:${name}`);
mark("loader module");
addEventListener("py:progress", ({ detail }) => mark(`pyscript ${detail}`));

const RUNTIME_DIR = new URL(".", new URL({{ asset('pyodide/pyodide.mjs')|tojson }}, import.meta.url)).href;
// Pyodide's Emscripten module, imported here rather than by Pyodide, so that its steps can be timed.
const RUNTIME_SCRIPT = RUNTIME_DIR + "pyodide.asm.mjs";
const APP_ARCHIVE = new URL({{ asset('app.zip')|tojson }}, import.meta.url).href;

export const CACHE_NAME = {{ snapshot_cache|tojson }};
// Version-bound: a new runtime or a new app archive is a new key, so no build loads another's snapshot.
const KEY_PREFIX = new URL("pyodide-snapshot/", APP_ARCHIVE).href;
export const SNAPSHOT_KEY = KEY_PREFIX + `${RUNTIME_DIR.split("/").at(-2)}/${APP_ARCHIVE.split("/").at(-1)}`;
const LOCK_NAME = `${CACHE_NAME} ${KEY_PREFIX}`;

// What the app imports at start, less what needs `pyscript` (the page), which a worker of ours lacks:
// the list is webapp/preload.py.
const WARM_UP = "from webapp.preload import import_modules; import_modules()";

/** PyScript's entry point: Pyodide, from this build's snapshot when the browser holds one. */
export async function loadPyodide(options = {}) {
  // PyScript points indexURL at this module's folder; the runtime lives in its own.
  const runtimeScript = import(RUNTIME_SCRIPT);
  runtimeScript.catch(() => {}); // Pyodide awaits it later, and fails with its error.
  const config = { ...options, indexURL: RUNTIME_DIR, createPyodideModule: timed(runtimeScript) };
  const stored = await readStored();
  if (stored) {
    try {
      const bytes = snapshotBytes(stored);
      bytes.catch(() => {}); // Pyodide awaits it later; until then a rejection is not "unhandled".
      const pyodide = await loadRuntime({ ...config, _loadSnapshot: handOver(bytes) });
      mark("pyodide started");
      console.info(`Pyodide started from its memory snapshot (${SNAPSHOT_KEY}).`);
      return pyodide;
    } catch (error) {
      console.warn("The stored Pyodide memory snapshot could not be used; starting without it.", error);
      await forget();
    }
  }
  const pyodide = await loadRuntime(config);
  mark("pyodide started");
  return pyodide;
}

// Pyodide's `createPyodideModule` option: the Emscripten module factory, marking when the wasm is
// instantiated (Emscripten's `instantiateWasm` hook, which Pyodide sets, reports it).
function timed(runtimeScript) {
  return async (settings) => {
    const { default: createModule } = await runtimeScript;
    mark("runtime script");
    const instantiate = settings.instantiateWasm;
    settings.instantiateWasm = (imports, done) =>
      instantiate(imports, (instance, module) => {
        mark("wasm instantiated");
        done(instance, module);
      });
    return createModule(settings);
  };
}

/**
 * Make this build's snapshot and keep it in Cache Storage, unless it is there already or another
 * tab is making it. Resolves to "made", "present", "busy" or "unavailable" (no Cache Storage).
 */
export async function makeSnapshot() {
  const cache = await openCache();
  if (!cache) return "unavailable";
  if (!navigator.locks) return make(cache);
  return navigator.locks.request(LOCK_NAME, { ifAvailable: true }, (lock) => (lock ? make(cache) : "busy"));
}

async function make(cache) {
  if (await cache.match(SNAPSHOT_KEY)) return "present";
  const quiet = () => {};
  const [pyodide, archive] = await Promise.all([
    loadRuntime({ indexURL: RUNTIME_DIR, stdout: quiet, stderr: quiet, _makeSnapshot: true }),
    fetchBytes(APP_ARCHIVE),
  ]);
  // Where PyScript unpacks it too (`"./*"` in pyscript.toml): the working directory.
  pyodide.unpackArchive(archive, "zip", { extractDir: "." });
  pyodide.runPython(WARM_UP);
  const snapshot = pyodide.makeMemorySnapshot();
  // Stored gzipped: a quarter of the size, and the gzip checksum catches a damaged entry on load.
  const body = new Blob([snapshot]).stream().pipeThrough(new CompressionStream("gzip"));
  await cache.put(
    SNAPSHOT_KEY,
    new Response(body, { headers: { "Content-Type": "application/gzip" } }),
  );
  // Older builds' snapshots (of this site) are dead weight: tens of megabytes each.
  for (const request of await cache.keys()) {
    if (request.url.startsWith(KEY_PREFIX) && request.url !== SNAPSHOT_KEY) await cache.delete(request);
  }
  return "made";
}

async function openCache() {
  try {
    return await globalThis.caches.open(CACHE_NAME);
  } catch {
    // No Cache Storage here (an insecure context, a browser setting): boot and live without it.
    return null;
  }
}

async function readStored() {
  try {
    return (await (await openCache())?.match(SNAPSHOT_KEY)) ?? null;
  } catch {
    return null;
  }
}

async function snapshotBytes(response) {
  const inflated = response.body.pipeThrough(new DecompressionStream("gzip"));
  try {
    const bytes = new Uint8Array(await new Response(inflated).arrayBuffer());
    mark("snapshot read");
    return bytes;
  } catch (error) {
    throw new Error("the snapshot is damaged (it fails its gzip check)", { cause: error });
  }
}

// Pyodide keeps its options for good: pass the snapshot's bytes through a thenable that lets go of them
// once handed over, or they would stay in memory (tens of megabytes) for the life of the page.
function handOver(promise) {
  return {
    then(resolve, reject) {
      const bytes = promise;
      promise = null;
      return bytes.then(resolve, reject);
    },
  };
}

async function forget() {
  try {
    await (await openCache())?.delete(SNAPSHOT_KEY);
  } catch {
    // Nothing more to do: the next visit tries it again and lands here again.
  }
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}
