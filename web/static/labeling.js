// The labeling page. It works without this file (every label is a form's button); with it:
// a label's key (shown on its button: 1 to 9, or the digit itself in a digits task) presses
// it; ← and → go to the previous and next sample.
"use strict";
(function () {
  const root = document.getElementById("labeling");
  if (!root) return;
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable)) return;
    let link = null;
    if (event.key === "ArrowLeft") link = document.getElementById("previous");
    if (event.key === "ArrowRight") link = document.getElementById("next");
    if (link) {
      event.preventDefault();
      window.location.assign(link.getAttribute("href"));
      return;
    }
    if (/^[0-9]$/.test(event.key)) {
      const button = root.querySelector('#label-form button[data-key="' + event.key + '"]');
      if (button) {
        event.preventDefault();
        button.click();
      }
    }
  });
})();
