// Tests of live.js's diff application, run with `node --test tests/js/`.
// live.js is loaded in a sandbox with just enough of a DOM to start (no dependencies).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import vm from "node:vm";

const source = readFileSync(new URL("../../live/static/live/live.js", import.meta.url), "utf8");

function loadLive() {
  const noop = () => {};
  const document = {
    readyState: "complete",
    cookie: "",
    addEventListener: noop,
    dispatchEvent: noop,
    querySelector: () => null,
    querySelectorAll: () => [],
  };
  const window = { addEventListener: noop, WebSocket: undefined };
  const sandbox = {
    window, document, console, Promise, Map, WeakMap, JSON, Math, Number, Array, Object, String, Date,
    setTimeout: noop, clearTimeout: noop, setInterval: noop, CustomEvent: class {}, FormData: class {},
  };
  vm.runInNewContext(source, sandbox, { filename: "live.js" });
  return window.live;
}

const live = loadLive();

test("applies inserts, deletes and replacements", () => {
  assert.equal(live.applyOps("hello world", [[0, 5, "goodbye"]]), "goodbye world");
  assert.equal(live.applyOps("hello world", [[5, 6, ""]]), "hello");
  assert.equal(live.applyOps("hello", [[5, 0, "!"]]), "hello!");
  assert.equal(live.applyOps("abc", []), "abc");
  assert.equal(live.applyOps("<b>1</b><i>2</i>", [[3, 1, "10"], [11, 1, "20"]]), "<b>10</b><i>20</i>");
});

test("offsets count UTF-16 code units", () => {
  // "😀" is two code units; "é" one.
  assert.equal(live.applyOps("a😀b", [[1, 2, "x"]]), "axb");
  assert.equal(live.applyOps("é😀é", [[3, 1, "e"]]), "é😀e");
  assert.equal(live.applyOps("😀😀", [[2, 0, "|"]]), "😀|😀");
});

test("rejects ops that do not fit", () => {
  for (const ops of [
    [[4, 0, "x"]], // past the end
    [[1, 3, "x"]], // deletes past the end
    [[2, 0, "x"], [1, 0, "y"]], // unsorted
    [[0, 2, "x"], [1, 0, "y"]], // overlapping
    [[0, -1, "x"]],
    [[0.5, 0, "x"]],
    [[0, 0, 7]],
  ]) {
    assert.throws(() => live.applyOps("abc", ops), /bad diff op/, JSON.stringify(ops));
  }
  assert.throws(() => live.applyOps("abc", null), /must be a list/);
});

test("checks the announced length", () => {
  assert.equal(live.applyOps("abc", [[0, 1, "x"]], 3), "xbc");
  assert.throws(() => live.applyOps("abc", [[0, 1, "xy"]], 3), /expected 3/);
});

// Random strings over an alphabet with ASCII, BMP and astral characters.
const ALPHABET = ["a", "b", "<", ">", " ", "é", "中", "😀", "👍🏽", "\n"];
let seed = 42;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const randomText = (n) => Array.from({ length: n }, () => ALPHABET[Math.floor(random() * ALPHABET.length)]).join("");

/** Ops turning `old` into `next` the way the server shapes them: sorted, disjoint, UTF-16. */
function randomOps(old) {
  const ops = [];
  let next = "";
  let pos = 0;
  const chars = Array.from(old); // whole code points, so no op splits a surrogate pair
  let units = 0;
  for (const ch of chars) {
    if (random() < 0.15) {
      const deleted = random() < 0.5 ? ch.length : 0;
      const inserted = randomText(Math.floor(random() * 3));
      ops.push([units, deleted, inserted]);
      next += old.slice(pos, units) + inserted;
      pos = units + deleted;
    }
    units += ch.length;
  }
  return { ops, next: next + old.slice(pos) };
}

test("random edits of random Unicode text", () => {
  for (let i = 0; i < 500; i++) {
    const old = randomText(Math.floor(random() * 40));
    const { ops, next } = randomOps(old);
    assert.equal(live.applyOps(old, ops, next.length), next, JSON.stringify({ old, ops }));
  }
});
