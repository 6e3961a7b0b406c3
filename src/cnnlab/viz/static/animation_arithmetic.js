// The animation player's arithmetic, with no drawing: what cnnlab.viz.animation and cnnlab.layers.shapes compute
// in Python, computed in the page so that moving a slider needs no server.
//
// compute(settings) gives the grid the window slides over (input, padding, inserted zeros, cells past the padded
// input in ceil mode), the window of every output position, the output size with its formula (the lines
// `cnnlab shape` prints), and with small integer values the output of every position and the terms of its sum.
// An impossible setting gives {error: "one line"} with the message shapes.py raises.
// Loaded as a plain script in the page (window.cnnlabArithmetic) and with require() under Node by the tests.
(function (root, factory) {
  const api = factory();
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.cnnlabArithmetic = api;
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  const INPUT = "input", PADDING = "padding", ZERO = "zero", OUTSIDE = "outside";
  // Past these the picture stops being readable (cnnlab.viz.animation's MAX_GRID and MAX_FRAMES).
  const MAX_GRID = 64, MAX_FRAMES = 1024;

  class SettingError extends Error {}

  const effective = (k, d) => d * (k - 1) + 1;
  const kernelWords = (k, d) => (d === 1 ? `kernel ${k}` : `dilated kernel ${effective(k, d)} (k=${k}, d=${d})`);
  const floorDiv = (a, b) => Math.floor(a / b);

  // --- sizes, as cnnlab.layers.shapes computes and explains them (same checks, same messages) ---

  function coverageNote(i, kEff, s, p, o) {
    const numerator = i - kEff + 2 * p;
    const remainder = numerator - (o - 1) * s;
    if (remainder === 0) return `${numerator} / ${s} is exact: the windows cover every pixel of the padded input.`;
    if (remainder < 0) {
      return `ceil mode: the last window reaches ${-remainder} pixel(s) past the padded input and pools ` +
        "only what is there, so no pixel is left out.";
    }
    const real = Math.max(0, remainder - p);
    const lost = real ? `${real} of them real input pixel(s)` : "all of them padding, so no real pixel is lost";
    return `${numerator} / ${s} is not exact (remainder ${remainder}): the windows never cover the last ` +
      `${remainder} pixel(s) of the padded input, ${lost}.`;
  }

  const dilationLine = (k, d) => (d === 1 ? [] : [`k_eff = d*(k - 1) + 1 = ${d}*(${k} - 1) + 1 = ${effective(k, d)}`]);

  function explainConv(i, k, s, p, d) {
    const kEff = effective(k, d), padded = i + 2 * p;
    if (kEff > padded) throw new SettingError(`${kernelWords(k, d)} is larger than the padded input ${padded} (i=${i}, p=${p})`);
    const o = floorDiv(padded - kEff, s) + 1;
    const lines = [...dilationLine(k, d), `o = floor((${i} - ${kEff} + 2*${p}) / ${s}) + 1 = ${o}`];
    return { output: o, lines, notes: [coverageNote(i, kEff, s, p, o)] };
  }

  function explainPool(i, k, s, p, d, ceil) {
    if (p > floorDiv(k, 2)) throw new SettingError(`padding ${p} is more than half the pooling window ${k} (at most ${floorDiv(k, 2)})`);
    const kEff = effective(k, d), padded = i + 2 * p, span = padded - kEff;
    const raw = floorDiv(span + (ceil ? s - 1 : 0), s) + 1;
    let o = raw;
    if (ceil && (o - 1) * s >= i + p) o -= 1; // PyTorch drops a last window that would start in the right padding
    if (o < 1) throw new SettingError(`pooling ${kernelWords(k, d)} is larger than the padded input ${padded} (i=${i}, p=${p})`);
    const lines = [...dilationLine(k, d), `o = ${ceil ? "ceil" : "floor"}((${i} - ${kEff} + 2*${p}) / ${s}) + 1 = ${raw}`];
    const notes = [];
    if (raw !== o) {
      notes.push(`The last window would start at ${(raw - 1) * s}, in the right padding (>= i + p = ${i + p}), ` +
        `so PyTorch drops it: o = ${o}.`);
    }
    notes.push(coverageNote(i, kEff, s, p, o));
    return { output: o, lines, notes };
  }

  function explainTransposed(i, k, s, p, d, op) {
    const kEff = effective(k, d);
    if (op >= Math.max(s, d)) throw new SettingError(`output_padding ${op} must be smaller than the stride ${s} or the dilation ${d}`);
    const o = (i - 1) * s + kEff + op - 2 * p;
    if (o < 1) {
      throw new SettingError(`padding ${p} crops the whole output: (i-1)s + d(k-1) + 1 + output_padding = ` +
        `${o + 2 * p} is not more than 2p = ${2 * p}`);
    }
    const stretched = (i - 1) * s + 1, border = kEff - 1 - p;
    const lines = [`o = (i - 1)*s - 2*p + d*(k - 1) + output_padding + 1 = (${i} - 1)*${s} - 2*${p} + ${d}*(${k} - 1) + ${op} + 1 = ${o}`];
    const notes = [`As the lecture does it: insert s - 1 = ${s - 1} zero(s) between inputs (${i} -> ${stretched}), ` +
      `pad d*(k - 1) - p = ${border} on each side` + (op ? ` (+${op} bottom/right)` : "") +
      `, then convolve with stride 1 with the flipped ${k}x${k} kernel: ` +
      `${stretched} + 2*${border}${op ? ` + ${op}` : ""} - ${kEff} + 1 = ${o}.`];
    return { output: o, lines, notes };
  }

  // --- one axis of the picture: the grid's cells, the input index each shows, each output's window ---

  const range = (n) => Array.from({ length: Math.max(0, n) }, (_, index) => index);

  function convAxis(i, k, s, p, d) {
    const explanation = explainConv(i, k, s, p, d);
    const cells = range(i + 2 * p).map((g) => (p <= g && g < p + i ? INPUT : PADDING));
    const source = range(i + 2 * p).map((g) => (p <= g && g < p + i ? g - p : -1));
    const windows = range(explanation.output).map((o) => range(k).map((a) => o * s + a * d));
    return { cells, source, windows, explanation };
  }

  function poolAxis(i, k, s, p, d, ceil) {
    const explanation = explainPool(i, k, s, p, d, ceil);
    const windows = range(explanation.output).map((o) => range(k).map((a) => o * s + a * d));
    const size = Math.max(i + 2 * p, windows[windows.length - 1][k - 1] + 1); // ceil mode may reach past the padding
    const cells = range(size).map((g) => (p <= g && g < p + i ? INPUT : g < i + 2 * p ? PADDING : OUTSIDE));
    const source = range(size).map((g) => (p <= g && g < p + i ? g - p : -1));
    return { cells, source, windows, explanation };
  }

  function transposedAxis(i, k, s, p, d, op) {
    const explanation = explainTransposed(i, k, s, p, d, op);
    const stretched = (i - 1) * s + 1; // s - 1 zeros between neighbouring inputs
    const before = d * (k - 1) - p, after = before + op; // a negative border crops instead
    const cells = [], source = [];
    for (const g of range(stretched + before + after)) {
      const j = g - before;
      if (j < 0 || j >= stretched) { cells.push(PADDING); source.push(-1); }
      else if (j % s) { cells.push(ZERO); source.push(-1); }
      else { cells.push(INPUT); source.push(j / s); }
    }
    const windows = range(explanation.output).map((o) => range(k).map((a) => o + a * d));
    return { cells, source, windows, explanation };
  }

  // --- small integer values: the same numbers wherever a cell stays when a slider moves ---

  // A hash of (seed, what, y, x) into [low, high]: growing the input keeps the numbers already there.
  function seeded(seed, what, y, x, low, high) {
    let h = (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(what + 7, 0x85ebca6b) ^ Math.imul(y + 13, 0xc2b2ae35) ^
      Math.imul(x + 31, 0x27d4eb2f)) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
    return low + (h % (high - low + 1));
  }

  // The given numbers (the Animation's own, at its sizes) where there are some, seeded ones elsewhere.
  const numbers = (shape, given, seed, what, low, high) =>
    range(shape[0]).map((y) => range(shape[1]).map((x) => {
      const known = given && given[y] !== undefined ? given[y][x] : undefined;
      return known !== undefined ? known : seeded(seed, what, y, x, low, high);
    }));

  // --- the whole computation ---

  function pairOf(value) {
    return Array.isArray(value) ? [value[0], value[1]] : [value, value];
  }

  function checkWhole(name, value, minimum) {
    if (!Number.isInteger(value) || value < minimum) {
      throw new SettingError(`${name} must be a whole number of at least ${minimum}, got ${value}`);
    }
  }

  function axes(kind, i, k, s, p, d, op, mode, ceil) {
    return [0, 1].map((a) => {
      if (kind === "conv") return convAxis(i[a], k[a], s[a], p[a], d[a]);
      if (kind === "transposed") return transposedAxis(i[a], k[a], s[a], p[a], d[a], op[a]);
      return poolAxis(i[a], k[a], s[a], p[a], d[a], ceil);
    });
  }

  function settingsOf(raw) {
    const kind = raw.kind, mode = raw.mode || "max", ceil = Boolean(raw.ceil_mode);
    if (!["conv", "pool", "transposed"].includes(kind)) throw new SettingError(`unknown kind ${kind}`);
    if (!["max", "mean"].includes(mode)) throw new SettingError(`unknown pooling mode ${mode}`);
    const i = pairOf(raw.input), k = pairOf(raw.kernel);
    const s = raw.stride === null || raw.stride === undefined ? (kind === "pool" ? k : [1, 1]) : pairOf(raw.stride);
    const p = pairOf(raw.padding ?? 0), d = pairOf(raw.dilation ?? 1), op = pairOf(raw.output_padding ?? 0);
    for (const [name, pair, minimum] of [["input", i, 1], ["kernel", k, 1], ["stride", s, 1], ["padding", p, 0],
      ["dilation", d, 1], ["output padding", op, 0]]) pair.forEach((value) => checkWhole(name, value, minimum));
    if (kind === "pool" && mode === "mean" && (d[0] !== 1 || d[1] !== 1)) {
      throw new SettingError("mean pooling has no dilation in PyTorch (avg_pool2d): use dilation 1 or max pooling");
    }
    return { kind, mode, ceil, i, k, s, p, d, op, seed: raw.seed ?? 0 };
  }

  function compute(raw) {
    let settings, rows, cols;
    try {
      settings = settingsOf(raw);
      const { kind, mode, ceil, i, k, s, p, d, op } = settings;
      [rows, cols] = axes(kind, i, k, s, p, d, op, mode, ceil);
    } catch (error) {
      if (error instanceof SettingError) return { error: error.message };
      throw error;
    }
    const { kind, mode, i, k, seed } = settings;
    const gridShape = [rows.cells.length, cols.cells.length];
    const outputShape = [rows.windows.length, cols.windows.length];
    if (Math.max(...gridShape) > MAX_GRID || outputShape[0] * outputShape[1] > MAX_FRAMES) {
      return { error: `the grid would be ${gridShape[0]}x${gridShape[1]} cells with ${outputShape[0] * outputShape[1]} outputs: too many to draw` };
    }
    const pool = kind === "pool";
    const input = numbers(i, raw.input_values, seed, 0, 0, pool ? 9 : 3);
    const kernel = pool ? null : numbers(k, raw.kernel_values, seed, 1, -1, 2);
    const bias = pool ? null : raw.bias ?? seeded(seed, 2, 0, 0, -1, 2);
    // A transposed convolution is the convolution of the stretched, bordered input with the flipped kernel.
    const applied = kernel && (kind === "transposed" ? kernel.slice().reverse().map((row) => row.slice().reverse()) : kernel);
    const cells = rows.cells.map((r) => cols.cells.map((c) => [OUTSIDE, PADDING, ZERO].find((what) => what === r || what === c) || INPUT));
    const blank = pool && mode === "max" ? -Infinity : 0; // max pooling pads with -inf, as PyTorch
    const grid = cells.map((row, gy) => row.map((what, gx) =>
      what === INPUT ? input[rows.source[gy]][cols.source[gx]] : what === ZERO ? 0 : blank));
    const positions = [], windows = [], outputs = range(outputShape[0]).map(() => []), terms = [];
    for (const [y, wy] of rows.windows.entries()) {
      for (const [x, wx] of cols.windows.entries()) {
        const window = [], parts = [];
        for (const [a, gy] of wy.entries()) {
          for (const [b, gx] of wx.entries()) {
            window.push([gy, gx]);
            parts.push({ value: grid[gy][gx], weight: applied ? applied[a][b] : null, cell: cells[gy][gx] });
          }
        }
        positions.push([y, x]);
        windows.push(window);
        terms.push(parts);
        outputs[y][x] = combine(kind, mode, parts, bias);
      }
    }
    const formula = [rows.explanation, cols.explanation];
    return {
      kind, mode, ceil: settings.ceil, input, kernel, applied, bias, cells, grid, positions, windows, outputs, terms,
      outputShape, gridShape, settings, formula,
    };
  }

  function combine(kind, mode, parts, bias) {
    if (kind !== "pool") return parts.reduce((sum, part) => sum + part.value * part.weight, bias);
    if (mode === "max") return Math.max(...parts.map((part) => part.value));
    // PyTorch's avg_pool2d counts the padding (count_include_pad) but not what lies past it in ceil mode.
    const counted = parts.filter((part) => part.cell !== OUTSIDE);
    return counted.reduce((sum, part) => sum + part.value, 0) / counted.length;
  }

  // --- the words the page writes ---

  const shown = (value) => (Number.isInteger(value) ? String(value) : value === -Infinity ? "-inf" : String(Number(value.toFixed(2))));
  const signed = (value) => (value < 0 ? `(\u2212${shown(-value)})` : shown(value));

  // The current output's sum, written out: "1 x 3 + 2 x 0 + ... + bias 1 = 8", "max(3, 1, 0, 2) = 3".
  function sumWords(result, position) {
    const parts = result.terms[position];
    const value = shown(result.outputs[result.positions[position][0]][result.positions[position][1]]).replace("-", "\u2212");
    if (result.kind !== "pool") {
      return [...parts.map((part) => `${signed(part.value)}\u00d7${signed(part.weight)}`), `bias ${signed(result.bias)}`, `= ${value}`];
    }
    if (result.mode === "max") return [`max(${parts.map((part) => shown(part.value)).join(", ")})`, `= ${value}`];
    const counted = parts.filter((part) => part.cell !== OUTSIDE);
    return [`(${counted.map((part) => shown(part.value)).join(" + ")}) / ${counted.length}`, `= ${value}`];
  }

  // The formula lines once: both axes' when they differ, as cnnlab.viz.animation writes them.
  function formulaLines(result) {
    const [height, width] = result.formula;
    const same = height.lines.join("\n") === width.lines.join("\n");
    if (same) return { lines: height.lines, notes: height.notes };
    return {
      lines: [...height.lines.map((line) => `height: ${line}`), ...width.lines.map((line) => `width: ${line}`)],
      notes: [...height.notes.map((note) => `height: ${note}`), ...width.notes.map((note) => `width: ${note}`)],
    };
  }

  return { compute, sumWords, formulaLines, shown, seeded, INPUT, PADDING, ZERO, OUTSIDE, MAX_GRID, MAX_FRAMES };
});
