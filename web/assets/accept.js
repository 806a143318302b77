// The accept page: what the link gives and from whom, then accept (signed in, with the invited
// address, verified) or decline. Every refusal says what to do next, next to the button.
import { api } from "./api.js";
import { currentUser, onAuthChange, signOut, startSignIn } from "./auth.js";
import { planById } from "./config.js";
import { day, momentUtc, money, titleCase } from "./format.js";
import { t } from "./i18n.js";
import {
  busy, clearStatus, confirmAction, el, errorBox, linkToken, loading, mountHeader, showError, verifyEmailAction,
} from "./ui.js";

mountHeader();
const content = document.getElementById("content");
const token = linkToken("accept"); // out of the address bar and history at once
let preview = null;
let outcome = null; // after accept or decline: what to show instead of the buttons

const STATE_SENTENCES = {
  accepted: "accept.state.accepted",
  upgraded: "accept.state.upgraded",
};

function planName(id) {
  return planById(id)?.name ?? titleCase(id);
}

// Who it is from (SPEC 8.4): the buyer's chosen `from_name` first, then the buyer's address
// (`from_email`), which a holder of a valid link may see in full.
function senderLine() {
  const name = preview.from_name || preview.sender;
  const address = preview.from_email && preview.from_email !== name ? ` (${preview.from_email})` : null;
  return [el("strong", { id: "sender" }, name), address ? el("span", { class: "sender-email" }, address) : null];
}

async function start() {
  if (!token) {
    content.replaceChildren(el("div", { class: "notice warn" },
      el("h2", {}, t("accept.needsLink")),
      el("p", {}, t("accept.needsLinkLead"))));
    return;
  }
  loading(content, t("accept.loading"));
  try {
    preview = await api(`/invitations/${encodeURIComponent(token)}`);
  } catch (error) {
    content.replaceChildren(el("div", { class: "notice warn", id: "preview-error" },
      el("h2", {}, t("accept.linkBroken")),
      el("p", {}, linkRefusal(error)),
      el("p", {}, t("accept.askAgain"))));
    return;
  }
  render();
}

// The API's sentence, except where it would show a raw timestamp.
function linkRefusal(error) {
  if (error.code === "invitation_expired") return t("accept.expired");
  return error.message;
}

function render() {
  const user = currentUser();
  const plan = planName(preview.plan);
  const gift = el("section", { class: "gift", "aria-labelledby": "gift-title" },
    el("h2", { id: "gift-title" }, t("accept.giftHeading", { plan })),
    el("dl", { class: "facts" },
      el("div", {}, el("dt", {}, t("accept.from")), el("dd", {}, ...senderLine())),
      el("div", {}, el("dt", {}, t("accept.plan")), el("dd", {}, plan)),
      el("div", {}, el("dt", {}, t("accept.until")), el("dd", { id: "until" }, momentUtc(preview.term_end)))),
    preview.message ? el("blockquote", { class: "personal-message", id: "personal-message" }, preview.message) : null,
    el("p", { class: "hint" }, t("accept.termHint")));
  content.replaceChildren(gift);
  if (outcome) {
    gift.append(outcome);
    return;
  }
  if (preview.state !== "invited") {
    gift.append(el("p", { class: "notice", id: "state" }, t(STATE_SENTENCES[preview.state] ?? "accept.state.gone"),
      " ", el("a", { href: "/plan" }, t("accept.seeMyPlan"))));
    return;
  }
  const actions = el("div", { class: "accept-actions" });
  if (user) {
    const accept = el("button", { type: "button", class: "primary", id: "accept" }, t("accept.accept"));
    const errors = errorBox(accept);
    accept.addEventListener("click", () => busy(accept, acceptGift,
      { label: t("accept.accepting"), errors, explain: explainAccept }));
    actions.append(
      el("p", { id: "signed-in-as" }, t("accept.signedInAs"), " ", el("strong", {}, user.email),
        ". ", t("accept.goesToAccount")),
      el("div", { class: "action-group" }, accept), errors);
  } else {
    const signIn = el("button", { type: "button", class: "primary", id: "sign-in-to-accept" }, t("accept.signInToAccept"));
    signIn.addEventListener("click", startSignIn);
    actions.append(
      el("div", { class: "prompt", id: "signin-prompt" },
        el("p", {}, el("strong", {}, t("accept.signInWith")), ": ", t("accept.signInWithRest")),
        el("div", { class: "action-group" }, signIn)));
  }
  const decline = el("button", { type: "button", class: "secondary", id: "decline" }, t("accept.decline"));
  decline.addEventListener("click", async () => {
    const sure = await confirmAction({
      title: t("accept.declineTitle", { plan }),
      body: [t("accept.declineBody"), t("accept.declineFinal")],
      confirm: t("accept.declineConfirm"),
      cancel: t("accept.declineKeep"),
      danger: true,
    });
    if (sure) await busy(decline, declineGift, { label: t("accept.declining") });
  });
  actions.append(el("p", { class: "hint" }, t("accept.declineHint")),
    el("div", { class: "action-group" }, decline));
  gift.append(actions);
}

async function acceptGift() {
  const { entitlement, credited } = await api("/invitations/accept", { method: "POST", body: { token } });
  // SPEC 8.5: an account that already has a plan gets the gift's remaining value as a credit.
  const currency = planById(preview.plan)?.currency ?? "usd";
  const said = credited > 0
    ? [el("p", { id: "credited" }, t("accept.credited", { plan: planName(preview.plan), sender: preview.from_name || preview.from_email || preview.sender,
      amount: money(credited, currency) })), el("p", {}, t("accept.creditedNext"))]
    : [el("p", {}, t("accept.active", { plan: planName(entitlement.plan), date: day(entitlement.term_end) }))];
  outcome = el("div", { class: "ok outcome", id: "accepted", tabindex: -1 },
    ...said, el("p", {}, el("a", { href: "/plan" }, t("accept.seeMyPlan"))));
  render();
  outcome.focus();
}

// A 403 says why in its code: the address is not verified yet, or it is not the invited one.
function explainAccept(error) {
  const user = currentUser();
  if (error.code === "email_not_verified") {
    return [el("p", {}, t("accept.verifyFirst", { email: user?.email ?? t("accept.yourAddress") })),
    verifyEmailAction({ returnTo: `/accept#token=${encodeURIComponent(token)}`, returnLabel: t("accept.backToInvitation") })];
  }
  if (error.code === "email_mismatch") {
    const out = el("button", { type: "button", class: "secondary", id: "switch-account" }, t("accept.signOut"));
    out.addEventListener("click", () => { signOut(); startSignIn(); });
    return [el("p", {}, error.message), el("p", {}, t("accept.mismatch", { email: user?.email ?? "" })),
      el("div", { class: "action-group" }, out)];
  }
  if (error.code === "invitation_expired") return linkRefusal(error);
  if (error.code === "already_subscribed") {
    return [el("p", {}, error.message), el("p", {}, el("a", { href: "/plan" }, t("accept.seeMyPlan")),
      ". ", t("accept.notNeeded"))];
  }
  return null;
}

async function declineGift() {
  await api("/invitations/decline", { method: "POST", body: { token } });
  outcome = el("div", { class: "ok outcome", id: "declined", tabindex: -1 },
    el("p", {}, t("accept.declined")));
  render();
  outcome.focus();
}

onAuthChange(() => { clearStatus(); if (preview) render(); });
start().catch((error) => showError(content, error.message));
