// Billing and Purchases: the buyer's purchases, honest about their state, every seat with its
// history, and what can be done with them (invite, resend, revoke, claim).
import { api } from "./api.js";
import { currentUser, onAuthChange, startSignIn } from "./auth.js";
import { checkoutFor, purchaseIdFor } from "./checkout.js";
import { now, syncClock } from "./clock.js";
import { config, planById } from "./config.js";
import { count, day, fromNow, list, moment, momentUtc, money, number, time, titleCase } from "./format.js";
import {
  announce, busy, clearStatus, confirmAction, el, errorBox, loading, markBuyer, mountHeader, say, showError,
  verifyEmailAction,
} from "./ui.js";

mountHeader();
const content = document.getElementById("content");
const sessionId = new URLSearchParams(location.search).get("session_id");
const PAGE_SIZE = 10;
const POLL_MS = 2000;
// Seats per page of the seat table; a purchase with more gets a toolbar: state filter, email search,
// "Show more seats". The API pages them (`limit`, `cursor`, `state`, `email`, `next_cursor`); where
// an answer holds more than a page (no paging yet), the page filters and pages what it was given.
const SEAT_PAGE = 25;
const seatViews = new Map(); // purchase id -> {state, email, shown, cursor, seats}

const SEAT_LABELS = {
  available: "Available",
  invited: "Invited",
  accepted: "Accepted",
  claimed: "Claimed by you",
  upgraded: "Upgraded",
  expired: "Ended",
  cancelled: "Cancelled",
};
const COUNT_WORDS = {
  available: "available",
  invited: "invited",
  accepted: "accepted",
  claimed: "claimed by you",
  upgraded: "upgraded",
  expired: "ended",
  cancelled: "cancelled",
};
const PHASE_BADGES = {
  active: ["Paid", "paid"],
  frozen: ["Paid", "paid"],
  ended: ["Ended", "ended"],
  pending: ["Waiting for payment", "pending_payment"],
  failed: ["Payment failed", "payment_failed"],
  refunded: ["Refunded", "refunded"],
};

let cursor = null;
// What the signed-in account holds (GET /me/entitlement) and how many plans it bought: the claim
// button is shown only when the API would allow a claim (SPEC rule 4); otherwise the page says why.
let entitlement = null;
let plansBought = 0;
let allPurchasesLoaded = false;
const claimBoxes = new Map(); // purchase id -> {box, purchase, refresh}

function planName(id) {
  return planById(id)?.name ?? titleCase(id);
}

// What a purchase is now, in the words a buyer needs: one of the PHASE_BADGES.
function phase(purchase) {
  if (purchase.status === "pending_payment") return "pending";
  if (purchase.status === "payment_failed") return "failed";
  if (purchase.status === "refunded") return "refunded";
  if (!purchase.active) return "ended";
  return purchase.frozen ? "frozen" : "active";
}

async function loadEntitlement() {
  try {
    entitlement = await api("/me/entitlement");
  } catch {
    entitlement = null; // unknown: offer the button; the API's sentence explains any refusal
  }
}

async function start() {
  const known = sessionId ? checkoutFor(sessionId) : null;
  if (known && known.kind !== "gift") {
    // An upgrade or a renewal: Stripe returns every checkout here; its news is on My plan.
    location.replace(`/plan?session_id=${encodeURIComponent(sessionId)}`);
    return;
  }
  await load();
}

async function load() {
  cursor = null;
  plansBought = 0;
  allPurchasesLoaded = false;
  claimBoxes.clear();
  if (!currentUser()) {
    const signIn = el("button", { type: "button", class: "primary", id: "billing-sign-in" }, "Sign in");
    signIn.addEventListener("click", startSignIn);
    content.replaceChildren(el("div", { class: "prompt" },
      el("p", {}, "Sign in to see the plans you bought and invite people."), signIn));
    return;
  }
  loading(content, "Loading your purchases…");
  await Promise.all([syncClock(), loadEntitlement()]);
  const note = el("div", { id: "checkout-note" });
  const purchases = el("div", { id: "purchases" });
  const listArea = el("div", {}, purchases); // "Show older purchases" goes after the list, inside this
  let page;
  try {
    page = await fetchPage(purchases);
  } catch (error) {
    content.replaceChildren(el("p", { class: "error", id: "load-error" }, error.message));
    return;
  }
  content.replaceChildren(note, listArea);
  markBuyer(page.purchases.length > 0 || Boolean(sessionId));
  if (sessionId) await confirmCheckout(note, purchases);
}

