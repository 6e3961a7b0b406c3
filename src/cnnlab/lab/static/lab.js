// cnnlab lab: the page over the lab's JSON API (docs/lab-api.md). Plain JavaScript and canvas, no library.
"use strict";

const UPDATE_EVERY_MS = 100; // while drawing, a new prediction at least this often (one request at a time)
const PEN_WIDTH = 18; // pixels of the 280x280 pad: about MNIST's stroke, once the digit is scaled to 20x20
const MAP_WIDTH = 300; // CSS pixels a layer's grid of tiles (or its bars) is fitted into

// The drawing the published page uses too (draw.js): colour scales, legends with numbers, tiles and bars. A clicked
// unit's arithmetic is the published page's too (explain_unit.js), computed in the browser by its forward pass
// (forward.js) from the network's program (GET /api/program) and the input the lab answered.
const { GAP, DIVERGING, scaleOf, colourIndex, el, fmt, gridShape, makeLegend, drawLegend, drawTiles, drawBars, dequantise } =
  cnnlabDraw;

const state = {
  models: [],
  cards: new Map(), // model name -> its card's elements and layers
  upload: null, // a Blob given instead of a drawing (file, drop, sample), or null: the pad
  uploadName: "",
  busy: false, // a round of requests is in flight
  dirty: false, // the input changed since the last round was sent
  lastSent: 0,
  timer: null,
};

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function status(text, isError = false) {
  const element = document.getElementById("status");
  element.textContent = text;
  element.title = text;
  element.classList.toggle("error", isError);
}

function number(value) {
  return value.toLocaleString("en-US");
}

// ------------------------------------------------------------------------------------------------
// the drawing pad (the published page's pad.js)

const pad = cnnlabPad.createPad(document.getElementById("pad"), {
  penWidth: PEN_WIDTH, onStart: useDrawing, onChange: changed,
  undoButton: document.getElementById("undo"), clearButton: document.getElementById("clear"),
});
document.getElementById("centre").addEventListener("change", () => changed());

function useDrawing() {
  if (state.upload === null) return;
  state.upload = null;
  document.getElementById("preview").hidden = true;
  document.getElementById("source").textContent = "the drawing";
}

function padBlob() {
  return new Promise((resolve) => pad.canvas.toBlob(resolve, "image/png"));
}

// ------------------------------------------------------------------------------------------------
// files, drops and samples

/** A picture given instead of the drawing (file, drop, sample): the pad is cleared, the picture shown beside it. */
function useUpload(blob, name) {
  pad.clear(false);
  state.upload = blob;
  state.uploadName = name;
  const preview = document.getElementById("preview");
  preview.src = URL.createObjectURL(blob);
  preview.hidden = false;
  document.getElementById("source").textContent = name;
  changed();
}

const drop = document.getElementById("drop");
document.getElementById("file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (file) useUpload(file, file.name);
});
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  const file = event.dataTransfer.files[0];
  if (file) useUpload(file, file.name);
});

async function showSamples() {
  const { samples } = await api("/api/samples");
  const row = document.getElementById("samples");
  for (const sample of samples) {
    const image = document.createElement("img");
    image.src = sample.url;
    image.alt = sample.label;
    image.title = sample.label;
    image.dataset.sample = sample.name;
    image.addEventListener("click", async () => {
      const response = await fetch(sample.url);
      useUpload(await response.blob(), sample.label);
    });
    row.append(image);
  }
}

// ------------------------------------------------------------------------------------------------
// asking the models: at most one round in flight, and never more often than UPDATE_EVERY_MS

function changed() {
  state.dirty = true;
  pump();
}

// `body[data-settled=true]`: every card shows the newest input (for scripts and tests to wait on)
function markSettled() {
  document.body.dataset.settled = String(!state.dirty && !state.busy && state.timer === null);
}

function pump() {
  markSettled();
  if (!state.dirty || state.busy) return;
  const wait = UPDATE_EVERY_MS - (performance.now() - state.lastSent);
  if (wait > 0) {
    if (state.timer === null) state.timer = setTimeout(() => { state.timer = null; pump(); }, wait);
    markSettled();
    return;
  }
  state.dirty = false;
  state.lastSent = performance.now();
  state.busy = true;
  markSettled();
  askAll().finally(() => {
    state.busy = false;
    pump(); // the input changed while we waited: the newest one goes now, the stale ones were never queued
  });
}

