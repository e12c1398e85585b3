// floe serve: refresh <main id="live"> without a reload when the ledger's head moves.
(function () {
  "use strict";
  var main = document.getElementById("live");
  if (!main || main.dataset.live !== "1") { return; }
  var status = document.getElementById("live-status");
  var head = null;
  function poll() {
    fetch("/api/head", {cache: "no-store"}).then(function (r) { return r.json(); })
      .then(function (data) {
        if (head !== null && data.head !== head) {
          return fetch(location.href, {cache: "no-store"}).then(function (r) { return r.text(); })
            .then(function (html) {
              var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
              if (fresh) { main.innerHTML = fresh.innerHTML; }
              if (status) { status.textContent = "Updated: ledger position " + data.head + "."; }
              head = data.head;
            });
        }
        head = data.head;
      }).catch(function () {
        if (status) { status.textContent = "Not connected to floe serve; retrying."; }
      }).then(function () { setTimeout(poll, 2000); });
  }
  poll();
}());
