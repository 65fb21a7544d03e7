// The Sentinel API's own viewer: renders /openapi.json (paths, capabilities, parameters,
// bodies, responses) and sends requests from the page ("Try it"). No network access
// beyond this daemon; the token typed in stays in this page's memory.
"use strict";
(function () {
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  };
  const resolve = (doc, schema) => {
    if (schema && schema.$ref) return resolve(doc, schema.$ref.split("/").slice(1).reduce((o, k) => o[k], doc));
    return schema;
  };
  const example = (doc, schema, depth = 0) => {
    schema = resolve(doc, schema) || {};
    if (depth > 4) return null;
    if (schema.type === "object" || schema.properties) {
      const out = {};
      for (const [k, v] of Object.entries(schema.properties || {})) {
        if ((schema.required || []).includes(k) || depth === 0) out[k] = example(doc, v, depth + 1);
      }
      return out;
    }
    if (schema.type === "array") return [];
    if (schema.enum) return schema.enum[0];
    if (schema.type === "integer" || schema.type === "number") return 0;
    if (schema.type === "boolean") return false;
    return "";
  };
  const operation = (doc, path, method, op) => {
    const body = el("div", { class: "body" });
    if (op.description) body.append(el("p", { class: "cap" }, op.description));
    const params = op.parameters || [];
    const inputs = {};
    if (params.length) {
      const rows = params.map((p) => {
        const input = el("input", { name: p.name, placeholder: p.in });
        inputs[p.name] = [p, input];
        return el("tr", {}, el("td", {}, el("code", {}, p.name)), el("td", {}, p.in + (p.required ? ", required" : "")),
          el("td", {}, p.description || ""), el("td", {}, input));
      });
      body.append(el("h3", {}, "Parameters"), el("table", {}, el("tbody", {}, ...rows)));
    }
    let bodyInput = null;
    const rb = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
    if (rb) {
      body.append(el("h3", {}, "Request body" + (op.requestBody.required ? "" : " (optional)")),
        el("pre", {}, JSON.stringify(resolve(doc, rb.schema), null, 2)));
      bodyInput = el("textarea", { "aria-label": "request body" });
      bodyInput.value = JSON.stringify(example(doc, rb.schema), null, 2);
    }
    const responses = Object.entries(op.responses || {}).map(([code, r]) =>
      el("tr", {}, el("td", {}, el("b", {}, code)), el("td", {}, r.description || "")));
    body.append(el("h3", {}, "Responses"), el("table", {}, el("tbody", {}, ...responses)));
    const result = el("pre", { class: "result" }, "");
    const send = el("button", { type: "button" }, "Send");
    send.addEventListener("click", async () => {
      let url = path;
      const query = new URLSearchParams();
      for (const [name, [p, input]] of Object.entries(inputs)) {
        if (!input.value) continue;
        if (p.in === "path") url = url.replace("{" + name + "}", encodeURIComponent(input.value));
        else if (p.in === "query") query.set(name, input.value);
      }
      if ([...query].length) url += "?" + query;
      const headers = {};
      const token = document.getElementById("token").value.trim();
      if (token) headers["X-Vault-Token"] = token;
      const init = { method: method.toUpperCase(), headers, credentials: "omit" };
      if (bodyInput && bodyInput.value.trim()) { headers["Content-Type"] = "application/json"; init.body = bodyInput.value; }
      result.textContent = "…";
      try {
        const resp = await fetch(url, init);
        const text = await resp.text();
        let shown = text;
        try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
        result.textContent = resp.status + " " + resp.statusText + "\n" + shown;
      } catch (e) { result.textContent = String(e); }
    });
    const tryIt = el("div", { class: "try" }, el("h3", {}, "Try it"));
    if (bodyInput) tryIt.append(bodyInput);
    tryIt.append(send, result);
    body.append(tryIt);
    const summary = el("summary", {}, el("span", { class: "method " + method }, method), el("code", {}, path),
      el("span", { class: "hint" }, op.summary || ""));
    const node = el("details", { class: "op", id: method + "-" + path.replace(/[^a-z0-9]+/gi, "-") }, summary, body);
    node.dataset.search = [method, path, op.summary, op.description].join(" ").toLowerCase();
    return node;
  };
  const render = (doc) => {
    document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
    document.getElementById("description").textContent = doc.info.description || "";
    const list = document.getElementById("operations");
    list.replaceChildren();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) list.append(operation(doc, path, method, op));
    }
    document.getElementById("filter").addEventListener("input", (e) => {
      const q = e.target.value.toLowerCase();
      for (const node of list.children) node.hidden = Boolean(q) && !node.dataset.search.includes(q);
    });
    document.body.dataset.loaded = "true";
  };
  fetch("/openapi.json").then((r) => r.json()).then(render).catch((e) => {
    document.getElementById("operations").textContent = "Could not load /openapi.json: " + e;
  });
})();
