// Billing and Purchases: the buyer's purchases, every seat, and what can be done with them.
import { api } from "./api.js";
import { currentUser, onAuthChange } from "./auth.js";
import { config, planById } from "./config.js";
import { announce, busy, clearStatus, day, el, moment, money, mountHeader, titleCase } from "./ui.js";

mountHeader();
const content = document.getElementById("content");
const params = new URLSearchParams(location.search);
const PAGE_SIZE = 10;
const CONFIRM_TRIES = 15;

const STATE_LABELS = {
  available: "Available",
  invited: "Invited",
  accepted: "Accepted",
  claimed: "Claimed by you",
  upgraded: "Upgraded",
  expired: "Expired",
  cancelled: "Cancelled",
};
const STATUS_LABELS = {
  pending_payment: "Waiting for payment",
  paid: "Paid",
  payment_failed: "Payment failed",
  refunded: "Refunded",
};

let cursor = null;
// What the signed-in account holds (GET /me/entitlement) and how many plans it bought: the claim
// button is shown only when the API would allow a claim (SPEC rule 4); otherwise the page says why.
let entitlement = null;
let plansBought = 0;
let allPurchasesLoaded = false;
const claimBoxes = new Map(); // purchase id -> {box, purchase, refresh}
// Seat key -> when its last invitation email went out, from this page's own invite and resend answers.
const lastSent = new Map();

async function loadEntitlement() {
  try {
    entitlement = await api("/me/entitlement");
  } catch {
    entitlement = null; // unknown: offer the button; the API's sentence explains any refusal
  }
}

async function load() {
  content.replaceChildren();
  cursor = null;
  plansBought = 0;
  allPurchasesLoaded = false;
  claimBoxes.clear();
  if (!currentUser()) {
    content.append(el("p", { class: "prompt" },
      "Sign in (at the top of the page) to see the plans you bought and invite people."));
    return;
  }
  const list = el("div", { id: "purchases" });
  content.append(list);
  await loadEntitlement();
  let page = await fetchPage(list);
  if (params.has("session_id")) {
    // Back from checkout: Stripe's webhook may arrive a moment after the browser does.
    for (let i = 0; i < CONFIRM_TRIES && page && page.purchases.length === 0; i += 1) {
      announce("Thank you: confirming your payment…");
      await new Promise((resolve) => setTimeout(resolve, 1000));
      page = await fetchPage(list);
    }
    if (page?.purchases.length) announce("Thank you: your purchase is below. Invite people to give them a plan.");
    history.replaceState(null, "", location.pathname);
  }
}

