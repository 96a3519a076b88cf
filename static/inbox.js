// The inbox's Mark read keeps the keyboard in the list (templates/inbox/inbox.html). A
// Mark read swaps its item's row (gone from the unread list, read in the all list), its
// team's section or the whole lists: the button that had the focus is gone, and the
// browser would drop the focus to <body>, the top of the page. Instead it goes to the
// next item (its Mark read button, else its link), else the "Show older" link, else the
// item before, else the list's heading.
(function () {
  "use strict";

  var plan = null;  // where the focus goes after the swap a Mark read started

  function items(list) {
    return Array.prototype.slice.call(list.querySelectorAll(":scope > li.inbox-item"));
  }

  function targetsFor(row) {
    var ids = [];
    if (row && row.parentElement) {
      var all = items(row.parentElement), at = all.indexOf(row);
      if (at >= 0 && at + 1 < all.length) ids.push(all[at + 1].id);
      if (row.parentElement.id === "inbox-items") ids.push("inbox-more");
      if (at > 0) ids.push(all[at - 1].id);
    }
    ids.push("items-title");
    return ids;
  }

  function control(element) {
    if (!element) return null;
    if (element.matches("h2, a, button")) return element;
    return element.querySelector("form button") || element.querySelector("a");
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (!form || !form.closest || !form.closest("#inbox-lists") ||
        form.tagName !== "FORM") return;
    var row = form.closest("li.inbox-item");
    plan = form.getAttribute("hx-target") === "#inbox-lists" ? ["items-title"] : targetsFor(row);
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (!plan) return;
    var ids = plan;
    plan = null;
    for (var i = 0; i < ids.length; i++) {
      var found = control(document.getElementById(ids[i]));
      if (found) { found.focus(); return; }
    }
  });
})();
