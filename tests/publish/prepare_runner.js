// Runs src/cnnlab/publish/static/prepare.js under Node for tests/publish/test_prepare.py.
// Usage: node prepare_runner.js CASES.json OUT.json
// CASES.json: [{rgba: "file of RGBA bytes", width, height, layout, options, normalization}]. For each case
// OUT.json holds {pixels: [...], channels, height, width, normalized: [...]} or {error: "message"}.
"use strict";
const fs = require("fs");
const path = require("path");
const prepare = require(path.join(__dirname, "..", "..", "src", "cnnlab", "publish", "static", "prepare.js"));

const cases = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const results = cases.map((c) => {
  const rgba = new Uint8ClampedArray(fs.readFileSync(c.rgba));
  try {
    const out = prepare.prepare(rgba, c.width, c.height, c.layout, c.options);
    const normalized = c.normalization ? Array.from(prepare.normalize(out.pixels, c.normalization)) : null;
    return { pixels: Array.from(out.pixels), channels: out.channels, height: out.height, width: out.width, normalized };
  } catch (error) {
    return { error: error.message };
  }
});
fs.writeFileSync(process.argv[3], JSON.stringify(results));