// One page of purchases into `container`; a failure is thrown to the caller (the page, or the
// "Show older purchases" button, which says it next to itself).
async function fetchPage(container) {
  const page = await api(`/purchases?limit=${PAGE_SIZE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
  if (!cursor) {
    container.replaceChildren();
    plansBought = 0;
  }
  plansBought += page.purchases.filter((p) => p.status === "paid" || p.status === "refunded")
    .reduce((sum, p) => sum + p.quantity, 0);
  allPurchasesLoaded = !page.next_cursor;
  if (page.purchases.length === 0 && !cursor && !sessionId) {
    container.append(el("p", { class: "empty" }, "You have not bought any plans for others yet. ",
      el("a", { href: "/" }, "Choose a plan"), "."));
  }
  for (const purchase of page.purchases) container.append(purchaseSection(purchase));
  document.getElementById("more-area")?.remove();
  cursor = page.next_cursor;
  if (cursor) {
    const more = el("button", { type: "button", id: "more", class: "secondary" }, "Show older purchases");
    more.addEventListener("click", () => busy(more, () => fetchPage(container), { label: "Loading…" }));
    container.after(el("div", { id: "more-area" }, el("div", { class: "action-group" }, more)));
  }
  return page;
}

function purchaseSection(purchase) {
  const section = el("section", { class: "purchase", id: `purchase-${purchase.purchase_id}`,
    "aria-labelledby": `h-${purchase.purchase_id}` });
  renderPurchase(section, purchase, null, null);
  loadDetail(section, purchase.purchase_id);
  return section;
}

// ---- back from Stripe Checkout ---------------------------------------------------------------------

// Stripe's webhook may reach the service a moment after the browser comes back: ask for this
// session's purchase every 2 seconds, for `config.confirmSeconds`, then stop and say what to do.
async function confirmCheckout(note, purchases) {
  const purchaseId = await purchaseIdFor(sessionId);
  const deadline = Date.now() + config.confirmSeconds * 1000;
  note.className = "notice checkout-note";
  note.setAttribute("role", "status");
  note.replaceChildren(el("p", { class: "loading" }, "Thank you: confirming your payment with Stripe…"),
    el("p", { class: "hint" }, "This usually takes a few seconds. Paid for an upgrade or a renewal? It shows on ",
      el("a", { href: "/plan" }, "My plan"), "."));
  for (;;) {
    try {
      const detail = await api(`/purchases/${encodeURIComponent(purchaseId)}?include=events`);
      showArrived(note, purchases, detail);
      history.replaceState(null, "", location.pathname);
      return;
    } catch (error) {
      if (error.status !== 404) {
        note.className = "notice warn checkout-note";
        note.replaceChildren(el("p", {}, error.message));
        return;
      }
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const again = el("button", { type: "button", class: "secondary", id: "check-again" }, "Check again");
  again.addEventListener("click", () => confirmCheckout(note, purchases));
  note.className = "notice warn checkout-note";
  note.replaceChildren(
    el("h2", { id: "checkout-waiting" }, "We have not heard from Stripe about this payment yet"),
    el("p", {}, "If you paid, your purchase appears on this page within a few minutes, and the receipt "
      + "goes to your email. Nothing is charged twice: there is no need to pay again."),
    el("p", {}, "Paid for an upgrade or a renewal of your own plan? It shows on ", el("a", { href: "/plan" }, "My plan"), "."),
    el("p", { class: "hint" }, "Still nothing after an hour? Contact support and give them this reference: ",
      el("code", {}, sessionId), "."),
    el("div", { class: "action-group" }, again));
}

function showArrived(note, purchases, detail) {
  const { purchase } = detail;
  let section = document.getElementById(`purchase-${purchase.purchase_id}`);
  if (!section) {
    section = el("section", { class: "purchase", id: `purchase-${purchase.purchase_id}`,
      "aria-labelledby": `h-${purchase.purchase_id}` });
    purchases.querySelector(".empty")?.remove();
    purchases.prepend(section);
  }
  renderPurchase(section, purchase, detail.seats, detail.events ?? []);
  markBuyer(true);
  const what = `${planName(purchase.plan)} × ${purchase.quantity}`;
  const words = {
    active: `Thank you: your payment arrived. Your ${what} is below: invite people to give them a plan.`,
    pending: `Thank you: your order of ${what} is placed. We are waiting for the payment to arrive `
      + "(a bank transfer can take a few business days); we email you when it has, and the seats can be given then.",
    failed: `The payment for ${what} did not go through, so nothing was charged.`,
  };
  note.className = `notice checkout-note ${phase(purchase) === "failed" ? "warn" : "ok"}`;
  note.replaceChildren(el("p", { id: "checkout-result" }, words[phase(purchase)] ?? `Your ${what} is below.`));
}

// ---- one purchase --------------------------------------------------------------------------------

function seatView(purchaseId) {
  if (!seatViews.has(purchaseId)) {
    seatViews.set(purchaseId, { state: "", email: "", shown: SEAT_PAGE, cursor: null, seats: null });
  }
  return seatViews.get(purchaseId);
}

function detailPath(purchaseId, view, cursorValue = null) {
  const query = new URLSearchParams({ include: "events", limit: String(SEAT_PAGE) });
  if (view.state) query.set("state", view.state);
  if (view.email) query.set("email", view.email);
  if (cursorValue) query.set("cursor", cursorValue);
  return `/purchases/${encodeURIComponent(purchaseId)}?${query}`;
}

async function loadDetail(section, purchaseId, focus = false) {
  const area = section.querySelector(".seats-area");
  const view = seatView(purchaseId);
  try {
    const detail = await api(detailPath(purchaseId, view));
    view.cursor = detail.next_cursor ?? null;
    view.seats = detail.seats;
    view.shown = SEAT_PAGE;
    renderPurchase(section, detail.purchase, detail.seats, detail.events ?? [], focus);
  } catch (error) {
    area.replaceChildren(el("p", { class: "error" }, error.message));
  }
}

// The next page of seats: from the API's cursor when it gave one, else from what the page holds.
async function moreSeats(section, purchase, events) {
  const view = seatView(purchase.purchase_id);
  if (view.cursor) {
    const detail = await api(detailPath(purchase.purchase_id, view, view.cursor));
    view.cursor = detail.next_cursor ?? null;
    view.seats = [...view.seats, ...detail.seats];
  }
  view.shown += SEAT_PAGE;
  renderSeats(section, purchase, view.seats, events);
}

// What the toolbar asks for, applied to the seats the page has (the API may have done it already).
function matching(seats, view) {
  const wanted = view.email.trim().toLowerCase();
  return seats.filter((s) => (!view.state || s.state === view.state)
    && (!wanted || (s.recipient_email ?? "").toLowerCase().startsWith(wanted)));
}

function seatCounts(purchase) {
  const parts = Object.entries(purchase.seat_counts).filter(([, n]) => n > 0)
    .map(([state, n]) => `${number(n)} ${COUNT_WORDS[state] ?? state}`);
  return parts.length ? list(parts) : "none";
}

function fact(term, ...value) {
  return el("div", {}, el("dt", {}, term), el("dd", {}, ...value));
}

function refundedAt(events) {
  return [...(events ?? [])].reverse().find((e) => e.kind === "purchase.refunded") ?? null;
}

function renderPurchase(section, purchase, seats, events, focus = false) {
  const id = purchase.purchase_id;
  const state = phase(purchase);
  const [label, badgeClass] = PHASE_BADGES[state];
  const total = money(purchase.amount_total, purchase.currency);
  const heading = el("h2", { id: `h-${id}`, tabindex: -1 }, `${planName(purchase.plan)} × ${purchase.quantity}`);
  const status = section.querySelector(".purchase-status") ?? el("div", { class: "purchase-status", role: "status" });
  const facts = el("dl", { class: "facts" },
    fact("Status", el("span", { class: `badge ${badgeClass}` }, label),
      purchase.frozen && state !== "refunded" ? el("span", { class: "badge warn" }, "Dispute open") : null));
  const notes = [];
  const seatsWord = count(purchase.quantity, "seat", "seats");
  if (state === "active" || state === "frozen") {
    const left = purchase.days_left;
    facts.append(
      fact("Paid", total),
      fact("Term", `${day(purchase.term_start)} – ${day(purchase.term_end)}`),
      fact("Days left", el("span", { class: "days-left" }, count(left, "day", "days"))),
      fact("Seats", el("span", { class: "counts" }, seatCounts(purchase))));
    notes.push(el("p", { class: "hint term-note" },
      `Every plan of this purchase ends on ${momentUtc(purchase.term_end)}, whenever it is accepted: `
      + "its year started at purchase, so an invitation accepted later gets less of it."));
    const open = purchase.seat_counts.available;
    if (left <= config.endingSoonDays && open > 0) {
      notes.push(el("p", { class: "notice warn ending-soon" },
        `This purchase ends in ${count(left, "day", "days")}. ${count(open, "seat is", "seats are")} still not given: `
        + "invite someone or claim it before then, or it ends unused."));
    }
    if (state === "frozen") {
      notes.push(el("p", { class: "notice warn frozen-note" }, "A payment dispute is open on this purchase: new "
        + "invitations and claims are paused until it is resolved. Plans already accepted keep working."));
    }
  } else if (state === "ended") {
    facts.append(
      fact("Paid", total),
      fact("Ended", el("span", { class: "ended-on" }, day(purchase.term_end))),
      fact("Seats", el("span", { class: "counts" }, seatCounts(purchase))));
    notes.push(el("p", { class: "hint state-note" },
      `This purchase's year ended on ${momentUtc(purchase.term_end)}, and its plans with it.`));
  } else if (state === "pending") {
    facts.append(
      fact("To pay", total),
      fact("Ordered", day(purchase.created_at)),
      fact("Seats", el("span", { class: "counts" }, `${seatsWord}, usable once paid`)));
    notes.push(el("p", { class: "notice state-note" },
      "We are waiting for the payment to arrive (a bank transfer can take a few business days). "
      + "We email you when it has; then you can invite people here."));
  } else if (state === "failed") {
    facts.append(
      fact("Amount", `${total}, not charged`),
      fact("Ordered", day(purchase.created_at)),
      fact("Seats", el("span", { class: "counts" }, `${seatsWord}, not usable`)));
    notes.push(el("p", { class: "notice warn state-note" },
      "The payment did not go through, so nothing was charged and these seats cannot be given. ",
      el("a", { href: `/?plan=${encodeURIComponent(purchase.plan)}&quantity=${purchase.quantity}` }, "Buy them again"), "."));
  } else if (state === "refunded") {
    const refund = refundedAt(events);
    const amount = refund?.detail?.amount_refunded ?? purchase.amount_total;
    facts.append(
      fact("Refunded", money(amount, purchase.currency)),
      refund ? fact("Refunded on", day(refund.at)) : null,
      fact("Seats", el("span", { class: "counts" }, seatCounts(purchase))));
    notes.push(el("p", { class: "notice state-note" }, "This purchase was refunded: its seats are cancelled, open "
      + "invitations no longer work, and the people who were using one of its plans were told."));
  }
  if (events) notes.push(purchaseHistory(purchase, events));
  const seatsArea = section.querySelector(".seats-area") ?? el("div", { class: "seats-area" });
  if (!seats) loading(seatsArea, "Loading the seats…");
  section.replaceChildren(heading, status, facts, ...notes, seatsArea);
  section.dataset.status = purchase.status;
  section.dataset.phase = state;
  if (seats) renderSeats(section, purchase, seats, events ?? []);
  if (focus) heading.focus();
}

