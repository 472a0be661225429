// Rapport widget loader: one <script> tag on any site. It draws the launcher and keeps the
// chat panel in an iframe served by Rapport, so the host page and the panel cannot touch
// each other. Settings: data-* attributes on the tag or window.rapportSettings
// ({position, color, greeting, locale, user: {id, email, name, expires, signature}}).
(function () {
  var script = document.currentScript;
  if (!script || window.__rapport) return;
  window.__rapport = true;
  var origin = new URL(script.src).origin;
  var cfg = Object.assign({}, window.rapportSettings || {});
  ["position", "color", "greeting", "locale"].forEach(function (k) {
    if (script.dataset[k]) cfg[k] = script.dataset[k];
  });
  var RETURNING = "rapport.returning";
  function draw(position, color) {
    var left = position === "left";
    color = /^#[0-9a-f]{6}$/i.test(color || "") ? color : "#2b6cb0";
    var host = document.createElement("div");
    host.style.cssText = "position:fixed;z-index:2147483000;bottom:0;" + (left ? "left:0" : "right:0");
    var root = host.attachShadow({ mode: "closed" });
    root.innerHTML =
      "<style>" +
      "button{position:fixed;bottom:20px;" + (left ? "left" : "right") + ":20px;width:56px;height:56px;border-radius:50%;border:0;" +
      "background:" + color + ";color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:grid;place-items:center}" +
      "button:focus-visible{outline:3px solid #fff;outline-offset:-6px}" +
      "b{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;padding:0 5px;box-sizing:border-box;border-radius:10px;" +
      "background:#e53e3e;color:#fff;font:600 12px/20px system-ui,sans-serif;text-align:center}" +
      "iframe{position:fixed;bottom:88px;" + (left ? "left" : "right") + ":20px;width:380px;height:min(600px,calc(100vh - 108px));" +
      "border:0;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.25);background:#fff;display:none}" +
      "iframe.open{display:block}iframe.large{width:min(720px,calc(100vw - 40px));height:calc(100vh - 108px)}" +
      "@media (max-width:480px){iframe.open{inset:0;width:100vw;height:100%;border-radius:0}}" +
      "</style>" +
      '<button type="button" aria-label="Open chat" aria-expanded="false">' +
      '<svg width="28" height="28" viewBox="0 0 24 24" fill="currentColor" aria-hidden="true">' +
      '<path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg><b hidden></b></button>';
    var button = root.querySelector("button");
    var badge = root.querySelector("b");
    var frame = document.createElement("iframe");
    frame.title = "Chat with us";
    frame.allow = "clipboard-read; clipboard-write";
    root.appendChild(frame);
    var open = false;

    function post(msg) {
      if (frame.contentWindow) frame.contentWindow.postMessage(msg, origin);
    }
    function load() {
      if (frame.src) return;
      frame.src = origin + "/widget/frame";
      frame.addEventListener("load", function () {
        post({ type: "rapport:init", settings: { user: cfg.user, greeting: cfg.greeting, locale: cfg.locale, color: cfg.color, page: location.href }, open: open, phone: matchMedia("(max-width:480px)").matches });
      });
    }
    function show(yes) {
      open = yes;
      load();
      frame.classList.toggle("open", yes);
      button.setAttribute("aria-expanded", String(yes));
      button.setAttribute("aria-label", yes ? "Close chat" : "Open chat");
      post({ type: "rapport:visible", open: yes, phone: matchMedia("(max-width:480px)").matches });
      if (yes) badge.hidden = true;
    }
    button.addEventListener("click", function () { show(!open); });
    // The panel loads when it is likely to be opened, so the first open is fast without every
    // page view paying for it.
    button.addEventListener("pointerenter", load);
    button.addEventListener("focus", load);
    window.addEventListener("message", function (e) {
      if (e.origin !== origin || e.source !== frame.contentWindow || !e.data) return;
      var d = e.data;
      if (d.type === "rapport:close") { show(false); button.focus(); }
      if (d.type === "rapport:size") frame.classList.toggle("large", d.size === "large");
      if (d.type === "rapport:visitor") { try { localStorage.setItem(RETURNING, d.known ? "1" : ""); } catch (_) {} }
      if (d.type === "rapport:unread") { badge.textContent = d.count > 99 ? "99+" : String(d.count); badge.hidden = open || !d.count; }
    });
    (document.body || document.documentElement).appendChild(host);
    // Only a returning visitor can have unread replies: for them the panel loads when the
    // browser is idle, to show the badge without being opened.
    var returning = false;
    try { returning = localStorage.getItem(RETURNING) === "1"; } catch (_) {}
    if (returning) (window.requestIdleCallback || setTimeout)(load, { timeout: 3000 });
  }
  // Filled in by the server: the admin's colour, side and allowed sites.
  var look = {/*launcher*/};
  function start() {
    var allowed = look.allowed || [];
    if (allowed.length && allowed.indexOf(location.origin) < 0 && location.origin !== origin) {
      console.warn("rapport: this site (" + location.origin + ") is not among the widget's allowed sites; add it in Rapport's widget settings");
      return;
    }
    // The tag's own settings win over the admin's.
    draw(cfg.position || look.position, cfg.color || look.color);
  }
  if (document.readyState === "complete") start(); else window.addEventListener("load", start);
})();
