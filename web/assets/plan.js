// My plan: the account's plan like a customer portal: what it is, where it came from, how long is
// left, and one clear choice for what comes next (renew when it ends, or upgrade now with credit).
// After a renewal or an upgrade: the first charge (when, how much) and "Manage billing" (Stripe's
// customer portal, POST /me/billing-portal). Back from Stripe Checkout (?checkout=done|cancelled)
// it says how the payment went. Every word through t() (assets/locales/*.json).
import { api } from "./api.js";
import { currentUser, onAuthChange, startSignIn } from "./auth.js";
import { checkoutFor, rememberCheckout } from "./checkout.js";
import { daysLeft, syncClock } from "./clock.js";
import { config, planById } from "./config.js";
import { day, momentUtc, money, number, titleCase } from "./format.js";
import { t } from "./i18n.js";
import { busy, clearStatus, el, errorBox, loading, mountHeader } from "./ui.js";

mountHeader();
const content = document.getElementById("content");
const query = new URLSearchParams(location.search);
const sessionId = query.get("session_id");
const returned = query.get("checkout"); // "done" | "cancelled" | null: back from Stripe Checkout
const GIFTED = new Set(["gift", "claim"]);
const SOURCES = { gift: "plan.source.gift", claim: "plan.source.claim", subscription: "plan.source.subscription" };
const POLL_MS = 2000;

function planName(id) {
  return planById(id)?.name ?? titleCase(id);
}

function yearly(plan) {
  return t("plan.yearly", { price: money(plan.amount, plan.currency) });
}

function days(n) {
  return t("plan.days", { count: n, n: number(n) });
}

async function load() {
  if (!currentUser()) {
    const signIn = el("button", { type: "button", class: "primary", id: "plan-sign-in" }, t("plan.signIn"));
    signIn.addEventListener("click", startSignIn);
    content.replaceChildren(el("div", { class: "prompt" }, el("p", {}, t("plan.signInLead")), signIn));
    return;
  }
  loading(content, t("plan.loading"));
  let entitlement;
  try {
    [, entitlement] = await Promise.all([syncClock(), api("/me/entitlement")]);
  } catch (error) {
    content.replaceChildren(el("p", { class: "error", id: "load-error" }, error.message));
    return;
  }
  const note = el("div", { id: "checkout-note" });
  const body = el("div", { id: "plan-body" });
  content.replaceChildren(note, body);
  render(body, entitlement);
  if (returned === "cancelled") cancelledNote(note);
  else if (returned === "done" || sessionId) await confirmCheckout(note, body, entitlement);
}

function render(body, entitlement) {
  body.replaceChildren(...(entitlement.active ? activePlan(entitlement) : noPlan(entitlement)));
}

// ---- an active plan --------------------------------------------------------------------------------

// Where the plan came from; a gift names its giver as the API gives it (`gift_from`: the buyer's
// chosen name, or their address with part of it hidden, and the page says so).
function sourceWords(entitlement) {
  const key = SOURCES[entitlement.source];
  const words = key ? t(key) : entitlement.source;
  if (entitlement.source !== "gift" || !entitlement.gift_from) return [words];
  const masked = entitlement.gift_from.includes("***");
  return [t("plan.giftFrom"), " ", el("strong", { id: "gift-from" }, entitlement.gift_from),
    masked ? el("span", { class: "hint" }, " ", t("plan.maskedHint")) : null];
}

// The service's count of days left (GET /me/entitlement's `days_left`), else the page's own.
function leftOf(entitlement) {
  return Number.isInteger(entitlement.days_left) ? entitlement.days_left : daysLeft(entitlement.term_end);
}

function activePlan(entitlement) {
  const plan = planName(entitlement.plan);
  const left = leftOf(entitlement);
  const gifted = GIFTED.has(entitlement.source);
  const renews = entitlement.auto_renew;
  const parts = [el("section", { class: "entitlement", "aria-labelledby": "current" },
    el("h2", { id: "current" }, t("plan.planHeading", { plan })),
    el("dl", { class: "facts" },
      el("div", {}, el("dt", {}, t("plan.from")), el("dd", { id: "source" }, ...sourceWords(entitlement))),
      el("div", {}, el("dt", {}, renews ? t("plan.renewsOn") : t("plan.until")),
        el("dd", { id: "term-end" }, momentUtc(entitlement.term_end))),
      renews ? null : el("div", {}, el("dt", {}, t("plan.daysLeft")), el("dd", { id: "days-left" }, days(left))),
      el("div", {}, el("dt", {}, t("plan.autoRenew")), el("dd", { id: "auto-renew" }, renews ? t("plan.autoRenewYes") : t("plan.autoRenewNo")))),
    renews
      ? el("p", { class: "hint", id: "renews-note" }, t("plan.renewsNote", { plan, date: day(entitlement.term_end) }))
      : el("p", { class: "hint" }, gifted ? t("plan.giftNoRenew") : t("plan.subNoRenew")))];
  if (!renews && left <= config.endingSoonDays) {
    parts.unshift(el("p", { class: "notice warn ending-soon", id: "ending-soon", role: "note" },
      t("plan.endingSoon", { plan, count: left, n: number(left), date: day(entitlement.term_end) }),
      gifted ? ` ${t("plan.endingSoonChoose")}` : ""));
  }
  if (entitlement.source === "subscription") parts.push(billing(entitlement));
  if (gifted) parts.push(nextChoice(entitlement));
  return parts;
}

