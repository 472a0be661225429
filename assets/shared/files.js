// A message's file as a customer sees it (widget and portal). Files need the visitor's header,
// which img and a tags cannot send, so they are fetched. An image shows inline unless it is SVG:
// a picture that can carry script is only ever a download.

async function blobUrl(id, token) {
  const res = await fetch(`/api/v1/widget/attachments/${id}`, { headers: { "X-Rapport-Visitor": token } });
  if (!res.ok) throw new Error("download failed");
  return URL.createObjectURL(await res.blob());
}

export function customerFile(a, token) {
  if (a.content_type.startsWith("image/") && a.content_type !== "image/svg+xml") {
    const img = document.createElement("img");
    img.alt = a.filename;
    img.loading = "lazy";
    blobUrl(a.id, token).then((u) => { img.src = u; }, () => { img.alt = `${a.filename} (could not load)`; });
    return img;
  }
  const link = document.createElement("a");
  link.className = "file";
  link.href = "#";
  link.textContent = `${a.filename} (${Math.max(1, Math.ceil(a.size / 1024))} KB) ↓`;
  link.addEventListener("click", async (e) => {
    e.preventDefault();
    try {
      const tmp = document.createElement("a");
      tmp.href = await blobUrl(a.id, token);
      tmp.download = a.filename;
      tmp.click();
    } catch {
      link.textContent = `${a.filename} (could not be downloaded; try again)`;
    }
  });
  return link;
}
