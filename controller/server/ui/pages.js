'use strict';
// The list pages: every Environment; one Environment with its Services, CommandRuns and
// Modules. Each page is a function (root, args) that renders into `root` and returns the
// LiveSets it started (the router stops them when the page is left).

function envPhase(env) { return (env.status && env.status.phase) || 'Pending'; }

// #/ : the Environments.
function environmentsPage(root) {
  crumbs([['Environments']]);
  const set = new LiveSet(['Environment'], {}, (s) => {
    const now = Date.now();
    const rows = s.items('Environment').map(env => ({
      attrs: {'data-name': env.metadata.name},
      cells: [
        h('a', {href: '#/env/' + encodeURIComponent(env.metadata.name)}, env.metadata.name),
        badge(envPhase(env)),
        h('code', null, (env.status && env.status.image) || '-'),
        ((env.status && env.status.modules) || []).join(', ') || '-',
        age(env.metadata.creationTimestamp, now),
        h('a', {href: objectHref('Environment', '', env.metadata.name)}, 'object'),
      ],
    }));
    fill(problem, s.error || '');
    if (s.loaded) tableInto(list, 'Environments', ['Name', 'Phase', 'Image', 'Modules', 'Age', ''], rows,
      'No environments yet: cenv apply -f manifests/', 'environments');
  });
  const problem = h('p', {class: 'error'});
  const list = h('section', {class: 'top'}, h('h2', null, 'Environments'), h('p', {class: 'muted loading'}, 'Loading…'));
  fill(root, problem, list);
  return [set.start()];
}

// Endpoints ("host:port/protocol") as links for TCP, text otherwise.
function endpointLinks(svc) {
  const eps = (svc.status && svc.status.endpoints) || [];
  if (eps.length === 0) return '-';
  return eps.map((ep, i) => {
    const m = /^(.*):(\d+)\/(\w+)$/.exec(ep);
    let node = ep;
    if (m && m[3] === 'tcp') {
      let host = m[1];
      if (host === '0.0.0.0' || host === '' || host === '::' || host === '[::]') host = location.hostname;
      node = h('a', {href: 'http://' + host + ':' + m[2] + '/', target: '_blank', rel: 'noopener noreferrer'}, ep);
    }
    return [i > 0 ? ', ' : '', node];
  });
}

function duration(run, now) {
  const st = run.status || {};
  if (!st.startTime) return '-';
  const end = st.completionTime ? Date.parse(st.completionTime) : now;
  return span(end - Date.parse(st.startTime));
}

// #/env/NAME : one Environment with its Services, CommandRuns and Modules.
function environmentPage(root, name) {
  crumbs([['Environments', '#/'], [name]]);
  const header = h('section', {id: 'environment'});
  const services = h('section', {id: 'services'});
  const runs = h('section', {id: 'runs'});
  const modules = h('section', {id: 'modules'});
  const problem = h('p', {class: 'error'});
  fill(root, header, problem, services, runs, modules);

  const env = new LiveSet(['Environment'], {name}, (s) => {
    const e = s.items('Environment')[0];
    if (!e) {
      fill(header, h('h1', null, name), h('p', {class: s.loaded ? 'error' : 'muted'},
        s.loaded ? 'No Environment ' + name + '.' : 'Loading…'));
      return;
    }
    const st = e.status || {};
    const ready = condition(e, 'Ready');
    fill(header,
      h('h1', null, name, ' ', badge(envPhase(e))),
      h('dl', {class: 'facts'},
        h('dt', null, 'Image'), h('dd', null, h('code', null, st.image || '-')),
        h('dt', null, 'Base image'), h('dd', null, h('code', null, (e.spec && e.spec.baseImage) || '-')),
        h('dt', null, 'Modules'), h('dd', null, (st.modules || []).join(', ') || '-'),
        h('dt', null, 'Ready'), h('dd', null, ready ? [badge(ready.status), ' ', ready.reason || '', ready.message ? ': ' + ready.message : ''] : '-'),
        h('dt', null, 'Object'), h('dd', null, h('a', {href: objectHref('Environment', '', name)}, 'spec, status, events'))));
  });

  const content = new LiveSet(['Service', 'CommandRun', 'Module'], {namespace: name}, (s) => {
    const now = Date.now();
    const svcRows = s.items('Service').map(svc => {
      const st = svc.status || {};
      const healthy = condition(svc, 'Healthy');
      return {
        attrs: {'data-name': svc.metadata.name},
        cells: [objectLink('Service', name, svc.metadata.name), badge(st.phase || 'Pending'),
          healthy ? badge(healthy.status === 'True' ? 'Healthy' : healthy.status === 'False' ? 'Unhealthy' : 'Unknown') : '-',
          String(st.restarts || 0), endpointLinks(svc), age(svc.metadata.creationTimestamp, now)],
      };
    });
    const runRows = s.items('CommandRun').map(run => {
      const st = run.status || {};
      return {
        attrs: {'data-name': run.metadata.name},
        cells: [objectLink('CommandRun', name, run.metadata.name), badge(st.phase || 'Pending'),
          st.exitCode === undefined ? '-' : String(st.exitCode), duration(run, now),
          age(st.startTime || run.metadata.creationTimestamp, now)],
      };
    });
    const modRows = s.items('Module').map(m => {
      const ready = condition(m, 'Ready');
      return {cells: [objectLink('Module', name, m.metadata.name), (m.status && m.status.revision) || '-',
        ready ? badge(ready.status) : '-']};
    });
    fill(problem, s.error || '');
    if (!s.loaded) return;
    tableInto(services, 'Services', ['Name', 'Phase', 'Health', 'Restarts', 'Endpoints', 'Age'],
      svcRows, 'No services.', 'services-table');
    tableInto(runs, 'Command runs', ['Name', 'Phase', 'Exit code', 'Duration', 'Started'],
      runRows, 'No command runs.', 'runs-table');
    tableInto(modules, 'Modules', ['Name', 'Revision', 'Ready'], modRows, 'No modules.', 'modules-table');
  });
  return [env.start(), content.start()];
}
