// The review page's history import: poll its JSON until it is done, move the bar.
(function () {
  "use strict";
  var box = document.getElementById("backfill");
  if (!box) { return; }
  var url = box.getAttribute("data-url");
  var finished = { done: true, stopped: true, none: true };

  function text(el, value) { if (el) { el.textContent = value; } }

  function show(data) {
    box.setAttribute("data-state", data.state);
    var bar = document.getElementById("backfill-bar");
    if (bar) { bar.style.width = data.percent + "%"; }
    text(document.getElementById("backfill-percent"), data.percent);
    text(document.getElementById("backfill-objects"), data.objects_done);
    var state = document.getElementById("backfill-state");
    if (state) { state.textContent = data.state; state.className = "badge " + data.state; }
    data.resources.forEach(function (r) {
      var row = box.querySelector('tr[data-resource="' + r.resource + '"]');
      if (!row) { return; }
      var badge = row.querySelector(".r-state span");
      if (badge) { badge.textContent = r.state; badge.className = "badge " + r.state; }
      text(row.querySelector(".r-objects"), r.objects_done);
      text(row.querySelector(".r-error"), r.last_error);
      if (r.finished_at) { text(row.querySelector(".r-finished"), r.finished_at); }
    });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (data) {
        if (data) { show(data); }
        if (!data || !finished[data.state]) { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }

  if (!finished[box.getAttribute("data-state")]) { poll(); }
})();
