// The accept page: what the link gives, then accept (signed in, with the invited address) or decline.
import { ApiError, api } from "./api.js";
import { currentUser, onAuthChange } from "./auth.js";
import { planById } from "./config.js";
import { announce, busy, clearStatus, day, el, mountHeader, titleCase } from "./ui.js";

mountHeader();
const content = document.getElementById("content");
const token = new URLSearchParams(location.search).get("token");
let preview = null;
let done = false;

const STATE_SENTENCES = {
  accepted: "This plan has already been accepted.",
  available: "This invitation was withdrawn or declined, so the link no longer works.",
  claimed: "This invitation is no longer available.",
  upgraded: "This plan has already been accepted and upgraded.",
  expired: "This plan's year has ended.",
  cancelled: "This plan was cancelled.",
};

function planName(id) {
  return planById(id)?.name ?? titleCase(id);
}

async function start() {
  if (!token) {
    content.append(el("p", { class: "error" }, "This page needs the link from your invitation email."));
    return;
  }
  try {
    preview = await api(`/invitations/${encodeURIComponent(token)}`);
  } catch (error) {
    content.append(el("p", { class: "error", id: "preview-error" }, error.message));
    return;
  }
  render();
}

function render() {
  const user = currentUser();
  const gift = el("section", { class: "gift", "aria-labelledby": "gift-title" },
    el("h2", { id: "gift-title" }, `A ${planName(preview.plan)} plan from ${preview.sender}`),
    el("p", {}, `${preview.sender} has given you a ${planName(preview.plan)} plan until `,
      el("strong", {}, day(preview.term_end)), "."),
    el("p", { class: "hint" }, "The plan's year started when it was bought; accepting later does not extend it."));
  content.replaceChildren(gift);
  if (done) return;
  if (preview.state !== "invited") {
    gift.append(el("p", { class: "notice", id: "state" }, STATE_SENTENCES[preview.state] ?? "This link no longer works."));
    return;
  }
  const actions = el("div", { class: "actions" });
  if (user) {
    const accept = el("button", { type: "button", class: "primary", id: "accept" }, "Accept the plan");
    accept.addEventListener("click", () => busy(accept, acceptGift));
    actions.append(
      el("p", {}, "You are signed in as ", el("strong", {}, user.email),
        ". Accept with the address the invitation was sent to."),
      accept);
  } else {
    actions.append(el("p", { class: "prompt", id: "signin-prompt" },
      "To accept, sign in (at the top of the page) with the email address this invitation was sent to."));
  }
  const decline = el("button", { type: "button", class: "secondary", id: "decline" }, "Decline");
  decline.addEventListener("click", () => busy(decline, declineGift));
  actions.append(el("p", { class: "hint" }, "Not for you? Declining gives the plan back to the sender."), decline);
  gift.append(actions);
}

async function acceptGift() {
  try {
    const { entitlement } = await api("/invitations/accept", { method: "POST", body: { token } });
    done = true;
    render();
    content.append(el("p", { class: "ok", id: "accepted" },
      `Your ${planName(entitlement.plan)} plan is active until ${day(entitlement.term_end)}. `,
      el("a", { href: "/plan" }, "See my plan"), "."));
    announce("Accepted: your plan is active.", "ok");
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) {
      // Most often the email mismatch: say the API's sentence, and what to do about it.
      announce(`${error.message} You are signed in as ${currentUser()?.email}; sign out and sign in with the invited address.`, "error");
      return;
    }
    throw error;
  }
}

async function declineGift() {
  await api("/invitations/decline", { method: "POST", body: { token } });
  done = true;
  render();
  content.append(el("p", { class: "ok", id: "declined" }, `You declined the plan; ${preview.sender} has been told.`));
  announce("Declined.", "ok");
}

onAuthChange(() => { clearStatus(); if (preview) render(); });
start();