// After a renewal or an upgrade: what Stripe charges first (when, how much) and the way to
// Stripe's own customer portal (cancel, card, invoices).
function billing(entitlement) {
  const charge = entitlement.first_charge;
  const manage = el("button", { type: "button", class: "primary", id: "manage-billing" }, t("plan.manageBilling"));
  const errors = errorBox(manage);
  manage.addEventListener("click", () => busy(manage, async () => {
    const portal = await api("/me/billing-portal", { method: "POST" });
    location.assign(portal.url);
  }, { label: t("plan.openingPortal"), errors }));
  return el("section", { class: "billing-portal", "aria-labelledby": "billing-title" },
    el("h2", { id: "billing-title" }, t("plan.billingHeading")),
    charge
      ? el("dl", { class: "facts", id: "first-charge" },
        el("div", {}, el("dt", {}, t("plan.firstChargeOn")), el("dd", { id: "first-charge-at" }, momentUtc(charge.at))),
        el("div", {}, el("dt", {}, t("plan.firstChargeAmount")), el("dd", { id: "first-charge-amount" }, money(charge.amount, charge.currency))))
      : el("p", { id: "no-charge" }, t("plan.noCharge")),
    charge ? el("p", { class: "hint" }, t("plan.chargeHint")) : null,
    el("p", { class: "hint" }, t("plan.manageHint")),
    el("div", { class: "action-group" }, manage), errors);
}

