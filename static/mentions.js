// @mentions in a comment box (textarea[data-mentions]): typing @ and two letters asks the
// request's own list of who may be mentioned (/requests/<id>/mentionable: people who may
// see the request, in the person picker's options) and lists who matches under the box; Up/Down move, Enter or Tab picks,
// Escape closes, a click picks. A pick writes "@e-mail " in the text (unambiguous; the
// server posts it as the person's name and refuses anyone who may not see the request).
(function () {
  "use strict";

  var TOKEN = /(^|[\s(])@([A-Za-z0-9._%+-]{2,64})$/;

  function setUp(box) {
    var list = document.createElement("ul");
    list.id = box.id + "-mentions";
    list.className = "mention-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "People to mention");
    list.hidden = true;
    box.parentNode.insertBefore(list, box.nextSibling);
    // A textarea keeps its textbox role (ARIA allows no combobox on it): it names the list
    // and its active option; a live line says when suggestions appear.
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-controls", list.id);
    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("aria-live", "polite");
    list.parentNode.insertBefore(status, list.nextSibling);
    var active = -1, asked = 0, token = null;

    function close() {
      list.hidden = true;
      list.textContent = "";
      active = -1;
      token = null;
      box.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      var options = list.querySelectorAll("[role=option]");
      if (!options.length) return;
      active = (index + options.length) % options.length;
      options.forEach(function (option, i) {
        option.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      box.setAttribute("aria-activedescendant", options[active].id);
    }

    function pick(option) {
      if (!token) return;
      var email = option.getAttribute("data-email");
      var before = box.value.slice(0, token.start), after = box.value.slice(box.selectionEnd);
      var inserted = "@" + email + " ";
      box.value = before + inserted + after;
      var caret = before.length + inserted.length;
      box.setSelectionRange(caret, caret);
      close();
      box.focus();
    }

    function show(people) {
      list.textContent = "";
      people.forEach(function (person, i) {
        var option = document.createElement("li");
        option.id = list.id + "-" + i;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.setAttribute("data-email", person.email);
        option.textContent = person.name + " <" + person.email + ">";
        option.addEventListener("mousedown", function (event) {
          event.preventDefault();  // keep the focus in the box
          pick(option);
        });
        list.appendChild(option);
      });
      list.hidden = !people.length;
      status.textContent = people.length ? people.length + " people to mention: use the arrow keys" : "";
      active = -1;
      if (people.length) highlight(0);
    }

    box.addEventListener("input", function () {
      var match = TOKEN.exec(box.value.slice(0, box.selectionEnd));
      if (!match) { close(); return; }
      token = { start: box.selectionEnd - match[2].length - 1 };
      var ask = ++asked;
      // An internal note suggests only who may read notes (never the requester).
      var internal = box.form && box.form.querySelector("input[name=internal]:checked");
      fetch(box.getAttribute("data-mentions") + "?q=" + encodeURIComponent(match[2]) +
            (internal ? "&internal=true" : ""),
            { headers: { "Accept": "text/html" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (html) {
          if (ask !== asked || !token) return;
          var doc = new DOMParser().parseFromString("<datalist>" + html + "</datalist>", "text/html");
          var people = [];
          doc.querySelectorAll("option").forEach(function (option) {
            var value = option.getAttribute("value") || "";
            var at = value.lastIndexOf(" <");
            if (at > 0 && value.slice(-1) === ">") {
              people.push({ name: value.slice(0, at), email: value.slice(at + 2, -1) });
            }
          });
          show(people);
        })
        .catch(close);
    });

    box.addEventListener("keydown", function (event) {
      if (list.hidden) return;
      if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
      else if ((event.key === "Enter" || event.key === "Tab") && active >= 0) {
        event.preventDefault();
        pick(list.querySelectorAll("[role=option]")[active]);
      } else if (event.key === "Escape") { event.preventDefault(); close(); }
    });
    box.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  function start() {
    document.querySelectorAll("textarea[data-mentions]").forEach(function (box) {
      if (!box.hasAttribute("data-mentions-ready")) {
        box.setAttribute("data-mentions-ready", "");
        setUp(box);
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