const PURCHASE_EVENTS = {
  "purchase.paid": () => "Paid",
  "purchase.pending_payment": () => "Ordered; waiting for the payment",
  "purchase.payment_failed": () => "Payment failed",
  "purchase.refunded": (e, p) => `Refunded ${money(e.detail.amount_refunded ?? p.amount_total, p.currency)}`,
  "purchase.partially_refunded": (e, p) => `Partly refunded (${money(e.detail.amount_refunded ?? 0, p.currency)})`,
  "purchase.dispute_opened": () => "Payment disputed: invitations paused",
  "purchase.dispute_won": () => "Dispute resolved in your favour: invitations resumed",
};

function purchaseHistory(purchase, events) {
  const items = events.filter((e) => e.kind.startsWith("purchase.")).sort(byTime)
    .map((e) => historyItem((PURCHASE_EVENTS[e.kind] ?? (() => e.kind))(e, purchase), e.at));
  if (items.length === 0) return null;
  return el("details", { class: "purchase-history" }, el("summary", {}, "Payment history"), el("ol", { class: "history" }, items));
}

function historyItem(what, at) {
  return el("li", {}, el("span", { class: "what" }, what), at ? [" · ", el("time", { datetime: at }, moment(at))] : null);
}

// ---- seats -----------------------------------------------------------------------------------------

