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

    // Live pages (overview, events, agents) reload every 30 s while the
    // box is ticked (remembered in this browser), the tab is visible and
    // nobody is typing in a field.
    var live = document.getElementById("live-refresh");
    if (live) {
      var key = "vigil.live", timer = null;
      live.parentElement.hidden = false;
      try { live.checked = window.localStorage.getItem(key) === "1"; } catch (e) {}
      var arm = function () {
        clearTimeout(timer);
        if (!live.checked) return;
        timer = setTimeout(function () {
          var a = document.activeElement;
          var typing = a && a !== live && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName);
          if (document.visibilityState === "visible" && !typing) window.location.reload();
          else arm();
        }, 30000);
      };
      live.addEventListener("change", function () {
        try { window.localStorage.setItem(key, live.checked ? "1" : "0"); } catch (e) {}
        arm();
      });
      document.addEventListener("visibilitychange", arm);
      arm();
    }

    // Bring a secret shown once into view and focus.
    var created = document.getElementById("created");
    if (created) created.focus();
  });
})();
