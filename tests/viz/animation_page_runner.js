// Runs the animation player's arithmetic (src/cnnlab/viz/static/animation_arithmetic.js) under Node for the tests:
// node animation_page_runner.js JOBS.json RESULTS.json, where JOBS.json is a list of the page's settings and
// RESULTS.json one result per job: compute()'s numbers, the formula lines, and the words of every output's sum.
"use strict";
const fs = require("fs");
const path = require("path");
const arithmetic = require(path.join(__dirname, "../../src/cnnlab/viz/static/animation_arithmetic.js"));

const finite = (value) => (value === -Infinity ? "-inf" : value); // JSON has no infinity

const results = JSON.parse(fs.readFileSync(process.argv[2], "utf8")).map((settings) => {
  const result = arithmetic.compute(settings);
  if (result.error) return { error: result.error };
  return {
    input: result.input, kernel: result.kernel, applied: result.applied, bias: result.bias, outputs: result.outputs,
    outputShape: result.outputShape, cells: result.cells, windows: result.windows, positions: result.positions,
    grid: result.grid.map((row) => row.map(finite)), formula: arithmetic.formulaLines(result),
    lines: result.formula.map((axis) => axis.lines), notes: result.formula.map((axis) => axis.notes),
    sums: result.positions.map((_, index) => arithmetic.sumWords(result, index)),
  };
});
fs.writeFileSync(process.argv[3], JSON.stringify(results));
