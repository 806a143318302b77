// Email verification: confirm the link's token, or ask for a new link.
import { api } from "./api.js";
import { currentUser, onAuthChange } from "./auth.js";
import { announce, busy, clearStatus, el, mountHeader } from "./ui.js";

mountHeader();
const content = document.getElementById("content");
const token = new URLSearchParams(location.search).get("token");

function render() {
  content.replaceChildren();
  const user = currentUser();
  if (!user) {
    content.append(el("p", { class: "prompt" }, "Sign in (at the top of the page) to verify your email address."));
    return;
  }
  if (token) {
    const confirm = el("button", { type: "button", class: "primary", id: "confirm" }, `Confirm ${user.email}`);
    confirm.addEventListener("click", () => busy(confirm, async () => {
      await api("/me/email-verification/confirm", { method: "POST", body: { token } });
      announce("Your email address is verified. You can invite people now.", "ok");
    }));
    content.append(el("p", {}, "Confirm that this email address is yours."), confirm);
    return;
  }
  const send = el("button", { type: "button", class: "secondary", id: "send" }, "Email me a verification link");
  send.addEventListener("click", () => busy(send, async () => {
    await api("/me/email-verification", { method: "POST" });
    announce(`A verification link was sent to ${user.email}.`, "ok");
  }));
  content.append(el("p", {}, "Buyers verify their email address before inviting people."), send);
}

onAuthChange(() => { clearStatus(); render(); });
render();
