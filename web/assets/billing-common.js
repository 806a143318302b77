// What every part of the Billing page shares: plan names, a purchase's phase, seat words, the
// refusals any seat action can meet, and tc() for counted sentences.
import { now } from "./clock.js";
import { planById } from "./config.js";
import { fromNow, moment, number, titleCase } from "./format.js";
import { t } from "./i18n.js";

// tc("billing.seatsLeft", 3) -> t() with the plural chosen for 3 and {n} as the reader writes 3.
export function tc(key, n, values = {}) {
  return t(key, { ...values, count: n, n: number(n) });
}

export function planName(id) {
  return planById(id)?.name ?? titleCase(id);
}

// What a purchase is now, in the words a buyer needs.
export function phase(purchase) {
  if (purchase.status === "pending_payment") return "pending";
  if (purchase.status === "payment_failed") return "failed";
  if (purchase.status === "refunded") return "refunded";
  if (!purchase.active) return "ended";
  return purchase.frozen ? "frozen" : "active";
}

export function usable(purchase) {
  return phase(purchase) === "active" || phase(purchase) === "frozen";
}

export function seatLabel(state) {
  const key = {
    available: "billing.seat.available",
    invited: "billing.seat.invited",
    accepted: "billing.seat.accepted",
    claimed: "billing.seat.claimed",
    upgraded: "billing.seat.upgraded",
    expired: "billing.seat.expired",
    cancelled: "billing.seat.cancelled",
  }[state];
  return key ? t(key) : state;
}

// Refusals any seat action can meet, in words without raw timestamps.
export function limitExplain(error) {
  if (error.code === "term_ended") return t("billing.termEnded");
  if (error.code === "daily_limit_reached" && error.details.resets_at) {
    const at = error.details.resets_at;
    return t("billing.dailyLimit", { at: moment(at), wait: fromNow(new Date(at) - now()) });
  }
  return null;
}
