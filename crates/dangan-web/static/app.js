// Dangan — the little script the pages need; everything works without it except zoom and the
// kiosk's idle sign-out.
(function () {
  "use strict";
  // Scan viewer: zoom an image in, out, back.
  var img = document.querySelector("img[data-zoomable]");
  var scale = 1;
  document.querySelectorAll("[data-zoom]").forEach(function (b) {
    b.addEventListener("click", function () {
      var how = b.getAttribute("data-zoom");
      scale = how === "in" ? scale * 1.25 : how === "out" ? scale / 1.25 : 1;
      if (img) { img.style.transform = "scale(" + scale + ")"; }
    });
  });
  // Kiosk: sign out after the configured idle time; nothing of the person stays on screen.
  var idle = parseInt(document.body.getAttribute("data-idle-seconds") || "0", 10);
  var form = document.getElementById("logout-form");
  if (idle > 0 && form) {
    var timer;
    var reset = function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        // Clear the screen first, then send the sign-out from a fresh form.
        var out = document.createElement("form");
        out.method = "post";
        out.action = form.getAttribute("action");
        var csrf = document.createElement("input");
        csrf.type = "hidden";
        csrf.name = "_csrf";
        csrf.value = form.querySelector("input[name=_csrf]").value;
        out.appendChild(csrf);
        document.querySelector("main").innerHTML = "";
        document.body.appendChild(out);
        out.submit();
      }, idle * 1000);
    };
    ["mousemove", "mousedown", "keydown", "touchstart", "scroll"].forEach(function (e) {
      document.addEventListener(e, reset, { passive: true });
    });
    reset();
  }
})();
