// The seats of one purchase: the table (one card per seat on a phone), its toolbar for many seats,
// each seat's history, and the seat actions (share a link, resend, revoke). Scheduled seats say
// when they go out (`send_at`) and, once mailed, when they went (`sent_at`).
import { api } from "./api.js";
import { limitExplain, phase, planName, seatLabel, tc, usable } from "./billing-common.js";
import { newLinkButton, shareButton, takeLinkPanel } from "./billing-share.js";
import { now } from "./clock.js";
import { config } from "./config.js";
import { day, fromNow, moment, number, time } from "./format.js";
import { t } from "./i18n.js";
import { busy, confirmAction, el, loading } from "./ui.js";

// Seats per page of the seat table; a purchase with more gets a toolbar: state filter, email search,
// "Show more seats". The API pages them (`limit`, `cursor`, `state`, `email`, `next_cursor`); where
// an answer holds more than a page (no paging yet), the page filters and pages what it was given.
export const SEAT_PAGE = 25;
const seatViews = new Map(); // purchase id -> {state, email, shown, cursor, seats}

export function seatView(purchaseId) {
  if (!seatViews.has(purchaseId)) {
    seatViews.set(purchaseId, { state: "", email: "", shown: SEAT_PAGE, cursor: null, seats: null });
  }
  return seatViews.get(purchaseId);
}

export function detailPath(purchaseId, view, cursorValue = null) {
  const query = new URLSearchParams({ include: "events", limit: String(SEAT_PAGE) });
  if (view.state) query.set("state", view.state);
  if (view.email) query.set("email", view.email);
  if (cursorValue) query.set("cursor", cursorValue);
  return `/purchases/${encodeURIComponent(purchaseId)}?${query}`;
}

// The next page of seats: from the API's cursor when it gave one, else from what the page holds.
async function moreSeats(section, purchase, events, ctx) {
  const view = seatView(purchase.purchase_id);
  if (view.cursor) {
    const detail = await api(detailPath(purchase.purchase_id, view, view.cursor));
    view.cursor = detail.next_cursor ?? null;
    view.seats = [...view.seats, ...detail.seats];
  }
  view.shown += SEAT_PAGE;
  renderSeats(section, purchase, view.seats, events, ctx);
}

// What the toolbar asks for, applied to the seats the page has (the API may have done it already).
function matching(seats, view) {
  const wanted = view.email.trim().toLowerCase();
  return seats.filter((s) => (!view.state || s.state === view.state)
    && (!wanted || (s.recipient_email ?? "").toLowerCase().startsWith(wanted)));
}

// ctx: {refresh(), done(message), extras(area, refresh, done), reload(section)} from billing.js.
export function renderSeats(section, purchase, seats, events, ctx) {
  const state = phase(purchase);
  const area = section.querySelector(".seats-area");
  if (state === "pending" || state === "failed") {
    area.replaceChildren(); // unpaid seats are not "available": the note above says what happens next
    return;
  }
  const { refresh, done } = ctx;
  const view = seatView(purchase.purchase_id);
  const paged = purchase.quantity > SEAT_PAGE;
  const found = paged ? matching(seats, view) : seats;
  const shown = paged ? found.slice(0, view.shown) : found;
  const rows = shown.map((seat) => seatRow(purchase, seat, events, refresh, done));
  const filtered = Boolean(view.state || view.email);
  const what = `${planName(purchase.plan)} × ${purchase.quantity}`;
  let caption = t("billing.seats.caption", { what });
  if (paged && filtered) caption = t("billing.seats.captionMatching", { what, shown: number(shown.length) });
  else if (paged) caption = t("billing.seats.captionOf", { what, shown: number(shown.length), total: number(purchase.quantity) });
  if (rows.length === 0) {
    rows.push(el("tr", { class: "no-seats" }, el("td", { colspan: 7 }, t("billing.seats.noMatch"))));
  }
  const heads = ["billing.col.seat", "billing.col.state", "billing.col.recipient", "billing.col.invited",
    "billing.col.accepted", "billing.col.history", "billing.col.actions"].map((key) => t(key));
  const table = el("table", { class: "seats" },
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, heads.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows));
  const available = purchase.seat_counts.available;
  area.replaceChildren(el("div", { class: "table-wrap" }, table));
  const link = takeLinkPanel(purchase);
  if (link) area.prepend(link);
  if (paged) {
    area.prepend(seatToolbar(section, purchase, view, ctx));
    if (view.cursor || found.length > shown.length) {
      const more = el("button", { type: "button", class: "secondary more-seats" }, t("billing.seats.more"));
      more.addEventListener("click", () => busy(more, () => moreSeats(section, purchase, events, ctx), { label: t("billing.loadingShort") }));
      area.append(el("div", { class: "action-group" }, more));
    }
  }
  if (state === "active" && available > 0) ctx.extras(area, available, refresh, done);
}

