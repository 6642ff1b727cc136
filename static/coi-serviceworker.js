// Cross-origin isolation for hosts that cannot send headers: this service worker re-serves the page
// and the scripts of its workers with the COOP/COEP headers a PyScript worker needs. boot.mjs
// registers it only when the page is not isolated already.
//
// Everything else is left to the browser: same-origin subresources need no header under COEP, and a
// response a service worker builds would lose what the browser keeps with its own (the compiled
// code of the runtime's 9.6 MB of wasm and its scripts, compiled again at every load otherwise).
// Where the browser can route requests without waking this worker (the static routing API), it does.
const ISOLATION = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
};

self.addEventListener("install", (event) => {
  try {
    const rewrapped = { or: [{ requestMode: "navigate" }, { requestDestination: "worker" }] };
    event.addRoutes?.({ condition: { not: rewrapped }, source: "network" })?.catch(() => {});
  } catch {
    // A browser without these conditions: the handler below leaves those requests alone, later.
  }
  self.skipWaiting();
});
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (new URL(request.url).origin !== self.location.origin) return;
  if (request.mode !== "navigate" && request.destination !== "worker") return;
  event.respondWith(
    fetch(request).then((response) => {
      if (response.status === 0) return response;
      const headers = new Headers(response.headers);
      for (const [name, value] of Object.entries(ISOLATION)) headers.set(name, value);
      return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
    }),
  );
});