async function fetchPage(list) {
  let page;
  try {
    page = await api(`/purchases?limit=${PAGE_SIZE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
  } catch (error) {
    announce(error.message, "error");
    return null;
  }
  if (!cursor) {
    list.replaceChildren();
    plansBought = 0;
  }
  plansBought += page.purchases.filter((p) => p.status === "paid" || p.status === "refunded")
    .reduce((sum, p) => sum + p.quantity, 0);
  allPurchasesLoaded = !page.next_cursor;
  if (page.purchases.length === 0 && !cursor) {
    list.append(el("p", { class: "empty" }, "You have not bought any plans for others yet. ",
      el("a", { href: "/" }, "Choose a plan"), "."));
  }
  for (const purchase of page.purchases) {
    const section = el("section", { class: "purchase", id: `purchase-${purchase.purchase_id}`,
      "aria-labelledby": `h-${purchase.purchase_id}` });
    list.append(section);
    renderSummary(section, purchase);
    loadSeats(section, purchase.purchase_id);
  }
  document.getElementById("more")?.remove();
  cursor = page.next_cursor;
  if (cursor) {
    const more = el("button", { type: "button", id: "more", class: "secondary" }, "Show older purchases");
    more.addEventListener("click", () => busy(more, () => fetchPage(list)));
    list.after(more);
  }
  return page;
}

function planName(id) {
  return planById(id)?.name ?? titleCase(id);
}

function renderSummary(section, purchase, focus = false) {
  const id = purchase.purchase_id;
  const counts = Object.entries(purchase.seat_counts).filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${STATE_LABELS[state]?.toLowerCase() ?? state}`).join(", ");
  const heading = el("h2", { id: `h-${id}`, tabindex: -1 },
    `${planName(purchase.plan)} × ${purchase.quantity}`);
  const facts = el("dl", { class: "facts" },
    el("div", {}, el("dt", {}, "Status"), el("dd", {},
      el("span", { class: `badge ${purchase.status}` }, STATUS_LABELS[purchase.status] ?? purchase.status),
      purchase.frozen ? el("span", { class: "badge warn" }, "Frozen (disputed)") : null)),
    el("div", {}, el("dt", {}, "Term"), el("dd", {}, `${day(purchase.term_start)} – ${day(purchase.term_end)}`)),
    el("div", {}, el("dt", {}, "Days left"), el("dd", { class: "days-left" }, String(purchase.days_left))),
    el("div", {}, el("dt", {}, "Paid"), el("dd", {}, money(purchase.amount_total, purchase.currency))),
    el("div", {}, el("dt", {}, "Seats"), el("dd", { class: "counts" }, counts || "none")));
  const termNote = purchase.status === "paid" && purchase.active !== false
    ? el("p", { class: "hint term-note" },
      `Every plan of this purchase ends on ${moment(purchase.term_end)}, whenever it is accepted: `
      + "its year started at purchase, so an invitation accepted later gets less of it.")
    : null;
  const seats = section.querySelector(".seats-area") ?? el("div", { class: "seats-area" });
  section.replaceChildren(heading, facts, ...(termNote ? [termNote] : []), seats);
  section.dataset.status = purchase.status;
  if (focus) heading.focus();
}

async function loadSeats(section, purchaseId, focus = false) {
  const area = section.querySelector(".seats-area");
  try {
    const detail = await api(`/purchases/${encodeURIComponent(purchaseId)}`);
    renderSummary(section, detail.purchase, focus);
    renderSeats(section, detail.purchase, detail.seats);
  } catch (error) {
    area.replaceChildren(el("p", { class: "error" }, error.message));
  }
}

function renderSeats(section, purchase, seats) {
  const id = purchase.purchase_id;
  const area = section.querySelector(".seats-area");
  const refresh = () => loadSeats(section, id, true);
  const rows = seats.map((seat) => seatRow(purchase, seat, refresh));
  const table = el("table", { class: "seats" },
    el("caption", {}, `Seats of ${planName(purchase.plan)} × ${purchase.quantity}`),
    el("thead", {}, el("tr", {},
      ["Seat", "State", "Recipient", "Invited", "Accepted", "Actions"].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows));
  const usable = purchase.status === "paid" && purchase.active !== false && !purchase.frozen;
  const available = purchase.seat_counts.available;
  area.replaceChildren(el("div", { class: "table-wrap" }, table));
  if (usable && available > 0) area.append(inviteForm(purchase, available, refresh), claimBox(purchase, refresh));
}

function seatRow(purchase, seat, refresh) {
  const bounced = seat.delivery === "bounced";
  const state = el("td", { "data-label": "State" },
    el("span", { class: `badge ${seat.state}` }, STATE_LABELS[seat.state] ?? seat.state),
    bounced ? el("span", { class: "badge warn bounced" }, "Email bounced") : null);
  const actions = el("td", { "data-label": "Actions", class: "actions" });
  const who = seat.recipient_email ?? "";
  if (seat.state === "invited") {
    actions.append(
      resendControl(purchase, seat, refresh),
      actionButton("Revoke", `Revoke the invitation to ${who}`, "revoke", async () => {
        await api(`/purchases/${purchase.purchase_id}/seats/${seat.seat_id}/revoke`, { method: "POST" });
        return `The invitation to ${who} was revoked; the seat is available again.`;
      }, refresh));
  }
  const row = el("tr", { "data-seat": seat.seat_id, "data-state": seat.state, "data-recipient": who },
    el("th", { scope: "row", "data-label": "Seat" }, seat.seat_id),
    state,
    el("td", { "data-label": "Recipient" }, who || "—",
      bounced ? el("p", { class: "hint" }, "The invitation email bounced: check the address, revoke it and invite again.") : null),
    el("td", { "data-label": "Invited" }, day(seat.invited_at) || "—"),
    el("td", { "data-label": "Accepted" }, day(seat.accepted_at) || "—"),
    actions);
  if (bounced) row.classList.add("bounced");
  return row;
}

// Resend (SPEC rule 10): at most `resendLimit` times, `resendMinutes` apart. Where this page knows
// the API would refuse, it says so (and when) instead of offering a button that fails.
function resendControl(purchase, seat, refresh) {
  const who = seat.recipient_email ?? "";
  const key = `${purchase.purchase_id}/${seat.seat_id}`;
  if ((seat.resend_count ?? 0) >= config.resendLimit) {
    return el("p", { class: "hint resend-limit" },
      `Sent again ${config.resendLimit} times, the most allowed: revoke and invite again for a new link.`);
  }
  const sent = lastSent.get(key);
  const gap = config.resendMinutes * 60_000;
  const wait = sent ? Date.parse(sent) + gap - Date.now() : 0;
  if (wait > 0 && wait <= gap) {
    const at = new Intl.DateTimeFormat("en-GB", { timeStyle: "short", timeZone: "UTC" })
      .format(new Date(Date.parse(sent) + gap));
    const hint = el("p", { class: "hint resend-wait" }, `Just sent; resend from ${at} UTC`);
    setTimeout(() => { if (document.contains(hint)) refresh(); }, wait + 1000);
    return hint;
  }
  return actionButton("Resend", `Resend the invitation to ${who}`, "resend", async () => {
    const answer = await api(`/purchases/${purchase.purchase_id}/seats/${seat.seat_id}/resend`, { method: "POST" });
    lastSent.set(key, answer?.last_sent_at ?? new Date().toISOString());
    return `A fresh link was sent to ${who}; the previous link no longer works.`;
  }, refresh);
}

function actionButton(label, accessibleName, kind, action, refresh) {
  const button = el("button", { type: "button", class: `secondary ${kind}`, "aria-label": accessibleName }, label);
  button.addEventListener("click", () => busy(button, async () => {
    const message = await action();
    await refresh();
    announce(message, "ok");
  }));
  return button;
}

function splitAddresses(text) {
  const seen = new Set();
  return text.split(/[\s,;]+/).map((a) => a.trim()).filter((a) => {
    const key = a.toLowerCase();
    if (!a || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function inviteForm(purchase, available, refresh) {
  const id = purchase.purchase_id;
  const emails = el("textarea", { id: `emails-${id}`, name: "emails", rows: 3, required: true,
    "aria-describedby": `emails-hint-${id}`, autocomplete: "off", spellcheck: "false" });
  const note = el("textarea", { id: `note-${id}`, name: "message", rows: 2, maxlength: 4000 });
  const send = el("button", { type: "submit", class: "primary invite" }, "Send invitations");
  const form = el("form", { class: "invite-form", novalidate: true },
    el("h3", {}, "Invite people"),
    el("label", { for: `emails-${id}` }, "Email addresses"),
    el("p", { class: "hint", id: `emails-hint-${id}` },
      `Separate addresses with commas or new lines. ${available} seat${available === 1 ? "" : "s"} available.`),
    emails,
    el("label", { for: `note-${id}` }, "Personal message (optional)"),
    note,
    send);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const addresses = splitAddresses(emails.value);
    if (addresses.length === 0) {
      announce("Enter at least one email address to invite.", "error");
      emails.focus();
      return;
    }
    const message = note.value.trim() || undefined;
    busy(send, async () => {
      const answer = await api(`/purchases/${id}/invitations`, {
        method: "POST",
        body: { invitations: addresses.map((email) => ({ email, ...(message ? { message } : {}) })) },
      });
      for (const seat of answer.seats) {
        if (seat.invited_at) lastSent.set(`${id}/${seat.seat_id}`, seat.invited_at);
      }
      await refresh();
      const n = answer.seats.length;
      announce(`Invited ${n} ${n === 1 ? "person" : "people"}: ${addresses.join(", ")}.`, "ok");
    });
  });
  return form;
}

const SOURCE_WORDS = { gift: "a gift", claim: "one you claimed", subscription: "your subscription" };

function claimBox(purchase, refresh) {
  const box = el("div", { class: "claim-box" });
  claimBoxes.set(purchase.purchase_id, { box, purchase, refresh });
  if (entitlement?.active) {
    const held = `You already have the ${planName(entitlement.plan)} plan `
      + `(${SOURCE_WORDS[entitlement.source] ?? entitlement.source}) until ${moment(entitlement.term_end)}.`;
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
  claim.addEventListener("click", () => busy(claim, async () => {
    await api(`/purchases/${purchase.purchase_id}/claim`, { method: "POST" });
    await loadEntitlement();
    await refresh();
    refreshClaimBoxes();
    announce(`You claimed a ${planName(purchase.plan)} plan for yourself.`, "ok");
  }));
  box.append(el("p", { class: "hint" }, "Keep one of these plans for your own account."), claim);
  return box;
}

// After a claim the account holds a plan: every purchase's claim box says so.
function refreshClaimBoxes() {
  for (const { box, purchase, refresh } of [...claimBoxes.values()]) {
    if (document.contains(box)) box.replaceWith(claimBox(purchase, refresh));
  }
}

onAuthChange(() => { clearStatus(); load(); });
load();
