// cnnlab lab: the page over the lab's JSON API (docs/lab-api.md). Plain JavaScript and canvas, no library.
"use strict";

const UPDATE_EVERY_MS = 100; // while drawing, a new prediction at least this often (one request at a time)
const PEN_WIDTH = 18; // pixels of the 280x280 pad: about MNIST's stroke, once the digit is scaled to 20x20
const GAP = 1; // pixels between feature-map tiles
const MAP_WIDTH = 320; // pixels a layer's grid of tiles is fitted into

const state = {
  models: [],
  cards: new Map(), // model name -> its card's elements and layers
  strokes: [], // the pad's strokes, each a list of [x, y]
  upload: null, // a Blob given instead of a drawing (file, drop, sample), or null: the pad
  uploadName: "",
  busy: false, // a round of requests is in flight
  dirty: false, // the input changed since the last round was sent
  lastSent: 0,
  timer: null,
};

// Viridis, as matplotlib draws the same maps (cnnlab show feature-maps): 256 colours from 10 anchors.
const VIRIDIS = (() => {
  const anchors = [[68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
    [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37]];
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (anchors.length - 1);
    const j = Math.min(Math.floor(t), anchors.length - 2);
    const f = t - j;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(anchors[j][c] * (1 - f) + anchors[j + 1][c] * f);
  }
  return lut;
})();

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function status(text, isError = false) {
  const element = document.getElementById("status");
  element.textContent = text;
  element.classList.toggle("error", isError);
}

function number(value) {
  return value.toLocaleString("en-US");
}

// ------------------------------------------------------------------------------------------------
// the drawing pad

const pad = document.getElementById("pad");
const ink = pad.getContext("2d");

function paint() {
  ink.fillStyle = "#fff";
  ink.fillRect(0, 0, pad.width, pad.height);
  ink.strokeStyle = "#000";
  ink.lineWidth = PEN_WIDTH;
  ink.lineCap = "round";
  ink.lineJoin = "round";
  for (const stroke of state.strokes) {
    ink.beginPath();
    ink.moveTo(stroke[0][0], stroke[0][1]);
    for (const [x, y] of stroke.slice(1)) ink.lineTo(x, y);
    if (stroke.length === 1) ink.lineTo(stroke[0][0] + 0.1, stroke[0][1]); // a dot
    ink.stroke();
  }
}

function padPoint(event) {
  const rect = pad.getBoundingClientRect();
  return [((event.clientX - rect.left) * pad.width) / rect.width, ((event.clientY - rect.top) * pad.height) / rect.height];
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  useDrawing();
  state.strokes.push([padPoint(event)]);
  paint();
  changed();
});
pad.addEventListener("pointermove", (event) => {
  if (!pad.hasPointerCapture(event.pointerId) || !state.strokes.length) return;
  state.strokes[state.strokes.length - 1].push(padPoint(event));
  paint();
  changed();
});
pad.addEventListener("pointerup", () => changed());
document.getElementById("undo").addEventListener("click", () => {
  state.strokes.pop();
  paint();
  changed();
});
document.getElementById("clear").addEventListener("click", () => {
  state.strokes = [];
  paint();
  changed();
});

function useDrawing() {
  if (state.upload === null) return;
  state.upload = null;
  document.getElementById("preview").hidden = true;
  document.getElementById("source").textContent = "the drawing";
}

function padBlob() {
  return new Promise((resolve) => pad.toBlob(resolve, "image/png"));
}

// ------------------------------------------------------------------------------------------------
// files, drops and samples

