// The desk photo: the computer's camera in the page, a portrait crop shown for confirmation, then the JPEG put into
// the upload form's file input, so that the server receives the same upload as from the file fallback.
(function () {
  "use strict";

  const section = document.querySelector("[data-camera]");
  const form = document.querySelector("[data-photo-form]");
  const state = document.querySelector("[data-camera-state]");
  if (!section || !form || !state) return;

  const input = form.querySelector("input[type=file]");
  const video = section.querySelector("[data-camera-video]");
  const canvas = section.querySelector("[data-camera-canvas]");
  const shoot = section.querySelector("[data-camera-shoot]");
  const use = section.querySelector("[data-camera-use]");
  const retake = section.querySelector("[data-camera-retake]");
  // Width over height of a licence photo; the server asks for at least 413×531, so the crop is drawn at 480×640 or more.
  const RATIO = 3 / 4;
  const MIN_WIDTH = 480;
  const JPEG_QUALITY = 0.92;
  let stream = null;

  function say(key) {
    const message = document.querySelector(`[data-camera-messages] [data-message="${key}"]`);
    state.textContent = message ? message.textContent : "";
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
  }

  function giveUp(key) {
    stopCamera();
    section.hidden = true;
    say(key);
  }

  function reasonFor(error) {
    const name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError") return "refused";
    if (name === "NotFoundError" || name === "OverconstrainedError" || name === "NotReadableError") return "missing";
    return "failed";
  }

  function firstFrame() {
    // Dimensions are known once the first frame is in; play() may resolve just before that.
    if (video.videoWidth > 0) return Promise.resolve();
    return new Promise((resolve) => video.addEventListener("loadeddata", resolve, { once: true }));
  }

  function drawPortrait() {
    const frameWidth = video.videoWidth;
    const frameHeight = video.videoHeight;
    let width = frameWidth;
    let height = frameWidth / RATIO;
    if (height > frameHeight) {
      height = frameHeight;
      width = frameHeight * RATIO;
    }
    const outWidth = Math.max(MIN_WIDTH, Math.round(width));
    canvas.width = outWidth;
    canvas.height = Math.round(outWidth / RATIO);
    canvas.getContext("2d").drawImage(video, (frameWidth - width) / 2, (frameHeight - height) / 2, width, height,
      0, 0, canvas.width, canvas.height);
  }

  function showTaken(taken) {
    video.hidden = taken;
    canvas.hidden = !taken;
    shoot.hidden = taken;
    use.hidden = !taken;
    retake.hidden = !taken;
    (taken ? use : shoot).focus();
    say(taken ? "taken" : "ready");
  }

  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || typeof DataTransfer === "undefined" || !input) {
    say("unsupported");
    return;
  }

  section.hidden = false;
  say("starting");
  navigator.mediaDevices.getUserMedia({
    audio: false,
    video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 960 } },
  }).then((opened) => {
    stream = opened;
    video.srcObject = opened;
    return video.play();
  }).then(firstFrame).then(() => {
    shoot.disabled = false;
    say("ready");
  }).catch((error) => giveUp(reasonFor(error)));

  shoot.addEventListener("click", () => {
    if (!video.videoWidth) return;
    drawPortrait();
    showTaken(true);
  });

  retake.addEventListener("click", () => showTaken(false));

  use.addEventListener("click", () => {
    use.disabled = true;
    retake.disabled = true;
    canvas.toBlob((blob) => {
      if (!blob) {
        use.disabled = false;
        retake.disabled = false;
        say("failed");
        return;
      }
      const files = new DataTransfer();
      files.items.add(new File([blob], "desk-photo.jpg", { type: "image/jpeg", lastModified: Date.now() }));
      input.files = files.files;
      say("saving");
      stopCamera();
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    }, "image/jpeg", JPEG_QUALITY);
  });

  window.addEventListener("pagehide", stopCamera);
})();
