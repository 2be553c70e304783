// Gallery web console: small progressive enhancements. Every page works without this file
// except live updates and charts.
"use strict";
(function () {
  // The to-do badge in the header follows /api/v1/todo/events (server-sent events).
  const badge = document.querySelector("[data-live-todo]");
  if (badge && window.EventSource) {
    const source = new EventSource("/api/v1/todo/events");
    source.addEventListener("todo", (event) => {
      const count = JSON.parse(event.data).count;
      badge.textContent = String(count);
      badge.classList.toggle("zero", count === 0);
      badge.setAttribute("aria-label", count + " waiting");
      document.dispatchEvent(new CustomEvent("gallery:todo", { detail: JSON.parse(event.data) }));
    });
  }
  // Buttons that open a <dialog> (data-open="dialog-id") and close it (data-close).
  document.querySelectorAll("[data-open]").forEach((button) => {
    button.addEventListener("click", (event) => {
      const dialog = document.getElementById(button.dataset.open);
      if (dialog && dialog.showModal) { event.preventDefault(); dialog.showModal(); }
    });
  });
  // A dialog the server rendered open (a link such as ?import=1, or a refused form) is made
  // modal, as if its button had opened it: focus inside, Escape closes it.
  document.querySelectorAll("dialog[open]").forEach((dialog) => {
    if (!dialog.showModal) return;
    dialog.close();
    dialog.showModal();
  });
  document.querySelectorAll("dialog [data-close]").forEach((button) => {
    button.addEventListener("click", (event) => {
      event.preventDefault();
      button.closest("dialog").close();
    });
  });
  // Typed confirmation: a form with data-confirm-name enables its submit button only when
  // the name is typed (the server checks it again).
  document.querySelectorAll("form[data-confirm-name]").forEach((form) => {
    const input = form.querySelector("input[name=confirm]");
    const submit = form.querySelector("button[type=submit],button:not([type])");
    if (!input || !submit) return;
    const check = () => { submit.disabled = input.value !== form.dataset.confirmName; };
    input.addEventListener("input", check);
    check();
  });
})();