// Events of one second keep the order in which they can happen (the API's times are to the second).
const KIND_ORDER = ["purchase.pending_payment", "purchase.paid", "purchase.payment_failed", "seat.invited", "seat.scheduled",
  "seat.shared", "seat.reshared", "seat.delivered", "seat.nudged", "seat.resent", "seat.revoked", "seat.declined", "seat.accepted", "seat.claimed",
  "seat.upgrade_offered", "seat.upgraded", "seat.renewed", "purchase.dispute_opened", "purchase.dispute_won", "seat.cancelled",
  "purchase.partially_refunded", "purchase.refunded", "seat.expired"];

export function byTime(a, b) {
  return a.at.localeCompare(b.at) || KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind);
}

function seatEvents(seat, events) {
  return events.filter((e) => (e.seat_ids ?? []).includes(seat.seat_id)).sort(byTime);
}

const FILTER_STATES = ["available", "invited", "accepted", "claimed", "upgraded", "expired", "cancelled"];

// Find seats among many: by state, by the recipient's address (the start of it is enough).
function seatToolbar(section, purchase, view, ctx) {
  const id = purchase.purchase_id;
  const state = el("select", { id: `seat-state-${id}`, name: "state" },
    el("option", { value: "" }, t("billing.seats.allStates")),
    FILTER_STATES.map((s) => el("option", { value: s, selected: view.state === s }, seatLabel(s))));
  const email = el("input", { type: "search", id: `seat-email-${id}`, name: "email", value: view.email,
    autocomplete: "off", spellcheck: "false" });
  const find = el("button", { type: "submit", class: "secondary" }, t("billing.seats.find"));
  const form = el("form", { class: "seat-toolbar", role: "search",
    "aria-label": t("billing.seats.findLabel", { what: `${planName(purchase.plan)} × ${purchase.quantity}` }) },
    el("div", { class: "field" }, el("label", { for: `seat-state-${id}` }, t("billing.col.state")), state),
    el("div", { class: "field" }, el("label", { for: `seat-email-${id}` }, t("billing.seats.emailSearch")), email),
    el("div", { class: "action-group" }, find));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    view.state = state.value;
    view.email = email.value.trim();
    busy(find, () => ctx.reload(section), { label: t("billing.seats.finding") });
  });
  return form;
}

const bySupport = (h) => h.actor === "support";
const HISTORY_WORDS = {
  invited: (h) => (h.recipient ? t("billing.history.invitedWho", { who: h.recipient }) : t("billing.history.invited")),
  scheduled: (h) => (h.send_at ? t("billing.history.scheduledFor", { at: moment(h.send_at) }) : t("billing.history.scheduled")),
  shared: () => t("billing.history.shared"),
  reshared: () => t("billing.history.reshared"),
  delivered: () => t("billing.history.sent"),
  nudged: () => t("billing.history.nudged"),
  recipient_erased: () => t("billing.history.erased"),
  resent: (h) => t(bySupport(h) ? "billing.history.resentSupport" : "billing.history.resent"),
  revoked: () => t("billing.history.revoked"),
  declined: () => t("billing.history.declined"),
  bounced: () => t("billing.history.bounced"),
  accepted: (h) => (h.recipient ? t("billing.history.acceptedBy", { who: h.recipient }) : t("billing.history.accepted")),
  claimed: () => t("billing.seat.claimed"),
  upgraded: (h) => t(bySupport(h) ? "billing.history.upgradedSupport" : "billing.history.upgraded"),
  renewed: () => t("billing.history.renewed"),
  upgrade_offered: () => t("billing.history.upgradeOffered"),
  cancelled: (h) => t(bySupport(h) ? "billing.history.cancelledSupport" : "billing.history.cancelled"),
  expired: () => t("billing.history.expired"),
  refunded: () => t("billing.history.refunded"),
};

