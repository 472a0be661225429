// In-app notifications: the unread badge, a short sound, a flashing tab title and favicon while
// the tab is in the background, and browser notifications when the agent allowed them.

let unseen = 0;
let flashing = null;
const baseTitle = "Rapport";

function favicon(count) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 32;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = count ? "#38a169" : "#2b6cb0";
  ctx.beginPath();
  ctx.arc(16, 16, 15, 0, Math.PI * 2);
  ctx.fill();
  ctx.fillStyle = "#fff";
  ctx.font = "bold 18px sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(count ? String(Math.min(count, 99)) : "R", 16, 17);
  document.getElementById("favicon").href = canvas.toDataURL();
}

export function beep() {
  try {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.08, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.25);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.25);
    window.__rapportBeeps = (window.__rapportBeeps || 0) + 1;
  } catch { /* no audio device */ }
}

/** Something new arrived that this agent wants to hear about. */
export function alert({ title, body, sound, browser }) {
  if (sound) beep();
  if (!document.hidden) return;
  unseen++;
  favicon(unseen);
  if (!flashing) {
    let on = false;
    flashing = setInterval(() => {
      on = !on;
      document.title = on ? `(${unseen}) New message · ${baseTitle}` : `(${unseen}) ${baseTitle}`;
    }, 1000);
  }
  document.title = `(${unseen}) New message · ${baseTitle}`;
  if (browser && "Notification" in window && Notification.permission === "granted") new Notification(title, { body });
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden) return;
  unseen = 0;
  clearInterval(flashing);
  flashing = null;
  document.title = baseTitle;
  favicon(0);
});

favicon(0);
