// schetask console: small progressive enhancements; every page works without them.
"use strict";

// The rule field says, as you type, what the rule means and when it fires next.
(function rulePreview() {
  const rule = document.getElementById("rule");
  const zone = document.getElementById("time_zone");
  const after = document.getElementById("after");
  const out = document.getElementById("rule-preview");
  if (!rule || !out) return;
  let timer = null, seq = 0;
  async function check() {
    const mine = ++seq;
    const q = new URLSearchParams({ rule: rule.value, tz: zone ? zone.value : "", after: after ? after.value : "" });
    try {
      const res = await fetch("/api/rule?" + q, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      const p = await res.json();
      if (mine !== seq) return;
      out.textContent = "";
      if (!p.ok) {
        const e = document.createElement("span");
        e.className = "err";
        e.textContent = p.error;
        out.appendChild(e);
        rule.setCustomValidity(p.error);
        return;
      }
      rule.setCustomValidity("");
      const w = document.createElement("strong");
      w.textContent = p.words;
      out.appendChild(w);
      if (p.next && p.next.length) out.appendChild(document.createTextNode(" · next: " + p.next.join(", ")));
    } catch (e) {
      // the server says it on submit
    }
  }
  function later() { clearTimeout(timer); timer = setTimeout(check, 200); }
  rule.addEventListener("input", later);
  if (zone) zone.addEventListener("input", later);
  if (after) after.addEventListener("input", later);
  if (rule.value) check();
})();

// A running run's log grows on the page as the task writes it.
(function liveLog() {
  const pre = document.getElementById("live-log");
  if (!pre || !window.EventSource) return;
  const elapsed = document.getElementById("elapsed");
  const started = Date.parse(pre.dataset.started);
  const tick = elapsed && setInterval(() => {
    elapsed.textContent = Math.round((Date.now() - started) / 1000) + " s";
  }, 1000);
  const src = new EventSource(pre.dataset.stream);
  src.addEventListener("log", (ev) => {
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.textContent += JSON.parse(ev.data);
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  });
  src.addEventListener("end", (ev) => {
    src.close();
    if (tick) clearInterval(tick);
    const st = document.getElementById("live-status");
    if (st) st.textContent = "ended: " + JSON.parse(ev.data) + " (reload for the full page)";
  });
})();
