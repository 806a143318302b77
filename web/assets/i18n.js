// The pages' language: which one, its words, and the switcher.
//
// Words live in JSON catalogs, one per language (assets/locales/en.json, de.json), with the same
// keys; a page asks for them with t(key, {name: value}). A value may be a string with {name}
// placeholders, or an object of plural forms ({"one": "{count} seat", "other": "{count} seats"})
// chosen by Intl.PluralRules for `count`. A missing key falls back to English, then to the key.
//
// The language, in order: the reader's own choice (the switcher, kept in localStorage), the
// account's `locale` (GET /me, once per session), the browser's `navigator.languages`; anything
// but a supported language reads English. The page's `lang` follows it, and format.js formats
// numbers, money and dates for it.
import { apiUrl } from "./config.js";

export const SUPPORTED = Object.freeze(["en", "de"]);
export const LANGUAGE_NAMES = Object.freeze({ en: "English", de: "Deutsch" });
const CHOICE_KEY = "giftplans.locale";
const ACCOUNT_KEY = "giftplans.accountLocale";
const SESSION_KEY = "giftplans.session"; // auth.js's; read here so auth.js may use t()

// "de-AT" -> "de"; "fr" -> null.
export function supported(tag) {
  const base = String(tag || "").trim().toLowerCase().split(/[-_]/)[0];
  return SUPPORTED.includes(base) ? base : null;
}

function stored(storage, key) {
  try {
    return storage.getItem(key);
  } catch {
    return null;
  }
}

// The account's locale from GET /me, asked once per session and sign-in (null when it has none).
async function accountLocale() {
  let session = null;
  try {
    session = JSON.parse(stored(sessionStorage, SESSION_KEY) || "null");
  } catch {
    session = null;
  }
  if (!session?.token) return null;
  const cacheKey = `${ACCOUNT_KEY}:${session.sub}`;
  const cached = stored(sessionStorage, cacheKey);
  if (cached !== null) return supported(cached);
  let found = "";
  try {
    const response = await fetch(apiUrl("/me"), {
      headers: { accept: "application/json", authorization: `Bearer ${session.token}` },
    });
    if (response.ok) found = (await response.json())?.locale || "";
  } catch {
    found = "";
  }
  try {
    sessionStorage.setItem(cacheKey, found);
  } catch {
    // private mode: ask again next time
  }
  return supported(found);
}

async function choose() {
  const chosen = supported(stored(localStorage, CHOICE_KEY));
  if (chosen) return chosen;
  const account = await accountLocale();
  if (account) return account;
  for (const tag of navigator.languages ?? [navigator.language]) {
    const found = supported(tag);
    if (found) return found;
  }
  return "en";
}

async function load(locale) {
  try {
    const response = await fetch(new URL(`./locales/${locale}.json`, import.meta.url));
    return response.ok ? await response.json() : {};
  } catch {
    return {};
  }
}

export const LOCALE = await choose();
document.documentElement.lang = LOCALE;
const [english, words] = await Promise.all([load("en"), LOCALE === "en" ? null : load(LOCALE)]);
const catalog = words ?? english;
const pluralRules = new Intl.PluralRules(LOCALE);

function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

// t("index.total", {count: 2, ...}) -> the reader's words, placeholders filled.
export function t(key, values = {}) {
  const entry = catalog[key] ?? english[key];
  if (entry === undefined) return key;
  if (typeof entry === "string") return fill(entry, values);
  const form = entry[pluralRules.select(Number(values.count ?? 0))] ?? entry.other;
  return fill(form, values);
}

// The same as t(), with **bold** parts as <strong> nodes (for a sentence that stresses words).
export function tNodes(key, values = {}) {
  return t(key, values).split(/\*\*(.+?)\*\*/).map((part, i) => {
    if (i % 2 === 0) return document.createTextNode(part);
    const strong = document.createElement("strong");
    strong.textContent = part;
    return strong;
  }).filter((node) => node.textContent !== "");
}

// Static text in the HTML: <h1 data-i18n="index.heading">Give a plan</h1> reads t("index.heading").
export function translatePage(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) {
    node.replaceChildren(...tNodes(node.dataset.i18n));
  }
}

export function setLocale(locale) {
  const chosen = supported(locale) ?? "en";
  try {
    localStorage.setItem(CHOICE_KEY, chosen);
  } catch {
    // private mode: the choice lasts this page only
  }
  if (chosen !== LOCALE) location.reload();
}

// The header's language switcher: a labelled <select> that reloads the page in the chosen language.
export function languageSwitcher() {
  const select = document.createElement("select");
  select.id = "language";
  select.setAttribute("aria-label", t("header.language"));
  for (const locale of SUPPORTED) {
    const option = document.createElement("option");
    option.value = locale;
    option.lang = locale;
    option.textContent = LANGUAGE_NAMES[locale];
    option.selected = locale === LOCALE;
    select.append(option);
  }
  select.addEventListener("change", () => setLocale(select.value));
  const wrap = document.createElement("div");
  wrap.className = "language";
  wrap.append(select);
  return wrap;
}

translatePage();
