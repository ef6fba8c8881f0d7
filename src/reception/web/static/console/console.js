// The console's few behaviours, bound by data attributes (the pages carry no inline script:
// their Content-Security-Policy allows scripts from this service's files only).
//   data-autosubmit        a select that submits its form when changed
//   data-print             a button that prints the page
//   data-back              a button that goes back one page
//   data-open="ID"         a link that opens the <details id=ID> it points to
//   data-role-switch="SEL" a role select: inside SEL only the [data-role] parts of that role show
//   data-confirm="TEXT"    a form (or its submit button) that asks before it is sent
//   data-busy="TEXT"       a download link that says TEXT while the file is being made
//   data-shows="NAME"      a select: in its form, a [data-when data-when-NAME="a b"] part shows
//                          only while the select's value is a or b (its fields are left out else)
(function () {
  "use strict";

  function roleSwitch(select) {
    var scope = document.querySelector(select.getAttribute("data-role-switch"));
    if (!scope) { return; }
    scope.querySelectorAll("[data-role]").forEach(function (el) {
      el.hidden = el.getAttribute("data-role") !== select.value;
    });
  }

  function shows(select) {
    // Every switch of the form decides together: a part shows when each one it names agrees.
    var scope = select.form || document;
    var switches = scope.querySelectorAll("select[data-shows]");
    scope.querySelectorAll("[data-when]").forEach(function (part) {
      var off = false;
      switches.forEach(function (sw) {
        var allowed = part.getAttribute("data-when-" + sw.getAttribute("data-shows"));
        if (allowed !== null && allowed.split(" ").indexOf(sw.value) < 0) { off = true; }
      });
      part.hidden = off;
      part.querySelectorAll("input, select, textarea").forEach(function (input) {
        input.disabled = off;
      });
    });
  }

  function bind(root) {
    root.querySelectorAll("[data-role-switch]").forEach(roleSwitch);
    root.querySelectorAll("select[data-shows]").forEach(shows);
  }

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!(el instanceof Element)) { return; }
    if (el.matches("select[data-autosubmit]") && el.form) {
      if (el.form.requestSubmit) { el.form.requestSubmit(); } else { el.form.submit(); }
    }
    if (el.matches("[data-role-switch]")) { roleSwitch(el); }
    if (el.matches("select[data-shows]")) { shows(el); }
  });

  document.addEventListener("click", function (event) {
    var busy = event.target instanceof Element ? event.target.closest("a[data-busy]") : null;
    if (busy && !busy.hasAttribute("aria-busy")) {
      // A download leaves the page as it is: say that something is coming, for a while.
      var label = busy.textContent;
      busy.setAttribute("aria-busy", "true");
      busy.textContent = busy.getAttribute("data-busy");
      window.setTimeout(function () { busy.textContent = label; busy.removeAttribute("aria-busy"); }, 4000);
    }
    var el = event.target instanceof Element ? event.target.closest("[data-print], [data-back], [data-open]") : null;
    if (!el) { return; }
    if (el.hasAttribute("data-print")) { event.preventDefault(); window.print(); }
    if (el.hasAttribute("data-back")) { event.preventDefault(); window.history.back(); }
    if (el.hasAttribute("data-open")) {
      var target = document.getElementById(el.getAttribute("data-open"));
      if (target) { target.open = true; }
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var text = (button && button.getAttribute("data-confirm")) || (form && form.getAttribute && form.getAttribute("data-confirm"));
    if (text && !window.confirm(text)) { event.preventDefault(); event.stopImmediatePropagation(); }
  }, true);

  document.addEventListener("DOMContentLoaded", function () { bind(document); });
  // A boosted navigation or a swapped part brings new elements without a new DOMContentLoaded.
  document.addEventListener("htmx:afterSettle", function (event) { bind(event.target || document); });
})();
