// opentrail console: small progressive enhancements; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Show the custom date fields only when the time range is "custom".
  var range = document.getElementById("range");
  function syncRange() {
    var custom = range && range.value === "custom";
    document.querySelectorAll(".custom-range").forEach(function (el) { el.hidden = !custom; });
  }
  if (range) { range.addEventListener("change", syncRange); syncRange(); }
  // Ask before destructive forms (data-confirm holds the question).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
  // Lake query editor: insert the picked store's ID at the cursor; sample queries over the picked store.
  var statement = document.getElementById("query-statement");
  var picker = document.getElementById("query-store");
  var insert = document.getElementById("insert-store");
  if (statement && picker && insert && statement.tagName === "TEXTAREA") {
    insert.hidden = false;
    insert.addEventListener("click", function () {
      var start = statement.selectionStart, end = statement.selectionEnd, id = picker.value;
      statement.value = statement.value.slice(0, start) + id + statement.value.slice(end);
      statement.focus();
      statement.setSelectionRange(start + id.length, start + id.length);
    });
    document.querySelectorAll("a[data-sample]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        statement.value = link.getAttribute("data-sample").split("$EDS").join(picker.value);
        statement.focus();
      });
    });
  }
});