function useUpload(blob, name) {
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
  const blob = state.upload ?? (state.strokes.length ? await padBlob() : null);
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
  const query = new URLSearchParams({ model: model.name, k: Math.min(5, model.classes.length), layers: layers || "default" });
  try {
    const answer = await api(`/api/inspect?${query}`, { method: "POST", body: blob, headers: { "Content-Type": blob.type || "application/octet-stream" } });
    render(card, answer, source);
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
  card.element.dataset.top = "";
  if (message) {
    const item = document.createElement("li");
    item.className = "error";
    item.textContent = message;
    card.top.append(item);
  }
}

function render(card, answer, source) {
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

function gridShape(count, aspect) {
  const cols = Math.max(1, Math.min(count, Math.ceil(Math.sqrt(count * aspect))));
  return [Math.ceil(count / cols), cols];
}

function drawLayer(card, layer) {
  const [channels, height, width] = layer.shape;
  const bytes = Uint8Array.from(atob(layer.data), (c) => c.charCodeAt(0));
  const [rows, cols] = gridShape(channels, height / width);
  const fullWidth = cols * width + (cols - 1) * GAP;
  const fullHeight = rows * height + (rows - 1) * GAP;
  const scale = Math.max(1, Math.min(16, Math.floor(MAP_WIDTH / fullWidth)));
  const pixels = new ImageData(fullWidth, fullHeight);
  pixels.data.fill(255);
  for (let c = 0; c < channels; c++) {
    const top = Math.floor(c / cols) * (height + GAP);
    const left = (c % cols) * (width + GAP);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const q = bytes[(c * height + y) * width + x];
        const at = ((top + y) * fullWidth + left + x) * 4;
        pixels.data[at] = VIRIDIS[q * 3];
        pixels.data[at + 1] = VIRIDIS[q * 3 + 1];
        pixels.data[at + 2] = VIRIDIS[q * 3 + 2];
      }
    }
  }
  const flat = document.createElement("canvas");
  flat.width = fullWidth;
  flat.height = fullHeight;
  flat.getContext("2d").putImageData(pixels, 0, 0);
  const canvas = document.createElement("canvas");
  canvas.width = fullWidth * scale;
  canvas.height = fullHeight * scale;
  canvas.dataset.layer = layer.name;
  canvas.dataset.tiles = channels;
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = false;
  context.drawImage(flat, 0, 0, canvas.width, canvas.height);

  const info = card.layers.get(layer.name);
  const unitAt = (event) => {
    const rect = canvas.getBoundingClientRect();
    const px = Math.floor(((event.clientX - rect.left) * canvas.width) / rect.width / scale);
    const py = Math.floor(((event.clientY - rect.top) * canvas.height) / rect.height / scale);
    const col = Math.floor(px / (width + GAP)), row = Math.floor(py / (height + GAP));
    const x = px - col * (width + GAP), y = py - row * (height + GAP), channel = row * cols + col;
    if (x >= width || y >= height || channel >= channels || col >= cols) return null;
    const q = bytes[(channel * height + y) * width + x];
    return { channel, y, x, value: layer.low + (q / 255) * (layer.high - layer.low) };
  };
  canvas.addEventListener("mousemove", (event) => {
    const unit = unitAt(event);
    card.unit.textContent = unit
      ? `${layer.name}, channel ${unit.channel}, unit (${unit.y}, ${unit.x}): ${unit.value.toPrecision(3)}`
      : `${layer.name}: between the tiles`;
  });
  canvas.addEventListener("click", async (event) => {
    const unit = unitAt(event);
    if (!unit) return;
    try {
      const query = new URLSearchParams({ model: card.model.name, layer: layer.name, y: unit.y, x: unit.x });
      card.field = await api(`/api/field?${query}`);
      drawField(card, card.field);
      card.unit.textContent = `${layer.name}, unit (${unit.y}, ${unit.x}) sees a ${card.field.size.join("x")} field`;
    } catch (error) {
      card.unit.textContent = error.message;
    }
  });

  const figure = document.createElement("div");
  figure.className = "map";
  const title = document.createElement("h3");
  const field = info && info.field && info.field.size ? `, field ${info.field.size[0]}` : "";
  title.textContent = `${layer.name} (${info ? info.type : ""}): ${channels} maps of ${height}x${width}${field}, `
    + `${layer.low.toPrecision(3)} to ${layer.high.toPrecision(3)}`;
  figure.append(title, canvas);
  return figure;
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
    model, element, chosen: new Set(model.default_layers), layers: new Map(model.layers.map((l) => [l.name, l])),
    top: element.querySelector(".top"), maps: element.querySelector(".maps"), unit: element.querySelector(".unit"),
    seen: element.querySelector(".seen-image"), box: element.querySelector(".seen-box"), field: null, scale: 1,
  };
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
    paint();
  }
  status(`${state.models.map((m) => m.name).join(", ")}: draw a digit, drop an image or pick a sample.`);
  document.body.dataset.ready = "true";
  markSettled();
  showSamples().catch((error) => status(error.message, true));
}

start();
