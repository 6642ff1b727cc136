// A short-lived worker that makes this build's Pyodide memory snapshot and keeps it
// (snapshot-store.mjs), so that later visits start from it (snapshot-loader.mjs) and the making never
// slows the page's own Python. boot.mjs starts it once Python is ready, when the browser holds no
// snapshot of this build; it answers with what happened ("made", "present": another tab made it
// meanwhile, "busy": another tab is making it, or "failed") and the page ends it.
//
// The build renders this file with Jinja2: asset() gives content-hashed URLs relative to this file.
import { loadPyodide } from {{ asset('pyodide/pyodide.mjs')|tojson }};
import { SNAPSHOT_KEY, hasSnapshot, keepSnapshot } from {{ asset('snapshot-store.mjs')|tojson }};

const RUNTIME_DIR = new URL(".", new URL({{ asset('pyodide/pyodide.mjs')|tojson }}, import.meta.url)).href;
const APP_ARCHIVE = new URL({{ asset('app.zip')|tojson }}, import.meta.url).href;
// What the app imports at start, less what needs `pyscript` (the page), which this worker lacks:
// the list is webapp/preload.py.
const WARM_UP = "from webapp.preload import import_modules; import_modules()";
// Where snapshots were kept before (gzipped, in Cache Storage): tens of megabytes of dead weight.
const OLD_CACHE = "pyodide-snapshot-v1";

postMessage(await makeOnce().catch((error) => {
  // A snapshot is an optimisation: say why it failed, never break anything.
  console.warn("Could not make a Pyodide memory snapshot:", error);
  return "failed";
}));

/** Make the snapshot unless another tab is making it, or has made it. */
function makeOnce() {
  if (!navigator.locks) return make();
  const lock = `pyodide-snapshot ${SNAPSHOT_KEY}`;
  return navigator.locks.request(lock, { ifAvailable: true }, (held) => (held ? make() : "busy"));
}

async function make() {
  if (await hasSnapshot()) return "present";
  const quiet = () => {};
  const [pyodide, archive] = await Promise.all([
    loadPyodide({ indexURL: RUNTIME_DIR, stdout: quiet, stderr: quiet, _makeSnapshot: true }),
    fetchBytes(APP_ARCHIVE),
  ]);
  // Where PyScript unpacks it too (`"./*"` in pyscript.toml): the working directory.
  pyodide.unpackArchive(archive, "zip", { extractDir: "." });
  pyodide.runPython(WARM_UP);
  await keepSnapshot(pyodide.makeMemorySnapshot());
  await globalThis.caches?.delete(OLD_CACHE).catch(() => false);
  return "made";
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}
