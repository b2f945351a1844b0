// The running total of penalty points while the examiner marks faults; the server counts again when it records.
const runningTotal = document.querySelector("[data-running-total]");
if (runningTotal) {
  const form = runningTotal.closest("form");
  const limit = Number(form.dataset.limit);
  const inputs = [...form.querySelectorAll("input[data-points]")];
  const times = (input) => Math.max(parseInt(input.value, 10) || 0, 0);
  const update = () => {
    const total = inputs.reduce((sum, input) => sum + times(input) * Number(input.dataset.points), 0);
    runningTotal.querySelector("[data-total]").textContent = String(total);
    runningTotal.querySelector("[data-verdict-pass]").hidden = total > limit;
    runningTotal.querySelector("[data-verdict-fail]").hidden = total <= limit;
  };
  inputs.forEach((input) => input.addEventListener("input", update));
  update();
  runningTotal.hidden = false;
}
