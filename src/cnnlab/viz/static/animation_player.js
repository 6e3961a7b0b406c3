// The animation player: sliders for the layer's settings, the grid, the window, the kernel and the output drawn as
// SVG, the current output's sum, the formula once. Everything is recomputed in the page (animation_arithmetic.js)
// when a slider moves: no server, no network. The page's data block (cnnlab.viz.animation_page) gives the
// settings it opens at, the numbers, and the time each frame shows.
(function () {
  "use strict";
  const arithmetic = window.cnnlabArithmetic;
  const data = JSON.parse(document.getElementById("player-data").textContent);
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);

  // The sliders: name in the settings, label, range (widened to the page's own settings where they go past it).
  const SPECS = [
    { name: "input", label: "input i", min: 1, max: 12 },
    { name: "kernel", label: "kernel k", min: 1, max: 7 },
    { name: "stride", label: "stride s", min: 1, max: 4 },
    { name: "padding", label: "padding p", min: 0, max: 4 },
    { name: "dilation", label: "dilation d", min: 1, max: 4 },
    { name: "output_padding", label: "output padding", min: 0, max: 3, only: "transposed" },
  ];
  const COLOURS = { input: "#dbe9f6", padding: "#ececec", zero: "#fff3c4", outside: "#ffffff" };
  const LAST_FRAME_MS = 2000; // the finished output stays long enough to be read before the loop starts again

  const pair = (value) => (Array.isArray(value) ? [value[0], value[1]] : [value, value]);
  const settings = {
    kind: data.kind, mode: data.mode, ceil_mode: data.ceil_mode, seed: data.seed, bias: data.bias,
    input_values: data.input_values, kernel_values: data.kernel_values,
  };
  for (const spec of SPECS) settings[spec.name] = pair(data[spec.name]);
  let step = 0, timer = null, shownResult = null, error = null;

  // --- the controls ---

  const sliders = {};
  function buildSliders() {
    const box = $("sliders");
    for (const spec of SPECS) {
      const row = document.createElement("div");
      row.className = "setting";
      row.dataset.setting = spec.name;
      const label = document.createElement("label");
      label.textContent = spec.label;
      label.htmlFor = `${spec.name}-0`;
      const both = document.createElement("div");
      both.className = "sliders";
      const inputs = [0, 1].map((axis) => {
        const slider = document.createElement("input");
        Object.assign(slider, { type: "range", id: `${spec.name}-${axis}`, min: spec.min, step: 1 });
        slider.max = Math.max(spec.max, ...settings[spec.name]);
        slider.value = settings[spec.name][axis];
        slider.setAttribute("aria-label", `${spec.label}, ${axis ? "width" : "height"}`);
        slider.addEventListener("input", () => moved(spec.name, axis, Number(slider.value)));
        both.append(slider);
        return slider;
      });
      const output = document.createElement("output");
      output.htmlFor = `${spec.name}-0`;
      row.append(label, both, output);
      box.append(row);
      sliders[spec.name] = { row, inputs, output };
    }
  }

  function moved(name, axis, value) {
    settings[name][axis] = value;
    if (!$("separate").checked) settings[name] = [value, value];
    update();
  }

  function syncControls() {
    const separate = $("separate").checked;
    for (const spec of SPECS) {
      const { row, inputs, output } = sliders[spec.name];
      const values = settings[spec.name];
      row.hidden = Boolean(spec.only) && spec.only !== settings.kind;
      inputs.forEach((slider, axis) => { slider.value = values[axis]; });
      inputs[1].hidden = !separate;
      inputs[0].setAttribute("aria-label", separate ? `${spec.label}, height` : spec.label);
      output.textContent = values[0] === values[1] ? String(values[0]) : `${values[0]}\u00d7${values[1]}`;
    }
    $("kind").value = settings.kind;
    $("mode").value = settings.mode;
    $("ceil").checked = settings.ceil_mode;
    document.body.dataset.kind = settings.kind;
    const mode = settings.mode[0].toUpperCase() + settings.mode.slice(1);
    const title = { conv: "Convolution", transposed: "Transposed convolution", pool: `${mode} pooling` }[settings.kind];
    $("title").textContent = document.title = title;
  }

  // --- what is computed and drawn ---

  function computeNow() {
    return arithmetic.compute({ ...settings, output_padding: settings.kind === "transposed" ? settings.output_padding : [0, 0] });
  }

  function update() {
    syncControls();
    const result = computeNow();
    error = result.error || null;
    $("message").hidden = !error;
    $("message").textContent = error ? `Not possible: ${error}.` : "";
    $("stage").classList.toggle("stale", Boolean(error));
    $("step").disabled = Boolean(error);
    if (!error) {
      shownResult = result;
      step = Math.min(step, result.positions.length - 1);
      $("step").max = result.positions.length - 1;
    }
    draw();
  }

  function element(name, attributes, parent, text) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    parent.append(node);
    return node;
  }

  // The picture's labels are the page's text size (24 px on a wide window: 18 pt on a 16:9 slide at 1280 px).
  const textPx = () => parseFloat(getComputedStyle(document.body).fontSize) || 24;
  let LABEL = 38, BIAS_LINE = 38;
  const GAP = 32;
  const ruler = document.createElement("canvas").getContext("2d");
  function measure() {
    LABEL = BIAS_LINE = Math.round(textPx() * 1.6);
    ruler.font = `${textPx()}px ${getComputedStyle(document.body).fontFamily}`;
  }
  // (A block's label may run into the gap after it, not into the next label.)
  const textWidth = (text) => ruler.measureText(text).width;

  function labels(result) {
    const s = result.settings, [oh, ow] = result.outputShape;
    const times = (pair) => (pair[0] === pair[1] ? String(pair[0]) : pair.join("\u00d7"));
    return {
      grid: result.kind === "transposed" ? `zeros inserted, border ${s.d[0] * (s.k[0] - 1) - s.p[0]}`
        : `input ${s.i[0]}\u00d7${s.i[1]}, padding ${times(s.p)}`,
      kernel: result.kernel ? `kernel ${result.kernel.length}\u00d7${result.kernel[0].length}` : "",
      output: `output ${oh}\u00d7${ow}${result.kind === "pool" ? ` (${result.mode})` : ""}`,
    };
  }

  // Where the three blocks go (the grid, the kernels with the bias, the output) and how large a cell is: side by
  // side, or the grid above the other two where that gives larger cells (a narrow window). A cell is at most 56 px
  // and as large as fits the stage's width and the window's height.
  function layout(result, width, height) {
    const words = labels(result);
    const [gh, gw] = result.gridShape, [oh, ow] = result.outputShape;
    const kernels = result.kind === "transposed" ? 2 : result.kernel ? 1 : 0;
    const [kh, kw] = result.kernel ? [result.kernel.length, result.kernel[0].length] : [0, 0];
    const blocks = (cell) => [
      { name: "grid", width: Math.max(gw * cell, textWidth(words.grid) - GAP + 12), label: textWidth(words.grid), height: LABEL + gh * cell },
      ...(kernels ? [{ name: "kernels", width: Math.max(kw * cell, textWidth(words.kernel) - GAP + 12), label: textWidth(words.kernel), height: kernels * (LABEL + kh * cell) + BIAS_LINE }] : []),
      { name: "output", width: Math.max(ow * cell, textWidth(words.output) - GAP + 12), label: textWidth(words.output), height: LABEL + oh * cell },
    ];
    const place = (row, left, top) => {
      const at = {};
      let x = left;
      let reach = 0; // where the last label ends: it has no gap to run into
      for (const block of row) {
        at[block.name] = [x, top];
        reach = Math.max(reach, x + block.width, x + block.label);
        x += block.width + GAP;
      }
      return { at, width: reach, height: Math.max(...row.map((block) => block.height)) };
    };
    const arrangements = {
      side: (cell) => place(blocks(cell), 0, 0),
      stacked: (cell) => {
        const [first, ...rest] = blocks(cell), above = place([first], 0, 0), below = place(rest, 0, above.height + GAP / 2);
        return { at: { ...above.at, ...below.at }, width: Math.max(above.width, below.width), height: above.height + GAP / 2 + below.height };
      },
    };
    let best = null;
    for (const [name, arrange] of Object.entries(arrangements)) {
      for (let cell = 56; cell >= 12; cell -= 1) {
        const placed = arrange(cell);
        if ((placed.width <= width && placed.height <= height) || cell === 12) {
          if (!best || cell > best.cell) best = { ...placed, cell, name };
          break;
        }
      }
    }
    return { ...best, words };
  }

  // The height left for the picture once the legend, the sum and the formula under it have theirs (the notes go
  // beside it, under the settings): on a slide the whole animation shows at once. A narrow window scrolls
  // instead: there the width decides.
  function availableHeight() {
    if (window.matchMedia("(max-width: 820px)").matches) return 10000;
    const top = $("stage").getBoundingClientRect().top + window.scrollY;
    const below = ["legend", "sum", "formula"].reduce((sum, id) => sum + $(id).getBoundingClientRect().height + 8, 0);
    return Math.max(240, window.innerHeight - top - below - 12);
  }

  function grid(svg, left, top, cell, rows, cols, paint) {
    for (let y = 0; y < rows; y += 1) {
      for (let x = 0; x < cols; x += 1) paint(y, x, left + x * cell, top + y * cell);
    }
  }

  function cellText(group, x, y, cell, text, attributes) {
    // At most 26 px, and small enough for a long number ("4.67") to stay inside its cell.
    const size = Math.max(9, Math.min(26, Math.round(cell * 0.56), Math.floor((cell - 6) / (0.62 * text.length))));
    element("text", { x: x + cell / 2, y: y + cell / 2, "font-size": size, "text-anchor": "middle", "dominant-baseline": "central", ...attributes }, group, text);
  }

  function draw() {
    const result = shownResult;
    const stage = $("stage");
    stage.textContent = "";
    if (!result) return;
    writeWords(result); // first: the picture gets the height the words leave
    measure();
    const width = stage.clientWidth || 800;
    const { cell, at, words, ...size } = layout(result, width, availableHeight());
    const [gh, gw] = result.gridShape, [oh, ow] = result.outputShape;
    const kernels = result.kind === "transposed" ? [["kernel", result.kernel], ["flipped", result.applied]] : result.kernel ? [["kernel", result.kernel]] : [];
    const totalWidth = Math.ceil(size.width) + 2, totalHeight = Math.ceil(size.height) + 2;
    const svg = element("svg", { width: totalWidth, height: totalHeight, viewBox: `-1 -1 ${totalWidth} ${totalHeight}`, role: "img" }, stage);
    svg.setAttribute("aria-label", `${result.kind} animation, output position ${step + 1} of ${result.positions.length}`);
    const label = (x, y, text) => element("text", { x, y: y + LABEL - 12, "font-size": textPx(), fill: "#333" }, svg, text);
    const covered = new Set(result.windows[step].map(([gy, gx]) => `${gy},${gx}`));

    // The grid the window slides over: input, padding, inserted zeros, and the window on it.
    const [gridLeft, gridTop] = at.grid;
    label(gridLeft, gridTop, words.grid);
    const inputGroup = element("g", { "data-role": "grid" }, svg);
    grid(inputGroup, gridLeft, gridTop + LABEL, cell, gh, gw, (y, x, left, top) => {
      const what = result.cells[y][x], inWindow = covered.has(`${y},${x}`);
      const group = element("g", { "data-y": y, "data-x": x, "data-cell": what }, inputGroup);
      element("rect", {
        x: left, y: top, width: cell, height: cell, fill: inWindow ? "#9ecae1" : COLOURS[what],
        stroke: inWindow ? "#1f77b4" : what === "input" ? "#555" : "#aaa", "stroke-width": inWindow ? 3 : 1,
        "stroke-dasharray": what === "padding" || what === "outside" ? "4 3" : "none",
      }, group);
      const value = result.grid[y][x];
      if (what === "input") group.setAttribute("data-value", value);
      if (Number.isFinite(value) && what !== "outside") cellText(group, left, top, cell, arithmetic.shown(value), { fill: what === "input" ? "#111" : "#888" });
    });

    // The kernel as its own grid (and the flipped one a transposed convolution applies), then the bias.
    const kernelLeft = at.kernels ? at.kernels[0] : 0;
    let top = at.kernels ? at.kernels[1] : 0;
    for (const [name, weights] of kernels) {
      label(kernelLeft, top, name === "kernel" ? words.kernel : "flipped");
      const group = element("g", { "data-role": name }, svg);
      grid(group, kernelLeft, top + LABEL, cell, weights.length, weights[0].length, (y, x, left, cellTop) => {
        const item = element("g", { "data-y": y, "data-x": x, "data-value": weights[y][x] }, group);
        element("rect", { x: left, y: cellTop, width: cell, height: cell, fill: "#fde0c5", stroke: "#a0522d" }, item);
        cellText(item, left, cellTop, cell, arithmetic.shown(weights[y][x]).replace("-", "\u2212"), { fill: "#111" });
      });
      top += LABEL + weights.length * cell;
    }
    if (kernels.length) {
      element("text", { x: kernelLeft, y: top + BIAS_LINE - 10, "font-size": textPx(), "data-role": "bias", "data-value": result.bias }, svg, `bias ${arithmetic.shown(result.bias).replace("-", "\u2212")}`);
    }

    // The output: done, now, and still to come.
    const [outputLeft, outputTop] = at.output;
    label(outputLeft, outputTop, words.output);
    const outputGroup = element("g", { "data-role": "output" }, svg);
    grid(outputGroup, outputLeft, outputTop + LABEL, cell, oh, ow, (y, x, left, cellTop) => {
      const index = y * ow + x, value = result.outputs[y][x];
      const state = index < step ? "done" : index === step ? "now" : "empty";
      const item = element("g", { "data-y": y, "data-x": x, "data-value": value, "data-state": state }, outputGroup);
      element("rect", { x: left, y: cellTop, width: cell, height: cell, fill: { done: "#c7e9c0", now: "#2ca25f", empty: "#fff" }[state], stroke: "#333" }, item);
      if (state !== "empty") cellText(item, left, cellTop, cell, arithmetic.shown(value).replace("-", "\u2212"), { fill: state === "now" ? "#fff" : "#111", "font-weight": state === "now" ? 700 : 400 });
    });
    $("step").value = step;
    $("at").textContent = `${step + 1} / ${result.positions.length}`;
  }

  // The sum of the current output, the formula with its numbers (once), its notes.
  function writeWords(result) {
    const [y, x] = result.positions[step];
    const words = arithmetic.sumWords(result, step);
    const sum = $("sum");
    sum.textContent = `out[${y}, ${x}] = `;
    let terms = words.slice(0, -1), left = "";
    if (terms.length > 13) { // a long sum: the products with a zero add nothing, and it says so
      const kept = terms.filter((term) => !/^0\u00d7|\u00d70$/.test(term));
      if (kept.length < terms.length) left = ` (${terms.length - kept.length} products with a 0 left out)`;
      terms = kept;
    }
    if (terms.length > 26) terms = [...terms.slice(0, 8), `\u2026 (${terms.length - 1} products) \u2026`, ...terms.slice(-3)];
    terms.forEach((term, index) => {
      if (index) sum.append(" + ");
      const span = document.createElement("span");
      span.className = "term";
      span.textContent = term;
      sum.append(span);
    });
    const total = document.createElement("span");
    total.className = "result";
    total.textContent = ` ${words[words.length - 1]}`;
    sum.append(total, left);

    const { lines, notes } = arithmetic.formulaLines(result);
    const formula = $("formula");
    formula.textContent = "";
    for (const line of lines) {
      const row = document.createElement("div");
      line.split(" = ").forEach((side, index) => { // a line breaks only before an equals sign
        if (index) row.append(" = ");
        const span = document.createElement("span");
        span.className = "side";
        span.textContent = side;
        row.append(span);
      });
      formula.append(row);
    }
    // A note is prose around formulas: it may wrap between words, never inside "d*(k - 1) - p = 1".
    const prose = $("notes"), formulas = /[\w*().]+(?: (?:[-+=/]|->) [\w*().]+)+/g;
    prose.textContent = "";
    for (const note of notes) {
      const paragraph = document.createElement("div");
      let done = 0;
      for (const match of note.matchAll(formulas)) {
        const span = document.createElement("span");
        span.className = "side";
        span.textContent = match[0];
        paragraph.append(note.slice(done, match.index), span);
        done = match.index + match[0].length;
      }
      paragraph.append(note.slice(done));
      prose.append(paragraph);
    }
    writeLegend(result);
  }

  // What the colours mean: only those the picture shows.
  function writeLegend(result) {
    const seen = new Set(result.cells.flat());
    const entries = [
      ["input", COLOURS.input, true], ["padding", COLOURS.padding, seen.has("padding")],
      ["inserted zero", COLOURS.zero, seen.has("zero")], ["past the padding", COLOURS.outside, seen.has("outside")],
      ["window", "#9ecae1", true], ["output now", "#2ca25f", true],
    ];
    const legend = $("legend");
    legend.textContent = "";
    for (const [name, colour, shown] of entries) {
      if (!shown) continue;
      const item = document.createElement("span");
      item.className = "key";
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = colour;
      item.append(swatch, name);
      legend.append(item);
    }
  }

  // --- playing ---

  function show(next) {
    if (!shownResult) return;
    step = Math.max(0, Math.min(next, shownResult.positions.length - 1));
    draw();
  }

  function tick() {
    if (!shownResult || error) { timer = setTimeout(tick, data.delay_ms); return; }
    const count = shownResult.positions.length;
    show((step + 1) % count);
    timer = setTimeout(tick, step === count - 1 ? Math.max(LAST_FRAME_MS, data.delay_ms) : data.delay_ms);
  }

  function playPause() {
    if (timer) { clearTimeout(timer); timer = null; $("play").textContent = "Play"; return; }
    $("play").textContent = "Pause";
    timer = setTimeout(tick, data.delay_ms);
  }

  // --- wiring ---

  buildSliders();
  $("separate").checked = SPECS.some((spec) => settings[spec.name][0] !== settings[spec.name][1]);
  $("separate").addEventListener("change", () => {
    if (!$("separate").checked) for (const spec of SPECS) settings[spec.name] = [settings[spec.name][0], settings[spec.name][0]];
    update();
  });
  $("kind").addEventListener("change", () => { settings.kind = $("kind").value; update(); });
  $("mode").addEventListener("change", () => { settings.mode = $("mode").value; update(); });
  $("ceil").addEventListener("change", () => { settings.ceil_mode = $("ceil").checked; update(); });
  $("step").addEventListener("input", () => show(Number($("step").value)));
  $("play").addEventListener("click", playPause);
  window.addEventListener("resize", () => draw());

  // For tests and for a curious reader's console: what the page shows, as numbers.
  window.cnnlabPlayer = {
    state: () => ({
      error, step, settings: JSON.parse(JSON.stringify(settings)),
      ...(shownResult && {
        input: shownResult.input, kernel: shownResult.kernel, bias: shownResult.bias, outputs: shownResult.outputs,
        outputShape: shownResult.outputShape, count: shownResult.positions.length,
        formula: arithmetic.formulaLines(shownResult),
      }),
    }),
  };
  update();
  document.body.dataset.ready = "true";
})();
