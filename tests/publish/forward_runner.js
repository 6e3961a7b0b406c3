// Runs static/forward.js under Node for the tests: node forward_runner.js JOBS.json RESULTS.json
// JOBS.json: [{program, input: base64 of little-endian float32}, ...]; RESULTS.json: for each job, every
// tensor the program computed, {name: {shape, data: base64 of little-endian float32}}.
"use strict";
const fs = require("fs");
const path = require("path");
const { run } = require(path.join(__dirname, "../../src/cnnlab/publish/static/forward.js"));

const floats = (base64) => {
  const bytes = Buffer.from(base64, "base64");
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
};
const base64 = (array) => Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString("base64");

const jobs = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const results = jobs.map(({ program, input }) => {
  const { tensors } = run(program, floats(input), { keep: true });
  const found = {};
  for (const [name, tensor] of tensors) found[name] = { shape: tensor.shape, data: base64(tensor.data) };
  return found;
});
fs.writeFileSync(process.argv[3], JSON.stringify(results));
