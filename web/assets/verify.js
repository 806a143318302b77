// Email verification: confirm the link's token, or ask for a new link. Buyers verify before
// inviting; recipients before accepting. Once confirmed, the page says so, the header follows, and
// it offers the way back to what the person was doing.
import { api } from "./api.js";
import { currentUser, markVerified, onAuthChange, startSignIn } from "./auth.js";
import {
  afterVerify, busy, clearStatus, el, errorBox, forgetAfterVerify, forgetLinkToken, linkToken, mountHeader,
  verifyEmailAction,
} from "./ui.js";

mountHeader();
const content = document.getElementById("content");
let token = linkToken("verify"); // out of the address bar and history at once
let confirmed = false;

function nextStep() {
  const back = afterVerify();
  if (back?.url) {
    const link = el("a", { class: "button-link primary-link", id: "after-verify", href: back.url }, back.label || "Continue");
    link.addEventListener("click", forgetAfterVerify);
    return el("p", {}, link);
  }
  return el("p", {}, "You can now ", el("a", { href: "/billing" }, "invite people to the plans you bought"),
    " or ", el("a", { href: "/plan" }, "accept a plan given to you"), " with this address.");
}

function render() {
  const user = currentUser();
  if (!user) {
    const signIn = el("button", { type: "button", class: "primary", id: "verify-sign-in" }, "Sign in");
    signIn.addEventListener("click", startSignIn);
    content.replaceChildren(el("div", { class: "prompt" },
      el("p", {}, "Sign in with the address you want to verify; then confirm it here."), signIn));
    return;
  }
  if (confirmed) {
    const done = el("div", { class: "ok outcome", id: "verified", tabindex: -1 },
      el("p", {}, `${user.email} is verified.`), nextStep());
    content.replaceChildren(done);
    done.focus();
    return;
  }
  if (token) {
    const confirm = el("button", { type: "button", class: "primary", id: "confirm" }, `Confirm ${user.email}`);
    const errors = errorBox(confirm);
    confirm.addEventListener("click", () => busy(confirm, async () => {
      await api("/me/email-verification/confirm", { method: "POST", body: { token } });
      token = null;
      confirmed = true;
      forgetLinkToken("verify"); // a reload must not offer a used link again
      markVerified();
      render();
    }, {
      label: "Confirming…",
      errors,
      explain: (error) => (error.code === "invalid_token"
        ? [el("p", {}, `${error.message} Links work for a day, only for the address they were sent to, and only the newest one.`),
          verifyEmailAction({ returnTo: afterVerify()?.url, returnLabel: afterVerify()?.label, id: "send-again" })]
        : null),
    }));
    content.replaceChildren(
      el("p", {}, "Confirm that this email address is yours. You are signed in as ", el("strong", {}, user.email), "."),
      el("div", { class: "action-group" }, confirm), errors);
    return;
  }
  if (user.verified) {
    content.replaceChildren(el("p", { id: "already-verified" }, `${user.email} is verified: there is nothing to do here.`), nextStep());
    return;
  }
  const back = afterVerify();
  content.replaceChildren(
    el("p", {}, `Verify ${user.email}: we email you a link, and you confirm it on this page. Buyers verify `
      + "their address before inviting people; recipients before accepting a plan."),
    verifyEmailAction({ returnTo: back?.url, returnLabel: back?.label, id: "send" }));
}

onAuthChange(() => { clearStatus(); confirmed = false; render(); });
render();
