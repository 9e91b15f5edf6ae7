'use strict';
// The router: #/ (Environments), #/env/NAME, #/object/KIND/NS/NAME. Leaving a page stops its
// live sets and log followers, so an open tab holds only what it shows.

let running = [];

function crumbs(items) {
  const nav = document.getElementById('crumbs');
  fill(nav, items.map(([text, href], i) => [i > 0 ? h('span', {class: 'sep'}, '/') : null,
    href ? h('a', {href}, text) : h('span', {class: 'here'}, text)]));
  document.title = items[items.length - 1][0] + ' · cenv';
}

function route() {
  leave();
  const root = document.getElementById('view');
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(p => {
    try { return decodeURIComponent(p); } catch (e) { return p; }
  });
  if (parts[0] === 'env' && parts[1]) {
    running = environmentPage(root, parts[1]);
  } else if (parts[0] === 'object' && parts.length >= 4) {
    running = objectPage(root, parts[1], parts[2], parts.slice(3).join('/'));
  } else {
    running = environmentsPage(root);
  }
  live.status();
}

function leave() {
  for (const r of running) r.stop();
  running = [];
  live.open.clear();
}

window.addEventListener('hashchange', route);
// A page left for another stays in the browser's back/forward cache with its sockets open:
// close them when it is hidden, and start again if it is shown from that cache.
window.addEventListener('pagehide', leave);
window.addEventListener('pageshow', (e) => { if (e.persisted) route(); });
route();
// Ages tick without refetching anything: the live sets re-render from what they hold.
setInterval(() => { for (const r of running) if (r.changed && r.loaded) r.changed(); }, 10000);