// One choice: renew when the gift ends (a subscription of your own that bills from then), or
// upgrade now (a higher plan today, with credit for what is left of this one). One button.
function nextChoice(entitlement) {
  const current = planById(entitlement.plan);
  const higher = config.plans.filter((p) => current && p.rank > current.rank);
  const ends = day(entitlement.term_end);
  const renewOption = el("input", { type: "radio", name: "next", id: "choice-renew", value: "renew", checked: true,
    "aria-describedby": "choice-renew-hint" });
  const upgradeOption = el("input", { type: "radio", name: "next", id: "choice-upgrade", value: "upgrade",
    "aria-describedby": "choice-upgrade-hint" });
  const renewSelect = el("select", { id: "renew-plan", name: "renew-plan" },
    config.plans.map((p) => el("option", { value: p.id, selected: p.id === entitlement.plan }, `${p.name}, ${yearly(p)}`)));
  const renewSummary = el("p", { class: "summary", id: "renew-summary" });
  const renewPart = el("div", { class: "choice-detail", id: "renew-detail" },
    el("label", { for: "renew-plan" }, t("plan.renewFrom", { date: ends })), renewSelect, renewSummary);
  const targetSelect = el("select", { id: "target", name: "target" },
    higher.map((p) => el("option", { value: p.id }, `${p.name}, ${yearly(p)}`)));
  const quoteArea = el("div", { id: "quote-result", "aria-live": "polite" });
  const upgradePart = el("div", { class: "choice-detail", id: "upgrade-detail", hidden: true },
    el("label", { for: "target" }, t("plan.upgradeTo")), targetSelect, quoteArea);
  const go = el("button", { type: "submit", class: "primary", id: "continue-plan" }, "");
  const errors = errorBox(go);
  let quote = null;

  const options = higher.length
    ? el("fieldset", { class: "segmented" },
      el("legend", {}, t("plan.choiceLegend")),
      el("div", { class: "option" }, renewOption, el("label", { for: "choice-renew" }, t("plan.choiceRenew")),
        el("p", { class: "hint", id: "choice-renew-hint" }, t("plan.choiceRenewHint", { date: ends }))),
      el("div", { class: "option" }, upgradeOption, el("label", { for: "choice-upgrade" }, t("plan.choiceUpgrade")),
        el("p", { class: "hint", id: "choice-upgrade-hint" }, t("plan.choiceUpgradeHint"))))
    : null;

  const update = () => {
    const upgrading = upgradeOption.checked;
    renewPart.hidden = upgrading;
    upgradePart.hidden = !upgrading;
    const renewTo = planById(renewSelect.value);
    renewSummary.textContent = t("plan.renewSummary", { plan: renewTo.name, date: ends, price: yearly(renewTo) });
    if (!upgrading) go.textContent = t("plan.renewAs", { plan: renewTo.name });
    else if (quote && quote.plan === targetSelect.value) {
      go.textContent = t("plan.upgradeAndPay", { plan: planName(quote.plan), amount: money(quote.amount_due, quote.currency) });
    } else go.textContent = t("plan.upgradeToPlan", { plan: planName(targetSelect.value) });
  };

  const fetchQuote = async () => {
    quote = null;
    update();
    quoteArea.replaceChildren(el("p", { class: "loading" }, t("plan.quoting")));
    try {
      quote = await api("/me/upgrade/quote", { method: "POST", body: { plan: targetSelect.value } });
      quoteArea.replaceChildren(quoteFacts(quote));
    } catch (error) {
      quoteArea.replaceChildren(el("p", { class: "error" }, error.message));
    }
    update();
  };

  const form = el("form", { class: "next-choice", "aria-labelledby": "next-title", novalidate: true },
    el("h2", { id: "next-title" }, t("plan.afterHeading", { date: ends })),
    el("p", {}, t("plan.afterLead", { plan: planName(entitlement.plan) })),
    options, renewPart, upgradePart, el("div", { class: "action-group" }, go), errors);
  form.addEventListener("change", (event) => {
    if (event.target === upgradeOption || event.target === targetSelect) {
      if (upgradeOption.checked) fetchQuote();
    }
    update();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (upgradeOption.checked) {
      busy(go, async () => {
        const checkout = await api("/me/upgrade/checkout", { method: "POST", body: { plan: targetSelect.value } });
        rememberCheckout(checkout.session_id, "upgrade", { plan: checkout.quote.plan,
          amount_due: checkout.quote.amount_due, currency: checkout.quote.currency });
        location.assign(checkout.url);
      }, { label: t("plan.openingPayment"), errors });
    } else {
      busy(go, async () => {
        const checkout = await api("/me/renewal/checkout", { method: "POST", body: { plan: renewSelect.value } });
        rememberCheckout(checkout.session_id, "renewal", { plan: checkout.plan,
          starts_billing_at: checkout.starts_billing_at, note: checkout.note ?? null });
        location.assign(checkout.url);
      }, { label: t("plan.openingPayment"), errors });
    }
  });
  update();
  return form;
}

function quoteFacts(quote) {
  return el("div", {},
    el("dl", { class: "facts quote" },
      el("div", {}, el("dt", {}, t("plan.quoteYear", { plan: planName(quote.plan) })), el("dd", {}, money(quote.target_price, quote.currency))),
      el("div", {}, el("dt", {}, t("plan.quoteCredit", { count: quote.remaining_days, n: number(quote.remaining_days), total: number(quote.term_days) })),
        el("dd", {}, `− ${money(quote.credit, quote.currency)}`)),
      el("div", { class: "due" }, el("dt", {}, t("plan.dueToday")), el("dd", { id: "amount-due" }, money(quote.amount_due, quote.currency)))),
    el("p", { class: "hint" }, t("plan.quoteThen", { plan: planName(quote.plan), price: money(quote.target_price, quote.currency) })),
    quote.quote_expires_at ? el("p", { class: "hint", id: "quote-holds" }, t("plan.quoteHolds", { moment: momentUtc(quote.quote_expires_at) })) : null);
}

// ---- no active plan --------------------------------------------------------------------------------

function noPlan(entitlement) {
  const plan = entitlement.plan ? planName(entitlement.plan) : null;
  const from = entitlement.source === "claim" ? t("plan.sourceInline.claim") : t("plan.sourceInline.gift");
  const parts = [];
  if (!entitlement.source) {
    parts.push(el("p", { id: "no-plan" }, t("plan.none")));
  } else if (entitlement.source === "subscription") {
    parts.push(el("p", { id: "no-plan" }, t("plan.subEnded", { plan, date: day(entitlement.term_end) })));
  } else if (leftOf(entitlement) > 0) {
    parts.push(el("p", { id: "no-plan" }, t("plan.giftCancelled", { plan, source: from })));
  } else {
    parts.push(el("p", { id: "no-plan" }, t("plan.giftEnded", { plan, source: from, date: day(entitlement.term_end) })));
    parts.push(renewAfterEnd(entitlement)); // the API says when it is too late
  }
  if (config.renewUrl) parts.push(el("p", {}, el("a", { class: "button-link", id: "renew", href: config.renewUrl }, t("plan.subscribeSelf"))));
  parts.push(el("p", { class: "hint" }, t("plan.giveOthers"), " ", el("a", { href: "/" }, t("plan.seePlans"))));
  return parts;
}