export function historyItem(what, at) {
  return el("li", {}, el("span", { class: "what" }, what), at ? [" · ", el("time", { datetime: at }, moment(at))] : null);
}

// A seat's history, read when it is opened (GET /purchases/{id}/seats/{seat_id}): every seat,
// whatever its state now, keeps what happened to it, with times in the reader's zone.
function lazySeatHistory(purchase, seat) {
  const body = el("div", { class: "history-body" });
  const details = el("details", { class: "seat-history" },
    el("summary", { "aria-label": t("billing.history.label", { seat: seat.seat_id }) }, t("billing.col.history")), body);
  let loaded = false;
  details.addEventListener("toggle", async () => {
    if (!details.open || loaded) return;
    loaded = true;
    loading(body, t("billing.history.loading"));
    try {
      const answer = await api(`/purchases/${encodeURIComponent(purchase.purchase_id)}/seats/${encodeURIComponent(seat.seat_id)}`);
      const items = answer.history.map((h) => historyItem((HISTORY_WORDS[h.event] ?? (() => h.event))(h), h.at));
      body.replaceChildren(items.length ? el("ol", { class: "history" }, items) : el("p", {}, t("billing.history.nothing")));
    } catch (error) {
      loaded = false;
      body.replaceChildren(el("p", { class: "error" }, error.message));
    }
  });
  return details;
}

// When it goes out, or went: "Scheduled for …" until the delivery, "Sent …" after it.
function delivery(seat) {
  if (seat.sent_at) return el("p", { class: "hint sent-at" }, t("billing.seat.sentAt", { at: moment(seat.sent_at) }));
  if (seat.send_at && seat.state === "invited") {
    return el("p", { class: "hint send-at" }, t("billing.seat.scheduledFor", { at: moment(seat.send_at) }));
  }
  return null;
}

// A shared seat (SPEC 8.2): invited with no address, its link passed on by the buyer.
function isShared(seat) {
  return "shared" in seat ? Boolean(seat.shared) : seat.state === "invited" && !seat.recipient_email;
}

function waiting(seat) {
  return Boolean(seat.send_at && !seat.sent_at);
}

function seatRow(purchase, seat, events, refresh, done) {
  const bounced = seat.delivery === "bounced";
  const shared = isShared(seat);
  const state = el("td", { "data-label": t("billing.col.state") },
    el("span", { class: `badge ${seat.state}` }, seatLabel(seat.state)),
    bounced ? el("span", { class: "badge warn bounced" }, t("billing.seat.bounced")) : null,
    waiting(seat) && seat.state === "invited" ? el("span", { class: "badge scheduled" }, t("billing.seat.scheduled")) : null);
  const actions = el("td", { "data-label": t("billing.col.actions"), class: "actions" });
  const who = seat.recipient_email ?? "";
  if (usable(purchase) && seat.state === "invited") {
    actions.append(resendControl(purchase, seat, events, refresh, done), revokeButton(purchase, seat, refresh, done));
  }
  if (phase(purchase) === "active" && seat.state === "available") actions.append(shareButton(purchase, seat, refresh, done));
  const recipient = shared && !who ? el("span", { class: "shared" }, t("billing.seat.sharedLink")) : (who || "—");
  const row = el("tr", { "data-seat": seat.seat_id, "data-state": seat.state, "data-recipient": who },
    el("th", { scope: "row", "data-label": t("billing.col.seat") }, seat.seat_id),
    state,
    el("td", { "data-label": t("billing.col.recipient"), class: "recipient" }, recipient,
      bounced ? el("p", { class: "hint" }, t("billing.seat.bouncedHint")) : null),
    el("td", { "data-label": t("billing.col.invited"), class: "invited-at" },
      seat.invited_at ? el("time", { datetime: seat.invited_at }, day(seat.invited_at)) : "—", delivery(seat)),
    el("td", { "data-label": t("billing.col.accepted"), class: "accepted-at" }, seat.accepted_at ? el("time", { datetime: seat.accepted_at }, day(seat.accepted_at)) : "—"),
    el("td", { "data-label": t("billing.col.history"), class: "history-cell" }, lazySeatHistory(purchase, seat)),
    actions);
  if (bounced) row.classList.add("bounced");
  if (shared) row.classList.add("shared");
  return row;
}

