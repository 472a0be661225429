// Rapport web form embed: one <script> tag with data-rapport-form="KEY" on any site. It puts
// the form, served by Rapport, in an iframe right after the tag, and grows or shrinks the iframe
// to the height the form page reports, so the host page never scrolls inside the frame.
(function () {
  var script = document.currentScript;
  if (!script) return;
  var key = script.getAttribute("data-rapport-form");
  if (!key || script.__rapportForm) return;
  script.__rapportForm = true;
  var origin = new URL(script.src, location.href).origin;
  var frame = document.createElement("iframe");
  frame.src = origin + "/forms/" + encodeURIComponent(key) + "?embed=1";
  frame.title = script.getAttribute("data-title") || "Contact form";
  frame.setAttribute("scrolling", "no");
  frame.style.display = "block";
  frame.style.width = "100%";
  frame.style.border = "0";
  frame.style.height = "640px";
  frame.style.colorScheme = "normal";
  window.addEventListener("message", function (e) {
    var d = e.data;
    if (e.origin !== origin || e.source !== frame.contentWindow || !d || d.rapportForm !== key) return;
    var height = Number(d.height);
    if (height > 0 && height < 100000) frame.style.height = Math.ceil(height) + "px";
  });
  var parent = script.parentNode;
  if (parent && parent !== document.head) parent.insertBefore(frame, script.nextSibling);
  else if (document.body) document.body.appendChild(frame);
  else document.addEventListener("DOMContentLoaded", function () { document.body.appendChild(frame); });
})();
