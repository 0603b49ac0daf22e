// Vigil console: small progressive enhancements. Every page works
// without this script.
(function () {
  "use strict";

  // Confirm destructive forms (data-confirm holds the question).
  document.addEventListener("submit", function (e) {
    var f = e.target;
    var q = f.getAttribute && f.getAttribute("data-confirm");
    if (q && !window.confirm(q)) {
      e.preventDefault();
    }
  });

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    // "Select all" boxes of bulk tables.
    document.querySelectorAll("input.select-all").forEach(function (all) {
      all.hidden = false;
      var table = all.closest("table");
      all.addEventListener("change", function () {
        table.querySelectorAll('tbody input[type=checkbox][name=id]').forEach(function (b) {
          b.checked = all.checked;
        });
      });
    });

    // Copy buttons next to secrets shown once.
    document.querySelectorAll("[data-copy]").forEach(function (el) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "btn-small copy";
      var label = document.documentElement.lang === "zh-CN" ? "复制" : "Copy";
      var done = document.documentElement.lang === "zh-CN" ? "已复制" : "Copied";
      b.textContent = label;
      b.setAttribute("aria-label", label + ": " + (el.labels && el.labels[0] ? el.labels[0].textContent : ""));
      b.addEventListener("click", function () {
        el.select();
        var ok = function () { b.textContent = done; };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(el.value).then(ok, function () {});
        } else if (document.execCommand && document.execCommand("copy")) {
          ok();
        }
      });
      el.insertAdjacentElement("afterend", b);
    });

    // Bring a secret shown once into view and focus.
    var created = document.getElementById("created");
    if (created) created.focus();
  });
})();
