// Where this build's Pyodide memory snapshot is kept: IndexedDB, as an uncompressed Blob (reading
// its 31 MB back costs tens of ms; inflating a gzipped copy cost hundreds). Used by the runtime
// loader (snapshot-loader.mjs: read, keep, drop) and by the page (boot.mjs: is there one, drop it
// when a start from it failed).
//
// The build renders this file with Jinja2: the database's name and this build's key come from
// sitebuild/site.py. The key names the runtime and the app archive by their hashed names, so no
// build ever loads another's snapshot, and keeping one build's snapshot drops every other.
export const SNAPSHOT_KEY = {{ snapshot_key|tojson }};
const DATABASE = {{ snapshot_database|tojson }};
const STORE = "snapshots";

/**
 * This build's snapshot: `{bytes, files}`, promises of its memory (an ArrayBuffer) and of its files
 * ([[path, Uint8Array], ...]), read from their Blobs meanwhile; `{damage}` (a sentence: it is there
 * but cannot be right); or null (none, or no IndexedDB here).
 */
export async function findSnapshot() {
  const record = await inStore("readonly", (store) => store.get(SNAPSHOT_KEY)).catch(() => null);
  if (!record) return null;
  const { snapshot, size, files, paths, sizes } = record;
  if (!(snapshot instanceof Blob) || snapshot.size !== size) {
    return { damage: `the snapshot's size is not the ${size} bytes that were stored` };
  }
  if (!(files instanceof Blob) || files.size !== sizes?.reduce((sum, one) => sum + one, 0)) {
    return { damage: "the snapshot's files are not those that were stored" };
  }
  return { bytes: snapshot.arrayBuffer(), files: files.arrayBuffer().then((all) => split(all, paths, sizes)) };
}

export async function hasSnapshot() {
  return Boolean(await inStore("readonly", (store) => store.getKey(SNAPSHOT_KEY)).catch(() => null));
}

/**
 * Keep `bytes` as this build's snapshot, with the `files` it needs ([[path, Uint8Array], ...]; one
 * Blob of their contents, one after the other), in place of any other build's.
 */
export function keepSnapshot(bytes, files) {
  const record = {
    snapshot: new Blob([bytes]),
    size: bytes.byteLength,
    files: new Blob(files.map(([, content]) => content)),
    paths: files.map(([path]) => path),
    sizes: files.map(([, content]) => content.byteLength),
  };
  return inStore("readwrite", (store) => {
    store.clear();
    return store.put(record, SNAPSHOT_KEY);
  });
}

export async function dropSnapshot() {
  await inStore("readwrite", (store) => store.delete(SNAPSHOT_KEY)).catch(() => {});
}

function split(all, paths, sizes) {
  let start = 0;
  return paths.map((path, i) => {
    const content = new Uint8Array(all, start, sizes[i]);
    start += sizes[i];
    return [path, content];
  });
}

/** Run `action(store)` in a transaction; resolves to its request's result once committed. Rejects
 * where there is no IndexedDB (a browser setting, a sandboxed frame). */
async function inStore(mode, action) {
  const database = await new Promise((resolve, reject) => {
    const opening = indexedDB.open(DATABASE, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
    opening.onblocked = () => reject(new Error(`${DATABASE} is blocked by an older version`));
  });
  try {
    return await new Promise((resolve, reject) => {
      const transaction = database.transaction(STORE, mode);
      const pending = action(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(pending.result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  } finally {
    database.close();
  }
}
