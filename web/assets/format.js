// Numbers, money, dates and plurals for people, all through Intl.
//
// The API speaks UTC ISO-8601 instants and integer minor units; a person reads dates and times in
// their own time zone (the browser's), with UTC named beside the instants that matter (when a plan
// ends, when a price stops holding), and words that agree with their numbers ("1 seat", "2 seats").
// The locale is the page's language (i18n.js: English or German), which also sets the page's `lang`.
import { LOCALE } from "./i18n.js";

export { LOCALE };

const pluralRules = new Intl.PluralRules(LOCALE);

// plural(2, {one: "seat", other: "seats"}) -> "seats": the form Intl.PluralRules picks for n.
export function plural(n, forms) {
  return forms[pluralRules.select(n)] ?? forms.other;
}

export function number(n) {
  return new Intl.NumberFormat(LOCALE).format(n);
}

// count(2, "seat", "seats") -> "2 seats"
export function count(n, one, other) {
  return `${number(n)} ${plural(n, { one, other })}`;
}

// ["a", "b", "c"] -> "a, b, and c"
export function list(items, type = "conjunction") {
  return new Intl.ListFormat(LOCALE, { style: "long", type }).format(items.map(String));
}

// Minor units -> "$720.00"; the currency's own exponent (JPY has none), as the API speaks.
export function money(amount, currency) {
  const format = new Intl.NumberFormat(LOCALE, { style: "currency", currency: currency.toUpperCase() });
  return format.format(amount / 10 ** format.resolvedOptions().maximumFractionDigits);
}

function instant(iso) {
  return iso instanceof Date ? iso : new Date(iso);
}

// The reader's calendar day: "Dec 1, 2027".
export function day(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium" }).format(instant(iso));
}

// The reader's clock time: "10:13 PM".
export function time(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(LOCALE, { timeStyle: "short" }).format(instant(iso));
}

// The reader's day and time with their zone named: "Dec 1, 2027, 5:06 PM EST".
export function moment(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(LOCALE, {
    year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit", timeZoneName: "short",
  }).format(instant(iso));
}

// The same instant in UTC, "22:06 UTC" (with the UTC day when it differs from the reader's).
export function utc(iso) {
  const at = instant(iso);
  const clock = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "UTC" }).format(at);
  const utcDay = new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium", timeZone: "UTC" }).format(at);
  return utcDay === day(at) ? `${clock} UTC` : `${utcDay}, ${clock} UTC`;
}

// Where the instant matters (a plan's end, a price's deadline): the reader's time, and UTC beside it
// unless the reader lives in UTC: "Dec 1, 2027, 5:06 PM EST (22:06 UTC)".
export function momentUtc(iso) {
  if (!iso) return "";
  const at = instant(iso);
  return at.getTimezoneOffset() === 0 ? moment(at) : `${moment(at)} (${utc(at)})`;
}

// A duration from now, "in 10 minutes", "in 3 hours".
export function fromNow(ms) {
  const format = new Intl.RelativeTimeFormat(LOCALE, { numeric: "auto" });
  const minutes = Math.round(ms / 60_000);
  if (Math.abs(minutes) < 60) return format.format(Math.max(minutes, ms > 0 ? 1 : minutes), "minute");
  const hours = Math.round(minutes / 60);
  if (Math.abs(hours) < 48) return format.format(hours, "hour");
  return format.format(Math.round(hours / 24), "day");
}

export function titleCase(word) {
  return word ? word[0].toUpperCase() + word.slice(1) : "";
}
