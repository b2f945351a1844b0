// Counts the time left down on screen only: the server keeps the clock, refuses late answers and shows the result.
const clock = document.querySelector("[data-seconds-left]");
if (clock) {
  const end = Date.now() + Number(clock.dataset.secondsLeft) * 1000;
  const tick = () => {
    const left = Math.max(Math.ceil((end - Date.now()) / 1000), 0);
    clock.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    clock.classList.toggle("timer-low", left <= 300);
    if (left === 0) {
      clearInterval(timer);
      // A second late, so that the server's clock has surely passed the deadline too.
      setTimeout(() => window.location.assign(clock.dataset.resultUrl), 1000);
    }
  };
  const timer = setInterval(tick, 1000);
}