async function askAll() {
  const blob = state.upload ?? (pad.isBlank() ? null : await padBlob());
  if (blob === null) {
    for (const card of state.cards.values()) clearCard(card);
    status("Draw a digit, drop an image or pick a sample.");
    return;
  }
  const source = state.upload ? state.uploadName : "the drawing";
  const started = performance.now();
  const results = await Promise.allSettled(state.models.map((model) => ask(model, blob, source)));
  const failed = results.find((result) => result.status === "rejected");
  if (failed) status(failed.reason.message, true);
  else status(`${source}: answered in ${Math.round(performance.now() - started)} ms`);
}

async function ask(model, blob, source) {
  const card = state.cards.get(model.name);
  const layers = [...card.chosen].join(",");
  const centre = document.getElementById("centre").checked ? "1" : "0";
  const query = new URLSearchParams({ model: model.name, k: Math.min(5, model.classes.length), layers: layers || "default",
    centre });
  try {
    const answer = await api(`/api/inspect?${query}`, { method: "POST", body: blob, headers: { "Content-Type": blob.type || "application/octet-stream" } });
    render(card, answer, source);
    if (card.view === "saliency") await askSaliency(card, blob, centre); // after the maps: one request at a time
  } catch (error) {
    clearCard(card, error.message);
    throw error;
  }
}

// ------------------------------------------------------------------------------------------------
// a model's card: what it received, what it thinks, what its layers computed

function clearCard(card, message = "") {
  card.top.replaceChildren();
  card.maps.replaceChildren();
  clearSaliency(card);
  card.element.dataset.top = "";
  if (message) {
    const item = document.createElement("li");
    item.className = "error";
    item.textContent = message;
    card.top.append(item);
  }
}

function render(card, answer, source) {
  card.answer = answer; // the arithmetic of a unit clicked from now on reads this input
  card.tensors = null;
  card.explain.hidden = true;
  card.element.dataset.top = JSON.stringify(answer.top);
  card.element.dataset.source = source;
  card.top.replaceChildren(...answer.top.map((guess) => {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.className = "class";
    name.textContent = guess.class;
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = `${Math.max(0.5, 100 * guess.probability)}%`;
    const value = document.createElement("span");
    value.className = "p";
    value.textContent = `${(100 * guess.probability).toFixed(1)}%`;
    item.append(name, bar, value);
    return item;
  }));
  showInput(card, answer.input);
  card.maps.replaceChildren(...answer.layers.map((layer) => drawLayer(card, layer)));
  card.element.dataset.tiles = answer.layers.reduce((sum, layer) => sum + layer.shape[0], 0);
}

function showInput(card, input) {
  const [, height, width] = input.shape;
  const scale = Math.max(1, Math.floor(160 / Math.max(height, width)));
  card.scale = scale;
  card.inputSize = [height, width];
  const image = new Image();
  image.onload = () => {
    for (const canvas of [card.seen, card.box]) {
      canvas.width = width * scale;
      canvas.height = height * scale;
    }
    const context = card.seen.getContext("2d");
    context.imageSmoothingEnabled = false;
    context.drawImage(image, 0, 0, width * scale, height * scale);
    if (card.field) drawField(card, card.field);
  };
  image.src = `data:image/png;base64,${input.png}`;
}

