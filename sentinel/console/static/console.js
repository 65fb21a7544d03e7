// Live updates for the Sentinel console: a server-sent event stream tells the page that
// what it shows changed; the page fetches itself again and swaps its content, unless the
// person is typing in a form, in which case a notice offers to refresh.
"use strict";
(function () {
  const url = document.body.dataset.live;
  if (!url || !window.EventSource) return;
  const badge = document.getElementById("live");
  const typing = () => {
    const main = document.getElementById("content");
    const active = document.activeElement;
    if (active && main.contains(active) && active.form) return true;
    return Array.from(main.querySelectorAll("input:not([type=hidden]):not([type=checkbox]), textarea"))
      .some((el) => el.value && el.value !== el.defaultValue);
  };
  const refresh = async () => {
    if (typing()) {
      if (!document.getElementById("stale")) {
        const note = document.createElement("div");
        note.id = "stale";
        note.innerHTML = 'New activity. <a href="">Refresh</a>';
        document.body.appendChild(note);
      }
      return;
    }
    const resp = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (resp.redirected || !resp.ok) { location.reload(); return; }
    const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
    const fresh = doc.getElementById("content");
    if (fresh) document.getElementById("content").replaceWith(fresh);
    document.body.dataset.updated = String(Date.now());
  };
  const source = new EventSource(url);
  source.addEventListener("hello", () => { badge.textContent = "live"; badge.classList.add("on"); });
  source.addEventListener("change", () => { refresh(); });
  source.addEventListener("signedout", () => { source.close(); location.reload(); });
  source.onerror = () => { badge.textContent = "reconnecting…"; badge.classList.remove("on"); };
})();
