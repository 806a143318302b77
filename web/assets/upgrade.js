// Support's upgrade offer (the emailed link `/upgrade?offer=...`, valid 7 days): the offer leaves
// the address bar at once; the button asks the service for a fresh quote and Stripe Checkout
// (POST /upgrade-offers/checkout, no sign-in: the link is the capability), and goes on to Stripe.
// An ended or used offer gets the service's sentence (410) and the way to My plan.
import { api } from "./api.js";
import { t } from "./i18n.js";
import { busy, el, errorBox, mountHeader } from "./ui.js";
import { money } from "./format.js";

mountHeader();
const content = document.getElementById("content");
const KEY = "giftplans.offer";

function offerFromLink() {
  const query = new URLSearchParams(location.search);
  const found = query.get("offer") || new URLSearchParams(location.hash.replace(/^#/, "")).get("offer");
  if (found) {
    sessionStorage.setItem(KEY, found);
    query.delete("offer");
    const rest = query.toString();
    history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : ""));
    return found;
  }
  return sessionStorage.getItem(KEY);
}

const offer = offerFromLink();

function render() {
  if (!offer) {
    content.replaceChildren(el("p", { id: "no-offer" }, t("upgradeOffer.none")),
      el("p", {}, el("a", { href: "/plan" }, t("upgradeOffer.toPlan"))));
    return;
  }
  const go = el("button", { type: "button", class: "primary", id: "upgrade-go" }, t("upgradeOffer.go"));
  const errors = errorBox(go);
  go.addEventListener("click", () => busy(go, async () => {
    const checkout = await api("/upgrade-offers/checkout", { method: "POST", body: { offer } });
    const quote = checkout.quote;
    content.append(el("p", { id: "upgrade-quote" }, t("upgradeOffer.quote", {
      due: money(quote.amount_due, quote.currency),
      credit: money(quote.credit, quote.currency),
    })));
    location.assign(checkout.url);
  }, {
    label: t("upgradeOffer.going"),
    errors,
    explain: (error) => (error.status === 410 || error.status === 404
      ? [el("p", {}, error.message), el("p", {}, el("a", { href: "/plan" }, t("upgradeOffer.toPlan")))]
      : null),
  }));
  content.replaceChildren(el("p", {}, t("upgradeOffer.intro")), el("div", { class: "action-group" }, go), errors);
}

render();