// The "plan ended" email's "Renew your plan" link lands here: within 30 days after the end,
// renewing is still offered; billing starts at checkout.
function renewAfterEnd(entitlement) {
  const select = el("select", { id: "renew-plan", name: "plan" },
    config.plans.map((p) => el("option", { value: p.id, selected: p.id === entitlement.plan }, `${p.name}, ${yearly(p)}`)));
  const button = el("button", { type: "submit", class: "primary", id: "continue-plan" }, t("plan.renew"));
  const errors = errorBox(button);
  const form = el("form", { class: "renew-form", "aria-labelledby": "renew-title" },
    el("h2", { id: "renew-title" }, t("plan.renew")),
    el("label", { for: "renew-plan" }, t("plan.planLabel")), select,
    el("p", { class: "hint" }, t("plan.renewAfterHint")),
    el("div", { class: "action-group" }, button), errors);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(button, async () => {
      const checkout = await api("/me/renewal/checkout", { method: "POST", body: { plan: select.value } });
      rememberCheckout(checkout.session_id, "renewal", { plan: checkout.plan,
        starts_billing_at: checkout.starts_billing_at, note: checkout.note ?? null });
      location.assign(checkout.url);
    }, { label: t("plan.openingPayment"), errors });
  });
  return form;
}

// ---- back from Stripe Checkout (an upgrade or a renewal) -------------------------------------------

function cancelledNote(note) {
  note.className = "notice checkout-note";
  note.replaceChildren(el("p", { id: "checkout-cancelled" }, t("plan.checkoutCancelled")));
  history.replaceState(null, "", location.pathname);
}

function arrived(known, entitlement) {
  if (entitlement.source !== "subscription" || !entitlement.active) return false;
  return !known?.plan || entitlement.plan === known.plan;
}

function arrivedWords(known, entitlement) {
  const plan = planById(entitlement.plan)?.name ?? entitlement.plan;
  const charge = entitlement.first_charge;
  const amounts = charge ? { amount: money(charge.amount, charge.currency), date: day(charge.at) } : null;
  const next = amounts ? t("plan.doneNextCharge", amounts) : "";
  if (known?.kind === "upgrade") {
    const renewal = amounts ? t("plan.doneUpgradeRenews", amounts) : "";
    const paid = known.amount_due !== undefined ? ` ${t("plan.donePaidToday", { amount: money(known.amount_due, known.currency) })}` : "";
    return `${t("plan.doneUpgrade", { plan })}${paid} ${renewal}`.trim();
  }
  return `${t("plan.doneRenewal", { plan })} ${known?.note ?? next}`.trim();
}

async function confirmCheckout(note, body, first) {
  const known = sessionId ? checkoutFor(sessionId) : null;
  const deadline = Date.now() + config.confirmSeconds * 1000;
  // Stripe sends people back with ?checkout=done only once the payment went through.
  const done = () => (returned === "done" ? el("p", { id: "checkout-done" }, t("plan.checkoutDone")) : null);
  note.className = "notice ok checkout-note";
  note.setAttribute("role", "status");
  note.replaceChildren(done(), el("p", { class: "loading" }, t("plan.confirming")));
  let entitlement = first;
  for (;;) {
    if (arrived(known, entitlement)) {
      render(body, entitlement);
      note.replaceChildren(done(), el("p", { id: "checkout-result" }, arrivedWords(known, entitlement)));
      history.replaceState(null, "", location.pathname);
      return;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    try {
      entitlement = await api("/me/entitlement");
    } catch (error) {
      note.className = "notice warn checkout-note";
      note.replaceChildren(el("p", {}, error.message));
      return;
    }
  }
  const again = el("button", { type: "button", class: "secondary", id: "check-again" }, t("plan.checkAgain"));
  again.addEventListener("click", () => confirmCheckout(note, body, entitlement));
  note.className = "notice warn checkout-note";
  note.replaceChildren(
    done(),
    el("h2", { id: "checkout-waiting" }, t("plan.waitingHeading")),
    el("p", {}, t("plan.waitingLead")),
    sessionId ? el("p", { class: "hint" }, t("plan.waitingSupport"), " ", el("code", {}, sessionId)) : null,
    el("div", { class: "action-group" }, again));
}

onAuthChange(() => { clearStatus(); load(); });
load();
