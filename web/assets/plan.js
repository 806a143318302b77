// My plan: the account's plan like a customer portal: what it is, where it came from, how long is
// left, and one clear choice for what comes next (renew when it ends, or upgrade now with credit).
import { api } from "./api.js";
import { currentUser, onAuthChange, startSignIn } from "./auth.js";
import { checkoutFor, rememberCheckout } from "./checkout.js";
import { daysLeft, syncClock } from "./clock.js";
import { config, planById } from "./config.js";
import { count, day, momentUtc, money, titleCase } from "./format.js";
import { busy, clearStatus, el, errorBox, loading, mountHeader } from "./ui.js";

mountHeader();
const content = document.getElementById("content");
const sessionId = new URLSearchParams(location.search).get("session_id");
const GIFTED = new Set(["gift", "claim"]);
const SOURCES = { gift: "A gift", claim: "A plan you bought and claimed", subscription: "Your subscription" };
const POLL_MS = 2000;

function planName(id) {
  return planById(id)?.name ?? titleCase(id);
}

function yearly(plan) {
  return `${money(plan.amount, plan.currency)} a year`;
}

async function load() {
  if (!currentUser()) {
    const signIn = el("button", { type: "button", class: "primary", id: "plan-sign-in" }, "Sign in");
    signIn.addEventListener("click", startSignIn);
    content.replaceChildren(el("div", { class: "prompt" }, el("p", {}, "Sign in to see your plan."), signIn));
    return;
  }
  loading(content, "Loading your plan…");
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
  if (sessionId) await confirmCheckout(note, body, entitlement);
}

function render(body, entitlement) {
  body.replaceChildren(...(entitlement.active ? activePlan(entitlement) : noPlan(entitlement)));
}

// ---- an active plan --------------------------------------------------------------------------------

// Where the plan came from; a gift names its giver as the API gives it (`gift_from`: the buyer's
// chosen name, or their address with part of it hidden, and the page says so).
function sourceWords(entitlement) {
  const words = SOURCES[entitlement.source] ?? entitlement.source;
  if (entitlement.source !== "gift" || !entitlement.gift_from) return [words];
  const masked = entitlement.gift_from.includes("***");
  return [`${words} from `, el("strong", { id: "gift-from" }, entitlement.gift_from),
    masked ? el("span", { class: "hint" }, " (part of the address is hidden)") : null];
}

// The service's count of days left (GET /me/entitlement's `days_left`), else the page's own.
function leftOf(entitlement) {
  return Number.isInteger(entitlement.days_left) ? entitlement.days_left : daysLeft(entitlement.term_end);
}

