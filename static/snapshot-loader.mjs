// Pyodide, started as early as it can be: the module pyscript.toml names as `interpreter`.
//
// PyScript imports this module in Python's thread, readies itself for some tens of ms, then calls
// `loadPyodide(options)`. Pyodide starts as soon as the module is evaluated, meanwhile: from this
// build's memory snapshot when the browser holds one (snapshot-store.mjs; the app's imports are done
// in it, and the app's files, with their bytecode, are kept beside it), else as usual with the app
// archive unpacked, or as usual again if the snapshot fails to load (it is then dropped). The
// snapshot is made after a first visit, in a worker of its own (snapshot-maker.mjs).
//
// PyScript's options are only where Python's output goes (this app's configuration asks it for no
// packages): output goes to the console until PyScript hands over its own.
//
// The build renders this file with Jinja2 (like pyscript.toml): asset() gives content-hashed URLs
// relative to this file, so its own name changes with the runtime and the app archive.
//
// Marks named "runtime:..." on the performance timeline of the thread it runs in time the start
// (docs/performance.md), PyScript's own steps included (its "py:progress" events).
import { loadPyodide as loadRuntime, version } from {{ asset('pyodide/pyodide.mjs')|tojson }};
import { SNAPSHOT_KEY, dropSnapshot, findSnapshot } from {{ asset('snapshot-store.mjs')|tojson }};

export { version };

const mark = (name) => performance.mark(`runtime:${name}`);
mark("loader module");
addEventListener("py:progress", ({ detail }) => mark(`pyscript ${detail}`));

const RUNTIME_DIR = new URL(".", new URL({{ asset('pyodide/pyodide.mjs')|tojson }}, import.meta.url)).href;
// Our Python packages and their dependencies, unpacked into the working directory.
const APP_ARCHIVE = new URL({{ asset('app.zip')|tojson }}, import.meta.url).href;
// Pyodide's Emscripten module, imported here rather than by Pyodide, so that its steps can be timed.
const runtimeScript = import(RUNTIME_DIR + "pyodide.asm.mjs");
runtimeScript.catch(() => {}); // Pyodide awaits it, and fails with its error.
const output = { stdout: console.log, stderr: console.error };
const OPTIONS = {
  indexURL: RUNTIME_DIR,
  stdout: (line) => output.stdout(line),
  stderr: (line) => output.stderr(line),
  createPyodideModule: timedModule,
};
// What PyScript may pass, and this module takes care of.
const TAKEN = new Set(["indexURL", "stdout", "stderr"]);

// The size of the memory a snapshot holds, once it is read (0: none). Pyodide writes it into the
// wasm's memory as it is, and that memory starts at the size the wasm declares (30 MiB): a snapshot
// of more (the app's imports reach it) failed with "offset is out of bounds" unless the memory is
// grown first (timedModule).
let memoryNeeded = 0;

const starting = start();
// Until PyScript asks for it, a failure is not "unhandled" (PyScript then gets it).
starting.catch(() => {});

/** PyScript's entry point: the Pyodide started above. */
export async function loadPyodide(options = {}) {
  const unknown = Object.keys(options).filter((name) => !TAKEN.has(name));
  if (unknown.length) throw new Error(`The Pyodide loader does not take ${unknown.join(", ")}`);
  if (options.stdout) output.stdout = options.stdout;
  if (options.stderr) output.stderr = options.stderr;
  return starting;
}

async function start() {
  const snapshot = await findSnapshot().catch(() => null);
  if (snapshot) {
    mark("snapshot found");
    try {
      if (snapshot.damage) throw new Error(snapshot.damage);
      // Pyodide fetches and compiles its runtime while the snapshot is read.
      const bytes = snapshot.bytes.then((read) => {
        mark("snapshot read");
        memoryNeeded = snapshotMemorySize(read);
        return read;
      });
      bytes.catch(() => {}); // Pyodide awaits it, and fails with its error.
      snapshot.files.catch(() => {}); // awaited below, once Pyodide has started
      const pyodide = await loadRuntime({ ...OPTIONS, _loadSnapshot: handOver(bytes) });
      mark("pyodide started");
      writeFiles(pyodide.FS, await snapshot.files);
      mark("app files written");
      console.info(`Pyodide started from its memory snapshot (${SNAPSHOT_KEY}).`);
      return pyodide;
    } catch (error) {
      console.warn("The stored Pyodide memory snapshot could not be used; starting without it.", error);
      await dropSnapshot();
    }
  }
  const archive = fetchBytes(APP_ARCHIVE);
  archive.catch(() => {}); // awaited below, once Pyodide has started
  const pyodide = await loadRuntime({ ...OPTIONS });
  mark("pyodide started");
  pyodide.unpackArchive(await archive, "zip", { extractDir: "." });
  mark("app archive unpacked");
  return pyodide;
}

function writeFiles(FS, files) {
  for (const [path, bytes] of files) {
    FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
    FS.writeFile(path, bytes, { canOwn: true });
  }
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

// Pyodide's `createPyodideModule` option: the Emscripten module factory, marking when the wasm is
// instantiated (Emscripten's `instantiateWasm` hook, which Pyodide sets, reports it).
async function timedModule(settings) {
  const { default: createModule } = await runtimeScript;
  mark("runtime script");
  const instantiate = settings.instantiateWasm;
  settings.instantiateWasm = (imports, done) =>
    instantiate(imports, (instance, module) => {
      mark("wasm instantiated");
      const memory = instance.exports.memory;
      const missing = Math.ceil((memoryNeeded - memory.buffer.byteLength) / WASM_PAGE);
      if (missing > 0) memory.grow(missing);
      done(instance, module);
    });
  return createModule(settings);
}

const WASM_PAGE = 65536;

// A snapshot is a header, then the memory: the header's second 32-bit word is where the memory starts.
function snapshotMemorySize(snapshot) {
  const [, memoryStart] = new Uint32Array(snapshot, 0, 2);
  return snapshot.byteLength - memoryStart;
}

// Pyodide keeps (and changes) the options it is given: pass the snapshot's bytes through a thenable that lets go of them
// once handed over, or they would stay in memory (tens of megabytes) for the life of the page.
function handOver(bytes) {
  return {
    then(resolve, reject) {
      const handed = bytes;
      bytes = null;
      return Promise.resolve(handed).then(resolve, reject);
    },
  };
}
