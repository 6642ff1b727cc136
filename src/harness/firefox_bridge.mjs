// Drives Firefox for Python over WebDriver BiDi, through puppeteer-core: harness/firefox.py runs
// `node firefox_bridge.mjs <firefox executable> [profile dir]` and speaks JSON lines with it.
//
//   stdin:  {"id": 1, "method": "goto", "params": {"page": "p1", "url": "...", "timeoutMs": 60000}}
//   stdout: {"id": 1, "result": null}  or  {"id": 1, "error": {"name": "TimeoutError", "message": "..."}}
//
// The first line written is {"ready": true, "version": "firefox/..."}. One request at a time: Python
// waits for each answer. What the pages of a context log, throw and request (their workers included)
// is kept here until Python takes it with "takeRecords".
import readline from "node:readline";
import puppeteer, { Puppeteer } from "puppeteer-core";

const [executablePath, userDataDir] = process.argv.slice(2);

// Controls by the text of their <label> (or aria-label), buttons by their name: how a user finds them.
// The handlers are sent to the page as source, so each carries its own `normalize`.
const normalize = (text) => (text ?? "").replace(/\s+/g, " ").trim();
Puppeteer.registerCustomQueryHandler("label", {
  queryAll: (root, text) => {
    const normalize = (value) => (value ?? "").replace(/\s+/g, " ").trim();
    const labelled = [...root.querySelectorAll("label")]
      .filter((label) => normalize(label.textContent) === text && label.control)
      .map((label) => label.control);
    const named = [...root.querySelectorAll("[aria-label]")].filter(
      (element) => normalize(element.getAttribute("aria-label")) === text,
    );
    return [...labelled, ...named];
  },
});
Puppeteer.registerCustomQueryHandler("button", {
  queryAll: (root, name) => {
    const normalize = (value) => (value ?? "").replace(/\s+/g, " ").trim();
    const nameOf = (element) =>
      element.getAttribute("aria-label") ?? (element.tagName === "INPUT" ? element.value : element.textContent);
    return [...root.querySelectorAll("button, input[type=submit], input[type=button], [role=button]")].filter(
      (element) => normalize(nameOf(element)) === name,
    );
  },
});

const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath,
  userDataDir: userDataDir || undefined,
  headless: true,
});
const contexts = new Map(); // id -> {context, records, pending}
const pages = new Map(); // id -> page
let lastId = 0;
const newId = (prefix) => `${prefix}${++lastId}`;

function record(contextId, page) {
  const { records, pending } = contexts.get(contextId);
  page.on("console", (message) => {
    records.console.push({ type: message.type(), text: message.text(), url: message.location().url ?? "" });
  });
  page.on("pageerror", (error) => records.pageErrors.push(String(error?.message ?? error)));
  page.on("request", (request) => {
    const entry = { method: request.method(), url: request.url(), headers: request.headers(), postData: "" };
    records.requests.push(entry);
    if (request.hasPostData()) {
      pending.push(
        request.fetchPostData().then(
          (data) => (entry.postData = data ?? ""),
          () => (entry.postData = "<body not available>"),
        ),
      );
    }
  });
}

// A function given as source text, so that puppeteer sends it to the page as it is.
const functionFrom = (source) => new Function(`return (${source});`)();

const methods = {
  async newContext() {
    const id = newId("c");
    const context = await browser.createBrowserContext();
    contexts.set(id, { context, records: { console: [], pageErrors: [], requests: [] }, pending: [] });
    return id;
  },
  async closeContext({ context }) {
    await contexts.get(context).context.close();
    contexts.delete(context);
  },
  async newPage({ context }) {
    const id = newId("p");
    const page = await contexts.get(context).context.newPage();
    record(context, page);
    pages.set(id, page);
    return id;
  },
  async closePage({ page }) {
    await pages.get(page).close();
    pages.delete(page);
  },
  async goto({ page, url, timeoutMs }) {
    await pages.get(page).goto(url, { timeout: timeoutMs });
  },
  async reload({ page, timeoutMs }) {
    await pages.get(page).reload({ timeout: timeoutMs });
  },
  async fill({ page, label, value, timeoutMs }) {
    await pages.get(page).locator(`::-p-label(${label})`).setTimeout(timeoutMs).fill(value);
  },
  async clickButton({ page, name, timeoutMs }) {
    await pages.get(page).locator(`::-p-button(${name})`).setTimeout(timeoutMs).click();
  },
  async waitFor({ page, selector, state, timeoutMs }) {
    const options = { timeout: timeoutMs, visible: state === "visible", hidden: state === "hidden" };
    await pages.get(page).waitForSelector(selector, options);
  },
  async count({ page, selector }) {
    return (await pages.get(page).$$(selector)).length;
  },
  async textOf({ page, selector, timeoutMs }) {
    const element = await pages.get(page).waitForSelector(selector, { timeout: timeoutMs });
    return normalize(await element.evaluate((node) => node.innerText));
  },
  async evaluate({ page, source, args }) {
    return await pages.get(page).evaluate(functionFrom(source), ...args);
  },
  async takeRecords({ context }) {
    const { records, pending } = contexts.get(context);
    await Promise.allSettled(pending.splice(0));
    return Object.fromEntries(Object.entries(records).map(([kind, entries]) => [kind, entries.splice(0)]));
  },
};

const write = (message) => process.stdout.write(JSON.stringify(message) + "\n");
write({ ready: true, version: await browser.version() });

// A wait that timed out says what the page showed instead.
async function describe(page) {
  try {
    return await page.evaluate(() => {
      const root = document.documentElement;
      const attributes = [...root.attributes].map((attribute) => `${attribute.name}="${attribute.value}"`);
      return `<html ${attributes.join(" ")}>: ${document.body?.innerText.slice(0, 500)}`;
    });
  } catch (error) {
    return `(cannot read the page: ${error?.message})`;
  }
}

for await (const line of readline.createInterface({ input: process.stdin })) {
  const { id, method, params } = JSON.parse(line);
  try {
    if (!(method in methods)) throw new Error(`unknown method ${method}`);
    write({ id, result: (await methods[method](params ?? {})) ?? null });
  } catch (error) {
    let message = String(error?.message ?? error);
    if (error?.name === "TimeoutError" && pages.has(params?.page)) {
      message += `\nThe page shows ${await describe(pages.get(params.page))}`;
    }
    write({ id, error: { name: error?.name ?? "Error", message } });
  }
}
// stdin closed: Python is done with us.
await browser.close();
