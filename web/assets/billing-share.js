// Share it yourself (SPEC 8.2): an available seat becomes a single-use accept link that the buyer
// passes on themselves. The link is shown once, here, with a Copy button and the warning that
// whoever has it can take the plan; a resend of a shared seat answers a fresh link (the old dies).
import { api } from "./api.js";
import { limitExplain } from "./billing-common.js";
import { t } from "./i18n.js";
import { busy, el } from "./ui.js";

// purchase id -> {seatId, url, fresh}: the link just made, shown by the next render and then gone.
const justMade = new Map();

async function showOnce(purchase, seatId, answer, fresh, refresh) {
  justMade.set(purchase.purchase_id, { seatId, url: answer.url, fresh });
  await refresh();
  document.getElementById(`share-url-${purchase.purchase_id}`)?.focus();
}

// "Share a link" on an available seat.
export function shareButton(purchase, seat, refresh, done) {
  const button = el("button", { type: "button", class: "secondary share",
    "aria-label": t("billing.share.buttonLabel", { seat: seat.seat_id }) }, t("billing.share.button"));
  button.addEventListener("click", () => busy(button, async () => {
    const answer = await api(`/purchases/${encodeURIComponent(purchase.purchase_id)}/seats/${encodeURIComponent(seat.seat_id)}/link`,
      { method: "POST" });
    done(t("billing.share.made", { seat: seat.seat_id }));
    await showOnce(purchase, seat.seat_id, answer, false, refresh);
  }, { label: t("billing.share.making"), explain: limitExplain }));
  return el("div", { class: "action-group" }, button);
}

// "New link" on a shared seat: the resend of a shared seat answers {seat, url}.
export function newLinkButton(purchase, seat, refresh, done, explain) {
  const button = el("button", { type: "button", class: "secondary resend new-link",
    "aria-label": t("billing.share.newLabel", { seat: seat.seat_id }) }, t("billing.share.new"));
  button.addEventListener("click", () => busy(button, async () => {
    const answer = await api(`/purchases/${encodeURIComponent(purchase.purchase_id)}/seats/${encodeURIComponent(seat.seat_id)}/resend`,
      { method: "POST" });
    done(t("billing.share.renewed", { seat: seat.seat_id }));
    if (answer?.url) await showOnce(purchase, seat.seat_id, answer, true, refresh);
    else await refresh();
  }, { label: t("billing.share.making"), explain }));
  return el("div", { class: "action-group" }, button);
}

async function copy(url, input, said) {
  try {
    await navigator.clipboard.writeText(url);
    said.textContent = t("billing.share.copied");
  } catch {
    input.select();
    said.textContent = t("billing.share.copyByHand");
  }
}

// The panel with the link just made, or null: once only (the service keeps only its hash).
export function takeLinkPanel(purchase) {
  const made = justMade.get(purchase.purchase_id);
  if (!made) return null;
  justMade.delete(purchase.purchase_id);
  const id = purchase.purchase_id;
  const input = el("input", { type: "text", id: `share-url-${id}`, readonly: true, value: made.url,
    class: "share-url", spellcheck: "false", "aria-describedby": `share-warning-${id}` });
  const said = el("p", { class: "hint copy-status", role: "status" });
  const button = el("button", { type: "button", class: "primary copy-link" }, t("billing.share.copy"));
  button.addEventListener("click", () => copy(made.url, input, said));
  return el("section", { class: "notice warn share-panel", "aria-labelledby": `share-title-${id}` },
    el("h3", { id: `share-title-${id}` },
      t(made.fresh ? "billing.share.freshTitle" : "billing.share.title", { seat: made.seatId })),
    el("p", { class: "share-warning", id: `share-warning-${id}` }, t("billing.share.warning")),
    made.fresh ? el("p", { class: "hint" }, t("billing.share.oldDead")) : null,
    el("label", { for: `share-url-${id}` }, t("billing.share.urlLabel")),
    input,
    el("div", { class: "action-group" }, button),
    said);
}
