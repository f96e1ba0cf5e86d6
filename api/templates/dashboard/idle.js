// The idle logoff, announced (WCAG 2.2.1, Timing Adjustable): before the server ends an idle
// session, the page says so and offers to stay signed in; one press restarts the server's idle
// clock. When the time is up the page reloads, finds the session ended and lands on the sign-in
// page, so no patient record stays on an unattended screen. Without JavaScript the page still
// leaves itself (a <noscript> refresh) but cannot warn.
(function () {
  "use strict";
  var idle = Number(document.body.getAttribute("data-idle-secs"));
  var warning = document.getElementById("idle-warning");
  var form = document.getElementById("keep-alive");
  var left = document.getElementById("idle-left");
  if (!idle || !warning || !form || !left) {
    return;
  }
  // Two minutes' notice, or half the idle time when it is shorter.
  var notice = Math.min(120, Math.floor(idle / 2));
  var deadline = 0;
  var timers = [];

  function words(secs) {
    if (secs >= 120) {
      return Math.round(secs / 60) + " minutes";
    }
    if (secs >= 60) {
      return "1 minute";
    }
    return secs === 1 ? "1 second" : secs + " seconds";
  }

  function update() {
    left.textContent = words(Math.max(0, Math.round((deadline - Date.now()) / 1000)));
  }

  function clear() {
    timers.forEach(function (t) {
      clearTimeout(t);
      clearInterval(t);
    });
    timers = [];
  }

  function warn() {
    update();
    warning.hidden = false;
    timers.push(setInterval(update, 1000));
    form.querySelector("button").focus();
  }

  function start() {
    clear();
    warning.hidden = true;
    deadline = Date.now() + idle * 1000;
    timers.push(setTimeout(warn, (idle - notice) * 1000));
    // A moment past the server's idle time, so the reload finds the session ended.
    timers.push(setTimeout(function () {
      window.location.reload();
    }, (idle + 2) * 1000));
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin"
    }).then(function (response) {
      if (response.ok) {
        start();
      } else {
        window.location.reload();
      }
    }, function () {
      left.textContent = "a moment (the server could not be reached)";
    });
  });

  start();
})();