function renderSeats(section, purchase, seats, events) {
  const state = phase(purchase);
  const area = section.querySelector(".seats-area");
  if (state === "pending" || state === "failed") {
    area.replaceChildren(); // unpaid seats are not "available": the note above says what happens next
    return;
  }
  const refresh = () => loadDetail(section, purchase.purchase_id, true);
  const done = (message) => say(section.querySelector(".purchase-status"), message, "ok");
  const view = seatView(purchase.purchase_id);
  const paged = purchase.quantity > SEAT_PAGE;
  const found = paged ? matching(seats, view) : seats;
  const shown = paged ? found.slice(0, view.shown) : found;
  const rows = shown.map((seat) => seatRow(purchase, seat, events, refresh, done));
  const filtered = Boolean(view.state || view.email);
  const caption = paged
    ? `Seats of ${planName(purchase.plan)} × ${purchase.quantity}: showing ${number(shown.length)}`
      + (filtered ? ` matching` : ` of ${number(purchase.quantity)}`)
    : `Seats of ${planName(purchase.plan)} × ${purchase.quantity}`;
  if (rows.length === 0) {
    rows.push(el("tr", { class: "no-seats" }, el("td", { colspan: 7 }, "No seat matches. Clear the search to see them all.")));
  }
  const table = el("table", { class: "seats" },
    el("caption", {}, caption),
    el("thead", {}, el("tr", {},
      ["Seat", "State", "Recipient", "Invited", "Accepted", "History", "Actions"].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows));
  const available = purchase.seat_counts.available;
  area.replaceChildren(el("div", { class: "table-wrap" }, table));
  if (paged) {
    area.prepend(seatToolbar(section, purchase, view));
    if (view.cursor || found.length > shown.length) {
      const more = el("button", { type: "button", class: "secondary more-seats" }, "Show more seats");
      more.addEventListener("click", () => busy(more, () => moreSeats(section, purchase, events), { label: "Loading…" }));
      area.append(el("div", { class: "action-group" }, more));
    }
  }
  if (state === "active" && available > 0) {
    area.append(inviteForm(purchase, available, refresh, done), claimBox(purchase, refresh, done));
  }
}

// Events of one second keep the order in which they can happen (the API's times are to the second).
const KIND_ORDER = ["purchase.pending_payment", "purchase.paid", "purchase.payment_failed", "seat.invited", "seat.resent",
  "seat.revoked", "seat.declined", "seat.accepted", "seat.claimed", "seat.upgrade_offered", "seat.upgraded", "seat.renewed",
  "purchase.dispute_opened", "purchase.dispute_won", "seat.cancelled", "purchase.partially_refunded", "purchase.refunded",
  "seat.expired"];

function byTime(a, b) {
  return a.at.localeCompare(b.at) || KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind);
}

