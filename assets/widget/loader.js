// Rapport's widget loader (on the team's site): launcher, reply previews, the panel's iframe.
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
  var svg = function (d, c) { return '<svg class="' + c + '" viewBox="0 0 24 24" aria-hidden="true"><path d="' + d + '"/></svg>'; };
  function draw(position, color) {
    var side = position === "left" ? "left" : "right";
    color = /^#[0-9a-f]{6}$/i.test(color || "") ? color : "#2b6cb0";
    var host = document.createElement("div");
    host.style.cssText = "position:fixed;z-index:2147483000;bottom:0;" + side + ":0";
    var root = host.attachShadow({ mode: "closed" });
    var font = "font:14px/1.4 system-ui,sans-serif;";
    root.innerHTML =
      "<style>button{font:inherit;cursor:pointer;border:0;padding:0}" +
      ".l{position:fixed;bottom:20px;" + side + ":20px;width:56px;height:56px;border-radius:50%;background:" + color + ";color:#fff;" +
      "box-shadow:0 4px 14px rgba(0,0,0,.25);display:grid;place-items:center}" +
      ".l:focus-visible{outline:3px solid #fff;outline-offset:-6px}" +
      "svg{grid-area:1/1;width:28px;height:28px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round;transition:transform .2s,opacity .2s}" +
      ".x,.on .c{opacity:0;transform:rotate(-90deg) scale(.6)}.on .x{opacity:1;transform:none}" +
      "b{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;padding:0 5px;box-sizing:border-box;border-radius:10px;" +
      "background:#e53e3e;color:#fff;font:600 12px/20px system-ui,sans-serif;text-align:center}" +
      ".p{position:fixed;bottom:88px;" + side + ":20px;width:min(300px,calc(100vw - 40px));box-sizing:border-box;display:flex;gap:10px;align-items:flex-start;" +
      "padding:12px 34px 12px 12px;border-radius:14px;background:#fff;color:#1b1f29;box-shadow:0 6px 24px rgba(16,24,40,.2);cursor:pointer;text-align:left;" + font + "animation:in .2s ease-out}" +
      "@keyframes in{from{opacity:0;transform:translateY(8px)}}" +
      ".p i{flex:none;width:32px;height:32px;border-radius:50%;overflow:hidden;display:grid;place-items:center;background:" + color + ";color:#fff;font:600 12px system-ui,sans-serif}" +
      ".p img{width:100%;height:100%;object-fit:cover}.p svg{width:18px;height:18px}.p strong{display:block;font-size:13px}" +
      ".p span{display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;overflow:hidden;overflow-wrap:anywhere}" +
      ".p button{position:absolute;top:6px;right:6px;width:24px;height:24px;border-radius:50%;background:none;color:#5f6673;font-size:16px}" +
      ".p button:hover{background:rgba(128,128,128,.2)}" +
      "@media (prefers-color-scheme:dark){.p{background:#1c2027;color:#e7e9ee}.p button{color:#9aa2b1}}" +
      "iframe{position:fixed;bottom:88px;" + side + ":20px;width:380px;height:min(620px,calc(100vh - 108px));" +
      "border:0;border-radius:16px;box-shadow:0 10px 40px rgba(0,0,0,.25);background:#fff;display:none}" +
      "iframe.open{display:block}iframe.large{width:min(720px,calc(100vw - 40px));height:calc(100vh - 108px)}" +
      "@media (max-width:480px){iframe.open{inset:0;width:100vw;height:100%;border-radius:0}}" +
      "@media (prefers-reduced-motion:reduce){*{transition:none!important;animation:none!important}}" +
      "</style>" +
      '<button type="button" class="l" aria-label="Open chat" aria-expanded="false">' +
      svg("M4 5h16v11H9l-5 4z", "c") + svg("M6 6l12 12M18 6 6 18", "x") + "<b hidden></b></button>" +
      '<div class="p" role="status" hidden><i></i><div><strong></strong><span></span></div><button type="button" aria-label="Dismiss">&#215;</button></div>';
    var button = root.querySelector("button");
    var badge = root.querySelector("b");
    var bubble = root.querySelector(".p");
    var frame = document.createElement("iframe");
    frame.title = "Chat with us";
    frame.allow = "clipboard-read; clipboard-write";
    root.appendChild(frame);
    var open = false;
    var phone = function () { return matchMedia("(max-width:480px)").matches; };

    var ready = false;
    function post(msg) {
      if (ready) frame.contentWindow.postMessage(msg, origin);
    }
    function load() {
      if (frame.src) return;
      frame.src = origin + "/widget/frame";
      frame.addEventListener("load", function () {
        ready = true;
        post({ type: "rapport:init", settings: { user: cfg.user, greeting: cfg.greeting, locale: cfg.locale, color: cfg.color, page: location.href }, open: open, phone: phone() });
      });
    }
    function show(yes, conversation) {
      open = yes;
      load();
      frame.classList.toggle("open", yes);
      button.classList.toggle("on", yes);
      button.setAttribute("aria-expanded", String(yes));
      button.setAttribute("aria-label", yes ? "Close chat" : "Open chat");
      post({ type: "rapport:visible", open: yes, phone: phone(), conversation: conversation });
      if (yes) { badge.hidden = true; bubble.hidden = true; }
    }
    // A reply that arrived while closed; text only.
    function preview(d) {
      if (open || !d.text) return;
      var face = bubble.firstChild;
      face.textContent = d.initials || "";
      if (d.bot) face.innerHTML = svg("M4 5h16v11H9l-5 4z", "");
      if (d.photo && d.photo.charAt(0) === "/") {
        var img = document.createElement("img");
        img.alt = "";
        img.src = origin + d.photo;
        face.replaceChildren(img);
      }
      bubble.querySelector("strong").textContent = d.name || "";
      bubble.querySelector("span").textContent = d.text;
      bubble.conversation = d.conversation;
      bubble.hidden = false;
    }
    button.addEventListener("click", function () { show(!open); });
    bubble.addEventListener("click", function (e) {
      bubble.hidden = true;
      if (!e.target.closest("button")) show(true, bubble.conversation);
    });
    // Loaded when about to be used: page views do not pay for it.
    button.addEventListener("pointerenter", load);
    button.addEventListener("focus", load);
    window.addEventListener("message", function (e) {
      if (e.origin !== origin || e.source !== frame.contentWindow || !e.data) return;
      var d = e.data;
      if (d.type === "rapport:close") { show(false); button.focus(); }
      if (d.type === "rapport:size") frame.classList.toggle("large", d.size === "large");
      if (d.type === "rapport:visitor") { try { localStorage.setItem(RETURNING, d.known ? "1" : ""); } catch (_) {} }
      if (d.type === "rapport:unread") { badge.textContent = d.count > 99 ? "99+" : String(d.count); badge.hidden = open || !d.count; }
      if (d.type === "rapport:preview") preview(d);
    });
    (document.body || document.documentElement).appendChild(host);
    // Returning visitors may have replies: load when idle, for the badge.
    var returning = false;
    try { returning = localStorage.getItem(RETURNING) === "1"; } catch (_) {}
    if (returning) (window.requestIdleCallback || setTimeout)(load, { timeout: 3000 });
  }
  // Filled in by the server.
  var look = {/*launcher*/};
  function start() {
    var allowed = look.allowed || [];
    if (allowed.length && allowed.indexOf(location.origin) < 0 && location.origin !== origin) {
      console.warn("rapport: this site (" + location.origin + ") is not among the widget's allowed sites; add it in Rapport's widget settings");
      return;
    }
    draw(cfg.position || look.position, cfg.color || look.color);
  }
  if (document.readyState === "complete") start(); else window.addEventListener("load", start);
})();
