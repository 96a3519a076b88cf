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
  // An action that then succeeds (a button or a form sent, not a page's poll nor the
  // builder's preview as one types) takes the old error away: left up, it covered the
  // row that says what was just done.
  document.addEventListener("htmx:afterRequest", function (event) {
    var toast = document.getElementById("toast");
    var config = event.detail.requestConfig;
    if (!toast || toast.hidden || !event.detail.successful || !config) return;
    if (String(config.verb).toLowerCase() === "get") return;
    var cause = config.triggeringEvent && config.triggeringEvent.type;
    if (cause !== "click" && cause !== "submit") return;
    if (event.detail.xhr && event.detail.xhr.getResponseHeader("HX-Trigger")
        && event.detail.xhr.getResponseHeader("HX-Trigger").indexOf("baton-error") !== -1) return;
    clearTimeout(showToast.timer);
    toast.hidden = true;
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

  // --- The live request page: what someone is typing survives the poll ---------------
  // The poll (requests/request.html) swaps the steps out of band (#step-lists) when the
  // request changed, and a step's note box is inside them. A box there with text typed
  // in it is never lost: if the new steps have the same box (its id), the text, the focus
  // and the caret move into it; if they do not (someone else claimed the step, or it was
  // finished), the step being written in stays as it was, with a line saying it changed.
  // The request's comment box is outside what the poll swaps.
  var typedInSteps = null;

  function typedFields(root) {
    return Array.prototype.filter.call(
      root.querySelectorAll("input[type=text][id], textarea[id]"),
      function (field) { return field.value !== field.defaultValue; });
  }

  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    var fragment = event.detail.fragment;
    if (!target || target.id !== "step-lists" || !fragment) return;
    typedInSteps = typedFields(target).map(function (field) {
      var typed = { id: field.id, value: field.value, focused: document.activeElement === field,
                    start: field.selectionStart, end: field.selectionEnd };
      if (fragment.querySelector("#" + CSS.escape(field.id))) return typed;
      var step = field.closest("li.step");
      var fresh = step && step.id && fragment.querySelector("#" + CSS.escape(step.id));
      if (fresh) {
        if (!step.querySelector(".step-changed")) {
          var note = document.createElement("p");
          note.className = "notice step-changed";
          note.setAttribute("role", "status");
          note.textContent = "This step changed while you were writing; what you wrote is kept " +
            "here. Reload the page to see the step as it is now.";
          step.appendChild(note);
        }
        fresh.replaceWith(step);  // the step as it was, with the box and its text
      }
      return typed;
    });
  });

  document.addEventListener("htmx:oobAfterSwap", function () {
    if (!typedInSteps) return;
    var typed = typedInSteps;
    typedInSteps = null;
    typed.forEach(function (was) {
      var field = document.getElementById(was.id);
      if (!field) return;
      field.value = was.value;
      if (was.focused) {
        field.focus();
        if (was.start !== null) field.setSelectionRange(was.start, was.end);
      }
    });
  });

  // --- Keyboard shortcuts on task lists (team queues and My work) ---------------------
  // j/k move the selection, c claims, d completes (or approves), / searches, ? helps.
  // Never while typing in a field, never with a modifier key.

  var SHORTCUTS = [
    ["j", "Select the next task"],
    ["k", "Select the previous task"],
    ["c", "Claim the selected task"],
    ["d", "Complete (or approve) the selected task; an approval opens to be read first"],
    ["x", "Pick the selected task for a bulk action"],
    ["/", "Search the queue"],
    ["?", "Show or hide this help"],
  ];
  var selectedId = null;

  function shortcutTable() { return document.querySelector("table.tasks[data-shortcuts]"); }

  function taskRows() {
    var table = shortcutTable();
    return table ? Array.prototype.slice.call(table.querySelectorAll("tr.task-row")) : [];
  }

  function markSelected(row, focus) {
    document.querySelectorAll("tr.task-row.is-selected").forEach(function (other) {
      if (other !== row) other.classList.remove("is-selected");
    });
    if (!row) { selectedId = null; return; }
    row.classList.add("is-selected");
    selectedId = row.id;
    if (focus) {
      var link = row.querySelector("a");
      if (link) link.focus();
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function moveSelection(step) {
    var rows = taskRows();
    if (!rows.length) return;
    var current = selectedId ? rows.indexOf(document.getElementById(selectedId)) : -1;
    var next = current === -1 ? (step > 0 ? 0 : rows.length - 1)
      : Math.min(rows.length - 1, Math.max(0, current + step));
    markSelected(rows[next], true);
  }

  function clickInSelected(actions) {
    var row = selectedId && document.getElementById(selectedId);
    if (!row) return;
    for (var i = 0; i < actions.length; i++) {
      var button = row.querySelector('button[formaction$="/' + actions[i] + '"]');
      if (button && !button.disabled) {
        // A row swapped in a moment ago may not be wired by htmx yet: wire it first, or
        // the click would fall back to a plain form post and leave the page.
        if (window.htmx) window.htmx.process(button.closest("tr") || button);
        button.click();
        return;
      }
    }
    // d on a row that completes or approves only in its panel (an approval, read before
    // it is decided; an open task) opens the panel, where Complete or Approve is.
    var open = actions.indexOf("complete") !== -1 && row.querySelector("a.open-panel");
    if (open) {
      if (window.htmx) window.htmx.process(row);
      open.click();
    }
  }

  function helpDialog() {
    var dialog = document.getElementById("shortcut-help");
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.id = "shortcut-help";
    dialog.className = "shortcut-help";
    dialog.setAttribute("aria-labelledby", "shortcut-help-title");
    dialog.setAttribute("aria-modal", "true");
    var title = document.createElement("h2");
    title.id = "shortcut-help-title";
    title.textContent = "Keyboard shortcuts";
    var list = document.createElement("dl");
    SHORTCUTS.forEach(function (pair) {
      var term = document.createElement("dt");
      var key = document.createElement("kbd");
      key.textContent = pair[0];
      term.appendChild(key);
      var what = document.createElement("dd");
      what.textContent = pair[1];
      list.appendChild(term);
      list.appendChild(what);
    });
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close";
    close.addEventListener("click", function () { dialog.close(); });
    dialog.appendChild(title);
    dialog.appendChild(list);
    dialog.appendChild(close);
    // Escape closes a modal <dialog> by itself; either way focus goes back where it was.
    dialog.addEventListener("close", function () {
      var back = dialog.returnFocusTo;
      dialog.returnFocusTo = null;
      if (back && document.contains(back)) back.focus();
    });
    document.body.appendChild(dialog);
    return dialog;
  }

  function toggleHelp() {
    var dialog = helpDialog();
    if (dialog.open) { dialog.close(); return; }
    dialog.returnFocusTo = document.activeElement;
    dialog.showModal();
  }

  function isTyping(target) {
    if (!target || !target.closest) return false;
    return Boolean(target.isContentEditable ||
      target.closest("input, textarea, select, [contenteditable=''], [contenteditable=true]"));
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (!shortcutTable() || isTyping(event.target)) return;
    var dialog = document.getElementById("shortcut-help");
    if (dialog && dialog.open) {
      if (event.key === "?") { event.preventDefault(); dialog.close(); }
      return;
    }
    var key = event.key;
    if (key === "j") moveSelection(1);
    else if (key === "k") moveSelection(-1);
    else if (key === "c") clickInSelected(["claim"]);
    else if (key === "d") clickInSelected(["complete", "approve"]);
    else if (key === "x") pickSelected();
    else if (key === "/") {
      var search = document.getElementById("queue-search");
      if (!search) return;
      search.focus();
      search.select();
    } else if (key === "?") toggleHelp();
    else return;
    event.preventDefault();
  });

  // Enter in a task row's boxes does what the box is for: in "Hand to" it hands the task,
  // in the note it completes (or approves). The browser would click the form's first
  // button instead, which on a claimed row is Release.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.defaultPrevented) return;
    var box = event.target;
    var form = box && box.closest && box.closest("form.task-actions");
    if (!form || box.tagName !== "INPUT") return;
    var button = box.classList.contains("hand-to")
      ? form.querySelector("button[formaction$='/hand']")
      : box.classList.contains("assign-to")
        ? form.querySelector("button[formaction$='/assign']")
        : form.querySelector("button.primary");
    event.preventDefault();
    if (button) button.click();
  });

  // A swapped row (after an action) or reloaded results keep the selection.
  document.addEventListener("htmx:afterSettle", function () {
    if (!selectedId) return;
    var row = document.getElementById(selectedId);
    if (row) markSelected(row, false);
  });

  // --- A task's panel beside the list (templates/tasks/task.html) ----------------------
  // A row's Open (or Review) link swaps the panel in (htmx); focus goes to the panel,
  // and back to the row's link when Close or Escape empties it. Without the script the
  // link opens the panel as a page and Close leads back to the list.
  var panelOpener = null, focusPanel = false;

  function emptyPanel() {
    var panel = document.getElementById("task-panel");
    if (!panel || panel.hidden || !document.querySelector(".work-layout #task-panel")) return false;
    var empty = document.createElement("aside");
    empty.id = "task-panel";
    empty.className = "task-panel";
    empty.hidden = true;
    panel.replaceWith(empty);
    if (panelOpener && document.contains(panelOpener)) panelOpener.focus();
    return true;
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest && event.target.closest("a.open-panel, [data-close-panel]");
    if (!target) return;
    if (target.matches("a.open-panel")) {
      panelOpener = target;
      var row = target.closest("tr.task-row");
      if (row && shortcutTable()) markSelected(row, false);
    } else if (emptyPanel()) event.preventDefault();
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    focusPanel = Boolean(elt && elt.closest &&
      (elt.matches("a.open-panel") || elt.closest("#task-panel")));
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (!focusPanel) return;
    focusPanel = false;
    var panel = document.getElementById("task-panel");
    if (!panel || panel.hidden) return;
    // After an action, its message (or refusal) is what to read next.
    var said = panel.querySelector("[role=alert], [role=status]");
    (said || panel).setAttribute("tabindex", "-1");
    (said || panel).focus({ preventScroll: true });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented || isTyping(event.target)) return;
    if (document.querySelector("dialog[open]")) return;
    if (emptyPanel()) event.preventDefault();
  });

  // --- Bulk actions in a queue ---------------------------------------------------------
  // The rows' checkboxes belong to #bulk-form; shift-click picks every row between the
  // last one clicked and this one; x picks the row the keyboard selected; the header's
  // box picks the whole page. The bar says how many are picked.
  var lastPicked = null;

  function picks() {
    return Array.prototype.slice.call(document.querySelectorAll("input.bulk-pick"));
  }

  function countPicks() {
    var count = document.getElementById("bulk-count");
    if (!count) return;
    var all = picks();
    var picked = all.filter(function (box) { return box.checked; }).length;
    count.textContent = picked ? picked + " selected" : "None selected";
    // On a phone the bar folds to its count while nothing is picked (baton.css).
    var form = document.getElementById("bulk-form");
    if (form) form.setAttribute("data-picked", String(picked));
    var every = document.getElementById("bulk-all");
    if (every) {
      every.checked = picked > 0 && picked === all.length;
      every.indeterminate = picked > 0 && picked < all.length;
    }
  }

  function pickSelected() {
    var row = selectedId && document.getElementById(selectedId);
    var box = row && row.querySelector("input.bulk-pick");
    if (!box) return;
    box.checked = !box.checked;
    lastPicked = box;
    countPicks();
  }

  document.addEventListener("click", function (event) {
    var box = event.target;
    if (!box.classList) return;
    if (box.id === "bulk-all") {
      picks().forEach(function (each) { each.checked = box.checked; });
    } else if (box.classList.contains("bulk-pick")) {
      var all = picks();
      if (event.shiftKey && lastPicked && all.indexOf(lastPicked) !== -1) {
        var from = all.indexOf(lastPicked), to = all.indexOf(box);
        all.slice(Math.min(from, to), Math.max(from, to) + 1)
          .forEach(function (each) { each.checked = box.checked; });
      }
      lastPicked = box;
    } else return;
    countPicks();
  });

  // Enter in the bar's "Hand to" box hands the picked tasks (not the bar's first button).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.target.id !== "bulk-to") return;
    event.preventDefault();
    var hand = document.querySelector("#bulk-form button[value=hand]");
    if (hand) hand.click();
  });

  document.addEventListener("htmx:afterSettle", countPicks);
  document.addEventListener("DOMContentLoaded", countPicks);

  // A refusal of the whole bulk action about the "Hand to" box (a name that fits nobody,
  // or someone outside the team) marks that box, described by the report that says why;
  // the next report clears it.
  document.addEventListener("htmx:afterSettle", function () {
    var report = document.getElementById("bulk-report");
    var box = document.getElementById("bulk-to");
    if (!report || !box) return;
    if (report.getAttribute("data-invalid") === "bulk-to") {
      box.setAttribute("aria-invalid", "true");
      box.setAttribute("aria-describedby", "bulk-report");
    } else {
      box.removeAttribute("aria-invalid");
      box.removeAttribute("aria-describedby");
    }
  });

  // "Go back" links on error pages.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-back]");
    if (link && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });

  // --- Conditional fields -------------------------------------------------------------
  // An intake field with data-show-if is shown only while its condition (JSON of the
  // tree app/conditions.py parses) holds for the answers above it. The rules are those
  // of app.conditions.evaluate: a comparison on a missing answer is false; "includes"
  // tests a multi-select; numbers and ISO dates compare as such. A hidden field's
  // controls are disabled, so its answer is neither posted nor used by later fields
  // (as the server reads the form: app.intake.validate_intake).

  function isIsoDate(text) {
    if (typeof text !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
    var moment = new Date(text + "T00:00:00Z");
    return !isNaN(moment.getTime()) && moment.toISOString().slice(0, 10) === text;
  }

  // What the server would keep of one field's answer, or undefined when none is given.
  function answerOf(wrap) {
    var controls = Array.prototype.filter.call(
      wrap.querySelectorAll("input, select, textarea"),
      function (control) { return !control.disabled; }
    );
    if (wrap.hidden || !controls.length) return undefined;
    var type = wrap.getAttribute("data-type");
    if (type === "multi_select") {
      var chosen = controls.filter(function (c) { return c.checked; })
        .map(function (c) { return c.value; });
      return chosen.length ? chosen : undefined;
    }
    if (type === "checkbox") {
      // An unticked required box is a missing answer, an unticked optional one false.
      if (controls[0].checked) return true;
      return wrap.hasAttribute("data-required") ? undefined : false;
    }
    var text = (controls[0].value || "").trim();
    if (!text) return undefined;
    if (type === "number") {
      text = text.replace(/[ _]/g, "");
      if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
      var number = Number(text);
      return isFinite(number) ? number : undefined;
    }
    if (type === "date") return isIsoDate(text) ? text : undefined;
    if (type === "text") return text.replace(/\s+/g, " ");
    return text;
  }

  function isDateValue(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value) &&
      typeof value.date === "string";
  }

  function compare(op, left, right) {
    if (op === "==" || op === "is") return left === right;
    if (op === "!=") return left !== right;
    if (typeof left !== typeof right) return false;
    if (op === "<") return left < right;
    if (op === "<=") return left <= right;
    if (op === ">") return left > right;
    if (op === ">=") return left >= right;
    return false;
  }

  function holds(node, answers) {
    if ("not" in node) return !holds(node.not, answers);
    if ("and" in node) return node.and.every(function (item) { return holds(item, answers); });
    if ("or" in node) return node.or.some(function (item) { return holds(item, answers); });
    var answer = answers[node.field];
    var value = node.value;
    if (answer === undefined || answer === null) return false;
    if (node.op === "includes") return Array.isArray(answer) && answer.indexOf(value) !== -1;
    if (node.op === "in") {
      return Array.isArray(value) && value.some(function (item) { return item === answer; });
    }
    if (isDateValue(value)) {
      // ISO dates (YYYY-MM-DD) sort as text in the order of the days.
      return isIsoDate(answer) && compare(node.op, answer, value.date);
    }
    if (typeof value === "number" && typeof answer !== "boolean") {
      answer = Number(answer);
      if (isNaN(answer)) return false;
    }
    return compare(node.op, answer, value);
  }

  function showField(wrap, shown) {
    wrap.hidden = !shown;
    wrap.querySelectorAll("input, select, textarea, button").forEach(function (control) {
      control.disabled = !shown;
    });
  }

  // In form order, as the server reads it: each field sees only the answers above it.
  function applyConditions(form) {
    var answers = {};
    form.querySelectorAll(".field[data-key]").forEach(function (wrap) {
      var condition = wrap.getAttribute("data-show-if");
      if (condition) {
        var shown = true;
        try {
          shown = holds(JSON.parse(condition), answers);
        } catch (error) {
          shown = true; // a condition the page cannot read never hides a question
        }
        showField(wrap, shown); // also for a field the server rendered hidden

      }
      var answer = answerOf(wrap);
      if (answer !== undefined) answers[wrap.getAttribute("data-key")] = answer;
    });
  }

  function applyWithin(root) {
    if (!root || !root.querySelectorAll) return;
    var forms = root.matches && root.matches("form") ? [root] : [];
    root.querySelectorAll("form").forEach(function (form) { forms.push(form); });
    if (!forms.length && root.closest) {
      var around = root.closest("form");
      if (around) forms.push(around);
    }
    forms.forEach(function (form) {
      if (form.querySelector("[data-show-if]")) applyConditions(form);
    });
  }

  // The same rule for other scripts (and the browser tests that hold it to Python's).
  window.BatonConditions = { holds: holds, apply: applyConditions };

  function onAnswer(event) {
    var form = event.target && (event.target.form || (event.target.closest && event.target.closest("form")));
    if (form && form.querySelector("[data-show-if]")) applyConditions(form);
  }
  document.addEventListener("input", onAnswer);
  document.addEventListener("change", onAnswer);
  // Forms htmx brings in later (the service builder's preview) as well as the page's own.
  document.addEventListener("htmx:load", function (event) { applyWithin(event.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { applyWithin(document); });

  // --- Time zone (issue 16): the sign-in form and the profile's "use this browser's"
  // button take the browser's zone, so that pages show times in it.
  function browserZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return ""; }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-browser-time-zone]").forEach(function (input) {
      input.value = browserZone();
    });
    document.querySelectorAll("button[data-fill-time-zone]").forEach(function (button) {
      var zone = browserZone();
      var input = document.getElementById(button.getAttribute("data-fill-time-zone"));
      if (!zone || !input) return;
      button.hidden = false;
      button.textContent = "Use this browser’s: " + zone;
      button.addEventListener("click", function () { input.value = zone; input.focus(); });
    });
  });
  // --- end time zone

  // Move focus to the error summary when a form comes back with errors, and the page to
  // it once laid out: focused as the document is parsed, the browser scrolled to where
  // the summary was before the styles were applied, far below it on a phone.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    if (!summary) return;
    summary.focus({ preventScroll: true });
    function show() { summary.scrollIntoView({ block: "start" }); }
    if (document.readyState === "complete") show();
    else window.addEventListener("load", show, { once: true });
  });
})();

// The login page's demo accounts (demo mode only, issue 16): choosing one fills the form
// with its e-mail and the demo password and moves to "Sign in", so Enter signs in.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.demo-fill");
    if (!button) return;
    var form = document.querySelector("form[action='/login']");
    var list = button.closest("[data-password]");
    if (!form || !list) return;
    form.querySelector("#email").value = button.getAttribute("data-email");
    form.querySelector("#password").value = list.getAttribute("data-password");
    form.querySelector("button[type=submit]").focus();
  });
})();

// A service page on a narrow screen (issue 16): the form comes first and the explanation
// above it is folded to one line; it stays open on a wide screen (and without JavaScript).
document.addEventListener("DOMContentLoaded", function () {
  var about = document.querySelector("details.service-about");
  if (about && window.matchMedia("(max-width: 760px)").matches) about.open = false;
});
