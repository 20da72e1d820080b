// Saves the share-out form as a draft every 30 seconds while it has unsaved changes.
// Without JavaScript the "Save draft" button does the same; nothing here is required.
(function () {
  var form = document.querySelector("form.share");
  var status = document.getElementById("autosave-status");
  if (!form || !status || !window.fetch || !window.FormData) return;
  var data = function () { return new URLSearchParams(new FormData(form)).toString(); };
  var saved = data();
  var stopped = false;
  setInterval(function () {
    var now = data();
    if (stopped || now === saved || !form.title.value.trim()) return;
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: now + "&action=autosave"
    }).then(function (r) {
      if (r.status === 204) {
        form.base.value = r.headers.get("X-Base") || form.base.value;
        saved = data();
        status.textContent = "Draft saved automatically at " + new Date().toLocaleTimeString() + ".";
        if (r.headers.get("X-Location") && location.pathname === "/share") {
          history.replaceState(null, "", r.headers.get("X-Location"));
          form.action = r.headers.get("X-Location");
        }
      } else {
        stopped = r.status === 409 || r.status === 401;
        status.textContent = r.status === 409
          ? "A teammate saved a newer version. Press “Save draft” to see both versions."
          : r.status === 401
          ? "Your session ended. Sign in again in a new tab; your text stays here."
          : "Not saved automatically: press “Save draft” to see what needs fixing.";
      }
    }).catch(function () { status.textContent = "Not saved automatically (offline?). Your text is still here."; });
  }, 30000);
})();