function seatEvents(seat, events) {
  return events.filter((e) => (e.seat_ids ?? []).includes(seat.seat_id)).sort(byTime);
}

const FILTER_STATES = ["available", "invited", "accepted", "claimed", "upgraded", "expired", "cancelled"];

// Find seats among many: by state, by the recipient's address (the start of it is enough).
function seatToolbar(section, purchase, view) {
  const id = purchase.purchase_id;
  const state = el("select", { id: `seat-state-${id}`, name: "state" },
    el("option", { value: "" }, "All states"),
    FILTER_STATES.map((s) => el("option", { value: s, selected: view.state === s }, SEAT_LABELS[s])));
  const email = el("input", { type: "search", id: `seat-email-${id}`, name: "email", value: view.email,
    autocomplete: "off", spellcheck: "false" });
  const find = el("button", { type: "submit", class: "secondary" }, "Find seats");
  const form = el("form", { class: "seat-toolbar", role: "search", "aria-label": `Find seats of ${planName(purchase.plan)} × ${purchase.quantity}` },
    el("div", { class: "field" }, el("label", { for: `seat-state-${id}` }, "State"), state),
    el("div", { class: "field" }, el("label", { for: `seat-email-${id}` }, "Recipient's email (or its start)"), email),
    el("div", { class: "action-group" }, find));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    view.state = state.value;
    view.email = email.value.trim();
    busy(find, () => loadDetail(section, id), { label: "Finding…" });
  });
  return form;
}

const HISTORY_WORDS = {
  invited: (h) => (h.recipient ? `Invited ${h.recipient}` : "Invited"),
  resent: (h) => `Sent again${h.actor === "support" ? " by support" : ""}`,
  revoked: () => "Invitation taken back",
  declined: () => "Declined by the recipient",
  bounced: () => "The invitation email bounced",
  accepted: (h) => (h.recipient ? `Accepted by ${h.recipient}` : "Accepted"),
  claimed: () => "Claimed by you",
  upgraded: (h) => `Upgraded by the recipient${h.actor === "support" ? " (by support)" : ""}`,
  renewed: () => "The recipient subscribed to keep it after the year",
  upgrade_offered: () => "Upgrade offered by support",
  cancelled: (h) => `Cancelled${h.actor === "support" ? " by support" : ""}`,
  expired: () => "Ended with the purchase's year",
  refunded: () => "Cancelled: the purchase was refunded",
};

