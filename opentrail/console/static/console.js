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
});
