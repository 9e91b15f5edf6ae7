'use strict';
// Live sets of objects: a list (/ui/api/list) followed by the watch from the list's
// resourceVersion (/ui/api/watch, a WebSocket), so that nothing is missed between the two and
// nothing is polled. A watch cut off (the server says "gone", or the connection drops) lists
// again and watches from there.

const live = {
  open: new Set(),  // LiveSets running now
  // Tells the header whether every live set is connected.
  status() {
    const el = document.getElementById('connection');
    if (!el) return;
    let ok = true;
    for (const s of this.open) ok = ok && s.connected;
    el.textContent = ok ? 'live' : 'reconnecting';
    el.className = 'connection ' + (ok ? 'ok' : 'down');
  },
};

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  return q.toString();
}

// Opens a stream of the dashboard (api/watch, api/logs) as a WebSocket: browsers keep only six
// HTTP/1.1 connections per host, which server-sent event streams would use up across tabs.
// `handlers` maps event names to functions of the event's data; `onClose` runs when the
// server or the network ends the stream (not after close()).
function openStream(path, params, handlers, onClose) {
  const base = location.href.replace(/#.*$/, '').replace(/[^/]*$/, '');
  const url = base.replace(/^http/, 'ws') + path + '?' + query(params);
  const ws = new WebSocket(url);
  let closed = false;
  ws.onmessage = (m) => {
    for (const ev of JSON.parse(m.data)) {
      const fn = handlers[ev.event];
      if (fn && !closed) fn(ev.data, ev.id);
    }
  };
  ws.onclose = () => { if (!closed) { closed = true; onClose(); } };
  return {close() { closed = true; ws.close(); }};
}

class LiveSet {
  // `kinds`: kind names; `params`: {namespace, name, labelSelector}; `onChange(set)` runs once
  // per animation frame after changes.
  constructor(kinds, params, onChange) {
    this.kinds = kinds;
    this.params = params || {};
    this.onChange = onChange;
    this.objects = new Map();  // "Kind/ns/name" -> object
    this.loaded = false;
    this.connected = false;
    this.source = null;
    this.stopped = false;
    this.retry = 500;
    this.frame = 0;
  }

  start() {
    live.open.add(this);
    this.relist();
    return this;
  }

  stop() {
    this.stopped = true;
    live.open.delete(this);
    if (this.source) this.source.close();
    this.source = null;
    if (this.frame) cancelAnimationFrame(this.frame);
  }

  // Objects of `kind`, sorted by namespace then name.
  items(kind) {
    const out = [];
    for (const o of this.objects.values()) if (o.kind === kind) out.push(o);
    out.sort((a, b) => (a.metadata.namespace || '').localeCompare(b.metadata.namespace || '') ||
      a.metadata.name.localeCompare(b.metadata.name));
    return out;
  }

  async relist() {
    if (this.stopped) return;
    if (this.source) this.source.close();
    this.source = null;
    const q = query(Object.assign({kinds: this.kinds.join(',')}, this.params));
    try {
      const res = await fetch('api/list?' + q, {cache: 'no-store'});
      const body = await res.json();
      if (!res.ok) throw new Error(body.error || res.statusText);
      if (this.stopped) return;
      this.objects = new Map();
      for (const o of body.items) this.objects.set(LiveSet.key(o), o);
      this.loaded = true;
      this.error = undefined;
      this.changed();
      this.watch(body.resourceVersion);
    } catch (e) {
      this.error = String(e.message || e);
      this.connected = false;
      live.status();
      this.changed();
      this.later();
    }
  }

  watch(resourceVersion) {
    const params = Object.assign({kinds: this.kinds.join(','), resourceVersion}, this.params);
    const stream = openStream('api/watch', params, {
      ready: () => {
        this.connected = true;
        this.retry = 500;
        live.status();
      },
      change: (ev) => this.apply(ev),
      // The watch cannot go on (history compacted, too far behind): list again.
      gone: () => { stream.close(); this.relist(); },
    }, () => {
      if (this.source !== stream) return;
      this.connected = false;
      live.status();
      this.later();
    });
    this.source = stream;
  }

  later() {
    if (this.stopped) return;
    setTimeout(() => this.relist(), this.retry);
    this.retry = Math.min(this.retry * 2, 10000);
  }

  apply(ev) {
    const o = ev.object;
    const key = LiveSet.key(o);
    const had = this.objects.get(key);
    const rv = Number(o.metadata.resourceVersion);
    if (had && Number(had.metadata.resourceVersion) >= rv) return;  // replayed, already seen
    if (ev.type === 'DELETED') this.objects.delete(key); else this.objects.set(key, o);
    this.changed();
  }

  changed() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      if (!this.stopped) this.onChange(this);
    });
  }

  static key(o) {
    return o.kind + '/' + (o.metadata.namespace || '') + '/' + o.metadata.name;
  }
}

// Follows the output of a CommandRun or Service (/ui/api/logs) into `pre`, appending as it
// is written; keeps the last `keep` characters. `onEnd(text)` tells how it ended.
class LogFollower {
  constructor(kind, ns, name, pre, onEnd, keep) {
    this.kind = kind; this.ns = ns; this.name = name; this.pre = pre;
    this.onEnd = onEnd; this.keep = keep || 1 << 20;
    this.offset = 0; this.source = null; this.stopped = false; this.size = 0;
  }
  start() {
    const params = {kind: this.kind, namespace: this.ns, name: this.name, follow: 1,
      sinceBytes: this.offset};
    let stream = null;
    stream = openStream('api/logs', params, {
      log: (f) => {
        if (f.next <= this.offset) return;  // seen before a reconnect
        this.offset = f.next;
        this.append(f.data, f.stream);
      },
      end: (f) => {
        this.ended = true;
        this.onEnd('finished: ' + f.phase + ', exit code ' + f.exitCode);
      },
      eof: () => { stream.close(); if (!this.ended) this.onEnd('end of output'); },
      failure: (f) => { stream.close(); this.onEnd(f.error); },
    }, () => {
      if (!this.stopped) setTimeout(() => { if (!this.stopped) this.start(); }, 1000);
    });
    this.source = stream;
    return this;
  }
  append(text, stream) {
    const node = stream === 'stderr' ? h('span', {class: 'stderr'}, text) : document.createTextNode(text);
    const atBottom = this.pre.scrollTop + this.pre.clientHeight >= this.pre.scrollHeight - 4;
    this.pre.append(node);
    this.size += text.length;
    while (this.size > this.keep && this.pre.firstChild) {
      this.size -= this.pre.firstChild.textContent.length;
      this.pre.firstChild.remove();
    }
    if (atBottom) this.pre.scrollTop = this.pre.scrollHeight;
  }
  stop() {
    this.stopped = true;
    if (this.source) this.source.close();
  }
}