// A seat's history, read when it is opened (GET /purchases/{id}/seats/{seat_id}): every seat,
// whatever its state now, keeps what happened to it, with times in the reader's zone.
function lazySeatHistory(purchase, seat) {
  const list = el("div", { class: "history-body" });
  const details = el("details", { class: "seat-history" },
    el("summary", { "aria-label": `History of seat ${seat.seat_id}` }, "History"), list);
  let loaded = false;
  details.addEventListener("toggle", async () => {
    if (!details.open || loaded) return;
    loaded = true;
    loading(list, "Loading the history…");
    try {
      const answer = await api(`/purchases/${encodeURIComponent(purchase.purchase_id)}/seats/${encodeURIComponent(seat.seat_id)}`);
      const items = answer.history.map((h) => historyItem((HISTORY_WORDS[h.event] ?? (() => h.event))(h), h.at));
      list.replaceChildren(items.length ? el("ol", { class: "history" }, items) : el("p", {}, "Nothing has happened to this seat yet."));
    } catch (error) {
      loaded = false;
      list.replaceChildren(el("p", { class: "error" }, error.message));
    }
  });
  return details;
}

function seatRow(purchase, seat, events, refresh, done) {
  const bounced = seat.delivery === "bounced";
  const usable = phase(purchase) === "active" || phase(purchase) === "frozen";
  const state = el("td", { "data-label": "State" },
    el("span", { class: `badge ${seat.state}` }, SEAT_LABELS[seat.state] ?? seat.state),
    bounced ? el("span", { class: "badge warn bounced" }, "Email bounced") : null);
  const actions = el("td", { "data-label": "Actions", class: "actions" });
  const who = seat.recipient_email ?? "";
  if (usable && seat.state === "invited") {
    actions.append(resendControl(purchase, seat, events, refresh, done), revokeButton(purchase, seat, refresh, done));
  }
  const row = el("tr", { "data-seat": seat.seat_id, "data-state": seat.state, "data-recipient": who },
    el("th", { scope: "row", "data-label": "Seat" }, seat.seat_id),
    state,
    el("td", { "data-label": "Recipient" }, who || "—",
      bounced ? el("p", { class: "hint" }, "The invitation email bounced: check the address, revoke it and invite again.") : null),
    el("td", { "data-label": "Invited" }, seat.invited_at ? el("time", { datetime: seat.invited_at }, day(seat.invited_at)) : "—"),
    el("td", { "data-label": "Accepted" }, seat.accepted_at ? el("time", { datetime: seat.accepted_at }, day(seat.accepted_at)) : "—"),
    el("td", { "data-label": "History", class: "history-cell" }, lazySeatHistory(purchase, seat)),
    actions);
  if (bounced) row.classList.add("bounced");
  return row;
}