function activePlan(entitlement) {
  const plan = planName(entitlement.plan);
  const left = leftOf(entitlement);
  const gifted = GIFTED.has(entitlement.source);
  const parts = [el("section", { class: "entitlement", "aria-labelledby": "current" },
    el("h2", { id: "current" }, `${plan} plan`),
    el("dl", { class: "facts" },
      el("div", {}, el("dt", {}, "From"), el("dd", { id: "source" }, ...sourceWords(entitlement))),
      el("div", {}, el("dt", {}, entitlement.auto_renew ? "Renews on" : "Until"),
        el("dd", { id: "term-end" }, momentUtc(entitlement.term_end))),
      entitlement.auto_renew ? null : el("div", {}, el("dt", {}, "Days left"), el("dd", { id: "days-left" }, count(left, "day", "days"))),
      el("div", {}, el("dt", {}, "Renews by itself"), el("dd", { id: "auto-renew" }, entitlement.auto_renew ? "Yes, every year" : "No"))),
    entitlement.auto_renew
      ? el("p", { class: "hint", id: "renews-note" }, `Your ${plan} subscription renews on ${day(entitlement.term_end)} and every year after, until you cancel it.`)
      : el("p", { class: "hint" }, gifted
        ? "A gifted or claimed plan ends with its purchase's year and does not renew by itself."
        : "This subscription does not renew: it ends on the date above."))];
  if (!entitlement.auto_renew && left <= config.endingSoonDays) {
    parts.unshift(el("p", { class: "notice warn ending-soon", id: "ending-soon" },
      `Your ${plan} plan ends in ${count(left, "day", "days")}, on ${day(entitlement.term_end)}. `
      + (gifted ? "Choose below how to keep a plan after that." : "")));
  }
  if (gifted) parts.push(nextChoice(entitlement));
  return parts;
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
    el("label", { for: "renew-plan" }, `Plan from ${ends}`), renewSelect, renewSummary);
  const targetSelect = el("select", { id: "target", name: "target" },
    higher.map((p) => el("option", { value: p.id }, `${p.name}, ${yearly(p)}`)));
  const quoteArea = el("div", { id: "quote-result", "aria-live": "polite" });
  const upgradePart = el("div", { class: "choice-detail", id: "upgrade-detail", hidden: true },
    el("label", { for: "target" }, "Upgrade to"), targetSelect, quoteArea);
  const go = el("button", { type: "submit", class: "primary", id: "continue-plan" }, "");
  const errors = errorBox(go);
  let quote = null;

  const options = higher.length
    ? el("fieldset", { class: "segmented" },
      el("legend", {}, "What would you like?"),
      el("div", { class: "option" }, renewOption, el("label", { for: "choice-renew" }, "Renew when it ends"),
        el("p", { class: "hint", id: "choice-renew-hint" }, `A yearly plan of your own from ${ends}: nothing to pay until then.`)),
      el("div", { class: "option" }, upgradeOption, el("label", { for: "choice-upgrade" }, "Upgrade now"),
        el("p", { class: "hint", id: "choice-upgrade-hint" }, "A higher plan from today: what is left of this one is taken off its price.")))
    : null;

  const update = () => {
    const upgrading = upgradeOption.checked;
    renewPart.hidden = upgrading;
    upgradePart.hidden = !upgrading;
    const renewTo = planById(renewSelect.value);
    renewSummary.textContent = `${renewTo.name} from ${ends}, ${yearly(renewTo)} until you cancel. Nothing to pay today.`;
    if (!upgrading) go.textContent = `Renew as ${renewTo.name}`;
    else if (quote && quote.plan === targetSelect.value) {
      go.textContent = `Upgrade to ${planName(quote.plan)} and pay ${money(quote.amount_due, quote.currency)}`;
    } else go.textContent = `Upgrade to ${planName(targetSelect.value)}`;
  };

  const fetchQuote = async () => {
    quote = null;
    update();
    quoteArea.replaceChildren(el("p", { class: "loading" }, "Working out your credit…"));
    try {
      quote = await api("/me/upgrade/quote", { method: "POST", body: { plan: targetSelect.value } });
      quoteArea.replaceChildren(quoteFacts(quote));
    } catch (error) {
      quoteArea.replaceChildren(el("p", { class: "error" }, error.message));
    }
    update();
  };

  const form = el("form", { class: "next-choice", "aria-labelledby": "next-title", novalidate: true },
    el("h2", { id: "next-title" }, `After ${ends}`),
    el("p", {}, `Your ${planName(entitlement.plan)} plan ends then. To keep a plan, choose how:`),
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
      }, { label: "Opening the payment page…", errors });
    } else {
      busy(go, async () => {
        const checkout = await api("/me/renewal/checkout", { method: "POST", body: { plan: renewSelect.value } });
        rememberCheckout(checkout.session_id, "renewal", { plan: checkout.plan,
          starts_billing_at: checkout.starts_billing_at, note: checkout.note ?? null });
        location.assign(checkout.url);
      }, { label: "Opening the payment page…", errors });
    }
  });
  update();
  return form;
}

function quoteFacts(quote) {
  return el("div", {},
    el("dl", { class: "facts quote" },
      el("div", {}, el("dt", {}, `${planName(quote.plan)}, one year`), el("dd", {}, money(quote.target_price, quote.currency))),
      el("div", {}, el("dt", {}, `Credit for ${count(quote.remaining_days, "day", "days")} left of ${quote.term_days}`),
        el("dd", {}, `− ${money(quote.credit, quote.currency)}`)),
      el("div", { class: "due" }, el("dt", {}, "Due today"), el("dd", { id: "amount-due" }, money(quote.amount_due, quote.currency)))),
    el("p", { class: "hint" }, `Then ${planName(quote.plan)} renews every year at ${money(quote.target_price, quote.currency)} until you cancel.`),
    quote.quote_expires_at ? el("p", { class: "hint", id: "quote-holds" }, `This price holds until ${momentUtc(quote.quote_expires_at)}.`) : null);
}

// ---- no active plan --------------------------------------------------------------------------------