// A layer: its title, its sentence, a colour legend with the scale's numbers, and its maps (a tile per channel)
// or bars (a vector, or maps of 1x1), drawn by draw.js as the published page draws them.
function drawLayer(card, layer) {
  const info = card.layers.get(layer.name) || {};
  const shape = layer.shape.length === 3 ? layer.shape : [layer.shape[0], 1, 1];
  const [channels, height, width] = shape;
  const values = dequantise(bytesOf(layer.data), layer.low, layer.high);
  const asBars = height * width === 1;
  const view = { layer, info, asBars, channels, height, width, values };
  const canvas = el("canvas", "maps");
  view.canvas = canvas;
  canvas.dataset.layer = layer.name;
  canvas.dataset.tiles = channels;
  if (asBars) {
    view.barWidth = Math.max(1, Math.min(24, Math.floor(MAP_WIDTH / channels)));
    canvas.width = channels * view.barWidth;
    canvas.height = 64;
    canvas.classList.add("bars");
    canvas.style.width = `${canvas.width}px`;
  } else {
    const [rows, cols] = gridShape(channels, height / width);
    view.cols = cols;
    canvas.width = cols * width + (cols - 1) * GAP;
    canvas.height = rows * height + (rows - 1) * GAP;
    const scale = Math.max(1, Math.min(12, Math.floor(MAP_WIDTH / canvas.width)));
    canvas.style.width = `${canvas.width * scale}px`;
  }
  const scale = scaleOf(values);
  const legend = makeLegend();
  drawLegend(legend, scale);
  if (asBars) drawBars(view, values, scale);
  else drawTiles(view, values, scale);

  const title = info.title || layer.name;
  canvas.addEventListener("mousemove", (event) => {
    const unit = unitAt(view, event);
    card.unit.textContent = unit ? `${title}, ${unitName(view, unit)}: ${fmt(unit.value)}` : `${title}: between the maps`;
  });
  canvas.addEventListener("click", async (event) => {
    const unit = unitAt(view, event);
    if (!unit) return;
    try {
      card.field = await fieldOf(card, view, unit);
      drawField(card, card.field);
      const seen = card.field.global ? "the whole input" : `a ${card.field.size.join("x")} field`;
      card.unit.textContent = `${title}, ${unitName(view, unit)} = ${fmt(unit.value)} sees ${seen}`;
    } catch (error) {
      card.unit.textContent = error.message;
    }
    await showArithmetic(card, view, unit, title);
  });

  const node = el("section", "layer");
  node.dataset.layer = layer.name;
  const head = el("div", "layer-head");
  head.append(el("h3", "", title), el("span", "shape note", layer.shape.join("x")));
  node.append(head);
  if (info.sentence) node.append(el("p", "sentence", info.sentence));
  node.append(legend.node, canvas);
  view.node = node;
  if (asBars && layer.name === card.lastLayer && channels === card.model.classes.length && view.barWidth >= 10) {
    const labels = el("div", "class-labels");
    for (const name of card.model.classes) {
      const label = el("span", "", name);
      label.style.width = `${view.barWidth}px`;
      labels.append(label);
    }
    node.append(labels);
  }
  return node;
}

/** The bytes of a base64 text (the API's quantised maps). */
function bytesOf(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** The unit under the pointer: {channel, y, x, value} (a vector's unit i is channel i), or null between tiles. */
function unitAt(view, event) {
  const rect = view.canvas.getBoundingClientRect();
  const px = Math.floor(((event.clientX - rect.left) * view.canvas.width) / rect.width);
  const py = Math.floor(((event.clientY - rect.top) * view.canvas.height) / rect.height);
  let unit = null;
  if (view.asBars) {
    const channel = Math.floor(px / view.barWidth);
    if (channel >= 0 && channel < view.channels) unit = { channel, y: 0, x: 0 };
  } else {
    const col = Math.floor(px / (view.width + GAP));
    const row = Math.floor(py / (view.height + GAP));
    const x = px - col * (view.width + GAP);
    const y = py - row * (view.height + GAP);
    const channel = row * view.cols + col;
    if (x >= 0 && y >= 0 && x < view.width && y < view.height && col < view.cols && channel < view.channels) {
      unit = { channel, y, x };
    }
  }
  if (unit) unit.value = view.values[(unit.channel * view.height + unit.y) * view.width + unit.x];
  return unit;
}

function unitName(view, unit) {
  if (view.asBars) return view.layer.shape.length === 1 ? `unit ${unit.channel}` : `map ${unit.channel}`;
  return `map ${unit.channel}, unit (${unit.y}, ${unit.x})`;
}

// ------------------------------------------------------------------------------------------------
// a clicked unit's arithmetic, as the published page shows it (explain_unit.js), in a panel under its layer

/** The network as the published page runs it (GET /api/program), asked for once per model. */
function programOf(card) {
  if (!card.program) card.program = api(`/api/program?${new URLSearchParams({ model: card.model.name })}`);
  return card.program;
}

/** The input the lab answered, uint8 (C, H, W), read back from its PNG. */
function pixelsOf(input) {
  const [channels, height, width] = input.shape;
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => {
      const canvas = el("canvas");
      canvas.width = width;
      canvas.height = height;
      const context = canvas.getContext("2d");
      context.drawImage(image, 0, 0);
      const rgba = context.getImageData(0, 0, width, height).data;
      const pixels = new Uint8Array(channels * height * width);
      for (let c = 0; c < channels; c++) {
        for (let i = 0; i < height * width; i++) pixels[c * height * width + i] = rgba[4 * i + c];
      }
      resolve(pixels);
    };
    image.onerror = () => reject(new Error("the input's picture could not be read"));
    image.src = `data:image/png;base64,${input.png}`;
  });
}

