// Invite people: a pasted list or a CSV file (`email[,message]`, a header row optional), counted
// against the seats left before anything is sent, one POST with an Idempotency-Key (SPEC 8.3: up
// to 1000 rows, all checked first, all written or none), the rows the service refuses named next
// to the rows, and an optional "Deliver on" time (SPEC 8.1: `send_at`, sent as UTC).
import { api, idempotencyKey } from "./api.js";
import { limitExplain, tc } from "./billing-common.js";
import { now } from "./clock.js";
import { list, moment, momentUtc, number } from "./format.js";
import { t } from "./i18n.js";
import { busy, el, errorBox, showError, verifyEmailAction } from "./ui.js";

const MAX_ROWS = 1000;
const MAX_AHEAD_DAYS = 365;
const SHOWN_PROBLEMS = 100;
const NAMED_IN_SUMMARY = 10;
// What the service itself would refuse outright; it checks again, and its word is final.
const LOOKS_LIKE_EMAIL = /^[^\s@,;:<>()[\]\\"]+@[^\s@,;:<>()[\]\\".][^\s@,;:<>()[\]\\"]*\.[^\s@,;:<>()[\]\\".]{2,}$/;

// CSV fields of one text (quotes as RFC 4180 has them); `;` when the first line uses it instead of `,`.
export function csvRecords(text) {
  const firstLine = text.split(/\r?\n/, 1)[0] ?? "";
  const sep = firstLine.includes(";") && !firstLine.includes(",") ? ";" : ",";
  const records = [];
  let field = "";
  let record = [];
  let quoted = false;
  let line = 1;
  let start = 1;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 1; } else if (c === '"') quoted = false;
      else { if (c === "\n") line += 1; field += c; }
    } else if (c === '"' && field.trim() === "") { field = ""; quoted = true; }
    else if (c === sep) { record.push(field); field = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i += 1;
      record.push(field);
      records.push({ line: start, fields: record });
      record = []; field = ""; line += 1; start = line;
    } else field += c;
  }
  record.push(field);
  records.push({ line: start, fields: record });
  return records.map((r) => ({ line: r.line, fields: r.fields.map((f) => f.trim()) }))
    .filter((r) => r.fields.some(Boolean));
}

const isHeader = (fields) => /^e-?mail$/i.test(fields[0] ?? "");

// A CSV file: the first column is the address, the second the row's own message.
export function fileRows(text, name) {
  return csvRecords(text).filter((r, i) => !(i === 0 && isHeader(r.fields)))
    .map((r) => ({ email: r.fields[0], message: r.fields.slice(1).filter(Boolean).join(", "),
      where: t("billing.list.fileLine", { file: name, line: r.line }) }));
}

// Pasted text: one person a line (`email` or `email, message`), or several addresses on one line
// separated by commas, semicolons or spaces (a field with spaces in it is a message).
export function pastedRows(text) {
  const rows = [];
  csvRecords(text).forEach((r, i) => {
    if (i === 0 && isHeader(r.fields)) return;
    const where = t("billing.list.line", { line: r.line });
    const [first, ...rest] = r.fields;
    if (rest.some((f) => /\s/.test(f) && !f.includes("@"))) {
      rows.push({ email: first, message: rest.filter(Boolean).join(", "), where });
      return;
    }
    for (const email of r.fields.flatMap((f) => f.split(/\s+/)).filter(Boolean)) rows.push({ email, message: "", where });
  });
  return rows;
}

// What the page can tell before asking: not an address, or an address twice.
function localProblems(rows) {
  const seen = new Map();
  const problems = [];
  rows.forEach((row, index) => {
    const key = row.email.toLowerCase();
    if (!LOOKS_LIKE_EMAIL.test(row.email)) problems.push({ index, email: row.email, message: t("billing.list.notAnAddress") });
    else if (seen.has(key)) problems.push({ index, email: row.email, message: t("billing.list.twice", { where: rows[seen.get(key)].where }) });
    if (!seen.has(key)) seen.set(key, index);
  });
  return problems;
}

function rowList(problems) {
  return el("ul", { class: "row-errors" },
    problems.slice(0, SHOWN_PROBLEMS).map((row) => el("li", {}, el("strong", {}, row.email || t("billing.list.empty")), `: ${row.message}`)),
    problems.length > SHOWN_PROBLEMS ? el("li", {}, tc("billing.list.moreProblems", problems.length - SHOWN_PROBLEMS)) : null);
}

