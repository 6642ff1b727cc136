// The device key: one ECDSA P-256 key pair per browser profile and application, made by WebCrypto
// as non-extractable and kept in IndexedDB. Its private half can sign, here, and can never be read
// out: not by a script on the page, not by an extension, not from a copy of the profile's storage.
// Sessions are bound to it (src/authclient/proofs.py, docs/api.md "Device-bound sessions").
//
// Python in the worker calls these through PyScript's `sync` (src/webapp/browser/device_key.py),
// which waits for their promises; boot.mjs hands them to the worker.
const DATABASE = "device-keys";
const STORE = "keys";
const ALGORITHM = { name: "ECDSA", namedCurve: "P-256" };
const SIGNING = { name: "ECDSA", hash: "SHA-256" };

// What this page read of IndexedDB, per application: a promise of the key pair, or of null. Read
// once per page, and early: boot.mjs starts the read as the page loads (preload), so that the first
// proof does not wait for IndexedDB while the page is busy starting Python.
const pairs = new Map();

/** Start reading the key pair of `name`, for the proofs to come. */
export function preload(name) {
  readPair(name).catch((error) => console.warn("The device key could not be read:", error));
}

/** The public key as a JWK (JSON text), or null when this profile has none for `name`. With
 * `create`, the key pair is made and kept first if there is none. */
export async function publicKey(name, create) {
  const pair = await keyPair(name, create);
  if (!pair) return null;
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return JSON.stringify({ kty, crv, x, y });
}

/** The ES256 signature (r and s, base64url) of `text`, by the key pair of `name`; null when this
 * profile has none. */
export async function sign(name, text) {
  const pair = await keyPair(name, false);
  if (!pair) return null;
  const signature = await crypto.subtle.sign(SIGNING, pair.privateKey, new TextEncoder().encode(text));
  return base64url(new Uint8Array(signature));
}

function readPair(name) {
  if (!pairs.has(name)) pairs.set(name, request((store) => store.get(name)).then((pair) => pair ?? null));
  return pairs.get(name);
}

async function keyPair(name, create) {
  let pair = await readPair(name);
  if (!pair && create) {
    const made = await crypto.subtle.generateKey(ALGORITHM, false, ["sign", "verify"]);
    // Another tab may have made one meanwhile: `add` keeps the first, which both then use.
    pair = await request((store) => store.add(made, name), "readwrite").then(
      () => made,
      () => request((store) => store.get(name)),
    );
    pairs.set(name, Promise.resolve(pair));
  }
  return pair;
}

function request(operation, mode = "readonly") {
  return open().then(
    (database) =>
      new Promise((resolve, reject) => {
        const transaction = database.transaction(STORE, mode);
        const asked = operation(transaction.objectStore(STORE));
        transaction.oncomplete = () => {
          database.close();
          resolve(asked.result);
        };
        transaction.onerror = transaction.onabort = () => {
          database.close();
          reject(transaction.error ?? asked.error);
        };
      }),
  );
}

function open() {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open(DATABASE, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
  });
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