/**
 * Every tensor of the network for the answered input, computed once per answer in the browser: the input as the
 * network receives it (the answered pixels, normalised as the model does: prepare.js's normalize) run through
 * forward.js, as the published page does.
 */
async function tensorsOf(card, answer) {
  if (card.tensors && card.tensors.answer === answer) return card.tensors.map;
  const program = await programOf(card);
  const input = cnnlabPrepare.normalize(await pixelsOf(answer.input), card.model.normalization, answer.input.shape[0]);
  const { tensors } = cnnlabForward.run(program, input, { keep: true });
  tensors.set(program.input.name, { shape: answer.input.shape, data: input });
  card.tensors = { answer, map: tensors, program };
  return tensors;
}

async function showArithmetic(card, view, unit, title) {
  const answer = card.answer;
  const panel = card.explain;
  panel.replaceChildren();
  panel.hidden = false;
  view.node.after(panel); // beside the click, not far above it
  for (const key of Object.keys(panel.dataset)) delete panel.dataset[key];
  const close = el("button", "close", "×");
  close.type = "button";
  close.title = "close";
  close.addEventListener("click", () => { panel.hidden = true; });
  panel.append(close);
  const name = view.layer.name;
  const heading = `How ${title}, ${unitName(view, unit)} is computed`;
  if (card.model.publish_error) {
    panel.append(el("h4", "", heading), el("p", "note", "No arithmetic for this network: the page cannot run it "
      + `in the browser (${card.model.publish_error}).`));
    return;
  }
  let tensors;
  try {
    tensors = await tensorsOf(card, answer);
  } catch (error) {
    panel.append(el("h4", "", heading), el("p", "note", `No arithmetic: ${error.message}`));
    return;
  }
  if (answer !== card.answer || panel.hidden) return; // a newer input came meanwhile: its maps are shown now
  const program = card.tensors.program;
  if (!tensors.has(name) || !cnnlabExplain.opFor({ program }, name)) {
    panel.append(el("h4", "", heading), el("p", "note", `No arithmetic for ${name}: it is not one step of the `
      + "network as the page runs it (a block of several steps, or a module called more than once)."));
    return;
  }
  const { low, high } = view.layer;
  const half = (high - low) / 510; // the maps come as bytes 0..255 between low and high: a value is sent to ±half
  const context = { program, tensors, classes: card.model.classes, parameters: card.parameters };
  cnnlabExplain.show(panel, context, name, unit, { title, unitName: unitName(view, unit), field: view.info.field,
    value: unit.value, valueNote: half > 0 ? `(sent as one of 256 levels from ${fmt(low)} to ${fmt(high)}: to ±${fmt(half)})` : "" });
  panel.dataset.half = String(half);
}

/** Where a unit looks in the input: the lab's /api/field for maps, the whole input for a vector's units. */
async function fieldOf(card, view, unit) {
  if (view.layer.shape.length === 1 || (view.info.field && view.info.field.global)) {
    const [height, width] = card.inputSize;
    const whole = [0, 0, height - 1, width - 1];
    return { global: true, box: whole, clipped: whole, centre: [(height - 1) / 2, (width - 1) / 2] };
  }
  const query = new URLSearchParams({ model: card.model.name, layer: view.layer.name, y: unit.y, x: unit.x });
  return api(`/api/field?${query}`);
}

