// Billing and Purchases: the buyer's purchases, honest about their state, every seat with its
// history, and what can be done with them (invite a list, schedule, share a link, resend, revoke,
// claim). The seats are billing-seats.js, the invite form billing-lists.js, links billing-share.js.
import { api } from "./api.js";
import { currentUser, onAuthChange, startSignIn } from "./auth.js";
import { limitExplain, phase, planName, tc } from "./billing-common.js";
import { inviteForm } from "./billing-lists.js";
import { byTime, detailPath, historyItem, renderSeats, SEAT_PAGE, seatView } from "./billing-seats.js";
import { checkoutFor, purchaseIdFor } from "./checkout.js";
import { syncClock } from "./clock.js";
import { config } from "./config.js";
import { day, list, momentUtc, money, number } from "./format.js";
import { t } from "./i18n.js";
import { announce, busy, clearStatus, confirmAction, el, loading, markBuyer, mountHeader, say } from "./ui.js";

mountHeader();
const content = document.getElementById("content");
const sessionId = new URLSearchParams(location.search).get("session_id");
const PAGE_SIZE = 10;
const POLL_MS = 2000;

const COUNT_KEYS = {
  available: "billing.count.available",
  invited: "billing.count.invited",
  accepted: "billing.count.accepted",
  claimed: "billing.count.claimed",
  upgraded: "billing.count.upgraded",
  expired: "billing.count.expired",
  cancelled: "billing.count.cancelled",
};
const PHASE_BADGES = {
  active: ["billing.badge.paid", "paid"],
  frozen: ["billing.badge.paid", "paid"],
  ended: ["billing.badge.ended", "ended"],
  pending: ["billing.badge.pending", "pending_payment"],
  failed: ["billing.badge.failed", "payment_failed"],
  refunded: ["billing.badge.refunded", "refunded"],
};

