// A short-lived worker that makes this build's Pyodide memory snapshot (see snapshot-loader.mjs), so
// it never slows the page's own Python. index.html starts it once Python is ready and posts the
// loader's URL; it answers with what happened ("made", "present", "busy", "unavailable" or "failed")
// and the page ends it.
self.addEventListener("message", async ({ data: loaderURL }) => {
  let result;
  try {
    const { makeSnapshot } = await import(loaderURL);
    result = await makeSnapshot();
  } catch (error) {
    // A snapshot is an optimisation: say why it failed, never break anything.
    console.warn("Could not make a Pyodide memory snapshot:", error);
    result = "failed";
  }
  self.postMessage(result);
}, { once: true });
