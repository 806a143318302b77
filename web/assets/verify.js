// Email verification: confirm the link's token, or ask for a new link. Buyers verify before
// inviting; recipients before accepting. Once confirmed, the page says so, the header follows, and
// it offers the way back to what the person was doing.
import { api } from "./api.js";
import { currentUser, markVerified, onAuthChange, startSignIn } from "./auth.js";
import { t } from "./i18n.js";
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
    const link = el("a", { class: "button-link primary-link", id: "after-verify", href: back.url }, back.label || t("verify.continue"));
    link.addEventListener("click", forgetAfterVerify);
    return el("p", {}, link);
  }
  return el("p", {}, t("verify.canNow"), " ", el("a", { href: "/billing" }, t("verify.canInvite")),
    " ", t("verify.or"), " ", el("a", { href: "/plan" }, t("verify.canAccept")), t("verify.withAddress"));
}

function render() {
  const user = currentUser();
  if (!user) {
    const signIn = el("button", { type: "button", class: "primary", id: "verify-sign-in" }, t("verify.signIn"));
    signIn.addEventListener("click", startSignIn);
    content.replaceChildren(el("div", { class: "prompt" },
      el("p", {}, t("verify.signInLead")), signIn));
    return;
  }
  if (confirmed) {
    const done = el("div", { class: "ok outcome", id: "verified", tabindex: -1 },
      el("p", {}, t("verify.isVerified", { email: user.email })), nextStep());
    content.replaceChildren(done);
    done.focus();
    return;
  }
  if (token) {
    const confirm = el("button", { type: "button", class: "primary", id: "confirm" }, t("verify.confirm", { email: user.email }));
    const errors = errorBox(confirm);
    confirm.addEventListener("click", () => busy(confirm, async () => {
      await api("/me/email-verification/confirm", { method: "POST", body: { token } });
      token = null;
      confirmed = true;
      forgetLinkToken("verify"); // a reload must not offer a used link again
      markVerified();
      render();
    }, {
      label: t("verify.confirming"),
      errors,
      explain: (error) => (error.code === "invalid_token"
        ? [el("p", {}, error.message, " ", t("verify.linkRules")),
          verifyEmailAction({ returnTo: afterVerify()?.url, returnLabel: afterVerify()?.label, id: "send-again" })]
        : null),
    }));
    content.replaceChildren(
      el("p", {}, t("verify.confirmLead"), " ", el("strong", {}, user.email), "."),
      el("div", { class: "action-group" }, confirm), errors);
    return;
  }
  if (user.verified) {
    content.replaceChildren(el("p", { id: "already-verified" }, t("verify.already", { email: user.email })), nextStep());
    return;
  }
  const back = afterVerify();
  content.replaceChildren(
    el("p", {}, t("verify.lead", { email: user.email })),
    verifyEmailAction({ returnTo: back?.url, returnLabel: back?.label, id: "send" }));
}

onAuthChange(() => { clearStatus(); confirmed = false; render(); });
render();
