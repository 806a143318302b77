// Small shared pieces: the header, safe element building, status lines, errors where the action
// is, busy buttons, confirmations and loading states.
import { api } from "./api.js";
import { currentUser, markVerified, mountSignIn, onAuthChange } from "./auth.js";
import { languageSwitcher, t } from "./i18n.js";

// [address, label, who sees it]: Billing and Purchases only for accounts that bought something.
const NAV = [
  ["/", "nav.plans", "all"],
  ["/billing", "nav.billing", "buyers"],
  ["/plan", "nav.plan", "all"],
];
const BUYER_KEY = "giftplans.buyer";

function buyerKey() {
  const user = currentUser();
  return user ? `${BUYER_KEY}:${user.sub}` : null;
}

// Billing knows best: it calls this with what it found, and the header follows.
export function markBuyer(isBuyer) {
  const key = buyerKey();
  if (!key) return;
  sessionStorage.setItem(key, isBuyer ? "1" : "0");
  window.dispatchEvent(new Event("giftplans:nav"));
}

async function isBuyer() {
  const key = buyerKey();
  if (!key) return false;
  if (sessionStorage.getItem(key) === "1") return true;
  try {
    const page = await api("/purchases?limit=1");
    const found = page.purchases.length > 0;
    sessionStorage.setItem(key, found ? "1" : "0");
    return found;
  } catch {
    return false;
  }
}

export function mountHeader() {
  const header = document.querySelector("header.site");
  const here = location.pathname;
  const nav = el("nav", { "aria-label": t("header.navLabel") });
  const render = (buyer) => {
    nav.replaceChildren(...NAV.filter(([href, , who]) => who === "all" || buyer || here === href)
      .map(([href, label]) => el("a", { href, ...(here === href ? { "aria-current": "page" } : {}) }, t(label))));
  };
  const refresh = () => {
    const key = buyerKey();
    render(key !== null && sessionStorage.getItem(key) === "1");
    isBuyer().then(render);
    checkAccount();
  };
  const account = el("div", { class: "account" });
  header.replaceChildren(el("a", { class: "brand", href: "/" }, t("header.brand")), nav, account, languageSwitcher());
  mountSignIn(account);
  refresh();
  onAuthChange(refresh);
  window.addEventListener("giftplans:nav", refresh);
}

// el("p", {class: "x"}, "text", child): attributes set as attributes, children as text or nodes.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false || child === "") continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// The page's live region (aria-live="polite"), under the page title: page-wide news only (loading
// failed, a payment is being confirmed). What an action did is said next to the action.
export function announce(message, kind = "info") {
  say(document.getElementById("status"), message, kind);
}

const KINDS = ["info", "ok", "error", "warn"];

export function clearStatus() {
  const region = document.getElementById("status");
  region.classList.remove(...KINDS);
  region.replaceChildren();
  delete region.dataset.message;
}

// Write into any live region; the same sentence twice is announced twice. `message` may be nodes.
export function say(region, message, kind = "info") {
  const nodes = Array.isArray(message) ? message : [message];
  region.classList.remove(...KINDS);
  region.classList.add(kind);
  region.replaceChildren();
  const text = nodes.map((n) => (n instanceof Node ? n.textContent : String(n))).join("");
  region.dataset.message = text;
  setTimeout(() => { if (region.dataset.message === text) region.replaceChildren(...nodes); }, 30);
}

let errorIds = 0;

// An error line for one action (a form, a button), placed right after it: role="alert", so it is
// read out at once; the action's control points at it (aria-describedby).
export function errorBox(control) {
  const box = el("div", { class: "action-error", role: "alert", id: `error-${(errorIds += 1)}` });
  if (control) describedBy(control, box.id);
  return box;
}

