// The plan picker: a plan, "For Others" and how many, then Stripe Checkout.
import { api, idempotencyKey } from "./api.js";
import { currentUser } from "./auth.js";
import { config } from "./config.js";
import { announce, busy, el, money, mountHeader } from "./ui.js";

mountHeader();

const plans = el("fieldset", { class: "plans" },
  el("legend", {}, "1. Pick a plan"),
  config.plans.map((plan, index) =>
    el("div", { class: "plan-card" },
      el("input", { type: "radio", name: "plan", id: `plan-${plan.id}`, value: plan.id,
        checked: index === 1, "aria-describedby": `plan-${plan.id}-details` }),
      el("label", { for: `plan-${plan.id}` },
        el("span", { class: "plan-name" }, plan.name),
        el("span", { class: "price" }, money(plan.amount, plan.currency), el("small", {}, " / year"))),
      el("ul", { id: `plan-${plan.id}-details` }, plan.features.map((f) => el("li", {}, f))))));

const quantity = el("input", { id: "quantity", name: "quantity", type: "number", min: 1,
  max: config.maxQuantity, value: 1, required: true, inputmode: "numeric", "aria-describedby": "total" });
const total = el("p", { id: "total", class: "total" });

const who = el("fieldset", { class: "who-for" },
  el("legend", {}, "2. Who is it for?"),
  el("div", { class: "choice" },
    el("input", { type: "radio", name: "for", id: "for-others", value: "others", checked: true }),
    el("label", { for: "for-others" }, "For Others"),
    el("p", { class: "hint" }, "Each plan is a seat you can give to someone, or keep one for yourself.")),
  el("label", { for: "quantity" }, `How many plans? (1 to ${config.maxQuantity})`),
  quantity,
  total);

const buy = el("button", { type: "submit", id: "buy", class: "primary" }, "Continue to payment");
const form = el("form", { id: "buy-form", novalidate: true }, plans, who, buy);
document.getElementById("content").append(form);

function chosen() {
  const plan = config.plans.find((p) => p.id === form.elements.plan.value) ?? config.plans[0];
  const count = Number.parseInt(quantity.value, 10);
  return { plan, count };
}

function showTotal() {
  const { plan, count } = chosen();
  total.textContent = Number.isInteger(count) && count >= 1 && count <= config.maxQuantity
    ? `${count} × ${money(plan.amount, plan.currency)} = ${money(plan.amount * count, plan.currency)} for one year`
    : `Enter a whole number from 1 to ${config.maxQuantity}.`;
}
form.addEventListener("input", showTotal);
showTotal();

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const { plan, count } = chosen();
  if (!Number.isInteger(count) || count < 1 || count > config.maxQuantity) {
    announce(`How many plans: enter a whole number from 1 to ${config.maxQuantity}.`, "error");
    quantity.focus();
    return;
  }
  if (!currentUser()) {
    announce("Sign in first (at the top of the page), then continue to payment.", "error");
    document.getElementById("signin-email")?.focus();
    return;
  }
  await busy(buy, async () => {
    const session = await api("/checkout/sessions", {
      method: "POST",
      body: { plan: plan.id, quantity: count },
      headers: { "idempotency-key": idempotencyKey() },
    });
    announce("Taking you to the payment page…");
    location.assign(session.url);
  });
});