function drawField(card, field) {
  const context = card.box.getContext("2d");
  const scale = card.scale;
  context.clearRect(0, 0, card.box.width, card.box.height);
  const [top, left, bottom, right] = field.clipped;
  context.strokeStyle = "#ff3b30";
  context.lineWidth = 2;
  context.strokeRect((left - 0.5) * scale + 1, (top - 0.5) * scale + 1, (right - left + 1) * scale - 2, (bottom - top + 1) * scale - 2);
  context.fillStyle = "#ff3b30";
  context.beginPath();
  context.arc(field.centre[1] * scale + scale / 2, field.centre[0] * scale + scale / 2, 3, 0, 2 * Math.PI);
  context.fill();
  card.box.dataset.box = JSON.stringify(field.box);
}

function makeCard(model) {
  const element = document.getElementById("card").content.firstElementChild.cloneNode(true);
  element.dataset.model = model.name;
  element.querySelector(".title").textContent = model.name;
  element.querySelector(".label").textContent = `${model.label}; input ${model.input_shape.join("x")}, `
    + `${model.classes.length} classes`;
  const card = {
    lastLayer: model.layers.length ? model.layers[model.layers.length - 1].name : null,
    model, element, chosen: new Set(model.default_layers), layers: new Map(model.layers.map((l) => [l.name, l])),
    top: element.querySelector(".top"), maps: element.querySelector(".maps"), unit: element.querySelector(".unit"),
    seen: element.querySelector(".seen-image"), box: element.querySelector(".seen-box"), field: null, scale: 1,
    explain: el("div", "explain"), answer: null, program: null, tensors: null, parameters: new Map(),
  };
  card.explain.hidden = true;
  makeSaliencyView(card);
  const list = element.querySelector(".layer-list");
  const rows = element.querySelector("table.layers tbody");
  for (const layer of model.layers.filter((l) => l.shown)) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = card.chosen.has(layer.name);
    box.dataset.layer = layer.name;
    box.addEventListener("change", () => {
      if (box.checked) card.chosen.add(layer.name);
      else card.chosen.delete(layer.name);
      changed();
    });
    label.append(box, ` ${layer.name}`);
    list.append(label);
    const row = document.createElement("tr");
    const field = layer.field ? (layer.field.global ? "all" : layer.field.size.join("x")) : "-";
    const jump = layer.field && layer.field.jump ? layer.field.jump.join("x") : "-";
    for (const text of [layer.name, layer.type, layer.output_shape.join("x"), number(layer.params), number(layer.macs), field, jump]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    rows.append(row);
  }
  state.cards.set(model.name, card);
  return element;
}

// ------------------------------------------------------------------------------------------------
// saliency (POST /api/saliency): which pixels of the input made the network answer its class, by the gradient,
// Grad-CAM or occlusion, drawn over the input and alone; with "compare with random weights", the same method on
// the same architecture untrained, and the rank correlation of the two maps

const SALIENCY_SIDE = 160; // CSS pixels a saliency picture is drawn at, as large as "as the network receives it"

function makeSaliencyView(card) {
  const element = card.element;
  Object.assign(card, {
    view: "maps", saliency: element.querySelector(".saliency"), method: element.querySelector(".method"),
    cam: element.querySelector(".cam"), camLabel: element.querySelector(".cam-layer"),
    compare: element.querySelector(".compare"), explains: element.querySelector(".explains"),
    what: element.querySelector(".what"), saliencyMaps: element.querySelector(".saliency-maps"),
    correlation: element.querySelector(".correlation"), mapsOnly: [card.maps, element.querySelector(".choose"), card.unit],
  });
  const model = card.model;
  for (const name of model.cam_layers) {
    const title = (card.layers.get(name) || {}).title || name;
    const option = el("option", "", title);
    option.value = name;
    option.selected = name === model.cam_layer;
    card.cam.append(option);
  }
  const grad = card.method.querySelector('option[value="gradcam"]');
  if (!model.cam_layers.length) {
    grad.disabled = true; // no layer with maps of 2x2 or more (an MLP): Grad-CAM has nothing to read
    grad.title = "this network has no feature maps of 2x2 or more for Grad-CAM to read";
  }
  const buttons = element.querySelectorAll(".views .view");
  for (const button of buttons) {
    button.addEventListener("click", () => {
      card.view = button.dataset.view;
      for (const other of buttons) other.setAttribute("aria-pressed", String(other === button));
      card.saliency.hidden = card.view !== "saliency";
      for (const node of card.mapsOnly) node.hidden = card.view === "saliency";
      card.explain.hidden = true;
      element.dataset.view = card.view;
      if (card.view === "saliency") changed();
    });
  }
  card.method.addEventListener("change", () => {
    card.camLabel.hidden = card.method.value !== "gradcam";
    changed();
  });
  card.cam.addEventListener("change", () => changed());
  card.compare.addEventListener("change", () => changed());
}

