// What this tab sent to Stripe Checkout, so the page it comes back to knows what was paid for.
//
// Every checkout (a gift purchase, an upgrade, a renewal) returns to the API's one success URL,
// /billing?session_id=... . The page that starts a checkout remembers its kind here; Billing sends
// upgrades and renewals on to My plan. A gift's purchase id follows from the session id
// (docs/design.md: "pur_" + the first 26 base32 characters of the id's SHA-256, lower case), so
// Billing asks for exactly that purchase while Stripe's webhook is on its way.
const KEY = "giftplans.checkouts";
const KEEP = 10;

function saved() {
  try {
    const value = JSON.parse(sessionStorage.getItem(KEY) || "{}");
    return value && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}

// kind: "gift" | "upgrade" | "renewal"; details: what the page wants to say on return.
export function rememberCheckout(sessionId, kind, details = {}) {
  const all = saved();
  all[sessionId] = { kind, at: Date.now(), ...details };
  const newest = Object.entries(all).sort(([, a], [, b]) => b.at - a.at).slice(0, KEEP);
  sessionStorage.setItem(KEY, JSON.stringify(Object.fromEntries(newest)));
}

export function checkoutFor(sessionId) {
  return saved()[sessionId] ?? null;
}

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

function base32(bytes) {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

export async function purchaseIdFor(sessionId) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(sessionId));
  return `pur_${base32(new Uint8Array(digest)).slice(0, 26)}`;
}
