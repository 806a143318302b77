// The plan picker: a plan, "For others" (or where a plan for yourself comes from), how many, then
// Stripe Checkout.
import { api, idempotencyKey } from "./api.js";
import { currentUser, startSignIn } from "./auth.js";
import { rememberCheckout } from "./checkout.js";
import { config } from "./config.js";
import { money, number } from "./format.js";
import { t } from "./i18n.js";
import { busy, el, errorBox, mountHeader, showError } from "./ui.js";

mountHeader();

const plans = el("fieldset", { class: "plans" },
  el("legend", {}, t("index.pickPlan")),
  config.plans.map((plan, index) =>
    el("div", { class: "plan-card" },
      el("input", { type: "radio", name: "plan", id: `plan-${plan.id}`, value: plan.id,
        checked: index === 1, "aria-describedby": `plan-${plan.id}-details` }),
      el("label", { for: `plan-${plan.id}` },
        el("span", { class: "plan-name" }, plan.name),
        el("span", { class: "price" }, money(plan.amount, plan.currency), el("small", {}, t("index.perYear")))),
      el("ul", { id: `plan-${plan.id}-details` }, plan.features.map((f) => el("li", {}, t(f)))))));

// Who it is for: this page sells plans for others; a plan for yourself is your own subscription.
const forOthers = el("input", { type: "radio", name: "for", id: "for-others", value: "others", checked: true,
  "aria-describedby": "for-others-hint" });
const forMe = el("input", { type: "radio", name: "for", id: "for-me", value: "me", "aria-describedby": "for-me-hint" });
const who = el("fieldset", { class: "who-for" },
  el("legend", {}, t("index.whoFor")),
  el("div", { class: "segmented" },
    el("div", { class: "option" }, forOthers,
      el("label", { for: "for-others" }, t("index.forOthers")),
      el("p", { class: "hint", id: "for-others-hint" }, t("index.forOthersHint"))),
    el("div", { class: "option" }, forMe,
      el("label", { for: "for-me" }, t("index.forMe")),
      el("p", { class: "hint", id: "for-me-hint" }, t("index.forMeHint")))));

const quantityError = el("p", { class: "field-error", id: "quantity-error" });
const quantity = el("input", { id: "quantity", name: "quantity", type: "number", min: 1, step: 1,
  max: config.maxQuantity, value: 1, required: true, inputmode: "numeric", "aria-describedby": "total quantity-error" });
const total = el("p", { id: "total", class: "total", "aria-live": "polite" });
const howMany = el("div", { class: "how-many" },
  el("label", { for: "quantity" }, t("index.howMany", { max: number(config.maxQuantity) })),
  quantity, quantityError, total);

const buy = el("button", { type: "submit", id: "buy", class: "primary" }, t("index.continue"));
const buyError = errorBox(buy);
const checkoutPart = el("div", { class: "checkout-part" }, howMany, el("div", { class: "action-group" }, buy), buyError);
const selfPart = el("div", { class: "notice", id: "for-me-note", hidden: true },
  el("p", {}, t("index.selfNote")),
  config.renewUrl ? el("p", {}, el("a", { class: "button-link", href: config.renewUrl }, t("index.subscribe"))) : null,
  el("p", { class: "hint" }, t("index.selfHint")));
const form = el("form", { id: "buy-form", novalidate: true }, plans, who, selfPart, checkoutPart);
document.getElementById("content").append(form);

function chosenPlan() {
  return config.plans.find((p) => p.id === form.elements.plan.value) ?? config.plans[0];
}

// A whole number from 1 to the limit, or the sentence that says what is wrong with the entry.
function quantityProblem() {
  const raw = quantity.value.trim();
  if (quantity.validity.badInput || raw === "") return t("index.enterQuantity", { max: number(config.maxQuantity) });
  const n = Number(raw);
  if (!Number.isInteger(n)) return t("index.notWhole", { raw, max: number(config.maxQuantity) });
  if (n < 1 || n > config.maxQuantity) return t("index.outOfRange", { max: number(config.maxQuantity) });
  return null;
}

function showTotal() {
  const problem = quantityProblem();
  const plan = chosenPlan();
  quantityError.textContent = "";
  quantity.removeAttribute("aria-invalid");
  if (problem) {
    total.textContent = "";
    return;
  }
  const n = Number(quantity.value);
  total.textContent = t("index.total", {
    count: n, n: number(n), plan: plan.name, price: money(plan.amount, plan.currency), total: money(plan.amount * n, plan.currency),
  });
}

function showWho() {
  const me = forMe.checked;
  selfPart.hidden = !me;
  checkoutPart.hidden = me;
}

// "Buy them again" (Billing, after a failed payment) comes back with ?plan=...&quantity=...
const asked = new URLSearchParams(location.search);
const askedPlan = config.plans.find((p) => p.id === asked.get("plan"));
if (askedPlan) document.getElementById(`plan-${askedPlan.id}`).checked = true;
if (asked.has("quantity")) quantity.value = asked.get("quantity");

form.addEventListener("input", showTotal);
form.addEventListener("change", showWho);
showTotal();
showWho();

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const problem = quantityProblem();
  if (problem) {
    quantityError.textContent = problem;
    quantity.setAttribute("aria-invalid", "true");
    quantity.focus();
    return;
  }
  const plan = chosenPlan();
  const n = Number(quantity.value);
  if (!currentUser()) {
    const signIn = el("button", { type: "button", class: "secondary", id: "buy-sign-in" }, t("auth.signIn"));
    signIn.addEventListener("click", startSignIn);
    showError(buyError, [el("p", {}, t("index.signInFirst")), signIn]);
    return;
  }
  await busy(buy, async () => {
    const session = await api("/checkout/sessions", {
      method: "POST",
      body: { plan: plan.id, quantity: n },
      headers: { "idempotency-key": idempotencyKey() },
    });
    rememberCheckout(session.session_id, "gift", { plan: plan.id, quantity: n });
    location.assign(session.url);
  }, { label: t("index.opening"), errors: buyError });
});
