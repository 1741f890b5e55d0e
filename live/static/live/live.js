/* live.js: the browser client of `live`, server-driven components over one WebSocket.
 *
 * Plain ES2017, no build step. The htmx WebSocket extension owns the socket; this file owns
 * the frames: event envelopes and refs, diffs, the morph, loading states, optimistic patches,
 * rejoin after reconnect, and the HTTP fallback when no socket can be held. The protocol is
 * defined once in live/protocol.py and documented in docs/protocol.md; `P` mirrors it and a
 * test compares the two.
 */
(function () {
"use strict";

// protocol:begin
const P = {
  PROTOCOL_VERSION: 1,
  MAX_REF: 9007199254740992,
  KEY_TYPE: "type",
  KEY_ID: "id",
  KEY_TOKEN: "token",
  KEY_VERSION: "v",
  KEY_REF: "ref",
  KEY_EVENT: "event",
  KEY_PAYLOAD: "payload",
  KEY_HTML: "html",
  KEY_OPS: "ops",
  KEY_LENGTH: "len",
  KEY_CODE: "code",
  KEY_MESSAGE: "message",
  KEY_FIELDS: "fields",
  KEY_RETRY_AFTER: "retry_after",
  KEY_OPTIMISTIC: "optimistic",
  KEY_STATE: "state",
  JOIN: "join",
  EVENT: "event",
  LEAVE: "leave",
  RESYNC: "resync",
  PING: "ping",
  FULL: "full",
  DIFF: "diff",
  ACK: "ack",
  ERROR: "error",
  PONG: "pong",
  BAD_FRAME: "bad_frame",
  UNKNOWN_COMPONENT: "unknown_component",
  NOT_JOINED: "not_joined",
  UNKNOWN_EVENT: "unknown_event",
  INVALID_ARGS: "invalid_args",
  TOKEN_INVALID: "token_invalid",
  TOKEN_EXPIRED: "token_expired",
  TOKEN_OUTDATED: "token_outdated",
  UNAUTHENTICATED: "unauthenticated",
  FORBIDDEN: "forbidden",
  RATE_LIMITED: "rate_limited",
  TOO_LARGE: "too_large",
  TOO_MANY: "too_many_components",
  STATE_LOST: "state_lost",
  NOT_FOUND: "not_found",
  SERVER_ERROR: "server_error",
  UNAVAILABLE: "unavailable",
  CLOSE_SLOW_CONSUMER: 4008,
  CLOSE_TOO_MANY_SOCKETS: 4429,
  ATTR_ID: "data-live-id",
  ATTR_NAME: "data-live-name",
  ATTR_TOKEN: "data-live-token",
  ATTR_VERSION: "data-live-v",
  ATTR_URL: "data-live-url",
  ATTR_STATE: "data-live-state",
  ATTR_POLL: "data-live-poll",
  ATTR_EVENT: "live-event",
  ATTR_OPTIMISTIC: "data-live-optimistic",
};
// protocol:end

const SERVER_TYPES = [P.ACK, P.DIFF, P.ERROR, P.FULL, P.PONG];
// Errors after which a component is fetched again over HTTP and rejoined.
const RELOAD_CODES = [P.TOKEN_EXPIRED, P.TOKEN_OUTDATED, P.STATE_LOST];
// Errors saying the user may no longer see a component (logout, lost role): `live:revoked`.
const REVOKED_CODES = [P.UNAUTHENTICATED, P.FORBIDDEN];
// Close codes on which the htmx extension reconnects by itself.
const EXT_RETRY = [1006, 1011, 1012, 1013];
// DOM hooks read only by this file; not on the wire, so not in `P`.
const DOM = { KEY: "data-live-key", ERROR: "data-live-error", DEBOUNCE: "live-debounce", LOADING: "live-loading" };
const PATCH_OPS = ["attr", "class_add", "class_remove", "disabled", "hidden", "text"];
const OPEN_TIMEOUT = 3000; // ms without an open socket before the HTTP fallback
const MAX_BACKOFF = 10000; // ms, cap of our reconnect delay
const PING_EVERY = 25000; // ms, keeps idle sockets alive through proxies
const RELOAD_PAUSE = 10000; // ms between two HTTP reloads of one component
const ANSWER_TIMEOUT = 10000; // ms after which an unanswered event's patches are undone
const SEL_ROOT = "[" + P.ATTR_ID + "]";
const SEL_EVENT = "[" + P.ATTR_EVENT + "]";

const components = Object.create(null); // id -> record, see register()
const pending = new Map(); // ref -> entry, in ref order, see track()
const sock = {
  wrapper: null, // the htmx extension's socket wrapper: sendImmediately(), reconnect()
  socket: null, open: false, viaHtmx: false,
  opened: false, failures: 0, // whether any socket opened yet; closes before that
  attempts: 0, closedFatal: 0, // reconnects since the last open; a 4xxx code that stopped them
  openTimer: null, retryTimer: null,
};
let mode = "ws";
let lastRef = 0;
let unloading = false;
let pollTimer = null;

// Helpers ------------------------------------------------------------------------------

const rootOf = (node) => (node && node.closest ? node.closest(SEL_ROOT) : null);
const words = (text) => String(text || "").split(/\s+/).filter(Boolean);
const entriesOf = (id) => Array.from(pending.values()).filter((entry) => entry.id === id);
const runUndo = (undo) => { for (let i = (undo || []).length - 1; i >= 0; i--) undo[i](); };

function emit(target, name, detail) {
  (target && target.isConnected ? target : document).dispatchEvent(new CustomEvent(name, { bubbles: true, detail }));
}

function errorFrame(id, ref, code, message) {
  return { [P.KEY_TYPE]: P.ERROR, [P.KEY_ID]: id, [P.KEY_REF]: ref, [P.KEY_CODE]: code, [P.KEY_MESSAGE]: message };
}

function csrfToken() {
  const meta = document.querySelector('meta[name="live-csrf"]');
  const cookie = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return meta && meta.content ? meta.content : cookie ? decodeURIComponent(cookie[1]) : "";
}

// Diffs --------------------------------------------------------------------------------

/** Apply `[start, deleted, inserted]` ops: UTF-16 offsets into the old string, sorted, disjoint. */
function applyOps(html, ops, expectedLength) {
  if (!Array.isArray(ops)) throw new Error("live: diff ops must be a list");
  const parts = [];
  let pos = 0;
  for (const [start, deleted, inserted] of ops) {
    if (!Number.isInteger(start) || !Number.isInteger(deleted) || typeof inserted !== "string" ||
        start < pos || deleted < 0 || start + deleted > html.length) {
      throw new Error("live: bad diff op " + JSON.stringify([start, deleted, inserted]));
    }
    // JS strings index UTF-16 code units, the unit the server counts in.
    parts.push(html.slice(pos, start), inserted);
    pos = start + deleted;
  }
  parts.push(html.slice(pos));
  const out = parts.join("");
  if (expectedLength != null && out.length !== expectedLength) {
    throw new Error("live: diff gave " + out.length + " code units, expected " + expectedLength);
  }
  return out;
}

// Morph --------------------------------------------------------------------------------

const keyOf = (node) => (node.nodeType === 1 ? node.getAttribute("id") || node.getAttribute(DOM.KEY) : null);
const similar = (a, b) => a.nodeType === b.nodeType && (a.nodeType !== 1 || a.tagName === b.tagName);
const hasHtmxAttr = (el) => Array.from(el.attributes).some((a) => /^(data-)?(hx|ws)-/.test(a.name));

/** Give `from` the attributes of `to`; return whether any changed. */
function syncAttributes(from, to) {
  let changed = false;
  for (const a of Array.from(to.attributes)) {
    if (from.getAttributeNS(a.namespaceURI, a.localName) === a.value) continue;
    from.setAttributeNS(a.namespaceURI, a.name, a.value);
    changed = true;
  }
  for (const a of Array.from(from.attributes)) {
    if (to.hasAttributeNS(a.namespaceURI, a.localName)) continue;
    from.removeAttributeNS(a.namespaceURI, a.localName);
    changed = true;
  }
  return changed;
}

/** Update `root`'s children in place to match `source`, an HTML string or a parsed element. */
function morph(root, source, force) {
  let container = source;
  if (typeof source === "string") {
    // A <template> parses any fragment, table rows included, and runs no scripts.
    container = document.createElement("template");
    container.innerHTML = source;
    container = container.content;
  }
  const active = document.activeElement;
  const focus = active && active !== root && root.contains(active) ? saveFocus(active) : null;
  const ctx = { active, force: force || null, touched: [] };
  morphChildren(root, container, ctx);
  if (focus) restoreFocus(focus);
  // Wire new elements to htmx. Only the touched ones: processing an ancestor again would give
  // each ws-send element below it one more listener every time.
  if (window.htmx && window.htmx.process) ctx.touched.forEach((el) => el.isConnected && window.htmx.process(el));
}

function morphChildren(from, to, ctx) {
  const keyed = new Map();
  for (let node = from.firstChild; node; node = node.nextSibling) if (keyOf(node)) keyed.set(keyOf(node), node);
  // The children before `cur` are done; whatever is left from `cur` on at the end goes.
  let cur = from.firstChild;
  for (let node = to.firstChild, next; node; node = next) {
    next = node.nextSibling;
    const key = keyOf(node);
    let match = key ? keyed.get(key) : null;
    if (match && match.tagName === node.tagName) keyed.delete(key);
    else match = null;
    // Unkeyed: look a little ahead, so one insertion or removal does not rebuild what follows.
    for (let old = cur, seen = 0; !key && !match && old && seen < 32; old = old.nextSibling, seen++) {
      if (!keyOf(old) && similar(old, node)) match = old;
    }
    if (!match) {
      from.insertBefore(node, cur);
      if (node.nodeType === 1) ctx.touched.push(node);
      continue;
    }
    if (match === cur) cur = cur.nextSibling;
    else from.insertBefore(match, cur);
    update(match, node, ctx);
  }
  while (cur) {
    const gone = cur;
    cur = cur.nextSibling;
    from.removeChild(gone);
  }
}

function update(from, to, ctx) {
  if (from.nodeType !== 1) {
    if (from.nodeValue !== to.nodeValue) from.nodeValue = to.nodeValue;
    return;
  }
  if (from.hasAttribute(P.ATTR_ID)) return; // a nested component: its own frames update it
  const tag = from.tagName;
  const forced = !!(ctx.force && ctx.force.contains(from));
  // The user's input wins while they are in the field, unless they just submitted its form.
  const typing = (tag === "OPTION" ? from.closest("select") : from) === ctx.active && !forced;
  const oldValue = from.getAttribute("value");
  const flag = tag === "OPTION" ? "selected" : "checked";
  const oldOn = from.hasAttribute(flag);
  if (syncAttributes(from, to) && hasHtmxAttr(from)) ctx.touched.push(from);
  // Properties follow only what the server changed: an input filled in and left keeps its text.
  const serverChanged = (changed) => forced || (!typing && changed);
  if (tag === "INPUT" && /^(checkbox|radio)$/.test(from.type)) {
    if (serverChanged(oldOn !== from.hasAttribute(flag))) from.checked = from.hasAttribute(flag);
  } else if (tag === "INPUT") {
    const value = from.getAttribute("value");
    if (from.type !== "file" && serverChanged(oldValue !== value)) from.value = value || "";
  } else if (tag === "TEXTAREA") {
    if (serverChanged(from.defaultValue !== to.textContent)) from.value = from.defaultValue = to.textContent;
  } else {
    if (tag === "OPTION" && serverChanged(oldOn !== from.hasAttribute(flag))) from.selected = from.hasAttribute(flag);
    morphChildren(from, to, ctx);
  }
}

function saveFocus(el) {
  const saved = { el, id: el.id, start: null };
  try {
    Object.assign(saved, { start: el.selectionStart, end: el.selectionEnd, dir: el.selectionDirection });
  } catch (err) { /* this input type has no selection */ }
  return saved;
}

function restoreFocus(saved) {
  const el = saved.el.isConnected ? saved.el : saved.id && document.getElementById(saved.id);
  if (!el) return;
  if (document.activeElement !== el) el.focus({ preventScroll: true });
  try {
    if (saved.start != null && (el.selectionStart !== saved.start || el.selectionEnd !== saved.end)) {
      el.setSelectionRange(saved.start, saved.end, saved.dir || undefined);
    }
  } catch (err) { /* no selection to restore */ }
}

// Loading states, optimistic patches, error messages ------------------------------------

/** Apply one patch to `el`; push onto `undo` what restores each touched value exactly. */
function patch(el, ops, undo) {
  const cls = el.classList;
  words(ops.class_add).filter((c) => !cls.contains(c)).forEach((c) => {
    cls.add(c);
    undo.push(() => cls.remove(c));
  });
  words(ops.class_remove).filter((c) => cls.contains(c)).forEach((c) => {
    cls.remove(c);
    undo.push(() => cls.add(c));
  });
  if (ops.text != null) {
    const kids = Array.from(el.childNodes);
    el.textContent = String(ops.text);
    undo.push(() => { el.textContent = ""; kids.forEach((kid) => el.appendChild(kid)); });
  }
  Object.keys(ops.attr || {}).forEach((name) => {
    const value = ops.attr[name];
    const prev = el.getAttribute(name);
    if (value == null || value === false) el.removeAttribute(name);
    else el.setAttribute(name, value === true ? "" : String(value));
    undo.push(() => (prev == null ? el.removeAttribute(name) : el.setAttribute(name, prev)));
  });
  if (ops.hidden != null) {
    const prev = el.hidden;
    el.hidden = !!ops.hidden;
    undo.push(() => { el.hidden = prev; });
  }
  if (ops.disabled != null && "disabled" in el) {
    const prev = el.disabled;
    const focused = document.activeElement === el;
    el.disabled = !!ops.disabled;
    undo.push(() => {
      el.disabled = prev;
      // Disabling dropped keyboard focus: give it back so Enter and Space keep working.
      const now = document.activeElement;
      if (focused && !prev && (!now || now === document.body)) el.focus({ preventScroll: true });
    });
  }
}

/** The patch for `event`: on the element that fired it, or by event name on an ancestor. */
function optimisticFor(root, el, event) {
  for (let node = el || root; node; node = node === root ? null : node.parentElement) {
    const raw = node.getAttribute(P.ATTR_OPTIMISTIC);
    try {
      const spec = raw && JSON.parse(raw);
      if (spec && node === el) return spec;
      if (spec && spec[event]) return spec[event];
    } catch (err) {
      console.warn("live: " + P.ATTR_OPTIMISTIC + " is not JSON", node);
    }
  }
  return null;
}

/** Elements of `root` itself (not of a nested component) matching `selector`. */
function own(root, selector) {
  try {
    return Array.from(root.querySelectorAll(selector)).filter((n) => rootOf(n) === root);
  } catch (err) {
    console.warn("live: bad selector " + JSON.stringify(selector));
    return [];
  }
}

const isButton = (el) => /^(BUTTON|A)$/.test(el.tagName) ||
  (el.tagName === "INPUT" && /^(submit|button|reset|image)$/.test(el.type));

/** Show an entry's busy state and optimistic patch; idempotent. */
function decorate(entry) {
  const rec = components[entry.id];
  if (!rec || entry.undo || entry.expired) return;
  const undo = (entry.undo = []);
  const el = entry.el && entry.el.isConnected ? entry.el : null;
  if (el && (el.tagName === "FORM" || isButton(el))) {
    patch(el, { attr: { "aria-busy": "true" } }, undo);
    const busy = el.tagName === "FORM" ? entry.submitter : el;
    if (busy && busy.isConnected) patch(busy, { disabled: true }, undo);
  }
  const spec = optimisticFor(rec.root, el, entry.event);
  if (!spec) return;
  // Either one patch for the element that fired, or patches by selector ("this" is that element).
  const targets = PATCH_OPS.some((op) => op in spec) ? { this: spec } : spec;
  Object.keys(targets).forEach((sel) => {
    (sel === "this" ? (el ? [el] : []) : own(rec.root, sel)).forEach((t) => patch(t, targets[sel] || {}, undo));
  });
}

function undecorate(entry) {
  runUndo(entry.undo);
  entry.undo = null;
}

/** Start (again) the wait for an answer; past it the guesses go, the event stays pending. */
function arm(entry) {
  clearTimeout(entry.timer);
  entry.expired = false;
  entry.timer = setTimeout(() => {
    entry.expired = true;
    undecorate(entry);
  }, ANSWER_TIMEOUT);
  decorate(entry);
}

function showLoading(rec) {
  rec.root.classList.toggle(DOM.LOADING, entriesOf(rec.id).length > 0);
}

/** Show `rec.error` in the component; kept across morphs until the next user action. */
function showError(rec) {
  if (rec.errorUndo || !rec.error) return;
  rec.errorUndo = [];
  const message = rec.error[P.KEY_MESSAGE] || rec.error[P.KEY_CODE];
  const box = own(rec.root, "[" + DOM.ERROR + "]")[0];
  if (box) patch(box, { text: message }, rec.errorUndo);
  else console.warn("live: " + rec.id + ": " + message);
}

function hideError(rec) {
  runUndo(rec.errorUndo);
  rec.errorUndo = null;
}

/** Tell the page a component was revoked: `unauthenticated`, or `forbidden` not answering an event. */
function revoked(rec, err) {
  const code = err[P.KEY_CODE];
  // A handler may refuse one event with `forbidden`; only the server's own notice revokes.
  if (!rec || REVOKED_CODES.indexOf(code) < 0 || (code === P.FORBIDDEN && err[P.KEY_REF] != null)) return;
  rec.poll = 0; // nothing more comes to it: stop asking
  emit(rec.root, "live:revoked", { id: rec.id, code, message: err[P.KEY_MESSAGE] });
}

function report(rec, err) {
  emit(rec ? rec.root : document, "live:error", err);
  if (!rec) return console.warn("live: " + (err[P.KEY_MESSAGE] || err[P.KEY_CODE]));
  hideError(rec);
  rec.error = err;
  showError(rec);
}

// Components ---------------------------------------------------------------------------

function register(root) {
  const id = root.getAttribute(P.ATTR_ID);
  if (components[id] && components[id].root === root) return components[id];
  // A new root, or a new element for a known id (swapped in by htmx): trust its attributes.
  return (components[id] = {
    id, root,
    html: null, // the exact inner HTML the server last sent; unknown until a `full` frame
    v: Number(root.getAttribute(P.ATTR_VERSION)) || 0,
    token: root.getAttribute(P.ATTR_TOKEN),
    url: root.getAttribute(P.ATTR_URL),
    state: root.getAttribute(P.ATTR_STATE),
    poll: Number(root.getAttribute(P.ATTR_POLL)) || 0, // seconds; only on the HTTP fallback
    polledAt: Date.now(),
    chain: Promise.resolve(), // serialises HTTP posts: each needs the previous answer's token
    resyncing: false, reloading: false, reloadedAt: 0, error: null, errorUndo: null,
  });
}

/** Register the roots on the page and forget the removed ones; return the new records. */
function scan() {
  // A root without a token is a slot placeholder: the child's own root takes its place.
  const found = Array.from(document.querySelectorAll(SEL_ROOT)).filter((root) => {
    const rec = components[root.getAttribute(P.ATTR_ID)];
    return (!rec || rec.root !== root) && root.hasAttribute(P.ATTR_TOKEN);
  }).map(register);
  Object.keys(components).filter((id) => !components[id].root.isConnected).forEach((id) => {
    delete components[id];
    entriesOf(id).forEach((entry) => settle(entry, errorFrame(id, entry.ref, P.NOT_JOINED, "Component removed")));
    send({ [P.KEY_TYPE]: P.LEAVE, [P.KEY_ID]: id });
  });
  return found;
}

function joinNew() {
  const found = scan();
  if (sock.open) found.forEach(join);
}

function join(rec) {
  // Without the exact server string no diff can be applied, so ask for the whole HTML.
  const v = rec.html == null ? null : rec.v;
  send({ [P.KEY_TYPE]: P.JOIN, [P.KEY_ID]: rec.id, [P.KEY_TOKEN]: rec.token, [P.KEY_VERSION]: v });
}

function resync(rec) {
  if (rec.resyncing || !sock.open) return;
  rec.resyncing = true;
  send({ [P.KEY_TYPE]: P.RESYNC, [P.KEY_ID]: rec.id });
}

/** Put a new HTML string into a component, keeping the still-pending patches on top. */
function render(rec, html, v, answer) {
  const ref = answer[P.KEY_REF];
  const entry = ref != null ? pending.get(ref) : null;
  const mine = entriesOf(rec.id);
  // Undo every patch first, so the morph starts from the server's last HTML, not our guesses.
  mine.forEach(undecorate);
  hideError(rec);
  rec.html = html;
  rec.v = v;
  rec.root.setAttribute(P.ATTR_VERSION, String(v));
  morph(rec.root, html, entry && entry.form);
  settle(entry, answer);
  mine.forEach((other) => pending.has(other.ref) && decorate(other));
  showError(rec);
  joinNew();
  emit(rec.root, "live:update", { id: rec.id, v, ref, changed: true });
}

/** Fetch a component again over HTTP (expired token, lost state), swap it in and rejoin. */
function reload(rec) {
  const now = Date.now();
  if (!rec.url || rec.reloading || now - rec.reloadedAt < RELOAD_PAUSE) return false;
  rec.reloading = true;
  rec.reloadedAt = now;
  // The token names the component's params and id; an expired one still does.
  const url = rec.url + (rec.url.indexOf("?") < 0 ? "?" : "&") + "token=" + encodeURIComponent(rec.token || "");
  fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
    .then((res) => {
      if (!res.ok) throw new Error("HTTP " + res.status);
      return res.text();
    })
    .then((text) => {
      const tpl = document.createElement("template");
      tpl.innerHTML = text;
      const fresh = tpl.content.querySelector(SEL_ROOT);
      if (!fresh) throw new Error("no component root in the answer");
      entriesOf(rec.id).forEach((entry) => settle(entry, errorFrame(rec.id, entry.ref, P.STATE_LOST, "Reloaded")));
      hideError(rec);
      delete components[rec.id];
      // The same element takes the new attributes (id, token, version) and children.
      syncAttributes(rec.root, fresh);
      morph(rec.root, fresh, null);
      const next = register(rec.root);
      next.reloadedAt = now;
      if (sock.open) join(next);
      emit(next.root, "live:update", { id: next.id, v: next.v, ref: null, changed: true });
    })
    .catch((err) => {
      console.warn("live: reloading " + rec.id + " failed: " + err.message);
      report(rec, errorFrame(rec.id, null, P.STATE_LOST, "This component could not be reloaded; reload the page."));
    })
    .then(() => { rec.reloading = false; });
  return true;
}

// Frames from the server ---------------------------------------------------------------

/** Handle a text frame; false if it is not ours (htmx then swaps it as HTML). */
function onMessage(text) {
  if (typeof text !== "string" || !/^\s*\{/.test(text)) return false;
  let data;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return false;
  }
  if (!data || SERVER_TYPES.indexOf(data[P.KEY_TYPE]) < 0) return false;
  try {
    onFrame(data);
  } catch (err) {
    console.error("live: could not apply frame", data, err);
  }
  return true;
}

function onFrame(f) {
  const type = f[P.KEY_TYPE];
  const ref = f[P.KEY_REF];
  const entry = ref != null ? pending.get(ref) : undefined;
  const id = f[P.KEY_ID] != null ? f[P.KEY_ID] : entry && entry.id;
  const rec = id != null ? components[id] : undefined;
  const v = f[P.KEY_VERSION];
  if (type === P.PONG) return;
  if (type === P.ERROR) return onError(f, rec, entry);
  if (!rec) return settle(entry, f);
  if (f[P.KEY_TOKEN]) rec.root.setAttribute(P.ATTR_TOKEN, (rec.token = f[P.KEY_TOKEN]));
  if (type === P.FULL) {
    rec.resyncing = false;
    return render(rec, f[P.KEY_HTML], v, f);
  }
  if (type === P.DIFF) {
    let html = null;
    try {
      if (rec.html != null && v === rec.v + 1) html = applyOps(rec.html, f[P.KEY_OPS], f[P.KEY_LENGTH]);
    } catch (err) {
      console.warn(err.message);
    }
    if (html != null) return render(rec, html, v, f);
    // A version gap, or ops that do not fit: ask again for this component only.
    if (rec.html == null || v > rec.v) resync(rec);
    return settle(entry, f);
  }
  // An ack: handled, HTML unchanged. A version newer than ours means a frame was missed.
  if (v != null && v > rec.v) resync(rec);
  settle(entry, f);
  emit(rec.root, "live:update", { id: rec.id, v: rec.v, ref, changed: false });
}

function onError(f, rec, entry) {
  const code = f[P.KEY_CODE];
  if (code === P.NOT_JOINED && rec && sock.open && !(entry && entry.retried)) {
    // This socket does not know the component (yet): join it, then try the event once more.
    join(rec);
    if (entry) send(eventFrame(Object.assign(entry, { retried: true })));
    return;
  }
  if (code === P.UNAVAILABLE && rec && !entry) {
    // The server's state store is briefly gone: join again after the pause it asked for.
    const wait = (f[P.KEY_RETRY_AFTER] || 1) * 1000 * (0.5 + Math.random());
    setTimeout(() => { if (sock.open && components[rec.id] === rec) join(rec); }, wait);
    return;
  }
  // A refusal of the whole socket comes just before its close: the close reports it.
  if (!rec && !entry) sock.lastError = f[P.KEY_MESSAGE];
  settle(entry, f);
  if (rec && RELOAD_CODES.indexOf(code) >= 0 && reload(rec)) return emit(rec.root, "live:error", f);
  report(rec, f);
  revoked(rec, f);
}

// Events from the user -----------------------------------------------------------------

/** Record a user event as pending, with its loading state and optimistic patch. */
function track(root, el, event, payload, submitter) {
  const rec = register(root);
  // Refs are microseconds since the epoch: still growing after a reload, and exact in a double.
  lastRef = Math.max(Date.now() * 1000, lastRef + 1);
  const entry = { ref: lastRef, id: rec.id, event, payload, el, submitter: submitter || null, undo: null };
  // The controls of a submitted form take the server's values, even the focused one.
  entry.form = el && el.tagName === "FORM" ? el : (submitter && submitter.form) || null;
  entry.via = null; // "ws" once sent on the socket, "http" once posted
  entry.done = new Promise((resolve) => { entry.resolve = resolve; });
  pending.set(entry.ref, entry);
  hideError(rec);
  rec.error = null;
  arm(entry);
  showLoading(rec);
  return entry;
}

function eventFrame(e) {
  return { [P.KEY_TYPE]: P.EVENT, [P.KEY_ID]: e.id, [P.KEY_EVENT]: e.event, [P.KEY_PAYLOAD]: e.payload, [P.KEY_REF]: e.ref };
}

/** Send an event by the current transport; while the socket is down it waits in `pending`. */
function deliver(entry) {
  if (mode === "http") return post(entry);
  if (sock.open) {
    entry.via = "ws";
    send(eventFrame(entry));
  } else if (sock.closedFatal && sock.wrapper) {
    // No automatic loop after a 4xxx close, but a user action may try once more.
    sock.closedFatal = 0;
    sock.wrapper.reconnect();
  }
}

/** Resolve a pending event: undo its patches (unless a morph did) and update loading. */
function settle(entry, answer) {
  if (!entry || !pending.delete(entry.ref)) return;
  clearTimeout(entry.timer);
  undecorate(entry);
  entry.resolve(answer);
  if (components[entry.id]) showLoading(components[entry.id]);
}

/** htmx's send parameters as a plain JSON object, without its HEADERS. */
function toPayload(params) {
  const source = params instanceof FormData ? formValues(params) : params || {};
  const out = {};
  Object.keys(source).filter((key) => key !== "HEADERS").forEach((key) => {
    const value = source[key];
    // Multi-valued fields come as a proxy; copy by index, never through its methods.
    out[key] = Array.isArray(value) ? Array.from({ length: value.length }, (_, i) => value[i]) : value;
  });
  return out;
}

function formValues(data) {
  const out = {};
  data.forEach((value, key) => {
    if (typeof value === "string") out[key] = key in out ? [].concat(out[key], value) : value;
  });
  return out;
}

/** The payload of a plain element: its form's fields, its own value, JSON hx-vals. */
function readPayload(el, submitter, root) {
  const form = el.tagName === "FORM" ? el : el.form || null;
  const out = form ? formValues(new FormData(form)) : {};
  const add = (name, value) => { out[name] = name in out ? [].concat(out[name], value) : value; };
  if (fieldKind(el) && !(el.name && form)) {
    if (el.type === "select-multiple") out[el.name || "value"] = Array.from(el.selectedOptions, (o) => o.value);
    else if (!/^(checkbox|radio)$/.test(el.type) || el.checked) add(el.name || "value", el.value);
  }
  const button = submitter || (isButton(el) ? el : null);
  if (button && button.name) add(button.name, button.value);
  // hx-vals from the root down to the element, so the closest wins (as in htmx).
  const chain = [];
  for (let node = el; node && node !== root.parentElement; node = node.parentElement) chain.unshift(node);
  chain.forEach((node) => {
    const raw = node.getAttribute("hx-vals") || node.getAttribute("data-hx-vals") || "";
    try {
      if (raw.trim().charAt(0) === "{") Object.assign(out, JSON.parse(raw));
    } catch (err) {
      console.warn("live: hx-vals is not JSON", node);
    }
  });
  return out;
}

/** "input" for text fields, "change" for the other fields, null for anything else. */
function fieldKind(el) {
  if (el.tagName === "TEXTAREA") return "input";
  if (el.tagName === "SELECT") return "change";
  if (el.tagName !== "INPUT" || /^(submit|button|reset|image|hidden)$/.test(el.type)) return null;
  return /^(text|search|email|url|tel|password|number)$/.test(el.type) ? "input" : "change";
}

const viaHtmx = (el) => sock.viaHtmx && (el.hasAttribute("ws-send") || el.hasAttribute("data-ws-send"));
const debounced = new WeakMap();

function fire(el, submitter) {
  const wait = parseInt(el.getAttribute(DOM.DEBOUNCE), 10);
  const now = () => {
    const root = rootOf(el);
    if (root && el.isConnected) {
      deliver(track(root, el, el.getAttribute(P.ATTR_EVENT), readPayload(el, submitter, root), submitter));
    }
  };
  clearTimeout(debounced.get(el));
  // Debounced: the value is read when the wait is over.
  if (wait > 0) debounced.set(el, setTimeout(now, wait));
  else now();
}

// Elements without ws-send (or pages without htmx): one delegated listener per DOM event.
document.addEventListener("click", (e) => {
  const el = e.target.closest ? e.target.closest(SEL_EVENT) : null;
  if (!el || el.tagName === "FORM" || fieldKind(el) || viaHtmx(el)) return;
  const root = rootOf(el);
  if (!root || root !== rootOf(e.target)) return;
  e.preventDefault(); // links and submit buttons act through their component only
  fire(el, null);
});
document.addEventListener("submit", (e) => {
  const form = e.target;
  if (!form.hasAttribute(P.ATTR_EVENT) || viaHtmx(form) || !rootOf(form)) return;
  e.preventDefault();
  fire(form, e.submitter || null);
});
["input", "change"].forEach((type) => document.addEventListener(type, (e) => {
  const el = e.target;
  if (el.hasAttribute && el.hasAttribute(P.ATTR_EVENT) && fieldKind(el) === type && !viaHtmx(el)) fire(el, null);
}));

// ws-send elements: htmx gathers the parameters, we write the envelope.
document.addEventListener("htmx:wsConfigSend", (e) => {
  const d = e.detail;
  const el = e.target.closest ? e.target.closest(SEL_EVENT) : null;
  const root = rootOf(el);
  if (!root || rootOf(e.target) !== root) return; // not a live event: leave the message alone
  if (d.errors && d.errors.length) return; // htmx halts on validation errors
  const submitter = (d.triggeringEvent && d.triggeringEvent.submitter) || null;
  const entry = track(root, el, el.getAttribute(P.ATTR_EVENT), toPayload(d.parameters), submitter);
  if (mode === "ws" && sock.open) {
    entry.via = "ws";
    d.messageBody = JSON.stringify(eventFrame(entry));
  } else {
    // No open socket: htmx would queue a copy; cancel it, the entry is delivered by us.
    e.preventDefault();
    deliver(entry);
  }
});

// HTTP fallback -------------------------------------------------------------------------

function post(entry) {
  const rec = components[entry.id];
  if (!rec) return;
  entry.via = "http";
  rec.chain = rec.chain.then(() => postNow(rec, entry)).catch((err) => console.error("live: HTTP answer", err));
}

function postJSON(rec, body) {
  return fetch(rec.url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(Object.assign({ [P.KEY_ID]: rec.id, [P.KEY_TOKEN]: rec.token, [P.KEY_VERSION]: rec.v, [P.KEY_STATE]: rec.state }, body)),
  });
}

async function postNow(rec, entry) {
  if (!pending.has(entry.ref)) return;
  let res = null;
  let data = null;
  try {
    res = await postJSON(rec, { [P.KEY_EVENT]: entry.event, [P.KEY_PAYLOAD]: entry.payload, [P.KEY_REF]: entry.ref });
    data = await res.json();
  } catch (err) { /* no answer, or not JSON: reported below */ }
  if (!res || !res.ok || !data || data.error) {
    const message = data && data.error ? data.error : res ? "Request failed (HTTP " + res.status + ")" : "Server unreachable";
    const err = errorFrame(rec.id, entry.ref, (data && data[P.KEY_CODE]) || P.SERVER_ERROR, message);
    const retry = (data && data[P.KEY_RETRY_AFTER]) || (res && Number(res.headers.get("Retry-After")));
    if (data && data[P.KEY_FIELDS]) err[P.KEY_FIELDS] = data[P.KEY_FIELDS];
    if (retry) err[P.KEY_RETRY_AFTER] = retry;
    return onFrame(err);
  }
  if (data[P.KEY_STATE]) rec.state = data[P.KEY_STATE];
  onFrame({
    [P.KEY_TYPE]: P.FULL, [P.KEY_ID]: rec.id, [P.KEY_VERSION]: data[P.KEY_VERSION], [P.KEY_HTML]: data[P.KEY_HTML],
    [P.KEY_TOKEN]: data[P.KEY_TOKEN], [P.KEY_REF]: entry.ref,
  });
}

/** On the HTTP fallback, ask for what broadcasts changed in components that follow groups. */
function pollDue() {
  if (mode !== "http" || document.hidden) return;
  const now = Date.now();
  Object.keys(components).forEach((id) => {
    const rec = components[id];
    if (!rec.poll || !rec.url || now - rec.polledAt < rec.poll * 1000 || entriesOf(id).length) return;
    rec.polledAt = now;
    rec.chain = rec.chain.then(() => pollNow(rec)).catch((err) => console.warn("live: poll", err));
  });
}

async function pollNow(rec) {
  if (entriesOf(rec.id).length) return; // an event's answer brings the news anyway
  let res = null;
  let data = null;
  try {
    res = await postJSON(rec, {});
    if (res.status === 204) return; // still current
    data = await res.json();
  } catch (err) {
    return; // unreachable: the next poll or event tries again
  }
  if (data && REVOKED_CODES.indexOf(data[P.KEY_CODE]) >= 0) return onFrame(errorFrame(rec.id, null, data[P.KEY_CODE], data.error));
  if (!res.ok || !data || data.error) return;
  if (data[P.KEY_STATE]) rec.state = data[P.KEY_STATE];
  onFrame({
    [P.KEY_TYPE]: P.FULL, [P.KEY_ID]: rec.id, [P.KEY_VERSION]: data[P.KEY_VERSION], [P.KEY_HTML]: data[P.KEY_HTML],
    [P.KEY_TOKEN]: data[P.KEY_TOKEN],
  });
}

function setMode(next) {
  if (mode === next) return;
  mode = next;
  emit(document, "live:mode", { mode });
  clearInterval(pollTimer);
  pollTimer = mode === "http" ? setInterval(pollDue, 1000) : null;
  // What waited for the socket goes over HTTP now.
  if (mode !== "http") return;
  pending.forEach((entry) => {
    if (entry.via === "http") return;
    arm(entry);
    post(entry);
  });
}

// The socket ---------------------------------------------------------------------------

function send(out) {
  if (!sock.open || mode !== "ws") return;
  try {
    sock.wrapper.sendImmediately(JSON.stringify(out));
  } catch (err) {
    console.warn("live: send failed", err);
  }
}

function onOpen(wrapper, socket) {
  clearTimeout(sock.openTimer);
  clearTimeout(sock.retryTimer);
  Object.assign(sock, { wrapper, socket, open: true, opened: true, attempts: 0, closedFatal: 0, lastError: null });
  setMode("ws");
  scan();
  // Rejoin everything (the server resumes each component from its snapshot), then resend what
  // is still unanswered, with the same ref: the server skips refs it has already applied.
  Object.keys(components).forEach((id) => {
    components[id].resyncing = false;
    join(components[id]);
  });
  pending.forEach((entry) => {
    if (entry.via === "http") return;
    arm(entry);
    entry.via = "ws";
    send(eventFrame(entry));
  });
}

function onClose(evt, wrapper) {
  if (sock.open && evt.target && sock.socket && evt.target !== sock.socket) return; // an old socket
  sock.open = false;
  // The answers went with the socket: undo the guesses; the events are resent on reopen.
  pending.forEach((entry) => {
    if (entry.via !== "ws") return;
    undecorate(entry);
    entry.via = null;
  });
  Object.keys(components).forEach((id) => showLoading(components[id]));
  if (unloading) return;
  if (!sock.opened && ++sock.failures >= 2) setMode("http");
  const code = evt.code;
  if (code >= 4000 && code < 5000 && code !== P.CLOSE_SLOW_CONSUMER) return fatal(code, evt.reason);
  // Any other code (4008 too: dropped for lagging; the rejoin resyncs) reconnects.
  if (EXT_RETRY.indexOf(code) >= 0) return; // the extension does it
  clearTimeout(sock.retryTimer);
  // Exponential backoff with full jitter.
  const delay = Math.random() * Math.min(MAX_BACKOFF, 500 * Math.pow(2, sock.attempts++));
  sock.retryTimer = setTimeout(() => sock.open || wrapper.reconnect(), delay);
}

function fatal(code, reason) {
  sock.closedFatal = code;
  const errCode = { 4401: P.UNAUTHENTICATED, 4403: P.FORBIDDEN, 4404: P.UNKNOWN_COMPONENT, [P.CLOSE_TOO_MANY_SOCKETS]: P.RATE_LIMITED }[code] || P.SERVER_ERROR;
  // daphne drops close reasons: the error frame sent before the close has the message.
  const message = reason || sock.lastError || "The connection was closed (" + code + ").";
  pending.forEach((entry) => entry.via !== "http" && settle(entry, errorFrame(entry.id, entry.ref, errCode, message)));
  Object.keys(components).forEach((id) => {
    const err = Object.assign(errorFrame(id, null, errCode, message), { close: code });
    report(components[id], err);
    revoked(components[id], err);
  });
}

document.addEventListener("htmx:wsConnecting", () => {
  sock.viaHtmx = true;
  if (!sock.opened && !sock.openTimer) sock.openTimer = setTimeout(() => sock.opened || setMode("http"), OPEN_TIMEOUT);
});
document.addEventListener("htmx:wsOpen", (e) => onOpen(e.detail.socketWrapper, e.detail.event && e.detail.event.target));
document.addEventListener("htmx:wsClose", (e) => onClose(e.detail.event, e.detail.socketWrapper));
document.addEventListener("htmx:wsBeforeMessage", (e) => onMessage(e.detail.message) && e.preventDefault());

let scanQueued = false;
document.addEventListener("htmx:load", () => {
  // Content swapped in by htmx may add components or drop some.
  if (scanQueued) return;
  scanQueued = true;
  Promise.resolve().then(() => {
    scanQueued = false;
    joinNew();
  });
});
window.addEventListener("pagehide", () => { unloading = true; });
window.addEventListener("pageshow", (e) => {
  unloading = false;
  // Back from the back/forward cache: the socket was closed while the page was hidden.
  if (e.persisted && !sock.open && sock.wrapper && mode === "ws") sock.wrapper.reconnect();
});
setInterval(() => send({ [P.KEY_TYPE]: P.PING }), PING_EVERY);

function start() {
  scan();
  // No socket is coming (no WebSocket, or no htmx WebSocket extension on the page): use HTTP.
  if (!window.WebSocket || !sock.viaHtmx) setMode("http");
}

// After DOMContentLoaded, once htmx has processed the page and begun connecting.
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => setTimeout(start));
else setTimeout(start);

window.live = {
  components,
  pending,
  get mode() { return mode; },
  /** Send `event` to component `id`; resolves with the answering frame. */
  send(id, event, payload) {
    if (!components[id]) return Promise.reject(new Error("live: no component " + JSON.stringify(id)));
    const entry = track(components[id].root, null, event, payload || {}, null);
    deliver(entry);
    return entry.done;
  },
  /** Ask the server for the whole HTML of component `id` again. */
  resync(id) {
    if (!components[id]) return;
    components[id].resyncing = false;
    resync(components[id]);
  },
  applyOps,
  morph,
  protocol: P,
};
})();
