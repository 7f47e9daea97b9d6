// Live updates of an app's page: its log lines as they come and its
// release and processes when they change, from the page's event stream.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  bindConfirms();
  const log = document.getElementById("log");
  if (!log || !window.EventSource) return;
  const es = new EventSource(log.dataset.src);
  es.addEventListener("log", (e) => {
    log.append(e.data + "\n");
    while (log.childNodes.length > 500) log.removeChild(log.firstChild);
    log.scrollTop = log.scrollHeight;
  });
  let shown = null;
  es.addEventListener("state", (e) => {
    const s = JSON.parse(e.data);
    if (s.gone) { es.close(); return; }
    document.getElementById("release").textContent = "v" + s.release;
    if (shown !== null && shown !== s.release) refresh(["releases", "config"]);
    shown = s.release;
    const body = document.querySelector("#procs tbody");
    if (!body) return;
    body.replaceChildren(...s.procs.map((p) => {
      const tr = document.createElement("tr");
      const cells = [p.Name, p.State, "v" + p.Release, String(p.Restarts), p.Memory];
      cells.forEach((text, i) => {
        const td = document.createElement("td");
        if (i === 1) {
          const span = document.createElement("span");
          span.className = "state " + text;
          span.textContent = text;
          td.append(span);
        } else {
          td.textContent = text;
        }
        tr.append(td);
      });
      return tr;
    }));
  });
});

// refresh replaces the page's sections of these ids with the server's.
async function refresh(ids) {
  const res = await fetch(location.pathname, {credentials: "same-origin"});
  if (!res.ok) return;
  const doc = new DOMParser().parseFromString(await res.text(), "text/html");
  for (const id of ids) {
    const now = document.getElementById(id), next = doc.getElementById(id);
    if (now && next) now.replaceWith(document.adoptNode(next));
  }
  bindConfirms();
}

// bindConfirms asks before the forms that say so are sent.
function bindConfirms() {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    if (form.dataset.bound) continue;
    form.dataset.bound = "1";
    form.addEventListener("submit", (e) => {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  }
}
