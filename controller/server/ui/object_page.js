'use strict';
// #/object/KIND/NAMESPACE/NAME ("-" for a cluster-scoped object): spec, status, conditions,
// owners, events and, for a Service or a CommandRun, its output followed live.

const kEventUidLabel = 'events.cenv.io/involved-uid';

function objectPage(root, kind, ns, name) {
  const namespace = ns === '-' ? '' : ns;
  crumbs(namespace && namespace !== 'default' || kind !== 'Environment'
    ? [['Environments', '#/'], [namespace || name, '#/env/' + encodeURIComponent(namespace || name)], [kind + ' ' + name]]
    : [['Environments', '#/'], [kind + ' ' + name]]);
  const head = h('section', {id: 'object-head'});
  const conditions = h('section', {id: 'conditions'});
  const owners = h('section', {id: 'owners'});
  const events = h('section', {id: 'events'});
  const body = h('section', {id: 'object-body', class: 'columns'});
  const sets = [];
  let logs = null;
  let eventsSet = null;
  let uid = null;

  const parts = [head, conditions, owners];
  if (kind === 'Service' || kind === 'CommandRun') {
    const pre = h('pre', {id: 'log', class: 'log'});
    const state = h('span', {id: 'log-state', class: 'muted'}, 'following');
    parts.push(h('section', {id: 'logs'}, h('h2', null, 'Output ', state), pre));
    logs = new LogFollower(kind, namespace, name, pre, (text) => { state.textContent = text; });
  }
  parts.push(events, body);
  fill(root, parts);

  const renderEvents = (s) => {
    const rows = s.items('Event').sort((a, b) =>
      (a.lastTimestamp || '').localeCompare(b.lastTimestamp || '')).map(e => ({
      cells: [age(e.lastTimestamp), badge(e.type), e.reason || '', e.message || '',
        String(e.count || 1), e.user || (e.source && e.source.component) || '']}));
    tableInto(events, 'Events', ['Last seen', 'Type', 'Reason', 'Message', 'Count', 'By'],
      rows, 'No events.', 'events-table');
  };

  const obj = new LiveSet([kind], {namespace, name}, (s) => {
    const o = s.items(kind)[0];
    if (!o) {
      fill(head, h('h1', null, kind + ' ' + name), h('p', {class: s.loaded ? 'error' : 'muted'},
        s.error || (s.loaded ? 'Not found (deleted, or not created yet).' : 'Loading…')));
      return;
    }
    const st = o.status || {};
    const md = o.metadata || {};
    fill(head,
      h('h1', null, kind + ' ', h('span', {class: 'name'}, name), ' ', st.phase ? badge(st.phase) : null),
      h('dl', {class: 'facts'},
        namespace ? [h('dt', null, 'Environment'), h('dd', null, h('a', {href: '#/env/' + encodeURIComponent(namespace)}, namespace))] : null,
        h('dt', null, 'UID'), h('dd', null, h('code', null, md.uid || '-')),
        h('dt', null, 'Resource version'), h('dd', null, md.resourceVersion || '-'),
        h('dt', null, 'Generation'), h('dd', null, String(md.generation || '-'), ' (observed ', String(st.observedGeneration === undefined ? '-' : st.observedGeneration), ')'),
        h('dt', null, 'Created'), h('dd', null, md.creationTimestamp || '-', ' (', age(md.creationTimestamp), ' ago)'),
        md.deletionTimestamp ? [h('dt', null, 'Deleting since'), h('dd', null, md.deletionTimestamp)] : null,
        md.labels ? [h('dt', null, 'Labels'), h('dd', null, Object.entries(md.labels).map(([k, v]) => h('span', {class: 'label'}, k + '=' + v)))] : null));
    // A Failed condition is good news when False: coloured as such.
    const shade = (c) => c.type === 'Failed' ? {True: 'False', False: 'True'}[c.status] : c.status;
    const cs = (st.conditions || []).map(c => ({cells: [c.type, badge(c.status, shade(c)), c.reason || '', c.message || '', age(c.lastTransitionTime)]}));
    tableInto(conditions, 'Conditions', ['Type', 'Status', 'Reason', 'Message', 'Since'], cs,
      'No conditions yet.', 'conditions-table');
    const refs = (md.ownerReferences || []).map(r => ({cells: [r.kind, objectLink(r.kind, namespace, r.name), r.controller ? 'controller' : '']}));
    tableInto(owners, 'Owners', ['Kind', 'Name', ''], refs, 'No owners.', 'owners-table');
    const status = Object.assign({}, st);
    delete status.conditions;
    const spec = o.spec !== undefined ? o.spec : Object.fromEntries(Object.entries(o).filter(([k]) => !['apiVersion', 'kind', 'metadata', 'status'].includes(k)));
    fill(body, h('div', null, h('h2', null, 'Spec'), pretty(spec)), h('div', null, h('h2', null, 'Status'), pretty(status)));
    if (md.uid && md.uid !== uid) {
      // The events are those about this very object (a new object of the same name has a new uid).
      uid = md.uid;
      if (eventsSet) eventsSet.stop();
      eventsSet = new LiveSet(['Event'], {namespace: namespace || 'default', labelSelector: kEventUidLabel + '=' + uid}, renderEvents).start();
      sets.push(eventsSet);
    }
  });
  sets.push(obj.start());
  if (logs) sets.push(logs.start());
  return sets;
}
