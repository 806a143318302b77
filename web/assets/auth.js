// Who is signed in, and their bearer token.
//
// This module is the only place that knows how people sign in. With `make dev` it asks the
// local stand-in (POST /_local/token) for a token; deployed, replace signIn/signOut and the
// widget with your identity provider (Cognito, Auth0, ...) and keep the exported names:
// currentUser(), bearerToken(), mountSignIn(), onAuthChange(), startSignIn(), markVerified().
import { apiUrl, config } from "./config.js";
import { t } from "./i18n.js";

const STORAGE_KEY = "giftplans.session";
const CHANGED = "giftplans:auth"; // signed in or out: pages load again
const UPDATED = "giftplans:profile"; // the same person, now verified: only the header changes

// A stable account id for an address: "user-" and the 32-bit FNV-1a hash of it, in hex.
export function subFor(email) {
  let hash = 0x811c9dc5;
  for (const ch of email.trim().toLowerCase()) {
    hash ^= ch.codePointAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `user-${hash.toString(16).padStart(8, "0")}`;
}

export function currentUser() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
    return saved && saved.token ? saved : null;
  } catch {
    return null;
  }
}

export function bearerToken() {
  return currentUser()?.token ?? null;
}

export function onAuthChange(listener) {
  window.addEventListener(CHANGED, () => listener(currentUser()));
}

export async function signIn(email, verified) {
  const address = email.trim();
  const response = await fetch(apiUrl("/_local/token"), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sub: subFor(address), email: address, email_verified: verified }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(body?.error?.message || t("auth.signInFailed"));
  }
  const user = { sub: subFor(address), email: address, verified, token: body.token };
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(user));
  window.dispatchEvent(new Event(CHANGED));
  return user;
}

export function signOut() {
  sessionStorage.removeItem(STORAGE_KEY);
  window.dispatchEvent(new Event(CHANGED));
}

// The service confirmed the address (POST /me/email-verification/confirm): the token's claim may
// still say otherwise, but the service now treats the address as verified, and so does the header.
export function markVerified() {
  const user = currentUser();
  if (!user) return;
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ ...user, verified: true }));
  window.dispatchEvent(new Event(UPDATED));
}

// Where a page's "Sign in" button leads. Locally: the header's form. With an identity provider:
// redirect to its sign-in page, with location.href as the address to come back to.
export function startSignIn() {
  const field = document.getElementById("signin-email");
  if (field) {
    field.scrollIntoView({ block: "center" });
    field.focus();
  }
}

// The header's sign-in widget: an email, a "verified" checkbox, and a button; or who is signed in.
export function mountSignIn(container) {
  const render = () => {
    container.replaceChildren();
    const user = currentUser();
    if (user) {
      const who = document.createElement("p");
      who.className = "who";
      who.append(t("auth.signedInAs"), " ");
      const strong = document.createElement("strong");
      strong.textContent = user.email;
      who.append(strong, " ", user.verified ? t("auth.verified") : t("auth.notVerified"));
      if (!user.verified && location.pathname !== "/verify") {
        const verify = document.createElement("a");
        verify.href = "/verify";
        verify.id = "header-verify";
        verify.textContent = t("auth.verifyEmail");
        who.append(" ", verify);
      }
      const out = document.createElement("button");
      out.type = "button";
      out.className = "secondary";
      out.id = "sign-out";
      out.textContent = t("auth.signOut");
      out.addEventListener("click", () => {
        signOut();
        document.getElementById("signin-email")?.focus();
      });
      container.append(who, out);
      return;
    }
    if (!config.localSignIn) {
      container.textContent = t("auth.signInToContinue");
      return;
    }
    const form = document.createElement("form");
    form.className = "signin";
    form.setAttribute("aria-label", t("auth.formLabel"));
    form.innerHTML = `
      <label for="signin-email">${t("auth.email")}</label>
      <input id="signin-email" name="email" type="email" required autocomplete="email"
             placeholder="${t("auth.placeholder")}">
      <span class="check"><input id="signin-verified" name="verified" type="checkbox" checked>
      <label for="signin-verified">${t("auth.emailVerified")}</label></span>
      <button type="submit" id="sign-in">${t("auth.signIn")}</button>
      <span class="signin-error" role="status" aria-live="polite"></span>`;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const email = form.elements.email.value;
      try {
        await signIn(email, form.elements.verified.checked);
        document.getElementById("main")?.focus();
      } catch (error) {
        form.querySelector(".signin-error").textContent = error.message;
      }
    });
    container.append(form);
  };
  window.addEventListener(CHANGED, render);
  window.addEventListener(UPDATED, render);
  render();
}
