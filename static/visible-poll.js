// Polls that wait while their tab is hidden, without eval: htmx's allowEval is off
// (base.html), so a trigger filter such as visibilitychange[document.visibilityState ===
// 'visible'] cannot be evaluated (htmx:evalDisallowedError) and lets every event through.
// An element with data-poll-when-visible (the live request page's #request-live, with
// hx-trigger="every 15s, visible-again"): its requests are cancelled while the document
// is hidden, and it is sent one "visible-again" event when the tab comes back into view,
// so it asks once at once instead of waiting for its next tick.
(function () {
  "use strict";

  function waitsForView(elt) {
    return Boolean(elt && elt.hasAttribute && elt.hasAttribute("data-poll-when-visible"));
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (document.visibilityState === "hidden" && waitsForView(event.detail.elt)) {
      event.preventDefault();
    }
  });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible" || !window.htmx) return;
    document.querySelectorAll("[data-poll-when-visible]").forEach(function (elt) {
      window.htmx.trigger(elt, "visible-again");
    });
  });
})();
