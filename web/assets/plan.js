// My plan: the caller's entitlement, renewal at any plan, an upgrade quote, and the upgrade checkout.
import { api } from "./api.js";
import { currentUser, onAuthChange } from "./auth.js";
import { config, planById } from "./config.js";
import { announce, busy, clearStatus, day, el, moment, money, mountHeader, titleCase } from "./ui.js";

mountHeader();
const content = document.getElementById("content");
const GIFTED = new Set(["gift", "claim"]);
const SOURCES = { gift: "a gift", claim: "a plan you bought and claimed", subscription: "your subscription" };

function planName(id) {
  return planById(id)?.name ?? titleCase(id);
}

async function load() {
  content.replaceChildren();
  if (!currentUser()) {
    content.append(el("p", { class: "prompt" }, "Sign in (at the top of the page) to see your plan."));
    return;
  }
  let entitlement;
  try {
    entitlement = await api("/me/entitlement");
  } catch (error) {
    announce(error.message, "error");
    return;
  }
  if (!entitlement.active) {
    // The "plan ended" email's "Renew your plan" link lands here.
    content.append(...[
      el("p", { id: "no-plan" }, "You have no active plan. A gifted or claimed plan ends with its "
        + "purchase's year and does not renew by itself."),
      // Ended within the last 30 days: renewing it here is still offered (the API says when not).
      GIFTED.has(entitlement.source) ? renewForm(entitlement) : null,
      renewLink("Subscribe to a plan for yourself"),
      el("p", { class: "hint" }, "Want to give plans to other people? ", el("a", { href: "/" }, "See the plans"), "."),
    ].filter(Boolean));
    return;
  }
  content.append(el("section", { class: "entitlement", "aria-labelledby": "current" },
    el("h2", { id: "current" }, `${planName(entitlement.plan)} plan`),
    el("dl", { class: "facts" },
      el("div", {}, el("dt", {}, "From"), el("dd", { id: "source" }, SOURCES[entitlement.source] ?? entitlement.source)),
      el("div", {}, el("dt", {}, "Until"), el("dd", { id: "term-end" }, day(entitlement.term_end))),
      el("div", {}, el("dt", {}, "Renews automatically"), el("dd", {}, entitlement.auto_renew ? "Yes" : "No")))));
  if (!entitlement.auto_renew) content.append(renewSection(entitlement));
  const current = planById(entitlement.plan);
  const higher = config.plans.filter((p) => current && p.rank > current.rank);
  if (higher.length) content.append(upgradeForm(higher));
}

// The renewal reminders' "Renew or upgrade" link lands here: renewing is subscribing yourself
// (POST /me/renewal/checkout); upgrading is below, with credit for the gift.
function renewSection(entitlement) {
  return el("section", { class: "renew", "aria-labelledby": "renew-title" },
    el("h2", { id: "renew-title" }, "Keep your plan"),
    el("p", {}, `Your ${planName(entitlement.plan)} plan ends on ${moment(entitlement.term_end)} and does not `
      + "renew by itself. To keep it, subscribe to it yourself before then, or upgrade below: what is "
      + "left of this plan counts towards the new one."),
    GIFTED.has(entitlement.source) ? renewForm(entitlement) : renewLink(`Subscribe to ${planName(entitlement.plan)}`));
}

// Renew: a yearly subscription of your own (any plan); while the gift lasts, billing starts
// the day it ends, so nothing is paid twice.
function renewForm(entitlement) {
  const select = el("select", { id: "renew-plan", name: "plan" },
    config.plans.map((p) => el("option", { value: p.id, selected: p.id === entitlement.plan ? "" : null },
      `${p.name} (${money(p.amount, p.currency)} / year)`)));
  const button = el("button", { type: "submit", class: "primary", id: "renew-checkout" }, "Renew");
  const form = el("form", { class: "renew-form" },
    el("label", { for: "renew-plan" }, "Renew as"), select, button,
    el("p", { class: "hint" }, entitlement.active
      ? "You pay nothing until your gifted plan ends; then the plan renews every year until you cancel it."
      : "Billing starts when you complete the checkout; the plan renews every year until you cancel it."));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(button, async () => {
      const checkout = await api("/me/renewal/checkout", { method: "POST", body: { plan: select.value } });
      announce(checkout.note ?? `Billing starts on ${day(checkout.starts_billing_at)}. Taking you to the payment page…`);
      location.assign(checkout.url);
    });
  });
  return form;
}

function renewLink(label) {
  if (!config.renewUrl) return null;
  return el("p", {}, el("a", { class: "button-link", id: "renew", href: config.renewUrl }, label));
}

function upgradeForm(higher) {
  const select = el("select", { id: "target", name: "plan" },
    higher.map((p) => el("option", { value: p.id }, `${p.name} (${money(p.amount, p.currency)} / year)`)));
  const quoteButton = el("button", { type: "submit", class: "secondary", id: "quote" }, "Get a quote");
  const result = el("div", { id: "quote-result" });
  const form = el("form", { class: "upgrade" },
    el("h2", {}, "Upgrade"),
    el("p", { class: "hint" }, "What is left of your plan counts towards the new one."),
    el("label", { for: "target" }, "Upgrade to"), select, quoteButton, result);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(quoteButton, async () => {
      const quote = await api("/me/upgrade/quote", { method: "POST", body: { plan: select.value } });
      showQuote(result, quote);
      announce(`Upgrading to ${planName(quote.plan)} costs ${money(quote.amount_due, quote.currency)} today.`, "ok");
    });
  });
  select.addEventListener("change", () => result.replaceChildren());
  return form;
}

function showQuote(result, quote) {
  const pay = el("button", { type: "button", class: "primary", id: "upgrade" },
    `Upgrade and pay ${money(quote.amount_due, quote.currency)}`);
  pay.addEventListener("click", () => busy(pay, async () => {
    const checkout = await api("/me/upgrade/checkout", { method: "POST", body: { plan: quote.plan } });
    announce("Taking you to the payment page…");
    location.assign(checkout.url);
  }));
  result.replaceChildren(
    el("dl", { class: "facts quote" },
      el("div", {}, el("dt", {}, `${planName(quote.plan)}, one year`), el("dd", {}, money(quote.target_price, quote.currency))),
      el("div", {}, el("dt", {}, `Credit for ${quote.remaining_days} of ${quote.term_days} days left`),
        el("dd", {}, `− ${money(quote.credit, quote.currency)}`)),
      el("div", { class: "due" }, el("dt", {}, "Due today"), el("dd", { id: "amount-due" }, money(quote.amount_due, quote.currency)))),
    quote.quote_expires_at ? el("p", { class: "hint" }, `This price holds until ${moment(quote.quote_expires_at)}.`) : "",
    pay);
}

onAuthChange(() => { clearStatus(); load(); });
load();
