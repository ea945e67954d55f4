// regsho dashboard: small progressive enhancements; every page works without this script.
"use strict";
(function () {
  // a book chosen from the list is shown at once
  document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () { if (sel.form) { sel.form.submit(); } });
  });
  // "data read 3 minutes ago", kept up to date while the page stays open
  function relative(el) {
    var t = Date.parse(el.getAttribute("datetime"));
    if (isNaN(t)) { return; }
    var s = Math.max(0, Math.round((Date.now() - t) / 1000));
    var words = s < 60 ? "just now" : s < 3600 ? Math.floor(s / 60) + " min ago"
      : s < 86400 ? Math.floor(s / 3600) + " h ago" : Math.floor(s / 86400) + " d ago";
    if (!el.dataset.absolute) { el.dataset.absolute = el.textContent; el.title = el.textContent; }
    el.textContent = el.dataset.absolute + " (" + words + ")";
  }
  var stamps = document.querySelectorAll("time[data-relative]");
  stamps.forEach(relative);
  if (stamps.length) { setInterval(function () { stamps.forEach(relative); }, 30000); }
})();
