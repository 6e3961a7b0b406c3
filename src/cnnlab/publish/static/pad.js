// cnnlab's drawing pad, shared by the published page (page.js; inlined in the file) and the served lab (lab.js;
// served as /static/pad.js): strokes drawn with the mouse, a pen or a finger on a canvas, undone one at a time or
// cleared. Plain JavaScript and canvas, no library; it fetches nothing. `window.cnnlabPad` holds what it offers.
(function () {
  "use strict";

  /**
   * A pad on `canvas`: black strokes of `penWidth` pixels (of the canvas's own size) on white.
   *
   * `onStart()` is called before a stroke begins, before an undo and before a clear (the page goes back to the
   * drawing from a photo or sample); `onChange()` after every change to the strokes and when a stroke ends (the
   * page's throttled update). `undoButton` and `clearButton`, if given, undo the last stroke and clear the pad.
   * Returns {canvas, ink, strokes, paint(), undo(), clear(notify = true), isBlank()}; `clear(false)` empties the
   * pad without calling onStart or onChange (a picture given instead of the drawing).
   */
  function createPad(canvas, { penWidth = 18, onStart = () => {}, onChange = () => {}, undoButton = null,
    clearButton = null } = {}) {
    const ink = canvas.getContext("2d", { willReadFrequently: true });
    const pad = {
      canvas,
      ink,
      strokes: [], // each a list of [x, y] in the canvas's pixels
      paint,
      undo,
      clear,
      isBlank: () => pad.strokes.length === 0,
    };

    function paint() {
      ink.fillStyle = "#fff";
      ink.fillRect(0, 0, canvas.width, canvas.height);
      ink.strokeStyle = "#000";
      ink.lineWidth = penWidth;
      ink.lineCap = "round";
      ink.lineJoin = "round";
      for (const stroke of pad.strokes) {
        ink.beginPath();
        ink.moveTo(stroke[0][0], stroke[0][1]);
        for (const [x, y] of stroke.slice(1)) ink.lineTo(x, y);
        if (stroke.length === 1) ink.lineTo(stroke[0][0] + 0.1, stroke[0][1]); // a dot
        ink.stroke();
      }
    }

    function point(event) {
      const rect = canvas.getBoundingClientRect();
      return [((event.clientX - rect.left) * canvas.width) / rect.width,
        ((event.clientY - rect.top) * canvas.height) / rect.height];
    }

    function undo() {
      onStart();
      pad.strokes.pop();
      paint();
      onChange();
    }

    function clear(notify = true) {
      if (notify) onStart();
      pad.strokes = [];
      paint();
      if (notify) onChange();
    }

    canvas.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      onStart();
      pad.strokes.push([point(event)]);
      paint();
      onChange();
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!canvas.hasPointerCapture(event.pointerId) || !pad.strokes.length) return;
      // a pen or finger reports more points than events: take them all, for smooth strokes
      const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      const stroke = pad.strokes[pad.strokes.length - 1];
      for (const e of events.length ? events : [event]) stroke.push(point(e));
      paint();
      onChange();
    });
    canvas.addEventListener("pointerup", () => onChange());
    if (undoButton) undoButton.addEventListener("click", () => undo());
    if (clearButton) clearButton.addEventListener("click", () => clear());
    return pad;
  }

  window.cnnlabPad = { createPad };
})();
