// A unit's arithmetic, as CNN Explainer shows it, shared by the published page (page.js; inlined in the file
// through /*CNNLAB:EXPLAIN*/) and the served lab (lab.js; served as /static/explain_unit.js): for a clicked unit,
// the input patch, the kernel, the products' sum, the bias and the activation (pooling, linear, RBF, residual
// addition, ... likewise), with the numbers, equal to the map's value. It reads the program (forward.js's
// input: `cnnlab.publish.to_program`'s JSON, ops and weights) and the tensors a forward pass kept
// (`cnnlabForward.run(program, input, {keep: true})`, plus the input itself). Plain JavaScript, no library;
// it fetches nothing. It draws with draw.js (`cnnlabDraw`) and decodes weights with forward.js
// (`cnnlabForward`), loaded before it. `window.cnnlabExplain` holds what it offers:
//
//   context = {program, tensors: Map(name -> {shape, data}), classes: [names], parameters: Map (a cache)}
//   cnnlabExplain.show(panel, context, tensorName, {channel, y, x}, about) -> the computed value or null
(function () {
  "use strict";

  const { el, fmt } = cnnlabDraw;
  const DETAILED_CHANNELS = 3; // input maps whose patch and kernel the arithmetic shows in full
  const LARGEST_TERMS = 6; // terms of a long sum (a linear layer's) listed by size

  const size = (shape) => shape.reduce((a, b) => a * b, 1);

  /** [C, H, W] of a tensor shape: a vector [N] is N maps of 1x1. */
  function mapShape(shape) {
    return shape.length === 3 ? shape : [shape[0], 1, 1];
  }

  function flatIndex(shape, channel, y, x) {
    const [, h, w] = mapShape(shape);
    return (channel * h + y) * w + x;
  }

  const ELEMENTWISE = {
    relu: { name: "ReLU", text: "max(0, x)", f: (x) => Math.max(0, x) },
    sigmoid: { name: "sigmoid", text: "1 / (1 + e^-x)", f: (x) => 1 / (1 + Math.exp(-x)) },
    tanh: { name: "tanh", text: "tanh x", f: Math.tanh },
    neg: { name: "negation", text: "-x", f: (x) => -x },
  };

  function parameter(context, name) {
    const decoded = context.parameters || (context.parameters = new Map());
    if (!decoded.has(name)) decoded.set(name, cnnlabForward.decodeTensor(context.program.parameters[name]));
    return decoded.get(name).data;
  }

  function opFor(context, tensorName) {
    return context.program.operations.find((op) => op.output === tensorName);
  }

  /** What an element-wise operation does to one value: {name, formula, value} or null for other kinds. */
  function elementwise(context, op, x, channel) {
    if (op.op === "scaled_tanh") {
      const { amplitude: a, slope: s } = op.attributes;
      return { name: "scaled tanh (LeNet-5's squashing)", formula: `${fmt(a)} × tanh(${fmt(s)} × ${fmt(x)})`, value: a * Math.tanh(s * x) };
    }
    if (op.op === "affine") {
      const scale = parameter(context, op.parameters.scale)[channel];
      const shift = parameter(context, op.parameters.shift)[channel];
      return { name: "batch norm", formula: `${fmt(scale)} × ${fmt(x)} + ${fmt(shift)}`, value: scale * x + shift };
    }
    const known = ELEMENTWISE[op.op];
    if (!known) return null;
    return { name: known.name, formula: `${known.text} with x = ${fmt(x)}`, value: known.f(x) };
  }

  /**
   * Fills `panel` with how unit `unit` ({channel, y, x}) of tensor `tensor` is computed: a heading, where the
   * unit looks, the arithmetic, and the map's value beside what the arithmetic gives. `about` holds what the
   * page shows of the unit: {title, unitName, field (the layer's receptive field, or null), value, valueNote}.
   * Returns the computed value (null where no arithmetic is shown). The panel's data attributes say what it
   * shows (data-value, data-computed, data-op, data-tensor, data-unit), for scripts and tests.
   */
  function show(panel, context, tensor, unit, about) {
    const op = opFor(context, tensor);
    panel.append(el("h4", "", `How ${about.title}, ${about.unitName} is computed`));
    if (about.field) {
      const where = about.field.global ? "sees the whole input" : "sees the red box on the input above";
      panel.append(el("p", "note", `This unit ${where}.`));
    }
    let computed = null;
    try {
      computed = explainOp(context, op, unit, panel);
    } catch (error) {
      panel.append(el("p", "note", `(the arithmetic could not be shown: ${error.message})`));
    }
    const result = el("p", "result");
    result.append("The map's value: ", el("strong", "", fmt(about.value)));
    if (about.valueNote) result.append(` ${about.valueNote}`);
    if (computed !== null) result.append(` (the arithmetic above gives ${fmt(computed)})`);
    panel.append(result);
    panel.dataset.value = String(about.value);
    panel.dataset.computed = computed === null ? "" : String(computed);
    panel.dataset.op = op ? op.op : "";
    panel.dataset.tensor = tensor;
    panel.dataset.unit = JSON.stringify([unit.channel, unit.y, unit.x]);
    return computed;
  }

  /** Appends the arithmetic of `op` at `unit` to `panel`; returns the value it computes (or null). */
  function explainOp(context, op, unit, panel) {
    if (!op) {
      panel.append(el("p", "note", "This is the input itself."));
      return null;
    }
    const inputs = op.inputs.map((name) => context.tensors.get(name));
    const x = inputs[0];
    const step = elementwise(context, op, x ? x.data[flatIndex(x.shape, unit.channel, unit.y, unit.x)] : 0, unit.channel);
    if (step) {
      // an activation: first how its input was computed, when that is a layer of its own
      const source = opFor(context, op.inputs[0]);
      let before = x.data[flatIndex(x.shape, unit.channel, unit.y, unit.x)];
      if (source) {
        const inner = explainOp(context, source, unit, panel);
        if (inner !== null) before = inner;
        panel.append(el("p", "step", `then the activation, ${step.name}:`));
      } else {
        panel.append(el("p", "step", `${step.name} of the value below it in ${op.inputs[0]}:`));
      }
      const again = elementwise(context, op, before, unit.channel);
      panel.append(equation(`${again.formula} = `, again.value));
      return again.value;
    }
    const explain = EXPLAIN[op.op];
    if (!explain) {
      panel.append(el("p", "note", `${op.op} (see docs/publish.md for what it computes).`));
      return null;
    }
    return explain(context, op, inputs, unit, panel);
  }

  function equation(text, value) {
    const line = el("p", "equation");
    line.append(text, el("strong", "", fmt(value)));
    return line;
  }

  /**
   * A grid of numbers (a patch or a kernel) coloured by value: `cells[u][v]`, with `null` for padding.
   * Large grids are summarised: CNN Explainer's 3x3 and LeNet's 5x5 fit, an 11x11 would not.
   */
  function grid(caption, cells, kind) {
    const figure = el("figure", `grid ${kind}`);
    const rows = cells.length;
    const cols = cells[0].length;
    let top = 0;
    for (const row of cells) for (const v of row) if (v !== null) top = Math.max(top, Math.abs(v));
    const table = el("table");
    for (const row of cells) {
      const line = el("tr");
      for (const v of row) {
        const cell = el("td", v === null ? "pad" : "", v === null ? "0" : fmt2(v));
        if (v !== null) cell.style.background = cellColour(v, top, kind);
        if (v === null) cell.title = "padding";
        line.append(cell);
      }
      table.append(line);
    }
    figure.append(el("figcaption", "", `${caption} (${rows}x${cols})`));
    if (rows * cols <= 49) figure.append(table);
    return figure;
  }

  function fmt2(v) {
    const a = Math.abs(v);
    if (a !== 0 && (a < 0.005 || a >= 1000)) return v.toExponential(0);
    return v.toFixed(2);
  }

  function cellColour(v, top, kind) {
    if (kind === "patch") {
      const t = top ? Math.abs(v) / top : 0; // the input: how bright the unit it reads is
      return v >= 0 ? `rgba(255, 160, 0, ${0.1 + 0.6 * t})` : `rgba(33, 102, 172, ${0.1 + 0.6 * t})`;
    }
    const t = top ? Math.abs(v) / top : 0; // a weight: red excites, blue inhibits
    return v >= 0 ? `rgba(178, 24, 43, ${0.08 + 0.5 * t})` : `rgba(33, 102, 172, ${0.08 + 0.5 * t})`;
  }

  /** The window of input map `c` a unit reads: cells[u][v] = x[c, y0 + u*dy, x0 + v*dx] or null off the map. */
  function window2d(tensor, c, y0, x0, kh, kw, dy = 1, dx = 1) {
    const [, h, w] = mapShape(tensor.shape);
    const cells = [];
    for (let u = 0; u < kh; u++) {
      const row = [];
      for (let v = 0; v < kw; v++) {
        const yy = y0 + u * dy;
        const xx = x0 + v * dx;
        row.push(yy >= 0 && yy < h && xx >= 0 && xx < w ? tensor.data[(c * h + yy) * w + xx] : null);
      }
      cells.push(row);
    }
    return cells;
  }

  /** One input map's part of a convolution: its patch, the kernel, and the sum of their products. */
  function convolutionTerm(panel, patch, kernel, label, detailed) {
    let sum = 0;
    let products = 0;
    for (let u = 0; u < patch.length; u++) {
      for (let v = 0; v < patch[0].length; v++) {
        if (patch[u][v] !== null) sum += patch[u][v] * kernel[u][v];
        products++;
      }
    }
    if (detailed) {
      const row = el("div", "term");
      row.append(grid(`${label}: the input patch`, patch, "patch"), el("span", "op", "×"),
        grid("the kernel", kernel, "kernel"), el("span", "op", "="),
        el("span", "partial", `Σ ${products} products: ${fmt(sum)}`));
      panel.append(row);
    }
    return sum;
  }

  function kernelOf(weights, offset, kh, kw) {
    const cells = [];
    for (let u = 0; u < kh; u++) cells.push(Array.from(weights.subarray(offset + u * kw, offset + (u + 1) * kw)));
    return cells;
  }

  /** The sums of the input maps not shown in full, in one line. */
  function restOfSums(panel, rest) {
    if (!rest.length) return;
    const shown = rest.slice(0, 24).map(([c, s]) => `map ${c}: ${fmt(s)}`).join(", ");
    panel.append(el("p", "note", `the other ${rest.length} input maps' sums: ${shown}${rest.length > 24 ? ", ..." : ""}`));
  }

  function totalLine(panel, parts, terms, bias, what) {
    const total = parts.reduce((a, b) => a + b, 0);
    const text = parts.length > 1 ? `${what}: ${parts.length} sums add up to ${fmt(total)}` : `${what}: ${fmt(total)}`;
    if (bias === null) {
      panel.append(equation(`${text}; no bias = `, total));
      return total;
    }
    panel.append(equation(`${text}; plus the bias ${fmt(bias)} = `, total + bias));
    return total + bias;
  }

  function explainConv2d(context, op, [x], unit, panel) {
    const weight = parameter(context, op.parameters.weight);
    const [out, perGroup, kh, kw] = context.program.parameters[op.parameters.weight].shape;
    const { stride, padding, dilation, groups } = op.attributes;
    const first = Math.floor(unit.channel / (out / groups)) * perGroup;
    const y0 = unit.y * stride[0] - padding[0];
    const x0 = unit.x * stride[1] - padding[1];
    const bias = op.parameters.bias ? parameter(context, op.parameters.bias)[unit.channel] : null;
    panel.append(el("p", "step", `Convolution: ${perGroup} input map${perGroup > 1 ? "s" : ""}, each patch multiplied cell by cell with its ${kh}x${kw} kernel${op.attributes.batch_norm ? " (the batch norm folded in)" : ""}.`));
    const parts = [];
    const rest = [];
    for (let c = 0; c < perGroup; c++) {
      const patch = window2d(x, first + c, y0, x0, kh, kw, dilation[0], dilation[1]);
      const kernel = kernelOf(weight, ((unit.channel * perGroup + c) * kh) * kw, kh, kw);
      const sum = convolutionTerm(panel, patch, kernel, `map ${first + c}`, c < DETAILED_CHANNELS);
      parts.push(sum);
      if (c >= DETAILED_CHANNELS) rest.push([first + c, sum]);
    }
    restOfSums(panel, rest);
    return totalLine(panel, parts, null, bias, "all products");
  }

  function explainSparseConv2d(context, op, [x], unit, panel) {
    const weight = parameter(context, op.parameters.weight);
    const [, kh, kw] = context.program.parameters[op.parameters.weight].shape;
    const { connections, stride, padding } = op.attributes;
    let k = 0;
    for (let o = 0; o < unit.channel; o++) k += connections[o].length;
    const reads = connections[unit.channel];
    panel.append(el("p", "step", `LeNet-5's C3: map ${unit.channel} reads only maps ${reads.join(", ")} of the layer before (Table I), a ${kh}x${kw} kernel for each.`));
    const parts = [];
    const rest = [];
    reads.forEach((c, i) => {
      const patch = window2d(x, c, unit.y * stride[0] - padding[0], unit.x * stride[1] - padding[1], kh, kw);
      const sum = convolutionTerm(panel, patch, kernelOf(weight, (k + i) * kh * kw, kh, kw), `map ${c}`, i < DETAILED_CHANNELS);
      parts.push(sum);
      if (i >= DETAILED_CHANNELS) rest.push([c, sum]);
    });
    restOfSums(panel, rest);
    return totalLine(panel, parts, null, parameter(context, op.parameters.bias)[unit.channel], "all products");
  }

  function explainSubsampling(context, op, [x], unit, panel) {
    const k = op.attributes.kernel;
    const patch = window2d(x, unit.channel, unit.y * k, unit.x * k, k, k);
    let sum = 0;
    for (const row of patch) for (const v of row) sum += v;
    const w = parameter(context, op.parameters.weight)[unit.channel];
    const b = parameter(context, op.parameters.bias)[unit.channel];
    panel.append(el("p", "step", `LeNet's subsampling: the ${k}x${k} region's sum, times a trained weight, plus a trained bias.`));
    const row = el("div", "term");
    row.append(grid(`map ${unit.channel}: the region`, patch, "patch"), el("span", "partial", `sum = ${fmt(sum)}`));
    panel.append(row, equation(`${fmt(sum)} × ${fmt(w)} + ${fmt(b)} = `, sum * w + b));
    return sum * w + b;
  }

  /** The cells of a pooling window inside the map, and how many cells of the padded map it covers. */
  function poolWindow(op, x, unit) {
    const { kernel, stride, padding } = op.attributes;
    const y0 = unit.y * stride[0] - padding[0];
    const x0 = unit.x * stride[1] - padding[1];
    const [, h, w] = mapShape(x.shape);
    // a window may run past the padded map with ceil_mode: cut it there, as PyTorch does
    const kh = Math.min(kernel[0], h + padding[0] - y0);
    const kw = Math.min(kernel[1], w + padding[1] - x0);
    const patch = window2d(x, unit.channel, y0, x0, kh, kw);
    const inside = patch.flat().filter((v) => v !== null);
    return { patch, inside, padded: kh * kw };
  }

  function explainMaxPool(context, op, [x], unit, panel) {
    const { patch, inside } = poolWindow(op, x, unit);
    const best = Math.max(...inside);
    panel.append(el("p", "step", "Max pooling: the largest value of the window."));
    const row = el("div", "term");
    row.append(grid(`map ${unit.channel}: the window`, patch, "patch"), el("span", "partial", `max = ${fmt(best)}`));
    panel.append(row, equation("max = ", best));
    return best;
  }

  function explainAvgPool(context, op, [x], unit, panel) {
    const { patch, inside, padded } = poolWindow(op, x, unit);
    const sum = inside.reduce((a, b) => a + b, 0);
    const n = op.attributes.count_include_pad ? padded : inside.length;
    panel.append(el("p", "step", "Average pooling: the mean of the window."));
    const row = el("div", "term");
    row.append(grid(`map ${unit.channel}: the window`, patch, "patch"), el("span", "partial", `sum = ${fmt(sum)}`));
    panel.append(row, equation(`${fmt(sum)} / ${n} = `, sum / n));
    return sum / n;
  }

  function explainMixedPool(context, op, [x], unit, panel) {
    const { patch, inside } = poolWindow(op, x, unit);
    const mix = parameter(context, op.parameters.mix);
    const a = mix.length === 1 ? mix[0] : mix[unit.channel];
    const best = Math.max(...inside);
    const mean = inside.reduce((s, v) => s + v, 0) / inside.length;
    panel.append(el("p", "step", "Mixed pooling: a learned mix of the window's max and mean."));
    panel.append(grid(`map ${unit.channel}: the window`, patch, "patch"));
    panel.append(equation(`${fmt(a)} × ${fmt(best)} + (1 - ${fmt(a)}) × ${fmt(mean)} = `, a * best + (1 - a) * mean));
    return a * best + (1 - a) * mean;
  }

  function explainAdaptiveAvg(context, op, [x], unit, panel) {
    const [, h, w] = mapShape(x.shape);
    const [ho, wo] = op.attributes.output_size;
    const y0 = Math.floor((unit.y * h) / ho);
    const y1 = Math.ceil(((unit.y + 1) * h) / ho);
    const x0 = Math.floor((unit.x * w) / wo);
    const x1 = Math.ceil(((unit.x + 1) * w) / wo);
    const patch = window2d(x, unit.channel, y0, x0, y1 - y0, x1 - x0);
    const sum = patch.flat().reduce((a, b) => a + b, 0);
    const n = (y1 - y0) * (x1 - x0);
    panel.append(el("p", "step", ho * wo === 1 ? "Global average pooling: the mean of the whole map." : "Average pooling of a region."));
    panel.append(grid(`map ${unit.channel}`, patch, "patch"), equation(`${fmt(sum)} / ${n} = `, sum / n));
    return sum / n;
  }

  /** A long sum (a linear layer, an RBF unit): its largest terms listed, the total computed in full. */
  function longSum(panel, terms, describe) {
    const order = terms.map((t, i) => i).sort((a, b) => Math.abs(terms[b]) - Math.abs(terms[a]));
    const list = el("ul", "terms");
    for (const i of order.slice(0, LARGEST_TERMS)) list.append(el("li", "", describe(i)));
    panel.append(el("p", "note", `the ${Math.min(LARGEST_TERMS, terms.length)} largest of ${terms.length} terms:`), list);
    return terms.reduce((a, b) => a + b, 0);
  }

  function explainLinear(context, op, [x], unit, panel) {
    const weight = parameter(context, op.parameters.weight);
    const n = x.data.length;
    const row = weight.subarray(unit.channel * n, (unit.channel + 1) * n);
    const terms = Array.from(x.data, (v, j) => row[j] * v);
    panel.append(el("p", "step", `Fully connected: each of the ${n} inputs times its weight, added up${op.attributes.batch_norm ? " (the batch norm folded in)" : ""}.`));
    const sum = longSum(panel, terms, (j) => `input ${j}: ${fmt(x.data[j])} × weight ${fmt(row[j])} = ${fmt(terms[j])}`);
    const bias = op.parameters.bias ? parameter(context, op.parameters.bias)[unit.channel] : null;
    return totalLine(panel, [sum], null, bias, `the sum of ${n} products`);
  }

  function explainRbf(context, op, [x], unit, panel) {
    const prototypes = parameter(context, op.parameters.prototypes);
    const n = x.data.length;
    const w = prototypes.subarray(unit.channel * n, (unit.channel + 1) * n);
    const terms = Array.from(x.data, (v, j) => (v - w[j]) ** 2);
    panel.append(el("p", "step", `LeNet-5's RBF output: the squared distance between the ${n} inputs and class ${context.classes[unit.channel] ?? unit.channel}'s prototype (small: a good match).`));
    const sum = longSum(panel, terms, (j) => `(${fmt(x.data[j])} - ${fmt(w[j])})² = ${fmt(terms[j])}`);
    panel.append(equation("the sum of squares = ", sum));
    return sum;
  }

  function explainAdd(context, op, inputs, unit, panel) {
    const values = inputs.map((t) => t.data[flatIndex(t.shape, unit.channel, unit.y, unit.x)]);
    panel.append(el("p", "step", `A residual addition of ${op.inputs.join(" and ")}, unit by unit.`));
    const sum = values.reduce((a, b) => a + b, 0);
    panel.append(equation(`${values.map(fmt).join(" + ")} = `, sum));
    return sum;
  }

  function explainCopy(context, op, inputs, unit, panel) {
    // flatten, reshape and concat move values without changing them: find where this one came from
    let index = flatIndex(op.shape, unit.channel, unit.y, unit.x);
    let k = 0;
    if (op.op === "concat") {
      const per = inputs.map((t) => size(t.shape));
      while (index >= per[k]) index -= per[k++];
    }
    const value = inputs[k].data[index];
    panel.append(el("p", "step", `${op.op}: value ${index} of ${op.inputs[k]}, unchanged.`), equation("= ", value));
    return value;
  }

  function explainShortcutPad(context, op, [x], unit, panel) {
    // ResNet's option-A shortcut: every stride-th pixel, with zero maps in front and behind for the new channels
    const { stride, before } = op.attributes;
    const [channels, h, w] = mapShape(x.shape);
    const c = unit.channel - before;
    if (c < 0 || c >= channels) {
      panel.append(el("p", "step", `Option-A shortcut: map ${unit.channel} is one of the zero maps added for the new channels.`));
      return 0;
    }
    const value = x.data[(c * h + unit.y * stride) * w + unit.x * stride];
    panel.append(el("p", "step", `Option-A shortcut: map ${c} of ${op.inputs[0]} at row ${unit.y * stride}, column ${unit.x * stride} (every ${stride}th pixel), unchanged.`), equation("= ", value));
    return value;
  }

  const EXPLAIN = {
    shortcut_pad: explainShortcutPad,
    conv2d: explainConv2d, sparse_conv2d: explainSparseConv2d, subsampling: explainSubsampling,
    max_pool2d: explainMaxPool, avg_pool2d: explainAvgPool, mixed_pool2d: explainMixedPool,
    adaptive_avg_pool2d: explainAdaptiveAvg, linear: explainLinear, rbf: explainRbf, add: explainAdd,
    flatten: explainCopy, reshape: explainCopy, concat: explainCopy,
  };

  window.cnnlabExplain = { show, explainOp, opFor, mapShape, flatIndex };
})();
