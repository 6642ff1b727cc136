// Password fields as people expect them, at once, whether or not Python is ready yet (it takes
// seconds to start): "Show password" shows what was typed, and the hint under the field counts what
// a new password still needs. Both listen on the document, so they work on every drawing of a
// form with a password (the login form, pre-rendered or drawn by Python, and the account's steps).
//
// The rule's numbers come from the page's configuration (webapp.config.PageConfig, which a test
// holds to the service's own rule); the service still decides, and its refusal is shown beside the
// field (src/webapp/templates/login.html).
const { newPassword } = JSON.parse(document.getElementById("app-config").textContent);
// How long typing pauses before the hint is read out: every key changes it.
const ANNOUNCE_AFTER_MS = 1000;
let announcing = null;

document.addEventListener("click", (event) => {
  const button = event.target.closest?.("[data-show-password]");
  const field = button && document.getElementById(button.getAttribute("aria-controls"));
  if (!field) return;
  const show = button.getAttribute("aria-pressed") !== "true";
  field.type = show ? "text" : "password";
  button.setAttribute("aria-pressed", String(show));
});

document.addEventListener("input", (event) => {
  const hint = showHint(event.target);
  if (!hint) return;
  clearTimeout(announcing);
  const status = document.querySelector(`[data-announces="${CSS.escape(hint.id)}"]`);
  if (status) announcing = setTimeout(() => (status.textContent = hint.textContent), ANNOUNCE_AFTER_MS);
});
// What was typed before this module ran (it loads once the page has painted).
for (const hint of document.querySelectorAll("[data-counts]")) showHint(document.getElementById(hint.dataset.counts));

/** Put in the hint of `field`, if it has one, what its value still needs; the hint, or null. */
function showHint(field) {
  const hint = field?.id && document.querySelector(`[data-counts="${CSS.escape(field.id)}"]`);
  if (!hint) return null;
  // The text for an empty field is the one the template wrote.
  hint.dataset.empty ??= hint.textContent;
  hint.textContent = newPasswordHint(field.value, hint.hasAttribute("data-counts-plain")) ?? hint.dataset.empty;
  return hint;
}

/** What a new password still needs, or null for an empty one. The service counts code points
 * after NFKC normalisation (authservice.rules). The login form's field is for signing in too, so its
 * hint says "for a new account"; a field that only takes a new password (`plain`) says less. */
function newPasswordHint(password, plain) {
  const length = [...password.normalize("NFKC")].length;
  if (length === 0) return null;
  if (length < newPassword.minChars) {
    const needed = newPassword.minChars - length;
    const count = `${needed} more character${needed === 1 ? "" : "s"} needed.`;
    return plain ? count : `For a new account: ${count}`;
  }
  if (length > newPassword.maxChars) return `Too long${plain ? "" : " for a new account"}: at most ${newPassword.maxChars} characters.`;
  return plain ? "Long enough." : "Long enough for a new account.";
}
