"""The pages Stripe hosts, stood in for locally: Checkout, the customer portal, hosted invoices.

- `/_local/pay/<session>`: what is bought (plan names, quantities, amounts, discount, tax,
  total), Pay, Pay later (a bank transfer: the session completes unpaid) and Cancel, which
  returns to the session's `cancel_url` as Stripe's back link does. Paying redirects to
  `success_url`. An expired or completed session says so, with the way back.
- `/_local/portal/<portal session>`: the customer's subscriptions, each with its status and
  period end, and "cancel at period end" / "keep renewing", then the way back (`return_url`).
- `/_local/invoices/<invoice>` and `/_local/invoices/<invoice>/pdf`: `hosted_invoice_url` and
  `invoice_pdf` of the fake's invoices.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from html import escape

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from local.stripe_fake.errors import StripeError
from local.stripe_fake.model import Obj, Stripe
from local.stripe_fake.webhooks import Delivery

STYLE = """body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;
color:#1a1f36;line-height:1.5}
.card{border:1px solid #d8dde6;border-radius:8px;padding:1rem 1.25rem;margin:1rem 0}
table{border-collapse:collapse;width:100%}td{padding:.25rem 0}td.n{text-align:right;white-space:nowrap}
.total td{font-size:1.25rem;font-weight:600;border-top:1px solid #d8dde6;padding-top:.5rem}
button,a.button{font:inherit;padding:.6rem 1.2rem;margin:.25rem .5rem .25rem 0;display:inline-block;
border-radius:6px;border:1px solid #8792a2;background:#fff;color:#1a1f36;cursor:pointer;text-decoration:none}
#pay{background:#0a7d33;color:#fff;border-color:#0a7d33}
button:focus-visible,a:focus-visible{outline:3px solid #635bff;outline-offset:2px}
.note{color:#545969}"""


def page(title: str, body: str, status: int = 200) -> Response:
    html = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )
    return Response(html, status=status, content_type="text/html; charset=utf-8")


def money(amount: int, currency: str | None) -> str:
    return f"{amount / 100:,.2f} {(currency or '').upper()}".strip()


def day(ts: int | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%-d %B %Y") if ts else ""


class StripePages:
    """The hosted pages; `act(change)` applies a change and delivers its webhooks (LocalStripe.act)."""

    def __init__(self, stripe: Stripe, act: Callable[[Callable[[], list[Obj]]], list[Delivery]]) -> None:
        self.stripe = stripe
        self._act = act

    # ---- Checkout -----------------------------------------------------------------------------------

    def pay(self, request: Request, session_id: str) -> Response:
        try:
            session = self.stripe.session(session_id)
        except StripeError:
            return page("Checkout", "<h1>Checkout</h1><p>There is no such checkout session.</p>", 404)
        back = session.get("cancel_url") or "/"
        if request.method == "POST":
            if request.form.get("action") == "cancel":
                return redirect(back, code=303)
            status = request.form.get("payment_status", "paid")
            try:
                self._act(lambda: self.stripe.complete(session_id, status))
            except StripeError as error:
                return self._closed(error.message, back)
            target = (session.get("success_url") or "/").replace("{CHECKOUT_SESSION_ID}", session_id)
            return redirect(target, code=303)
        if session["status"] == "complete":
            return self._closed("This checkout is already complete.", back, status=200)
        try:
            self.stripe.open_session(session_id)
        except StripeError as error:
            return self._closed(error.message, back)
        return page("Local Stripe Checkout", self._checkout_body(session, back))

    def _closed(self, message: str, back: str, status: int = 400) -> Response:
        return page(
            "Local Stripe Checkout",
            f"<h1>Local Stripe Checkout</h1><p>{escape(message)}</p>"
            f'<p><a class="button" id="back" href="{escape(back)}">Back</a></p>',
            status,
        )

    def _checkout_body(self, session: Obj, back: str) -> str:
        rows = []
        for item in self.stripe.extra[session["id"]]["line_items"]:
            price = item["price"]
            each = money(int(price["unit_amount"]), price["currency"])
            cadence = f" / {price['recurring']['interval']}" if price.get("recurring") else ""
            rows.append(
                f"<tr><td>{escape(str(item['description']))}<br>"
                f"<span class='note'>{item['quantity']} &times; "
                f"{escape(each)}{escape(cadence)}</span></td>"
                f"<td class='n'>{escape(money(int(item['amount_subtotal']), item['currency']))}</td></tr>"
            )
        totals = session["total_details"]
        currency = session["currency"]
        if totals["amount_discount"]:
            rows.append(
                f"<tr><td>Discount</td>"
                f"<td class='n'>-{escape(money(int(totals['amount_discount']), currency))}</td></tr>"
            )
        if totals["amount_tax"]:
            rows.append(
                f"<tr><td>Tax</td>"
                f"<td class='n'>{escape(money(int(totals['amount_tax']), currency))}</td></tr>"
            )
        rows.append(
            f"<tr class='total'><td>Total due today</td>"
            f"<td class='n'>{escape(money(int(session['amount_total']), currency))}</td></tr>"
        )
        email = (session.get("customer_details") or {}).get("email") or ""
        later = (
            '<button name="payment_status" value="unpaid" id="pay-later">Pay later (bank transfer)</button>'
            if session["mode"] == "payment"
            else ""
        )
        return (
            "<h1>Local Stripe Checkout</h1>"
            "<p class='note'>Nothing is charged: this page stands in for Stripe Checkout while running "
            "<code>make dev</code>.</p>"
            f"<div class='card'><table>{''.join(rows)}</table>"
            + (f"<p>Email: {escape(email)}</p>" if email else "")
            + f"<p class='note'>Open until {escape(day(session['expires_at']))}, "
            f"{datetime.fromtimestamp(session['expires_at'], UTC):%H:%M} UTC.</p></div>"
            '<form method="post"><button name="payment_status" value="paid" id="pay">Pay</button>'
            f'{later}<button name="action" value="cancel" id="cancel">Cancel</button></form>'
            f'<p><a href="{escape(back)}" id="back">← Back</a></p>'
        )

    # ---- the customer portal --------------------------------------------------------------------------

    def portal(self, request: Request, portal_id: str) -> Response:
        found = self.stripe.objects.get(portal_id)
        if found is None or found.get("object") != "billing_portal.session":
            return page(
                "Billing portal", "<h1>Billing portal</h1><p>There is no such portal session.</p>", 404
            )
        if request.method == "POST":
            subscription_id = request.form.get("subscription", "")
            wanted = request.form.get("cancel_at_period_end") == "true"
            mine = self.stripe.objects.get(subscription_id)
            if mine is None or mine.get("customer") != found["customer"]:
                return page(
                    "Billing portal", "<h1>Billing portal</h1><p>That is not your subscription.</p>", 403
                )
            try:
                self._act(
                    lambda: self.stripe.update_subscription(
                        subscription_id, {"cancel_at_period_end": "true" if wanted else "false"}
                    )[1]
                )
            except StripeError as error:
                return page("Billing portal", f"<h1>Billing portal</h1><p>{escape(error.message)}</p>", 400)
            return redirect(f"/_local/portal/{portal_id}", code=303)
        customer = self.stripe.objects.get(found["customer"]) or {}
        rows = []
        for sub in self.stripe.all("subscription"):
            if sub["customer"] != found["customer"]:
                continue
            item = sub["items"]["data"][0]
            price = item["price"]
            cadence = price["recurring"]["interval"] if price.get("recurring") else ""
            end = day(int(item["current_period_end"]))
            if sub["status"] == "canceled":
                state, action = f"Ended {escape(day(sub['ended_at']))}", ""
            elif sub["cancel_at_period_end"]:
                state = f"Ends {escape(end)}"
                action = self._portal_button(sub["id"], "false", "Keep renewing")
            else:
                state = f"{'Trial ends' if sub['status'] == 'trialing' else 'Renews'} {escape(end)}"
                action = self._portal_button(sub["id"], "true", "Cancel at period end")
            rows.append(
                f"<div class='card'><p><strong>{escape(str(price.get('product')))}</strong><br>"
                f"{escape(money(int(price['unit_amount']) * int(item['quantity']), price['currency']))} / "
                f"{escape(cadence)}<br>{state}</p>{action}</div>"
            )
        balance = int(customer.get("balance") or 0)
        credit = (
            f"<p>Credit balance: {escape(money(-balance, customer.get('currency')))}, "
            "applied to your next invoices.</p>"
            if balance < 0
            else ""
        )
        back = found.get("return_url") or "/"
        return page(
            "Billing portal",
            "<h1>Billing portal</h1><p class='note'>The local stand-in for Stripe's customer portal.</p>"
            f"<p>{escape(str(customer.get('email') or ''))}</p>{credit}"
            + ("".join(rows) or "<p>No subscriptions.</p>")
            + f'<p><a class="button" id="back" href="{escape(back)}">Return</a></p>',
        )

    @staticmethod
    def _portal_button(subscription_id: str, cancel: str, label: str) -> str:
        return (
            f'<form method="post"><input type="hidden" name="subscription" value="{escape(subscription_id)}">'
            f'<button name="cancel_at_period_end" value="{cancel}">{escape(label)}</button></form>'
        )

    # ---- hosted invoices --------------------------------------------------------------------------------

    def invoice(self, request: Request, invoice_id: str, pdf: bool = False) -> Response:
        found = self.stripe.objects.get(invoice_id)
        if found is None or found.get("object") != "invoice":
            return page("Invoice", "<h1>Invoice</h1><p>There is no such invoice.</p>", 404)
        lines = [
            (str(line["description"]), money(int(line["amount"]), line["currency"]))
            for line in found["lines"]["data"]
        ]
        summary: list[tuple[str, str]] = [("Subtotal", money(int(found["subtotal"]), found["currency"]))]
        if found["total_taxes"]:
            summary.append(
                ("Tax", money(sum(int(t["amount"]) for t in found["total_taxes"]), found["currency"]))
            )
        summary.append(("Amount paid", money(int(found["amount_paid"]), found["currency"])))
        if pdf:
            return Response(
                _pdf(f"Invoice {found['number']}", [*lines, *summary]), content_type="application/pdf"
            )
        rows = "".join(
            f"<tr><td>{escape(a)}</td><td class='n'>{escape(b)}</td></tr>" for a, b in [*lines, *summary]
        )
        return page(
            f"Invoice {found['number']}",
            f"<h1>Invoice {escape(str(found['number']))}</h1>"
            f"<p>{escape(str(found['customer_email'] or ''))}<br>"
            f"Paid {escape(day(found['status_transitions']['paid_at']))}</p>"
            f"<div class='card'><table>{rows}</table></div>"
            f"<p><a href='/_local/invoices/{escape(invoice_id)}/pdf'>Download PDF</a></p>",
        )


def _pdf(title: str, rows: list[tuple[str, str]]) -> bytes:
    """A one-page PDF listing `rows` (ASCII only): enough to be a real, openable invoice_pdf."""

    def text(value: str) -> str:
        plain = value.encode("ascii", "replace").decode().replace("\\", "\\\\")
        return plain.replace("(", "\\(").replace(")", "\\)")

    lines = [f"BT /F1 16 Tf 72 760 Td ({text(title)}) Tj ET"]
    for i, (left, right) in enumerate(rows):
        y = 720 - 20 * i
        lines.append(f"BT /F1 11 Tf 72 {y} Td ({text(left)}) Tj ET")
        lines.append(f"BT /F1 11 Tf 400 {y} Td ({text(right)}) Tj ET")
    stream = "\n".join(lines).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
