// Baton's few lines of behaviour beyond htmx. No build step, no framework.
(function () {
  "use strict";

  // Errors that are not swapped into the page are shown in the toast, as text.
  function showToast(text) {
    var toast = document.getElementById("toast");
    if (!toast) return;
    toast.textContent = text || "Something went wrong. Reload the page and try again.";
    toast.hidden = false;
    clearTimeout(showToast.timer);
    showToast.timer = setTimeout(function () { toast.hidden = true; }, 8000);
  }

  // Baton's own error responses name their message in an HX-Trigger event...
  document.addEventListener("baton-error", function (event) {
    showToast(event.detail && event.detail.message);
  });
  // ...anything else that failed (a proxy's page, a crash) shows its text.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.getResponseHeader("HX-Trigger")) return;
    var text = new DOMParser().parseFromString(xhr.responseText || "", "text/html").body.textContent;
    showToast(text.trim().slice(0, 300));
  });
  document.addEventListener("htmx:sendError", function () {
    showToast("Baton could not be reached. Check your connection and try again.");
  });

  // After a row is swapped, keep the keyboard where it was: on the row's first control.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.elt;
    if (!target || !target.id || target.id.indexOf("task-") !== 0) return;
    var row = document.getElementById(target.id);
    if (!row) return;
    var focusable = row.querySelector("[role=alert], [role=status]");
    var control = row.querySelector("button, a");
    if (control && document.activeElement === document.body) control.focus();
    if (focusable) focusable.setAttribute("tabindex", "-1");
  });

  // "Go back" links on error pages.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-back]");
    if (link && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });

  // Move focus to the error summary when a form comes back with errors.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  });
})();
