// Dangan — the little script the pages need; everything works without it except zoom and the
// kiosk's idle sign-out. Every script of the pages is here: the Content-Security-Policy allows no
// inline script and no on…= attribute.
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
  // A choice that reloads its form at once (the business type of a new event); without script
  // the form has its own button.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
    s.addEventListener("change", function () { s.form.submit(); });
  });
  // Irreversible actions ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); }
    });
  });
  // Scan upload from the archive tree: the file is the request body, streamed; progress shown.
  var status = document.getElementById("upload-status");
  document.querySelectorAll("input[data-upload]").forEach(function (input) {
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file) { return; }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", "/materials/" + input.getAttribute("data-upload") + "/upload");
      xhr.setRequestHeader("X-File-Name", encodeURIComponent(file.name));
      xhr.setRequestHeader("X-CSRF-Token", input.getAttribute("data-csrf"));
      xhr.upload.onprogress = function (e) {
        if (status && e.lengthComputable) {
          status.textContent = "正在上传 " + file.name + "：" + Math.round(100 * e.loaded / e.total) + "%";
        }
      };
      xhr.onload = function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText); } catch (err) { body = {}; }
        var viewer = "/files/" + body.id + "?person=" + encodeURIComponent(input.getAttribute("data-person") || "");
        if (xhr.status === 201 && body.failed_checks && body.failed_checks.length && status) {
          // A failed four-property check is said at once, with its items, and the way to withdraw.
          status.textContent = "";
          status.className = "status alert";
          status.setAttribute("role", "alert");
          var head = document.createElement("strong");
          head.textContent = "已上传 " + file.name + "，但四性检测未通过：";
          status.appendChild(head);
          var list = document.createElement("ul");
          list.id = "upload-failed-checks";
          body.failed_checks.forEach(function (c) {
            var li = document.createElement("li");
            li.textContent = c.code + " " + c.name + "：" + c.reason;
            list.appendChild(li);
          });
          status.appendChild(list);
          var open = document.createElement("a");
          open.href = viewer;
          open.id = "upload-open";
          open.textContent = "查看扫描件并决定保留或撤回";
          status.appendChild(open);
        } else if (xhr.status === 201) {
          if (status) { status.textContent = "上传完成" + (body.duplicate ? "（与已有文件相同，只存一份）" : ""); }
          window.location.href = viewer;
        } else if (status) {
          status.textContent = "上传失败：" + (body.error || xhr.status);
          status.className = "status error";
        }
      };
      xhr.onerror = function () { if (status) { status.textContent = "上传失败：网络错误"; } };
      if (status) { status.textContent = "正在上传 " + file.name + "…"; }
      xhr.send(file);
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
