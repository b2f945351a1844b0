// Moves focus to an error summary when a page opens with one (a file, not inline: the CSP allows no inline script).
document.querySelector("[data-autofocus]")?.focus();