async function askSaliency(card, blob, centre) {
  const method = card.method.value;
  const query = new URLSearchParams({ model: card.model.name, method, centre, compare_random: card.compare.checked ? "1" : "0" });
  if (method === "gradcam" && card.cam.value) query.set("layer", card.cam.value);
  try {
    const answer = await api(`/api/saliency?${query}`, { method: "POST", body: blob, headers: { "Content-Type": blob.type || "application/octet-stream" } });
    await renderSaliency(card, answer);
  } catch (error) {
    clearSaliency(card);
    card.explains.textContent = error.message;
    card.explains.classList.add("error");
    throw error;
  }
}

function clearSaliency(card) {
  if (!card.saliency) return;
  card.explains.textContent = "";
  card.explains.classList.remove("error");
  card.what.textContent = "";
  card.saliencyMaps.replaceChildren();
  card.correlation.hidden = true;
  for (const key of Object.keys(card.saliency.dataset)) delete card.saliency.dataset[key];
}

function percent(p) {
  return `${(100 * p).toFixed(1)}%`;
}

async function renderSaliency(card, answer) {
  const [channels, height, width] = answer.input.shape;
  const pixels = await pixelsOf(answer.input);
  const gray = new Float32Array(height * width); // the input in gray, under the map's colours
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < gray.length; i++) gray[i] += pixels[c * gray.length + i] / channels;
  }
  clearSaliency(card);
  card.explains.textContent = `Why ${answer.target_label}? ${answer.method_name}: explains class ${answer.target_label} `
    + `(p = ${percent(answer.probability)}); the network chose ${answer.predicted_label} (p = ${percent(answer.predicted_probability)}).`;
  card.what.textContent = `The map: ${answer.what}`
    + (answer.fill ? `; the square is filled with ${answer.fill}.` : ".");
  const rows = [saliencyRow("trained weights", answer.map, gray, answer.signed)];
  if (answer.random) {
    const twin = answer.random;
    rows.push(saliencyRow(`random weights: p(${answer.target_label}) = ${percent(twin.probability)}, chose ${twin.predicted_label}`,
      twin.map, gray, answer.signed));
    const rho = twin.correlation === null ? "undefined" : twin.correlation.toFixed(2); // as cnnlab.saliency prints it
    card.correlation.textContent = `Rank correlation of the two maps (Spearman): ${rho}, ${twin.correlation_words}.`;
    card.correlation.hidden = false;
  }
  card.saliencyMaps.replaceChildren(...rows);
  Object.assign(card.saliency.dataset, {
    method: answer.method, target: answer.target_label, probability: String(answer.probability),
    layer: answer.layer ?? "", correlation: answer.random ? String(answer.random.correlation) : "",
  });
}

/** The map's colours: draw.js's scale of its values, centred on 0 (white) for a signed map (occlusion) even
 * where this one has no negative value, so that its colours mean the same from drawing to drawing. */
function saliencyScale(values, signed) {
  const scale = scaleOf(values);
  if (!signed || scale.symmetric) return scale;
  return { ...scale, low: -scale.high, symmetric: true, table: DIVERGING };
}

