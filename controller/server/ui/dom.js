'use strict';
// Building the page: every piece of data enters the DOM as text (textContent, text nodes,
// setAttribute of known attributes), never as HTML.

// h('td', {class: 'x'}, 'text', child...): a new element. Attribute values and children are
// never parsed as HTML; `on<event>` attributes take functions.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'href') el.setAttribute('href', safeHref(v));
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Only in-page routes and http(s) links: never javascript: or data: URLs.
function safeHref(v) {
  const s = String(v);
  if (s.startsWith('#/')) return s;
  try {
    const u = new URL(s, location.href);
    if (u.protocol === 'http:' || u.protocol === 'https:') return u.href;
  } catch (e) { /* not a URL */ }
  return '#/';
}

// Replaces the children of `el` with `children`.
function fill(el, ...children) {
  el.replaceChildren();
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Shows `rows` as the table `id` under the heading `heading` in `section`, changing only the
// rows whose text or links changed: a row (and the link in it) that did not change stays the
// same element, so an update never swallows a click on it.
function tableInto(section, heading, columns, rows, empty, id) {
  let title = section.querySelector(':scope > h2');
  if (!title || title.textContent !== heading) fill(section, h('h2', null, heading));
  for (const el of section.querySelectorAll(':scope > .loading')) el.remove();
  let tbl = section.querySelector(':scope > table');
  const none = section.querySelector(':scope > p.empty');
  if (rows.length === 0) {
    if (tbl) tbl.remove();
    if (!none) section.append(h('p', {class: 'muted empty'}, empty));
    return;
  }
  if (none) none.remove();
  if (!tbl) {
    tbl = h('table', {id}, h('thead', null, h('tr', null, columns.map(c => h('th', null, c)))),
      h('tbody', null));
    section.append(tbl);
  }
  const body = tbl.tBodies[0];
  rows.forEach((r, i) => {
    const tr = h('tr', r.attrs || null, r.cells.map(c => h('td', null, c)));
    const sig = JSON.stringify([r.attrs || null, Array.from(tr.cells, td => td.textContent),
      Array.from(tr.querySelectorAll('a, span'), e => e.getAttribute('href') || e.className)]);
    const old = body.rows[i];
    if (old && old.dataset.sig === sig) return;
    tr.dataset.sig = sig;
    if (old) old.replaceWith(tr); else body.append(tr);
  });
  while (body.rows.length > rows.length) body.rows[body.rows.length - 1].remove();
}

// A coloured badge for a phase or a condition status; `colour` (default: the text) picks the
// colour.
function badge(text, colour) {
  const t = text === undefined || text === null || text === '' ? '-' : String(text);
  const c = String(colour === undefined ? t : colour).toLowerCase().replace(/[^a-z]/g, '');
  return h('span', {class: 'badge badge-' + c}, t);
}

// The link to an object's page.
function objectLink(kind, ns, name) {
  return h('a', {href: objectHref(kind, ns, name)}, name);
}
function objectHref(kind, ns, name) {
  return '#/object/' + encodeURIComponent(kind) + '/' + encodeURIComponent(ns || '-') + '/' +
    encodeURIComponent(name);
}

// "3m", "2h", "5d" since an RFC 3339 time; "-" without one.
function age(ts, now) {
  if (!ts) return '-';
  return span((now || Date.now()) - Date.parse(ts));
}
function span(ms) {
  if (!(ms >= 0)) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm' + (s < 600 ? (s % 60) + 's' : '');
  if (s < 86400) return Math.floor(s / 3600) + 'h' + (s < 36000 ? Math.floor(s % 3600 / 60) + 'm' : '');
  return Math.floor(s / 86400) + 'd';
}

// The condition `type` of an object's status, or undefined.
function condition(obj, type) {
  const cs = (obj.status && obj.status.conditions) || [];
  return cs.find(c => c.type === type);
}

// A value as indented JSON text (for spec and status).
function pretty(v) {
  return h('pre', {class: 'json'}, JSON.stringify(v === undefined ? {} : v, null, 2));
}
