// ops console: confirmations and refresh-without-reload. Written for this console; no library.
"use strict";

document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

(function incidentsRefresh() {
  var body = document.getElementById("incident-rows");
  var form = document.getElementById("incident-filters");
  if (!body || !form) {
    return;
  }
  var stamp = document.getElementById("refreshed");
  var seconds = parseInt(body.getAttribute("data-refresh") || "15", 10);

  function query() {
    var params = new URLSearchParams(new FormData(form));
    params.delete("cursor");
    return params;
  }

  function load(pushState) {
    var params = query();
    if (pushState) {
      history.replaceState(null, "", "/console/incidents?" + params.toString());
    }
    params.set("fragment", "1");
    return fetch("/console/incidents?" + params.toString(), {
      credentials: "same-origin",
      headers: { "Accept": "text/html" },
    }).then(function (answer) {
      if (answer.redirected || !answer.ok) {
        window.location.reload(); // session expired: the server sends us to the login form
        return;
      }
      return answer.text().then(function (html) {
        body.innerHTML = html;
        if (stamp) {
          stamp.textContent = "updated " + new Date().toLocaleTimeString();
        }
      });
    }).catch(function () {
      if (stamp) {
        stamp.textContent = "refresh failed; retrying";
      }
    });
  }

  form.addEventListener("change", function () { load(true); });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    load(true);
  });
  window.setInterval(function () {
    if (!document.hidden) {
      load(false);
    }
  }, seconds * 1000);
})();
