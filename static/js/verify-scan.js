// The verify page's camera: where the browser reads QR codes itself (BarcodeDetector, in Chromium), a "Scan with the
// camera" button shows; the code read fills the text area and the form is sent, as if it had been pasted. Without
// it the page is the plain GET form.
(function () {
  "use strict";

  const form = document.querySelector("[data-verify-form]");
  const start = document.querySelector("[data-scan-start]");
  const section = document.querySelector("[data-scan]");
  const state = document.querySelector("[data-scan-state]");
  if (!form || !start || !section || !state) return;

  const textarea = form.querySelector("[data-verify-code]");
  const video = section.querySelector("[data-scan-video]");
  const stop = section.querySelector("[data-scan-stop]");
  // How often a frame is looked at: often enough to feel instant, seldom enough to spare a phone's battery.
  const INTERVAL_MS = 250;
  let stream = null;
  let timer = null;
  let detector = null;

  function say(key) {
    const message = document.querySelector(`[data-scan-messages] [data-message="${key}"]`);
    state.textContent = message ? message.textContent : "";
  }

  function stopCamera() {
    if (timer !== null) window.clearTimeout(timer);
    timer = null;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.srcObject = null;
    section.hidden = true;
    start.hidden = false;
  }

  function reasonFor(error) {
    const name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError") return "refused";
    if (name === "NotFoundError" || name === "OverconstrainedError" || name === "NotReadableError") return "missing";
    return "failed";
  }

  function submitCode(text) {
    textarea.value = text.trim();
    stopCamera();
    say("read");
    if (typeof form.requestSubmit === "function") form.requestSubmit();
    else form.submit();
  }

  async function look() {
    timer = null;
    if (!stream) return;
    try {
      if (video.readyState >= 2) {
        const codes = await detector.detect(video);
        const found = codes.find((code) => code.rawValue);
        if (found) {
          submitCode(found.rawValue);
          return;
        }
      }
    } catch (error) {
      // A frame that cannot be read yet (the camera is still starting): try the next one.
    }
    if (stream) timer = window.setTimeout(look, INTERVAL_MS);
  }

  async function startCamera() {
    start.hidden = true;
    section.hidden = false;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false });
      video.srcObject = stream;
      await video.play();
    } catch (error) {
      stopCamera();
      say(reasonFor(error));
      return;
    }
    say("looking");
    stop.focus();
    look();
  }

  async function offerCamera() {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (!formats.includes("qr_code")) return;
      detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    } catch (error) {
      return;
    }
    start.hidden = false;
    start.addEventListener("click", startCamera);
    stop.addEventListener("click", () => {
      stopCamera();
      say("stopped");
      start.focus();
    });
    window.addEventListener("pagehide", stopCamera);
  }

  offerCamera();
})();