function revokeButton(purchase, seat, refresh, done) {
  const who = seat.recipient_email ?? "this person";
  const button = el("button", { type: "button", class: "secondary revoke", "aria-label": `Revoke the invitation to ${who}` }, "Revoke");
  button.addEventListener("click", async () => {
    const sure = await confirmAction({
      title: `Revoke the invitation to ${who}?`,
      body: ["Their link stops working and they get an email saying the invitation was taken back.",
        "The seat becomes available again: you can invite someone else or claim it."],
      confirm: "Revoke invitation",
      cancel: "Keep it",
      danger: true,
    });
    if (!sure) return;
    await busy(button, async () => {
      await api(`/purchases/${purchase.purchase_id}/seats/${seat.seat_id}/revoke`, { method: "POST" });
      await refresh();
      done(`The invitation to ${who} was revoked; seat ${seat.seat_id} is available again.`);
    }, { label: "Revoking…", explain: limitExplain });
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
// the API would refuse, it says so (and when) instead of offering a button that fails.
function resendControl(purchase, seat, events, refresh, done) {
  const who = seat.recipient_email ?? "";
  const resent = seat.resend_count ?? 0;
  if (resent >= config.resendLimit) {
    return el("p", { class: "hint resend-limit" },
      `Sent again ${count(config.resendLimit, "time", "times")}, the most allowed: revoke it and invite again for a new link.`);
  }
  const sent = lastSentAt(seat, events);
  const allowedAt = new Date(Date.parse(sent) + config.resendMinutes * 60_000);
  const wait = allowedAt - now();
  if (wait > 0) {
    const hint = el("p", { class: "hint resend-wait" },
      `Sent at ${time(sent)}; you can send it again from ${time(allowedAt)}.`);
    setTimeout(() => { if (document.contains(hint)) refresh(); }, Math.min(wait + 1000, 2 ** 31 - 1));
    return hint;
  }
  const button = el("button", { type: "button", class: "secondary resend", "aria-label": `Resend the invitation to ${who}` }, "Resend");
  button.addEventListener("click", () => busy(button, async () => {
    await api(`/purchases/${purchase.purchase_id}/seats/${seat.seat_id}/resend`, { method: "POST" });
    await refresh();
    done(`A fresh link was sent to ${who}; the previous link no longer works.`);
  }, { label: "Sending…", explain: resendExplain }));
  const used = resent > 0
    ? el("p", { class: "hint resend-count" }, `Sent again ${number(resent)} of ${count(config.resendLimit, "time", "times")}.`)
    : null;
  return el("div", { class: "action-group" }, button, used);
}

function resendExplain(error) {
  if (error.code === "resend_too_soon" && error.details.retry_after) {
    const at = new Date(now().getTime() + error.details.retry_after * 1000);
    return `This invitation was sent less than ${count(config.resendMinutes, "minute", "minutes")} ago: `
      + `you can send it again from ${time(at)} (${fromNow(at - now())}).`;
  }
  return limitExplain(error);
}

// Refusals any seat action can meet, in words without raw timestamps.
function limitExplain(error) {
  if (error.code === "term_ended") return "This purchase's year has ended: its seats can no longer be handed out. Reload the page.";
  if (error.code === "daily_limit_reached" && error.details.resets_at) {
    const at = error.details.resets_at;
    return `You have sent as many invitation emails as one day allows. You can send more from ${moment(at)} `
      + `(${fromNow(new Date(at) - now())}).`;
  }
  return null;
}

// ---- invite ----------------------------------------------------------------------------------------

function splitAddresses(text) {
  const seen = new Set();
  return text.split(/[\s,;]+/).map((a) => a.trim()).filter((a) => {
    const key = a.toLowerCase();
    if (!a || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// What the service itself would refuse outright; it checks again, and its word is final.
const LOOKS_LIKE_EMAIL = /^[^\s@,;:<>()[\]\\"]+@[^\s@,;:<>()[\]\\".][^\s@,;:<>()[\]\\"]*\.[^\s@,;:<>()[\]\\".]{2,}$/;

function rowList(rows) {
  return el("ul", { class: "row-errors" },
    rows.map((row) => el("li", {}, el("strong", {}, row.email || "(empty)"), `: ${row.message}`)));
}

function inviteForm(purchase, available, refresh, done) {
  const id = purchase.purchase_id;
  const emails = el("textarea", { id: `emails-${id}`, name: "emails", rows: 3, required: true,
    "aria-describedby": `emails-hint-${id} emails-count-${id}`, autocomplete: "off", spellcheck: "false" });
  const tally = el("p", { class: "hint tally", id: `emails-count-${id}`, "aria-live": "polite" });
  const note = el("textarea", { id: `note-${id}`, name: "message", rows: 2, maxlength: 1000,
    "aria-describedby": `note-hint-${id}` });
  const send = el("button", { type: "submit", class: "primary invite" }, "Send invitations");
  const errors = errorBox(send);
  emails.setAttribute("aria-describedby", `${emails.getAttribute("aria-describedby")} ${errors.id}`);
  const form = el("form", { class: "invite-form", novalidate: true, "aria-labelledby": `invite-title-${id}` },
    el("h3", { id: `invite-title-${id}` }, "Invite people"),
    el("label", { for: `emails-${id}` }, "Email addresses"),
    el("p", { class: "hint", id: `emails-hint-${id}` },
      `One seat per address; separate them with commas or new lines. ${count(available, "seat", "seats")} left.`),
    emails,
    tally,
    el("label", { for: `note-${id}` }, "Personal message (optional)"),
    el("p", { class: "hint", id: `note-hint-${id}` }, "Shown in the invitation email; up to 1,000 characters."),
    note,
    el("div", { class: "action-group" }, send),
    errors);

  const showTally = () => {
    const n = splitAddresses(emails.value).length;
    tally.classList.toggle("over", n > available);
    if (n === 0) tally.textContent = "";
    else if (n <= available) tally.textContent = `${count(n, "address", "addresses")}, ${count(available, "seat", "seats")} left.`;
    else {
      tally.textContent = `${count(n, "address", "addresses")} but only ${count(available, "seat", "seats")} left: `
        + `remove ${number(n - available)}, or buy more plans.`;
    }
  };
  emails.addEventListener("input", showTally);

  const refuse = (content) => {
    showError(errors, content);
    emails.setAttribute("aria-invalid", "true");
    emails.focus();
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    errors.replaceChildren();
    emails.removeAttribute("aria-invalid");
    const addresses = splitAddresses(emails.value);
    if (addresses.length === 0) {
      refuse("Enter at least one email address to invite.");
      return;
    }
    if (addresses.length > available) {
      refuse(`You entered ${count(addresses.length, "address", "addresses")} and ${count(available, "seat is", "seats are")} left: `
        + `remove ${number(addresses.length - available)}, or buy more plans. Nothing was sent.`);
      return;
    }
    const bad = addresses.filter((email) => !LOOKS_LIKE_EMAIL.test(email))
      .map((email) => ({ email, message: "This is not an email address." }));
    if (bad.length) {
      refuse([el("p", {}, `${count(bad.length, "address needs", "addresses need")} fixing; nothing was sent.`), rowList(bad)]);
      return;
    }
    const message = note.value.trim() || undefined;
    busy(send, async () => {
      await api(`/purchases/${id}/invitations`, {
        method: "POST",
        body: { invitations: addresses.map((email) => ({ email, ...(message ? { message } : {}) })) },
      });
      await refresh();
      done(`Invited ${count(addresses.length, "person", "people")}: ${list(addresses)}. Each gets an email with their own link.`);
    }, {
      label: "Sending…",
      errors,
      explain: (error) => {
        emails.setAttribute("aria-invalid", "true");
        return inviteExplain(error, addresses.length);
      },
    });
  });
  return form;
}

function inviteExplain(error, asked) {
  if (error.code === "email_not_verified") {
    return [el("p", {}, "Verify your email address before inviting people: we email you a link to confirm "
      + "that the address is yours. (Subscribers can invite directly.)"),
    verifyEmailAction({ returnTo: "/billing", returnLabel: "Back to Billing and Purchases to invite people" })];
  }
  if (error.code === "no_seats_available" && Number.isInteger(error.details.available)) {
    const left = error.details.available;
    return `You entered ${count(asked, "address", "addresses")} and ${count(left, "seat is", "seats are")} left: `
      + "remove some, or buy more plans. Nothing was sent.";
  }
  if (Array.isArray(error.details.rows) && error.details.rows.length) {
    const rows = error.details.rows;
    const intro = {
      invalid_rows: `${count(rows.length, "address needs", "addresses need")} fixing; nothing was sent.`,
      already_invited: `${count(rows.length, "address already holds", "addresses already hold")} a seat of this purchase; nothing was sent.`,
      use_claim_instead: "You cannot invite yourself: use “Claim one for myself” below instead. Nothing was sent.",
    }[error.code] ?? error.message;
    return [el("p", {}, intro), rowList(rows)];
  }
  return limitExplain(error);
}

// ---- claim -----------------------------------------------------------------------------------------

const SOURCE_WORDS = { gift: "a gift", claim: "one you claimed", subscription: "your subscription" };

function claimBox(purchase, refresh, done) {
  const box = el("div", { class: "claim-box" });
  claimBoxes.set(purchase.purchase_id, { box, purchase, refresh, done });
  if (entitlement?.active) {
    const held = `You already have the ${planName(entitlement.plan)} plan `
      + `(${SOURCE_WORDS[entitlement.source] ?? entitlement.source}) until ${day(entitlement.term_end)}.`;
    const why = entitlement.source === "subscription"
      ? "Subscribers cannot claim a plan for themselves; invite someone to it instead."
      : "An account holds one plan at a time: you can claim one of these once yours has ended.";
    box.append(el("p", { class: "hint claim-held" }, `${held} ${why}`));
    return box;
  }
  if (allPurchasesLoaded && plansBought <= 1) {
    box.append(el("p", { class: "hint claim-held" },
      "A plan can be claimed for yourself once you have bought more than one in total; invite someone to this one."));
    return box;
  }
  const claim = el("button", { type: "button", class: "secondary claim" }, "Claim one for myself");
  claim.addEventListener("click", async () => {
    const sure = await confirmAction({
      title: `Claim one ${planName(purchase.plan)} plan for yourself?`,
      body: [`It becomes your own plan until ${momentUtc(purchase.term_end)} (${count(purchase.days_left, "day", "days")} from now).`,
        "A claimed seat stays yours: it cannot be given to someone else afterwards."],
      confirm: "Claim it",
      cancel: "Cancel",
    });
    if (!sure) return;
    await busy(claim, async () => {
      await api(`/purchases/${purchase.purchase_id}/claim`, { method: "POST" });
      await loadEntitlement();
      await refresh();
      refreshClaimBoxes();
      done([`You claimed a ${planName(purchase.plan)} plan for yourself. `, el("a", { href: "/plan" }, "See my plan"), "."]);
    }, { label: "Claiming…", explain: limitExplain });
  });
  box.append(el("p", { class: "hint" }, "Keep one of these plans for your own account."), el("div", { class: "action-group" }, claim));
  return box;
}

// After a claim the account holds a plan: every purchase's claim box says so.
function refreshClaimBoxes() {
  for (const { box, purchase, refresh, done } of [...claimBoxes.values()]) {
    if (document.contains(box)) box.replaceWith(claimBox(purchase, refresh, done));
  }
}

onAuthChange(() => { clearStatus(); load(); });
start().catch((error) => announce(error.message, "error"));
