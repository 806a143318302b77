// The web client's settings. No build step: edit this file when deploying.
//
// apiBase: where the HTTP API answers. "" means the page's own origin (make dev serves both).
//   Deployed behind CloudFront, set it to the API's URL, e.g.
//   "https://abc123.execute-api.us-east-1.amazonaws.com", and deploy template.yaml with
//   WebBaseUrl set to the distribution's https origin so the API's CORS admits this client.
// plans: what the plan picker shows; keep it equal to the service's PLANS setting
//   (amounts in minor units, as the API speaks). `features` are keys of the pages' catalogs
//   (assets/locales/*.json); a text that is no key is shown as written.
// localSignIn: true only with `make dev`, whose /_local/token stands in for the identity provider.
// localClock: true only with `make dev`: pages follow the service's movable clock (GET /_local/clock)
//   when they count days or minutes themselves (clock.js).
// resendLimit, resendMinutes: keep equal to the service's resend rule (SPEC rule 10), so the
//   Billing page offers Resend only when the API would send it.
// renewUrl: your own app's page where someone subscribes to a plan for themselves. The renewal
//   reminders link to /plan, which points there; "" shows the explanation without a link.
// endingSoonDays: from how many days before its end a plan or purchase reads "ends soon" (the
//   service's first reminder goes out 30 days before).
// confirmSeconds: how long Billing and My plan wait for Stripe's word after a checkout before they
//   stop and say what to do.
export const config = Object.freeze({
  apiBase: "",
  localSignIn: true,
  localClock: true,
  maxQuantity: 1000,
  resendLimit: 5,
  resendMinutes: 10,
  renewUrl: "",
  endingSoonDays: 30,
  confirmSeconds: 60,
  plans: Object.freeze([
    { id: "connect", name: "Connect", rank: 1, amount: 12000, currency: "usd",
      features: ["feature.messaging", "feature.calendars"] },
    { id: "pro", name: "Pro", rank: 2, amount: 24000, currency: "usd",
      features: ["feature.allConnect", "feature.history", "feature.support"] },
    { id: "team", name: "Team", rank: 3, amount: 48000, currency: "usd",
      features: ["feature.allPro", "feature.admin", "feature.sso"] },
  ]),
});

export function planById(id) {
  return config.plans.find((plan) => plan.id === id);
}

export function apiUrl(path) {
  return `${config.apiBase.replace(/\/$/, "")}${path}`;
}
