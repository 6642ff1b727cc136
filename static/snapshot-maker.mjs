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
// Bytecode for the app archive's sources, then what the app imports at start, less what needs the
// page or PyScript, which this worker lacks: webapp/preload.py.
const WARM_UP = "from webapp import preload; preload.compile_sources(); preload.import_modules(); del preload";
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
  // Where the loader unpacks it too: the working directory.
  pyodide.unpackArchive(archive, "zip", { extractDir: "." });
  pyodide.runPython(WARM_UP);
  const snapshot = pyodide.makeMemorySnapshot();
  // The snapshot holds Python's memory, not its files: they are kept beside it, bytecode included.
  await keepSnapshot(snapshot, filesUnder(pyodide.FS, pyodide.FS.cwd()));
  await globalThis.caches?.delete(OLD_CACHE).catch(() => false);
  return "made";
}

/** [[path, bytes], ...] of every file under `folder`, in Pyodide's file system. */
function filesUnder(FS, folder) {
  return FS.readdir(folder)
    .filter((name) => name !== "." && name !== "..")
    .flatMap((name) => {
      const path = `${folder}/${name}`;
      return FS.isDir(FS.stat(path).mode) ? filesUnder(FS, path) : [[path, FS.readFile(path)]];
    });
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}
