// The accept page: what the link gives and from whom, then accept (signed in, with the invited
// address, verified) or decline. Every refusal says what to do next, next to the button.
import { api } from "./api.js";
import { currentUser, onAuthChange, signOut, startSignIn } from "./auth.js";
import { planById } from "./config.js";
import { day, momentUtc, titleCase } from "./format.js";
import {
  busy, clearStatus, confirmAction, el, errorBox, linkToken, loading, mountHeader, showError, verifyEmailAction,
} from "./ui.js";

mountHeader();
const content = document.getElementById("content");
const token = linkToken("accept"); // out of the address bar and history at once
let preview = null;
let outcome = null; // after accept or decline: what to show instead of the buttons

const STATE_SENTENCES = {
  accepted: "This plan has already been accepted. If that was you, it is on your plan page.",
  upgraded: "This plan has already been accepted and upgraded.",
};

function planName(id) {
  return planById(id)?.name ?? titleCase(id);
}

// Who it is from, as honestly as the API tells it. Today's preview gives a masked address
// (`sender`); a `from_name` (the buyer's chosen name) is shown first when the API sends one.
function senderLine() {
  if (preview.from_name) return [el("strong", { id: "sender" }, preview.from_name), preview.sender ? ` (${preview.sender})` : null];
  return [el("strong", { id: "sender" }, preview.sender), el("span", { class: "hint sender-note" },
    " (part of the address is hidden on this page; your invitation email shows it in full)")];
}

async function start() {
  if (!token) {
    content.replaceChildren(el("div", { class: "notice warn" },
      el("h2", {}, "This page needs your invitation link"),
      el("p", {}, "Open the link in your invitation email; it ends in a long code after “token=”. (This page keeps it only while this tab is open.)")));
    return;
  }
  loading(content, "Loading your invitation…");
  try {
    preview = await api(`/invitations/${encodeURIComponent(token)}`);
  } catch (error) {
    content.replaceChildren(el("div", { class: "notice warn", id: "preview-error" },
      el("h2", {}, "This invitation link does not work"),
      el("p", {}, linkRefusal(error)),
      el("p", {}, "If you still want the plan, ask the person who sent it for a new invitation.")));
    return;
  }
  render();
}

// The API's sentence, except where it would show a raw timestamp.
function linkRefusal(error) {
  if (error.code === "invitation_expired") return "This invitation's plan has ended: the year it was bought for is over.";
  return error.message;
}

function render() {
  const user = currentUser();
  const plan = planName(preview.plan);
  const gift = el("section", { class: "gift", "aria-labelledby": "gift-title" },
    el("h2", { id: "gift-title" }, `A ${plan} plan for you`),
    el("dl", { class: "facts" },
      el("div", {}, el("dt", {}, "From"), el("dd", {}, ...senderLine())),
      el("div", {}, el("dt", {}, "Plan"), el("dd", {}, plan)),
      el("div", {}, el("dt", {}, "Until"), el("dd", { id: "until" }, momentUtc(preview.term_end)))),
    preview.message ? el("blockquote", { class: "personal-message", id: "personal-message" }, preview.message) : null,
    el("p", { class: "hint" }, "The plan's year started when it was bought; accepting later does not extend it."));
  content.replaceChildren(gift);
  if (outcome) {
    gift.append(outcome);
    return;
  }
  if (preview.state !== "invited") {
    gift.append(el("p", { class: "notice", id: "state" }, STATE_SENTENCES[preview.state] ?? "This link no longer works.",
      " ", el("a", { href: "/plan" }, "See my plan"), "."));
    return;
  }
  const actions = el("div", { class: "accept-actions" });
  if (user) {
    const accept = el("button", { type: "button", class: "primary", id: "accept" }, "Accept the plan");
    const errors = errorBox(accept);
    accept.addEventListener("click", () => busy(accept, acceptGift,
      { label: "Accepting…", errors, explain: explainAccept }));
    actions.append(
      el("p", { id: "signed-in-as" }, "You are signed in as ", el("strong", {}, user.email),
        ". The plan goes to this account if the invitation was sent to this address."),
      el("div", { class: "action-group" }, accept), errors);
  } else {
    const signIn = el("button", { type: "button", class: "primary", id: "sign-in-to-accept" }, "Sign in to accept");
    signIn.addEventListener("click", startSignIn);
    actions.append(
      el("div", { class: "prompt", id: "signin-prompt" },
        el("p", {}, el("strong", {}, "Sign in with the email address this invitation was sent to"),
          ": the one at which you received it. New here? Signing in with it creates your account."),
        el("div", { class: "action-group" }, signIn)));
  }
  const decline = el("button", { type: "button", class: "secondary", id: "decline" }, "Decline");
  decline.addEventListener("click", async () => {
    const sure = await confirmAction({
      title: `Decline the ${plan} plan?`,
      body: ["The link stops working, and the plan goes back to the person who sent it: they are told, "
        + "and can give it to someone else.", "This cannot be undone from this page."],
      confirm: "Decline the plan",
      cancel: "Keep it",
      danger: true,
    });
    if (sure) await busy(decline, declineGift, { label: "Declining…" });
  });
  actions.append(el("p", { class: "hint" }, "Not for you? Declining gives the plan back to the sender."),
    el("div", { class: "action-group" }, decline));
  gift.append(actions);
}

async function acceptGift() {
  const { entitlement } = await api("/invitations/accept", { method: "POST", body: { token } });
  outcome = el("div", { class: "ok outcome", id: "accepted", tabindex: -1 },
    el("p", {}, `Your ${planName(entitlement.plan)} plan is active until ${day(entitlement.term_end)}.`),
    el("p", {}, el("a", { href: "/plan" }, "See my plan")));
  render();
  outcome.focus();
}

// A 403 says why in its code: the address is not verified yet, or it is not the invited one.
function explainAccept(error) {
  const user = currentUser();
  if (error.code === "email_not_verified") {
    return [el("p", {}, `Verify ${user?.email ?? "your address"} to accept: we email a link to it; open it, `
      + "confirm, and come back to this page."),
    verifyEmailAction({ returnTo: `/accept#token=${encodeURIComponent(token)}`, returnLabel: "Back to your invitation" })];
  }
  if (error.code === "email_mismatch") {
    const out = el("button", { type: "button", class: "secondary", id: "switch-account" }, "Sign out");
    out.addEventListener("click", () => { signOut(); startSignIn(); });
    return [el("p", {}, error.message), el("p", {}, `You are signed in as ${user?.email}: sign out, then sign in with the address the invitation was sent to.`),
      el("div", { class: "action-group" }, out)];
  }
  if (error.code === "invitation_expired") return linkRefusal(error);
  if (error.code === "already_subscribed") {
    return [el("p", {}, error.message), el("p", {}, el("a", { href: "/plan" }, "See my plan"),
      ". If you do not need this one, decline it so the sender can give it to someone else.")];
  }
  return null;
}

async function declineGift() {
  await api("/invitations/decline", { method: "POST", body: { token } });
  outcome = el("div", { class: "ok outcome", id: "declined", tabindex: -1 },
    el("p", {}, "You declined the plan. The sender has been told and can give it to someone else."));
  render();
  outcome.focus();
}

onAuthChange(() => { clearStatus(); if (preview) render(); });
start().catch((error) => showError(content, error.message));