// Next to the rows: each refused row by where it is (line, or file and line), address and reason.
function rowTable(problems, rows) {
  const shown = problems.slice(0, SHOWN_PROBLEMS);
  return el("table", { class: "row-problems-table" },
    el("caption", {}, tc("billing.list.problemsCaption", problems.length)),
    el("thead", {}, el("tr", {}, [t("billing.list.where"), t("billing.list.address"), t("billing.list.problem")]
      .map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, shown.map((p) => el("tr", { "data-row": p.index },
      el("td", { "data-label": t("billing.list.where") }, rows[p.index]?.where ?? tc("billing.list.row", p.index + 1)),
      el("th", { scope: "row", "data-label": t("billing.list.address") }, p.email || rows[p.index]?.email || t("billing.list.empty")),
      el("td", { "data-label": t("billing.list.problem") }, p.message)))));
}

function localInput(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// "Deliver on": the reader's local date and time -> a UTC instant, or why it cannot be used.
function deliveryTime(value, purchase) {
  if (!value) return { at: null };
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) return { problem: t("billing.schedule.notATime") };
  if (at <= now()) return { problem: t("billing.schedule.past") };
  if (at >= new Date(purchase.term_end)) return { problem: t("billing.schedule.afterEnd", { end: momentUtc(purchase.term_end) }) };
  if (at - now() > MAX_AHEAD_DAYS * 86_400_000) return { problem: tc("billing.schedule.tooFar", MAX_AHEAD_DAYS) };
  return { at: at.toISOString().replace(/\.\d{3}Z$/, "Z") };
}

function summary(addresses, sendAt) {
  const named = addresses.length > NAMED_IN_SUMMARY
    ? [...addresses.slice(0, NAMED_IN_SUMMARY), tc("billing.list.andMore", addresses.length - NAMED_IN_SUMMARY)]
    : addresses;
  if (sendAt) return tc("billing.invite.scheduled", addresses.length, { names: list(named), at: moment(sendAt) });
  return tc("billing.invite.done", addresses.length, { names: list(named) });
}

export function inviteForm(purchase, available, refresh, done) {
  const id = purchase.purchase_id;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const sendAt = el("input", { type: "datetime-local", id: `send-at-${id}`, name: "send_at",
    min: localInput(now()), "aria-describedby": `send-at-hint-${id} send-at-warning-${id}` });
  const fromName = el("input", { type: "text", id: `from-name-${id}`, name: "from_name", maxlength: 80,
    autocomplete: "name", "aria-describedby": `from-name-hint-${id}` });
  const file = el("input", { type: "file", id: `csv-${id}`, name: "csv", accept: ".csv,.txt,text/csv,text/plain",
    "aria-describedby": `csv-hint-${id}` });
  const fileNote = el("p", { class: "hint file-note", id: `csv-note-${id}`, "aria-live": "polite" });
  const emails = el("textarea", { id: `emails-${id}`, name: "emails", rows: 3, required: true,
    "aria-describedby": `emails-hint-${id} emails-count-${id} row-problems-${id}`, autocomplete: "off", spellcheck: "false" });
  const problemsBox = el("div", { class: "row-problems", id: `row-problems-${id}` });
  const tally = el("p", { class: "hint tally", id: `emails-count-${id}`, "aria-live": "polite" });
  const note = el("textarea", { id: `note-${id}`, name: "message", rows: 2, maxlength: 1000,
    "aria-describedby": `note-hint-${id}` });
  const send = el("button", { type: "submit", class: "primary invite" }, t("billing.invite.send"));
  const errors = errorBox(send);
  emails.setAttribute("aria-describedby", `${emails.getAttribute("aria-describedby")} ${errors.id}`);
  let loaded = []; // rows of the chosen CSV file
  const form = el("form", { class: "invite-form", novalidate: true, "aria-labelledby": `invite-title-${id}` },
    el("h3", { id: `invite-title-${id}` }, t("billing.invite.title")),
    el("div", { class: "field from-name" },
      el("label", { for: `from-name-${id}` }, t("billing.invite.fromName")),
      el("p", { class: "hint", id: `from-name-hint-${id}` }, t("billing.invite.fromNameHint")),
      fromName),
    el("div", { class: "field schedule" },
      el("label", { for: `send-at-${id}` }, t("billing.schedule.label")),
      el("p", { class: "hint", id: `send-at-hint-${id}` }, t("billing.schedule.hint", { zone })),
      sendAt,
      el("p", { class: "notice warn schedule-warning", id: `send-at-warning-${id}` },
        t("billing.schedule.warning", { end: momentUtc(purchase.term_end) }))),
    el("div", { class: "field csv" },
      el("label", { for: `csv-${id}` }, t("billing.list.fileLabel")),
      el("p", { class: "hint", id: `csv-hint-${id}` }, t("billing.list.fileHint")),
      file, fileNote),
    el("label", { for: `emails-${id}` }, t("billing.invite.emails")),
    el("p", { class: "hint", id: `emails-hint-${id}` }, tc("billing.invite.emailsHint", available)),
    emails,
    problemsBox,
    tally,
    el("label", { for: `note-${id}` }, t("billing.invite.message")),
    el("p", { class: "hint", id: `note-hint-${id}` }, t("billing.invite.messageHint")),
    note,
    el("div", { class: "action-group" }, send),
    errors);

  const allRows = () => [...pastedRows(emails.value), ...loaded];
  const showTally = () => {
    const n = allRows().length;
    tally.classList.toggle("over", n > available);
    if (n === 0) tally.textContent = "";
    else if (n <= available) tally.textContent = tc("billing.tally.fits", n, { left: tc("billing.seatsLeft", available) });
    else tally.textContent = tc("billing.tally.over", n, { left: tc("billing.onlySeatsLeft", available), remove: number(n - available) });
  };
  emails.addEventListener("input", showTally);
  file.addEventListener("change", async () => {
    const chosen = file.files?.[0];
    loaded = chosen ? fileRows(await chosen.text(), chosen.name) : [];
    fileNote.textContent = chosen ? tc("billing.list.fileRows", loaded.length, { file: chosen.name }) : "";
    problemsBox.replaceChildren();
    showTally();
  });

  const refuse = (content, problems = [], rows = []) => {
    showError(errors, content);
    problemsBox.replaceChildren(...(problems.length ? [rowTable(problems, rows)] : []));
    emails.setAttribute("aria-invalid", "true");
    emails.focus();
  };

  let lastBody = null;
  let lastKey = null;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    errors.replaceChildren();
    problemsBox.replaceChildren();
    emails.removeAttribute("aria-invalid");
    sendAt.removeAttribute("aria-invalid");
    const rows = allRows();
    if (rows.length === 0) {
      refuse(t("billing.invite.none"));
      return;
    }
    if (rows.length > available || rows.length > MAX_ROWS) {
      const left = Math.min(available, MAX_ROWS);
      refuse(tc("billing.invite.tooMany", rows.length, { left: tc("billing.seatsAreLeft", left), remove: number(rows.length - left) }));
      return;
    }
    const bad = localProblems(rows);
    if (bad.length) {
      refuse([el("p", {}, tc("billing.invite.fixRows", bad.length)), rowList(bad)], bad, rows);
      return;
    }
    const when = deliveryTime(sendAt.value, purchase);
    if (when.problem) {
      showError(errors, when.problem);
      sendAt.setAttribute("aria-invalid", "true");
      sendAt.focus();
      return;
    }
    const common = note.value.trim();
    const sender = fromName.value.trim();
    const body = { invitations: rows.map((row) => {
      const message = row.message || common;
      return { email: row.email, ...(message ? { message } : {}), ...(sender ? { from_name: sender } : {}),
        ...(when.at ? { send_at: when.at } : {}) };
    }) };
    const sent = JSON.stringify(body);
    if (sent !== lastBody) { lastBody = sent; lastKey = idempotencyKey(); } // a retry of the same list is the same request
    const addresses = rows.map((row) => row.email);
    busy(send, async () => {
      await api(`/purchases/${id}/invitations`, { method: "POST", body, headers: { "Idempotency-Key": lastKey } });
      lastBody = null;
      loaded = [];
      await refresh();
      done(summary(addresses, when.at));
    }, {
      label: t("ui.sending"),
      errors,
      explain: (error) => {
        emails.setAttribute("aria-invalid", "true");
        const refused = Array.isArray(error.details.rows) ? error.details.rows : [];
        if (refused.length) problemsBox.replaceChildren(rowTable(refused, rows));
        return inviteExplain(error, addresses.length);
      },
    });
  });
  return form;
}

function inviteExplain(error, asked) {
  if (error.code === "email_not_verified") {
    return [el("p", {}, t("billing.invite.verifyFirst")),
      verifyEmailAction({ returnTo: "/billing", returnLabel: t("billing.invite.backToInvite") })];
  }
  if (error.code === "no_seats_available" && Number.isInteger(error.details.available)) {
    return tc("billing.invite.noSeats", asked, { left: tc("billing.seatsAreLeft", error.details.available) });
  }
  if (Array.isArray(error.details.rows) && error.details.rows.length) {
    const rows = error.details.rows;
    const intro = {
      invalid_rows: tc("billing.invite.fixRows", rows.length),
      already_invited: tc("billing.invite.alreadyHold", rows.length),
      use_claim_instead: t("billing.invite.useClaim"),
    }[error.code] ?? error.message;
    return [el("p", {}, intro), rowList(rows)];
  }
  return limitExplain(error);
}
