// "Now" as the service sees it, for the counts a page works out itself (days left, when a resend
// is allowed again). Deployed, that is the browser's clock. With `make dev` the service's clock
// can be moved (POST /_local/clock, like Stripe's test clocks), so with `config.localClock` a page
// reads it once (GET /_local/clock) and keeps the difference.
import { apiUrl, config } from "./config.js";

const DAY_MS = 86_400_000;
let offsetMs = 0;
let synced = null;

export function now() {
  return new Date(Date.now() + offsetMs);
}

export function syncClock() {
  if (!config.localClock) return Promise.resolve();
  synced ??= fetch(apiUrl("/_local/clock"), { headers: { accept: "application/json" } })
    .then((response) => (response.ok ? response.json() : null))
    .then((body) => {
      if (body?.now) offsetMs = Date.parse(body.now) - Date.now();
    })
    .catch(() => {}); // the browser's clock, then
  return synced;
}

// Whole UTC days from now's date to the end's date; 0 once the end has passed (the API's
// `days_left` and `remaining_days` count the same way).
export function daysLeft(endIso, at = now()) {
  const end = new Date(endIso);
  if (at >= end) return 0;
  const utcDay = (d) => Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  return Math.max(0, Math.round((utcDay(end) - utcDay(at)) / DAY_MS));
}