function revokeButton(purchase, seat, refresh, done) {
  const who = seat.recipient_email ?? (isShared(seat) ? t("billing.revoke.theLink") : t("billing.revoke.thisPerson"));
  const scheduled = waiting(seat);
  const button = el("button", { type: "button", class: "secondary revoke",
    "aria-label": t("billing.revoke.label", { who }) }, t("billing.revoke.button"));
  button.addEventListener("click", async () => {
    let first = t("billing.revoke.body");
    if (isShared(seat)) first = t("billing.revoke.bodyShared");
    else if (scheduled) first = t("billing.revoke.bodyScheduled");
    const sure = await confirmAction({
      title: t("billing.revoke.title", { who }),
      body: [first, t("billing.revoke.body2")],
      confirm: t("billing.revoke.confirm"),
      cancel: t("billing.revoke.keep"),
      danger: true,
    });
    if (!sure) return;
    await busy(button, async () => {
      await api(`/purchases/${purchase.purchase_id}/seats/${seat.seat_id}/revoke`, { method: "POST" });
      await refresh();
      done(t("billing.revoke.done", { who, seat: seat.seat_id }));
    }, { label: t("billing.revoke.busy"), explain: limitExplain });
  });
  return el("div", { class: "action-group" }, button);
}

// When the seat's current invitation email went out last: its invitation, or a later resend, from
// the purchase's audit trail (so the wait survives a reload and another device).
function lastSentAt(seat, events) {
  if (seat.last_sent_at) return seat.last_sent_at; // the API's own record of the current link
  const since = Date.parse(seat.invited_at ?? 0);
  return seatEvents(seat, events).filter((e) => e.kind === "seat.resent" && Date.parse(e.at) >= since)
    .map((e) => e.at).pop() ?? seat.invited_at;
}

// Resend (SPEC rule 10): at most `resendLimit` times, `resendMinutes` apart. Where this page knows
// the API would refuse, it says so (and when) instead of offering a button that fails. A scheduled
// seat not sent yet can be sent now; a shared seat gets a fresh link instead of an email.
function resendControl(purchase, seat, events, refresh, done) {
  const who = seat.recipient_email ?? "";
  const resent = seat.resend_count ?? 0;
  if (resent >= config.resendLimit) {
    return el("p", { class: "hint resend-limit" }, tc("billing.resend.limit", config.resendLimit));
  }
  // A fresh shared link has no wait (nothing is mailed), only the limit above.
  if (isShared(seat)) return newLinkButton(purchase, seat, refresh, done, resendExplain);
  if (!waiting(seat)) {
    const sent = lastSentAt(seat, events);
    const allowedAt = new Date(Date.parse(sent) + config.resendMinutes * 60_000);
    const wait = allowedAt - now();
    if (wait > 0) {
      const hint = el("p", { class: "hint resend-wait" }, t("billing.resend.wait", { sent: time(sent), at: time(allowedAt) }));
      setTimeout(() => { if (document.contains(hint)) refresh(); }, Math.min(wait + 1000, 2 ** 31 - 1));
      return hint;
    }
  }
  const label = waiting(seat) ? "billing.resend.sendNow" : "billing.resend.button";
  const button = el("button", { type: "button", class: "secondary resend",
    "aria-label": t(waiting(seat) ? "billing.resend.sendNowLabel" : "billing.resend.label", { who }) }, t(label));
  button.addEventListener("click", () => busy(button, async () => {
    await api(`/purchases/${purchase.purchase_id}/seats/${seat.seat_id}/resend`, { method: "POST" });
    await refresh();
    done(t("billing.resend.done", { who }));
  }, { label: t("ui.sending"), explain: resendExplain }));
  const used = resent > 0
    ? el("p", { class: "hint resend-count" }, tc("billing.resend.count", config.resendLimit, { used: number(resent) }))
    : null;
  return el("div", { class: "action-group" }, button, used);
}

function resendExplain(error) {
  if (error.code === "resend_too_soon" && error.details.retry_after) {
    const at = new Date(now().getTime() + error.details.retry_after * 1000);
    return tc("billing.resend.tooSoon", config.resendMinutes, { at: time(at), wait: fromNow(at - now()) });
  }
  return limitExplain(error);
}