function describedBy(control, id) {
  const ids = new Set((control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
  ids.add(id);
  control.setAttribute("aria-describedby", [...ids].join(" "));
}

export function showError(box, content) {
  const nodes = (Array.isArray(content) ? content : [content]).filter((n) => n !== null && n !== undefined);
  box.replaceChildren(...nodes.map((n) => (n instanceof Node ? n : el("p", {}, String(n)))));
}

export function clearError(box) {
  box?.replaceChildren();
}

function boxFor(button) {
  const group = button.closest(".action-group") ?? button;
  let box = group.nextElementSibling;
  if (!box?.classList.contains("action-error")) {
    box = errorBox(button);
    group.after(box);
  }
  return box;
}

// Run an action with its button busy ("Sending…"); a failure is shown next to the button, in the
// words `explain(error)` gives (nodes or a sentence), else the API's own sentence.
export async function busy(button, action, { label, errors, explain } = {}) {
  const box = errors ?? boxFor(button);
  clearError(box);
  const text = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  if (label) button.textContent = label;
  try {
    return await action();
  } catch (error) {
    showError(box, (explain && explain(error)) || error.message);
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    if (label) button.textContent = text;
  }
}

// A modal question before something that cannot be undone by the same page (revoke, claim,
// decline). Resolves true for the confirming button; Escape and the other button resolve false.
// The safe choice has the focus when `danger` is set.
export function confirmAction({ title, body, confirm, cancel = t("ui.cancel"), danger = false }) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const yes = el("button", { type: "button", class: danger ? "danger" : "primary", id: "confirm-yes" }, confirm);
    const no = el("button", { type: "button", class: "secondary", id: "confirm-no" }, cancel);
    const dialog = el("dialog", { class: "confirm", "aria-labelledby": "confirm-title", "aria-describedby": "confirm-body" },
      el("h2", { id: "confirm-title" }, title),
      el("div", { id: "confirm-body" }, ...(Array.isArray(body) ? body : [body]).map((p) => el("p", {}, p))),
      el("div", { class: "dialog-actions" }, yes, no));
    let answer = false;
    yes.addEventListener("click", () => { answer = true; dialog.close(); });
    no.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (opener instanceof HTMLElement && document.contains(opener)) opener.focus();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    (danger ? no : yes).focus();
  });
}

// While a page or a part of it loads: a sentence in place of a blank area.
export function loading(container, text) {
  container.replaceChildren(el("p", { class: "loading", role: "status" }, text));
}

// "Verify your email" where a refusal says it is needed: one button that emails the link, and a
// note of where to come back to once the link is confirmed (the verify page offers it then).
const AFTER_VERIFY = "giftplans.afterVerify";

export function rememberAfterVerify(url, label) {
  const user = currentUser();
  if (user) localStorage.setItem(AFTER_VERIFY, JSON.stringify({ sub: user.sub, url, label }));
}

export function afterVerify() {
  try {
    const saved = JSON.parse(localStorage.getItem(AFTER_VERIFY) || "null");
    return saved && saved.sub === currentUser()?.sub ? saved : null;
  } catch {
    return null;
  }
}

export function forgetAfterVerify() {
  localStorage.removeItem(AFTER_VERIFY);
}

export function verifyEmailAction({ returnTo, returnLabel, id = "send-verification" }) {
  const user = currentUser();
  const send = el("button", { type: "button", class: "primary", id }, t("ui.sendVerification"));
  const done = el("div", { class: "verify-sent", role: "status" });
  const group = el("div", { class: "verify-action" }, el("div", { class: "action-group" }, send), done);
  send.addEventListener("click", () => busy(send, async () => {
    const answer = await api("/me/email-verification", { method: "POST" });
    rememberAfterVerify(returnTo, returnLabel);
    done.replaceChildren(
      el("p", {}, t("ui.verificationSent", { email: user?.email ?? answer.email })),
      el("p", { class: "hint" }, t("ui.noEmail"), " ", el("a", { href: "/verify" }, t("ui.askAnother")), "."));
  }, { label: t("ui.sending"), explain: (error) => (error.code === "verification_too_soon"
    ? t("ui.verificationTooSoon")
    : null) }));
  return group;
}

// A link's token (accept, verify) out of the address bar at once: read from the fragment
// (`#token=`, which never reaches a server's logs) or the query (`?token=`, older emails), kept
// for this tab in sessionStorage (a reload or a sign-in still finds it), then removed from the
// address and from the browser's history with history.replaceState.
export function linkToken(page) {
  const key = `giftplans.token:${page}`;
  const fromHash = new URLSearchParams(location.hash.replace(/^#/, "")).get("token");
  const query = new URLSearchParams(location.search);
  const fromQuery = query.get("token");
  const found = fromHash || fromQuery;
  if (found) {
    sessionStorage.setItem(key, found);
    query.delete("token");
    const rest = query.toString();
    history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : ""));
    return found;
  }
  return sessionStorage.getItem(key);
}

export function forgetLinkToken(page) {
  sessionStorage.removeItem(`giftplans.token:${page}`);
}

// The service's own word on the address (GET /me): a token that says "not verified" while the
// service verified the address (another tab, an earlier visit) makes the header say "verified".
let accountChecked = null;
export async function checkAccount() {
  const user = currentUser();
  if (!user || user.verified) return;
  if (accountChecked === user.sub) return;
  accountChecked = user.sub;
  try {
    const me = await api("/me");
    if (me.email_verified && currentUser()?.sub === me.sub) markVerified();
  } catch {
    // the header keeps what the token says
  }
}
