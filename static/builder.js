// The service builder (issue 16): a field or a step is moved by dragging its summary line
// onto another row of its list, as well as by its Up and Down buttons (which stay the way
// for the keyboard). A drop posts the whole form with do=field_to:FROM:TO, the way those
// buttons post theirs, and the server sends the builder back in the new order.
(function () {
  "use strict";
  var dragged = null;

  function rowAt(target) {
    var row = target && target.closest ? target.closest(".b-row") : null;
    return row && dragged && row.parentNode === dragged.parentNode ? row : null;
  }

  function unmark() {
    document.querySelectorAll(".b-row.is-drop-target").forEach(function (row) {
      row.classList.remove("is-drop-target");
    });
  }

  document.addEventListener("dragstart", function (event) {
    var summary = event.target.closest && event.target.closest(".b-row summary");
    if (!summary) return;
    dragged = summary.closest(".b-row");
    dragged.classList.add("is-dragged");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.id);
  });

  document.addEventListener("dragover", function (event) {
    var row = rowAt(event.target);
    if (!row) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!row.classList.contains("is-drop-target")) {
      unmark();
      if (row !== dragged) row.classList.add("is-drop-target");
    }
  });

  document.addEventListener("drop", function (event) {
    var row = rowAt(event.target);
    if (!row) return;
    event.preventDefault();
    var from = dragged.getAttribute("data-row");
    var to = row.getAttribute("data-row");
    if (from === to) return;
    var form = document.getElementById("builder");
    var button = document.createElement("button");
    button.type = "submit";
    button.name = "do";
    button.value = (dragged.classList.contains("b-field") ? "field" : "step") + "_to:" + from + ":" + to;
    button.hidden = true;
    form.appendChild(button);
    form.requestSubmit(button);
  });

  document.addEventListener("dragend", function () {
    unmark();
    if (dragged) dragged.classList.remove("is-dragged");
    dragged = null;
  });
})();