/** One map: its title, its legend, the map over the input and the map alone. */
function saliencyRow(title, map, gray, signed) {
  const values = dequantise(bytesOf(map.data), map.low, map.high);
  const [height, width] = map.shape;
  const scale = saliencyScale(values, signed);
  const legend = makeLegend();
  drawLegend(legend, scale);
  legend.words.textContent = signed
    ? `Symmetric around 0 (white): red where hiding the pixel lowers the class's probability, blue where it raises it. Values ${fmt(scale.min)} to ${fmt(scale.max)}.`
    : `From 0 to the map's largest value. Values ${fmt(scale.min)} to ${fmt(scale.max)}.`;
  const pictures = el("div", "pictures");
  for (const [under, caption] of [[gray, "over the input"], [null, "the map"]]) {
    const canvas = el("canvas", "saliency-map");
    canvas.width = width;
    canvas.height = height;
    canvas.style.width = `${Math.max(width, Math.floor(SALIENCY_SIDE / width) * width)}px`;
    canvas.dataset.kind = under ? "overlay" : "map";
    paintSaliency(canvas, values, scale, under);
    const figure = el("figure");
    figure.append(canvas, el("figcaption", "", caption));
    pictures.append(figure);
  }
  const row = el("div", "saliency-row");
  row.append(el("h3", "", title), legend.node, pictures);
  return row;
}

/** The map's colours, alone, or laid over the input in gray as strongly as each value is large (the input shows
 * through where the map is near 0). */
function paintSaliency(canvas, values, scale, gray) {
  const image = new ImageData(canvas.width, canvas.height);
  const reach = Math.max(-scale.low, scale.high) || 1;
  for (let i = 0; i < values.length; i++) {
    const q = colourIndex(scale, values[i]) * 3;
    const strength = gray ? Math.min(1, Math.abs(values[i]) / reach) : 1;
    const under = gray ? gray[i] : 0;
    for (let c = 0; c < 3; c++) image.data[4 * i + c] = Math.round(under * (1 - strength) + scale.table[q + c] * strength);
    image.data[4 * i + 3] = 255;
  }
  canvas.getContext("2d").putImageData(image, 0, 0);
}

// ------------------------------------------------------------------------------------------------
// "Download this page": the published page of these networks (cnnlab publish), one HTML file that runs them in
// the browser with no server. The lab builds it on the first click (seconds); a network it cannot run is left out.

function offerPage() {
  const link = document.getElementById("download");
  const note = document.getElementById("download-note");
  const left = state.models.filter((model) => model.publish_error);
  if (left.length === state.models.length) {
    note.textContent = `No page to download: ${left.map((m) => `${m.name}: ${m.publish_error}`).join("; ")}`;
    return;
  }
  link.hidden = false;
  link.title = "one HTML file that runs these networks in the browser, offline (cnnlab publish)";
  if (left.length) note.textContent = `(without ${left.map((m) => `${m.name}: ${m.publish_error}`).join("; ")})`;
  link.addEventListener("click", async (event) => {
    event.preventDefault();
    note.textContent = "making the page...";
    try {
      const response = await fetch(link.href);
      if (!response.ok) throw new Error((await response.json()).error || response.statusText);
      const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
      const save = el("a");
      save.href = URL.createObjectURL(await response.blob());
      save.download = name ? name[1] : "cnnlab-page.html";
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(save.href), 60_000);
      note.textContent = left.length ? `(without ${left.map((m) => m.name).join(", ")})` : "";
    } catch (error) {
      link.hidden = true;
      note.textContent = `No page to download: ${error.message}`;
      note.classList.add("error");
    }
  });
}

async function start() {
  try {
    state.models = (await api("/api/models")).models;
  } catch (error) {
    status(`the lab does not answer: ${error.message}`, true);
    return;
  }
  document.getElementById("models").replaceChildren(...state.models.map(makeCard));
  if (state.models.some((model) => model.gray)) {
    document.getElementById("draw-area").hidden = false;
    pad.paint();
  }
  offerPage();
  status(`${state.models.map((m) => m.name).join(", ")}: draw a digit, drop an image or pick a sample.`);
  document.body.dataset.ready = "true";
  markSettled();
  showSamples().catch((error) => status(error.message, true));
}

start();