let cursor = null;
// What the signed-in account holds (GET /me/entitlement) and how many plans it bought: the claim
// button is shown only when the API would allow a claim (SPEC rule 4); otherwise the page says why.
let entitlement = null;
let plansBought = 0;
let allPurchasesLoaded = false;
const claimBoxes = new Map(); // purchase id -> {box, purchase, refresh}

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
    const signIn = el("button", { type: "button", class: "primary", id: "billing-sign-in" }, t("auth.signIn"));
    signIn.addEventListener("click", startSignIn);
    content.replaceChildren(el("div", { class: "prompt" }, el("p", {}, t("billing.signInPrompt")), signIn));
    return;
  }
  loading(content, t("billing.loadingPurchases"));
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
    container.append(el("p", { class: "empty" }, t("billing.empty"), " ",
      el("a", { href: "/" }, t("billing.choosePlan")), "."));
  }
  for (const purchase of page.purchases) container.append(purchaseSection(purchase));
  document.getElementById("more-area")?.remove();
  cursor = page.next_cursor;
  if (cursor) {
    const more = el("button", { type: "button", id: "more", class: "secondary" }, t("billing.olderPurchases"));
    more.addEventListener("click", () => busy(more, () => fetchPage(container), { label: t("billing.loadingShort") }));
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

function planLink() {
  return el("a", { href: "/plan" }, t("nav.plan"));
}

// Stripe's webhook may reach the service a moment after the browser comes back: ask for this
// session's purchase every 2 seconds, for `config.confirmSeconds`, then stop and say what to do.
async function confirmCheckout(note, purchases) {
  const purchaseId = await purchaseIdFor(sessionId);
  const deadline = Date.now() + config.confirmSeconds * 1000;
  note.className = "notice checkout-note";
  note.setAttribute("role", "status");
  note.replaceChildren(el("p", { class: "loading" }, t("billing.checkout.confirming")),
    el("p", { class: "hint" }, t("billing.checkout.usually"), " ", planLink(), "."));
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
  const again = el("button", { type: "button", class: "secondary", id: "check-again" }, t("billing.checkout.again"));
  again.addEventListener("click", () => confirmCheckout(note, purchases));
  note.className = "notice warn checkout-note";
  note.replaceChildren(
    el("h2", { id: "checkout-waiting" }, t("billing.checkout.notHeard")),
    el("p", {}, t("billing.checkout.ifPaid")),
    el("p", {}, t("billing.checkout.ownPlan"), " ", planLink(), "."),
    el("p", { class: "hint" }, t("billing.checkout.support"), " ", el("code", {}, sessionId), "."),
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
    active: "billing.checkout.arrived",
    pending: "billing.checkout.pending",
    failed: "billing.checkout.failed",
  };
  note.className = `notice checkout-note ${phase(purchase) === "failed" ? "warn" : "ok"}`;
  note.replaceChildren(el("p", { id: "checkout-result" }, t(words[phase(purchase)] ?? "billing.checkout.below", { what })));
}

// ---- one purchase --------------------------------------------------------------------------------

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

function seatCounts(purchase) {
  const parts = Object.entries(purchase.seat_counts).filter(([, n]) => n > 0)
    .map(([state, n]) => (COUNT_KEYS[state] ? tc(COUNT_KEYS[state], n) : `${number(n)} ${state}`));
  return parts.length ? list(parts) : t("billing.count.none");
}

function fact(term, ...value) {
  return el("div", {}, el("dt", {}, term), el("dd", {}, ...value));
}

function refundedAt(events) {
  return [...(events ?? [])].reverse().find((e) => e.kind === "purchase.refunded") ?? null;
}

// SPEC 8.6: the hosted invoice once Stripe has one; subtotal and tax when there is tax.
function invoiceFacts(purchase) {
  const facts = [];
  if ((purchase.amount_tax ?? 0) > 0) {
    facts.push(fact(t("billing.fact.subtotal"), el("span", { class: "subtotal" }, money(purchase.amount_subtotal, purchase.currency))),
      fact(t("billing.fact.tax"), el("span", { class: "tax" }, money(purchase.amount_tax, purchase.currency))));
  }
  if (purchase.invoice_url) {
    facts.push(fact(t("billing.fact.invoice"), el("a", { class: "invoice-link", href: purchase.invoice_url, rel: "noopener" },
      t("billing.invoice.link"))));
  }
  return facts;
}

function renderPurchase(section, purchase, seats, events, focus = false) {
  const id = purchase.purchase_id;
  const state = phase(purchase);
  const [label, badgeClass] = PHASE_BADGES[state];
  const total = money(purchase.amount_total, purchase.currency);
  const heading = el("h2", { id: `h-${id}`, tabindex: -1 }, `${planName(purchase.plan)} × ${purchase.quantity}`);
  const status = section.querySelector(".purchase-status") ?? el("div", { class: "purchase-status", role: "status" });
  const facts = el("dl", { class: "facts" },
    fact(t("billing.fact.status"), el("span", { class: `badge ${badgeClass}` }, t(label)),
      purchase.frozen && state !== "refunded" ? el("span", { class: "badge warn" }, t("billing.badge.dispute")) : null));
  const notes = [];
  const seatsWord = tc("billing.seatCount", purchase.quantity);
  const seatFact = (text) => fact(t("billing.fact.seats"), el("span", { class: "counts" }, text));
  if (state === "active" || state === "frozen") {
    const left = purchase.days_left;
    facts.append(
      fact(t("billing.fact.paid"), total),
      ...invoiceFacts(purchase),
      fact(t("billing.fact.term"), `${day(purchase.term_start)} – ${day(purchase.term_end)}`),
      fact(t("billing.fact.daysLeft"), el("span", { class: "days-left" }, tc("billing.days", left))),
      seatFact(seatCounts(purchase)));
    notes.push(el("p", { class: "hint term-note" }, t("billing.note.term", { end: momentUtc(purchase.term_end) })));
    const open = purchase.seat_counts.available;
    if (left <= config.endingSoonDays && open > 0) {
      notes.push(el("p", { class: "notice warn ending-soon" },
        t("billing.note.endingSoon", { days: tc("billing.days", left), open: tc("billing.seatsAreStill", open) })));
    }
    if (state === "frozen") notes.push(el("p", { class: "notice warn frozen-note" }, t("billing.note.frozen")));
  } else if (state === "ended") {
    facts.append(
      fact(t("billing.fact.paid"), total),
      ...invoiceFacts(purchase),
      fact(t("billing.fact.ended"), el("span", { class: "ended-on" }, day(purchase.term_end))),
      seatFact(seatCounts(purchase)));
    notes.push(el("p", { class: "hint state-note" }, t("billing.note.ended", { end: momentUtc(purchase.term_end) })));
  } else if (state === "pending") {
    facts.append(
      fact(t("billing.fact.toPay"), total),
      fact(t("billing.fact.ordered"), day(purchase.created_at)),
      seatFact(t("billing.seats.usableOncePaid", { seats: seatsWord })));
    notes.push(el("p", { class: "notice state-note" }, t("billing.note.pending")));
  } else if (state === "failed") {
    facts.append(
      fact(t("billing.fact.amount"), t("billing.notCharged", { total })),
      fact(t("billing.fact.ordered"), day(purchase.created_at)),
      seatFact(t("billing.seats.notUsable", { seats: seatsWord })));
    notes.push(el("p", { class: "notice warn state-note" }, t("billing.note.failed"), " ",
      el("a", { href: `/?plan=${encodeURIComponent(purchase.plan)}&quantity=${purchase.quantity}` }, t("billing.buyAgain")), "."));
  } else if (state === "refunded") {
    const refund = refundedAt(events);
    const amount = refund?.detail?.amount_refunded ?? purchase.amount_total;
    facts.append(
      fact(t("billing.fact.refunded"), money(amount, purchase.currency)),
      refund ? fact(t("billing.fact.refundedOn"), day(refund.at)) : null,
      ...invoiceFacts(purchase),
      seatFact(seatCounts(purchase)));
    notes.push(el("p", { class: "notice state-note" }, t("billing.note.refunded")));
  }
  if (events) notes.push(purchaseHistory(purchase, events));
  const seatsArea = section.querySelector(".seats-area") ?? el("div", { class: "seats-area" });
  if (!seats) loading(seatsArea, t("billing.loadingSeats"));
  section.replaceChildren(heading, status, facts, ...notes, seatsArea);
  section.dataset.status = purchase.status;
  section.dataset.phase = state;
  if (seats) renderSeats(section, purchase, seats, events ?? [], seatContext(section, purchase));
  if (focus) heading.focus();
}

function seatContext(section, purchase) {
  const refresh = () => loadDetail(section, purchase.purchase_id, true);
  const done = (message) => say(section.querySelector(".purchase-status"), message, "ok");
  return {
    refresh,
    done,
    reload: (where) => loadDetail(where, purchase.purchase_id),
    extras: (area, available) => area.append(inviteForm(purchase, available, refresh, done), claimBox(purchase, refresh, done)),
  };
}

const PURCHASE_EVENTS = {
  "purchase.paid": () => t("billing.event.paid"),
  "purchase.pending_payment": () => t("billing.event.pending"),
  "purchase.payment_failed": () => t("billing.event.failed"),
  "purchase.refunded": (e, p) => t("billing.event.refunded", { amount: money(e.detail.amount_refunded ?? p.amount_total, p.currency) }),
  "purchase.partially_refunded": (e, p) => t("billing.event.partlyRefunded", { amount: money(e.detail.amount_refunded ?? 0, p.currency) }),
  "purchase.dispute_opened": () => t("billing.event.disputed"),
  "purchase.dispute_won": () => t("billing.event.disputeWon"),
};

function purchaseHistory(purchase, events) {
  const items = events.filter((e) => e.kind.startsWith("purchase.")).sort(byTime)
    .map((e) => historyItem((PURCHASE_EVENTS[e.kind] ?? (() => e.kind))(e, purchase), e.at));
  if (items.length === 0) return null;
  return el("details", { class: "purchase-history" }, el("summary", {}, t("billing.paymentHistory")), el("ol", { class: "history" }, items));
}

// ---- claim -----------------------------------------------------------------------------------------

const SOURCE_KEYS = { gift: "billing.source.gift", claim: "billing.source.claim", subscription: "billing.source.subscription" };

function claimBox(purchase, refresh, done) {
  const box = el("div", { class: "claim-box" });
  claimBoxes.set(purchase.purchase_id, { box, purchase, refresh, done });
  if (entitlement?.active) {
    const source = SOURCE_KEYS[entitlement.source] ? t(SOURCE_KEYS[entitlement.source]) : entitlement.source;
    const held = t("billing.claim.held", { plan: planName(entitlement.plan), source, end: day(entitlement.term_end) });
    const why = t(entitlement.source === "subscription" ? "billing.claim.subscriber" : "billing.claim.onePlan");
    box.append(el("p", { class: "hint claim-held" }, `${held} ${why}`));
    return box;
  }
  if (allPurchasesLoaded && plansBought <= 1) {
    box.append(el("p", { class: "hint claim-held" }, t("billing.claim.needTwo")));
    return box;
  }
  const claim = el("button", { type: "button", class: "secondary claim" }, t("billing.claim.button"));
  claim.addEventListener("click", async () => {
    const sure = await confirmAction({
      title: t("billing.claim.title", { plan: planName(purchase.plan) }),
      body: [t("billing.claim.body", { end: momentUtc(purchase.term_end), days: tc("billing.days", purchase.days_left) }),
        t("billing.claim.body2")],
      confirm: t("billing.claim.confirm"),
      cancel: t("ui.cancel"),
    });
    if (!sure) return;
    await busy(claim, async () => {
      await api(`/purchases/${purchase.purchase_id}/claim`, { method: "POST" });
      await loadEntitlement();
      await refresh();
      refreshClaimBoxes();
      done([t("billing.claim.done", { plan: planName(purchase.plan) }), " ", el("a", { href: "/plan" }, t("notfound.myPlan")), "."]);
    }, { label: t("billing.claim.busy"), explain: limitExplain });
  });
  box.append(el("p", { class: "hint" }, t("billing.claim.keep")), el("div", { class: "action-group" }, claim));
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