function noPlan(entitlement) {
  const plan = entitlement.plan ? planName(entitlement.plan) : null;
  const parts = [];
  if (!entitlement.source) {
    parts.push(el("p", { id: "no-plan" }, "You have no plan yet. Were you given one? Open the link in your "
      + "invitation email to accept it."));
  } else if (entitlement.source === "subscription") {
    parts.push(el("p", { id: "no-plan" }, `You have no active plan: your ${plan} subscription's last period ended on ${day(entitlement.term_end)}.`));
  } else if (leftOf(entitlement) > 0) {
    parts.push(el("p", { id: "no-plan" }, `You have no active plan: your ${plan} plan (${SOURCES[entitlement.source].toLowerCase()}) `
      + "was cancelled before its end date, because the purchase it came from was refunded or cancelled. You were told by email."));
  } else {
    parts.push(el("p", { id: "no-plan" }, `You have no active plan: your ${plan} plan (${SOURCES[entitlement.source].toLowerCase()}) `
      + `ended on ${day(entitlement.term_end)}. A gifted or claimed plan does not renew by itself.`));
    parts.push(renewAfterEnd(entitlement)); // the API says when it is too late
  }
  if (config.renewUrl) parts.push(el("p", {}, el("a", { class: "button-link", id: "renew", href: config.renewUrl }, "Subscribe to a plan for yourself")));
  parts.push(el("p", { class: "hint" }, "Want to give plans to other people? ", el("a", { href: "/" }, "See the plans"), "."));
  return parts;
}

// The "plan ended" email's "Renew your plan" link lands here: within 30 days after the end,
// renewing is still offered; billing starts at checkout.
function renewAfterEnd(entitlement) {
  const select = el("select", { id: "renew-plan", name: "plan" },
    config.plans.map((p) => el("option", { value: p.id, selected: p.id === entitlement.plan }, `${p.name}, ${yearly(p)}`)));
  const button = el("button", { type: "submit", class: "primary", id: "continue-plan" }, "Renew");
  const errors = errorBox(button);
  const form = el("form", { class: "renew-form", "aria-labelledby": "renew-title" },
    el("h2", { id: "renew-title" }, "Renew"),
    el("label", { for: "renew-plan" }, "Plan"), select,
    el("p", { class: "hint" }, "Billing starts when you complete the checkout; the plan renews every year until you cancel it."),
    el("div", { class: "action-group" }, button), errors);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(button, async () => {
      const checkout = await api("/me/renewal/checkout", { method: "POST", body: { plan: select.value } });
      rememberCheckout(checkout.session_id, "renewal", { plan: checkout.plan,
        starts_billing_at: checkout.starts_billing_at, note: checkout.note ?? null });
      location.assign(checkout.url);
    }, { label: "Opening the payment page…", errors });
  });
  return form;
}

// ---- back from Stripe Checkout (an upgrade or a renewal) -------------------------------------------

function arrived(known, entitlement) {
  if (entitlement.source !== "subscription" || !entitlement.active) return false;
  return !known?.plan || entitlement.plan === known.plan;
}

function arrivedWords(known, entitlement) {
  const plan = planById(entitlement.plan);
  if (known?.kind === "upgrade") {
    const paid = known.amount_due !== undefined ? ` You paid ${money(known.amount_due, known.currency)} today;` : "";
    return `Thank you: you are on ${plan?.name ?? entitlement.plan} now.${paid} it renews every year on `
      + `${day(entitlement.term_end)}${plan ? ` at ${money(plan.amount, plan.currency)}` : ""} until you cancel.`;
  }
  const first = known?.starts_billing_at ? day(known.starts_billing_at) : day(entitlement.term_end);
  return `Thank you: your ${plan?.name ?? entitlement.plan} plan now renews by itself. `
    + (known?.note ?? `Your first payment${plan ? `, ${money(plan.amount, plan.currency)},` : ""} is taken on ${first}.`);
}

async function confirmCheckout(note, body, first) {
  const known = checkoutFor(sessionId);
  const deadline = Date.now() + config.confirmSeconds * 1000;
  note.className = "notice checkout-note";
  note.setAttribute("role", "status");
  note.replaceChildren(el("p", { class: "loading" }, "Thank you: confirming your payment with Stripe…"));
  let entitlement = first;
  for (;;) {
    if (arrived(known, entitlement)) {
      render(body, entitlement);
      note.className = "notice ok checkout-note";
      note.replaceChildren(el("p", { id: "checkout-result" }, arrivedWords(known, entitlement)));
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
  const again = el("button", { type: "button", class: "secondary", id: "check-again" }, "Check again");
  again.addEventListener("click", () => confirmCheckout(note, body, entitlement));
  note.className = "notice warn checkout-note";
  note.replaceChildren(
    el("h2", { id: "checkout-waiting" }, "We have not heard from Stripe about this payment yet"),
    el("p", {}, "If you paid, your plan changes here within a few minutes and Stripe emails you a receipt. "
      + "Nothing is charged twice: there is no need to pay again."),
    el("p", { class: "hint" }, "Still nothing after an hour? Contact support and give them this reference: ",
      el("code", {}, sessionId), "."),
    el("div", { class: "action-group" }, again));
}

onAuthChange(() => { clearStatus(); load(); });
load();
