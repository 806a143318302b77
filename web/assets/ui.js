// Small shared pieces: the header, the status line, formatting, and safe element building.
import { mountSignIn } from "./auth.js";

const NAV = [
  ["/", "Plans"],
  ["/billing", "Billing and Purchases"],
  ["/plan", "My plan"],
];

export function mountHeader() {
  const header = document.querySelector("header.site");
  const here = location.pathname;
  const nav = el("nav", { "aria-label": "Main" },
    ...NAV.map(([href, label]) =>
      el("a", { href, ...(here === href ? { "aria-current": "page" } : {}) }, label)));
  const account = el("div", { class: "account" });
  header.replaceChildren(el("a", { class: "brand", href: "/" }, "Gift plans"), nav, account);
  mountSignIn(account);
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
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// The page's live region (aria-live="polite"): screen readers announce what is written here.
export function announce(message, kind = "info") {
  const region = document.getElementById("status");
  region.className = `status ${kind}`;
  region.textContent = "";
  // A fresh text node after clearing, so the same sentence twice is announced twice.
  setTimeout(() => { if (region.dataset.message === message) region.textContent = message; }, 30);
  region.dataset.message = message;
}

export function clearStatus() {
  const region = document.getElementById("status");
  region.className = "status";
  region.textContent = "";
  delete region.dataset.message;
}

// Minor units -> "$720.00"; the currency's own exponent (JPY has none), as the API speaks.
export function money(amount, currency) {
  const format = new Intl.NumberFormat("en", { style: "currency", currency: currency.toUpperCase() });
  return format.format(amount / 10 ** format.resolvedOptions().maximumFractionDigits);
}

// The UTC date, "Nov 27, 2027" (every date the API sends is UTC).
export function day(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat("en", { dateStyle: "medium", timeZone: "UTC" }).format(new Date(iso));
}

// The UTC minute, "Nov 27, 2027, 20:27 UTC": when a term ends or a price stops holding.
export function moment(iso) {
  if (!iso) return "";
  const time = new Intl.DateTimeFormat("en-GB", { timeStyle: "short", timeZone: "UTC" }).format(new Date(iso));
  return `${day(iso)}, ${time} UTC`;
}

export function titleCase(word) {
  return word ? word[0].toUpperCase() + word.slice(1) : "";
}

// Run an action with its button busy; the API's sentence goes to the status line on failure.
export async function busy(button, action) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await action();
  } catch (error) {
    announce(error.message, "error");
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}
