// The genomics platform's one-page app: plain JavaScript, no framework, nothing loaded from elsewhere.
// Tokens live in sessionStorage and travel only in the Authorization header (never in a URL).
'use strict';

(function () {
  const body = document.body;
  const AUTH = { region: body.dataset.region, clientId: body.dataset.clientId, endpoint: body.dataset.cognito };
  const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
  const SEGMENT_RE = /^[A-Za-z0-9._+-][A-Za-z0-9._+ -]{0,254}$/;
  const TERMINAL = ['COMPLETED', 'QC_FAILED', 'REJECTED', 'FAILED', 'INGEST_FAILED', 'DUPLICATE'];
  const RUN_MARKERS = ['CopyComplete.txt', 'RTAComplete.txt'];
  const PART_BATCH = 20;
  const UPLOADERS = ['researcher', 'technician', 'steward'];
  let me = null;
  let refreshTimer = null;

  // ------------------------------------------------------------------ small DOM helpers
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') node.textContent = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  function table(caption, headers, rows) {
    return el('table', {},
      el('caption', { text: caption }),
      el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col', text: h })))),
      el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, c))))));
  }
  function say(text) { document.getElementById('status').textContent = text; }
  function page(title, ...children) {
    const section = document.getElementById('page');
    const prev = document.getElementById('page-title');
    const refocus = !prev || prev.textContent !== title || section.hidden;
    const h = el('h2', { id: 'page-title', tabindex: '-1', text: title });
    section.replaceChildren(h, ...children.filter((c) => c !== null && c !== undefined));
    section.hidden = false;
    section.setAttribute('aria-labelledby', 'page-title');
    if (refocus) h.focus();
    return section;
  }
  function badge(status) {
    const cls = { COMPLETED: 'pass', QC_FAILED: 'fail', REJECTED: 'fail', FAILED: 'fail', INGEST_FAILED: 'fail',
      pass: 'pass', warn: 'warn', fail: 'fail', complete: 'pass', failed: 'fail', interrupted: 'fail' }[status] || 'info';
    return el('span', { class: 'badge ' + cls, 'data-status': status || '', text: status || '-' });
  }

  // ------------------------------------------------------------------ sign-in (Cognito USER_PASSWORD_AUTH)
  async function signIn(username, password) {
    const resp = await fetch(AUTH.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1',
        'X-Amz-Target': 'AWSCognitoIdentityProviderService.InitiateAuth' },
      body: JSON.stringify({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: AUTH.clientId,
        AuthParameters: { USERNAME: username, PASSWORD: password } }),
    });
    const answer = await resp.json().catch(() => ({}));
    if (!resp.ok || !answer.AuthenticationResult) {
      throw new Error(answer.message || 'sign-in failed: check the user name and password');
    }
    sessionStorage.setItem('access', answer.AuthenticationResult.AccessToken);
  }
  function signOut() {
    sessionStorage.removeItem('access');
    me = null;
    location.hash = '';
    show();
  }

  async function api(method, path, payload) {
    const token = sessionStorage.getItem('access');
    const resp = await fetch(path, {
      method,
      headers: Object.assign({ Authorization: 'Bearer ' + token }, payload ? { 'Content-Type': 'application/json' } : {}),
      body: payload ? JSON.stringify(payload) : undefined,
      cache: 'no-store',
    });
    if (resp.status === 401) { signOut(); throw new Error('signed out: sign in again'); }
    const answer = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      const err = answer.error || { code: 'HTTP_' + resp.status, message: answer.message || resp.statusText };
      const e = new Error(err.code + ': ' + err.message);
      e.status = resp.status;
      throw e;
    }
    return answer;
  }

  // ------------------------------------------------------------------ pages
  async function projectsPage() {
    page('Projects',
      me.projects.length ? el('ul', { id: 'projects' }, me.projects.map((p) =>
        el('li', {}, el('a', { href: '#/project/' + encodeURIComponent(p), text: p }))))
        : el('p', { text: 'You are not a member of any project yet: ask a data steward.' }));
  }

  function jobRows(project, jobs) {
    return jobs.map((j) => [
      el('a', { href: '#/sample/' + encodeURIComponent(project) + '/' + encodeURIComponent(j.sample_id),
        text: j.sample_id }),
      (j.key || '').split('/').slice(2).join('/'),
      badge(j.status),
      j.qc_verdict ? badge(j.qc_verdict) : '-',
      j.reason ? el('span', { class: 'reason', text: j.reason }) : '',
      j.updated_at || '',
    ]);
  }

  async function projectPage(project) {
    const data = await api('GET', '/api/projects/' + encodeURIComponent(project));
    const parts = [
      el('p', {}, el('a', { href: '#/upload/' + encodeURIComponent(project), text: 'Upload to ' + project }),
        ' · ', el('button', { type: 'button', id: 'cohort', onclick: () => openCohort(project) }, 'Cohort QC report'),
        me.groups.includes('steward') ? [' · ', el('a', { id: 'deliver-link', href: '#/deliver/' +
          encodeURIComponent(project), text: 'Deliver to a partner' })] : null),
      table('Jobs of ' + project + ' (newest first; updates live)',
        ['Sample', 'File', 'State', 'QC', 'Reason', 'Updated'], jobRows(project, data.jobs)),
      table('Deliveries', ['Delivery', 'Partner', 'Status'],
        (data.deliveries || []).map((d) => [d.delivery_id || d.sk, d.partner, d.status || ''])),
    ];
    if (me.groups.includes('operator')) parts.push(await costSection(project));
    if (me.groups.includes('steward')) parts.push(await membersSection(project));
    page('Project ' + project, ...parts);
    schedule(() => refreshProject(project), 3000);
  }

  async function refreshProject(project) {
    const data = await api('GET', '/api/projects/' + encodeURIComponent(project));
    const tbody = document.querySelector('#page table tbody');
    if (!tbody) return;
    tbody.replaceChildren(...jobRows(project, data.jobs).map((r) => el('tr', {}, r.map((c) => el('td', {}, c)))));
    schedule(() => refreshProject(project), 3000);
  }

  async function openCohort(project) {
    try {
      const data = await api('GET', '/api/projects/' + encodeURIComponent(project) + '/report');
      window.open(data.report.url, '_blank', 'noopener');
    } catch (e) { say(e.message); }
  }

  async function costSection(project) {
    const since = '30d';
    const cost = await api('GET', '/api/projects/' + encodeURIComponent(project) + '/cost?since=' + since);
    return el('section', { 'aria-labelledby': 'cost-title' },
      el('h3', { id: 'cost-title', text: 'Cost and failures (last 30 days)' }),
      el('p', { id: 'cost', text: cost.jobs + ' jobs, $' + Number(cost.usd).toFixed(4) + ' (' +
        cost.lambda_gb_seconds + ' Lambda GB-s)' }),
      table('Failures since ' + (cost.since || ''), ['Sample', 'File', 'State', 'QC', 'Reason', 'Updated'],
        jobRows(project, cost.failures || [])));
  }

  async function membersSection(project) {
    const data = await api('GET', '/api/projects/' + encodeURIComponent(project) + '/members');
    const list = el('ul', { id: 'members' }, data.members.map((m) => el('li', {}, m.username + ' ',
      el('button', { type: 'button', 'aria-label': 'Remove ' + m.username,
        onclick: async () => { await changeMember('DELETE', project, m.username); } }, 'Remove'))));
    const input = el('input', { id: 'member-name', name: 'member', required: true, autocomplete: 'off' });
    const form = el('form', { id: 'member-form', onsubmit: async (ev) => {
      ev.preventDefault();
      await changeMember('PUT', project, input.value.trim());
    } }, el('label', { for: 'member-name', text: 'User name to add' }), input,
    el('button', { type: 'submit' }, 'Add member'));
    return el('section', { 'aria-labelledby': 'members-title' },
      el('h3', { id: 'members-title', text: 'Members' }), list, form);
  }

  async function changeMember(method, project, username) {
    try {
      await api(method, '/api/projects/' + encodeURIComponent(project) + '/members/' + encodeURIComponent(username));
      say((method === 'PUT' ? 'Added ' : 'Removed ') + username);
      route();
    } catch (e) { say(e.message); }
  }

  function historyList(history) {
    return el('ol', { class: 'history' }, (history || []).map((h) =>
      el('li', {}, (h.from ? h.from + ' → ' : '') + h.to + ' at ' + h.at + (h.by ? ' by ' + h.by : ''))));
  }

  async function samplePage(project, sample) {
    const base = '/api/projects/' + encodeURIComponent(project);
    const data = await api('GET', base + '/samples/' + encodeURIComponent(sample));
    const jobs = await Promise.all(data.jobs.map((j) => api('GET', base + '/jobs/' + encodeURIComponent(j.job_id))));
    const sections = [
      table('Files', ['File', 'Format', 'State', 'SHA-256 recorded by the pipeline'],
        data.files.map((f) => [(f.key || '').split('/').slice(2).join('/'), f.format || '-', badge(f.status),
          el('code', { class: 'sha', text: f.sha256 || '-' })])),
    ];
    for (const job of jobs) {
      const s = el('section', { class: 'job', 'aria-label': 'Job ' + job.job_id, 'data-job': job.job_id },
        el('h3', {}, 'Job ', el('code', { text: job.job_id }), ' ', badge(job.status)),
        job.reason ? el('p', { class: 'reason', role: 'alert', text: job.reason }) : null,
        historyList(job.history));
      if (TERMINAL.includes(job.status) && me.groups.some((g) => g === 'steward' || g === 'operator')) {
        s.append(el('button', { type: 'button', class: 'reprocess', onclick: async (ev) => {
          ev.target.disabled = true;
          try {
            await api('POST', base + '/jobs/' + encodeURIComponent(job.job_id) + '/reprocess');
            say('Reprocessing ' + job.job_id + ': a new run starts');
            schedule(() => samplePage(project, sample), 1500);
          } catch (e) { say(e.message); ev.target.disabled = false; }
        } }, 'Reprocess'));
      }
      if (job.outputs && (job.outputs.vcf_key || job.outputs.report_key)) {
        const out = el('div', { class: 'downloads' });
        s.append(el('button', { type: 'button', class: 'get-downloads', onclick: async () => {
          try {
            const d = await api('GET', base + '/jobs/' + encodeURIComponent(job.job_id) + '/downloads');
            out.replaceChildren(el('ul', {}, d.files.map((f) => el('li', {},
              el('a', { href: f.url, download: f.name, 'data-kind': f.kind, text: f.kind + ': ' + f.name }),
              ' (link valid ' + Math.round(f.expires_in / 60) + ' min)'))));
          } catch (e) { say(e.message); }
        } }, 'Download links'), out);
      }
      sections.push(s);
    }
    sections.push(await qcSection(project, sample));
    page('Sample ' + sample + ' (' + project + ')', ...sections);
    if (jobs.some((j) => !TERMINAL.includes(j.status))) schedule(() => samplePage(project, sample), 3000);
  }

  function band(b) {
    if (!b) return '-';
    const [lo, hi] = b;
    if (lo === null || lo === undefined) return '≤ ' + hi;
    if (hi === null || hi === undefined) return '≥ ' + lo;
    return lo + '–' + hi;
  }

  async function qcSection(project, sample) {
    const qc = await api('GET', '/api/projects/' + encodeURIComponent(project) + '/samples/' +
      encodeURIComponent(sample) + '/qc');
    const section = el('section', { id: 'qc', 'aria-labelledby': 'qc-title' }, el('h3', { id: 'qc-title', text: 'QC' }));
    if (!qc.results.length) section.append(el('p', { text: 'No QC results yet.' }));
    for (const r of qc.results) {
      section.append(
        el('p', {}, 'Assay ', el('strong', { text: r.assay || '-' }), ': verdict ', badge(r.verdict),
          r.deciding_metric ? el('span', {}, ' decided by ', el('strong', { class: 'deciding', text: r.deciding_metric }))
            : ''),
        table('Metrics against the ' + (r.assay || '') + ' thresholds', ['Metric', 'Value', 'Pass', 'Warn', 'Verdict'],
          r.metrics.map((m) => [m.metric, m.value === null ? '-' : String(m.value), band(m.pass), band(m.warn),
            badge(m.verdict)])),
        r.report ? el('p', {}, el('a', { href: r.report.url, target: '_blank', rel: 'noopener', class: 'multiqc',
          text: 'MultiQC report' })) : null);
    }
    return section;
  }

  // ------------------------------------------------------------------ upload
  function uploadPage(project) {
    const projects = me.projects;
    const select = el('select', { id: 'up-project', name: 'project', required: true },
      projects.map((p) => el('option', { value: p, selected: p === project ? true : null, text: p })));
    const sample = el('input', { id: 'up-sample', name: 'sample', required: true, pattern: ID_RE.source,
      'aria-describedby': 'up-sample-help', autocomplete: 'off' });
    const assay = el('select', { id: 'up-assay', name: 'assay', required: true },
      el('option', { value: '', text: 'Choose an assay' }), me.assays.map((a) => el('option', { value: a, text: a })));
    const files = el('input', { id: 'up-files', name: 'files', type: 'file', multiple: true });
    const folder = el('input', { id: 'up-folder', name: 'folder', type: 'file', webkitdirectory: true });
    const list = el('ul', { id: 'uploads', 'aria-live': 'polite' });
    const form = el('form', { id: 'upload-form', novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      const problems = [];
      if (!ID_RE.test(sample.value)) problems.push('Sample id: 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit.');
      if (!assay.value) problems.push('Choose an assay.');
      const chosen = [...files.files, ...folder.files];
      if (!chosen.length) problems.push('Choose files or a run folder.');
      for (const f of chosen) {
        const name = f.webkitRelativePath || f.name;
        if (!name.split('/').every((p) => SEGMENT_RE.test(p) && p !== '.' && p !== '..')) {
          problems.push('File name "' + name + '": letters, digits, ".", "_", "-", "+" or spaces only.');
        }
      }
      if (problems.length) {
        say(problems.join(' '));
        sample.setAttribute('aria-invalid', ID_RE.test(sample.value) ? 'false' : 'true');
        return;
      }
      sample.setAttribute('aria-invalid', 'false');
      // a run folder's completion marker goes last: the pipeline starts on it
      chosen.sort((a, b) => RUN_MARKERS.includes(a.name) - RUN_MARKERS.includes(b.name));
      list.replaceChildren();
      for (const f of chosen) {
        await uploadOne(select.value, sample.value, assay.value, f, list);
      }
    } },
    el('label', { for: 'up-project', text: 'Project' }), select,
    el('label', { for: 'up-sample', text: 'Sample id' }), sample,
    el('p', { id: 'up-sample-help', class: 'help', text: 'Letters, digits, ".", "_" or "-" (e.g. NA12878).' }),
    el('label', { for: 'up-assay', text: 'Assay' }), assay,
    el('label', { for: 'up-files', text: 'Files (VCF/BCF, FASTQ, SAM/BAM/CRAM)' }), files,
    el('label', { for: 'up-folder', text: 'Or a BCL run folder' }), folder,
    el('button', { type: 'submit', id: 'up-start' }, 'Upload'));
    page('Upload', form, list);
  }

  async function uploadOne(project, sample, assay, file, list) {
    const name = file.webkitRelativePath || file.name;
    const bar = el('progress', { max: '100', value: '0', 'aria-label': 'Progress of ' + name });
    const state = el('span', { class: 'up-state', text: 'computing SHA-256…' });
    const item = el('li', { class: 'upload', 'data-file': name }, el('span', { class: 'up-name', text: name }), ' ', bar, ' ', state);
    list.append(item);
    try {
      const sha = await sha256File(file, (done) => { bar.value = Math.round(done * 20); });
      item.dataset.sha256 = sha;
      const spec = { sample_id: sample, file: name, assay, sha256: sha, size: file.size };
      const resumeKey = 'upload:' + project + '/' + sample + '/' + name + ':' + sha;
      const started = await api('POST', '/api/projects/' + encodeURIComponent(project) + '/uploads',
        Object.assign({ resume_upload_id: localStorage.getItem(resumeKey) }, spec));
      localStorage.setItem(resumeKey, started.upload_id);
      const done = new Set(started.done.map((p) => p.part));
      const total = started.parts;
      let sent = done.size;
      state.textContent = started.resumed ? 'resuming (' + sent + '/' + total + ' parts there)' : 'uploading';
      const todo = [];
      for (let n = 1; n <= total; n++) if (!done.has(n)) todo.push(n);
      for (let i = 0; i < todo.length; i += PART_BATCH) {
        const batch = todo.slice(i, i + PART_BATCH);
        const urls = await api('POST', '/api/projects/' + encodeURIComponent(project) + '/uploads/parts',
          Object.assign({ upload_id: started.upload_id, parts: batch }, spec));
        for (const n of batch) {
          const blob = file.slice((n - 1) * started.part_size, n * started.part_size);
          await putPart(urls.urls[String(n)], blob, (frac) => {
            bar.value = 20 + Math.round(80 * (sent + frac) / total);
          });
          sent += 1;
          bar.value = 20 + Math.round(80 * sent / total);
        }
      }
      const result = await api('POST', '/api/projects/' + encodeURIComponent(project) + '/uploads/complete',
        Object.assign({ upload_id: started.upload_id, parts: total }, spec));
      localStorage.removeItem(resumeKey);
      bar.value = 100;
      state.textContent = 'uploaded; waiting for the pipeline…';
      item.dataset.key = result.key;
      await followUpload(project, sample, result.key, sha, item, state);
    } catch (e) {
      state.textContent = 'failed: ' + e.message + ' (upload again to resume)';
      item.dataset.state = 'error';
    }
  }

  function putPart(url, blob, progress) {
    return new Promise((resolve, reject) => {
      let attempt = 0;
      const go = () => {
        const xhr = new XMLHttpRequest();
        xhr.open('PUT', url);
        xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) progress(ev.loaded / ev.total); };
        xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : retry('HTTP ' + xhr.status));
        xhr.onerror = () => retry('connection dropped');
        xhr.send(blob);
      };
      const retry = (why) => {
        attempt += 1;
        if (attempt >= 4) reject(new Error('part upload failed: ' + why));
        else setTimeout(go, 500 * 2 ** attempt);
      };
      go();
    });
  }

  async function followUpload(project, sample, key, sha, item, state) {
    const base = '/api/projects/' + encodeURIComponent(project) + '/samples/' + encodeURIComponent(sample);
    for (let i = 0; i < 600; i++) {
      let data = null;
      try { data = await api('GET', base); } catch (e) { if (e.status !== 404) throw e; }
      const file = data && data.files.find((f) => f.key === key && f.sha256);
      const job = file && data.jobs.find((j) => j.job_id === file.job_id);
      if (file) {
        const same = file.sha256 === sha;
        item.dataset.checksum = same ? 'match' : 'mismatch';
        const status = job ? job.status : file.status;
        item.dataset.status = status || '';
        state.replaceChildren(badge(status), ' ', same ? 'SHA-256 matches what the pipeline recorded'
          : 'SHA-256 MISMATCH: the pipeline recorded ' + file.sha256,
        job && job.reason ? el('span', { class: 'reason', text: ' ' + job.reason }) : '',
        ' ', el('a', { href: '#/sample/' + encodeURIComponent(project) + '/' + encodeURIComponent(sample), text: 'sample page' }));
        if (TERMINAL.includes(status)) return;
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  // Streaming SHA-256 (FIPS 180-4): the file is read in 4 MiB slices, never whole into memory.
  const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);

  function Sha256() {
    this.h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    this.buf = new Uint8Array(64); this.fill = 0; this.len = 0; this.w = new Uint32Array(64);
  }
  Sha256.prototype.block = function (b, o) {
    const w = this.w; const h = this.h;
    for (let i = 0; i < 16; i++) w[i] = (b[o + 4 * i] << 24) | (b[o + 4 * i + 1] << 16) | (b[o + 4 * i + 2] << 8) | b[o + 4 * i + 3];
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15]; const y = w[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let [a, bb, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
      hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = bb; bb = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += bb; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  };
  Sha256.prototype.update = function (data) {
    let i = 0;
    this.len += data.length;
    if (this.fill) {
      while (this.fill < 64 && i < data.length) this.buf[this.fill++] = data[i++];
      if (this.fill < 64) return;
      this.block(this.buf, 0); this.fill = 0;
    }
    for (; i + 64 <= data.length; i += 64) this.block(data, i);
    while (i < data.length) this.buf[this.fill++] = data[i++];
  };
  Sha256.prototype.hex = function () {
    const bits = this.len * 8;
    const pad = new Uint8Array(((this.fill < 56 ? 56 : 120) - this.fill) + 8);
    pad[0] = 0x80;
    const hi = Math.floor(bits / 2 ** 32); const lo = bits >>> 0;
    const n = pad.length;
    pad[n - 8] = hi >>> 24; pad[n - 7] = hi >>> 16; pad[n - 6] = hi >>> 8; pad[n - 5] = hi;
    pad[n - 4] = lo >>> 24; pad[n - 3] = lo >>> 16; pad[n - 2] = lo >>> 8; pad[n - 1] = lo;
    this.update(pad);
    return Array.from(this.h, (x) => (x >>> 0).toString(16).padStart(8, '0')).join('');
  };

  async function sha256File(file, progress) {
    const hash = new Sha256();
    const step = 4 * 1024 * 1024;
    for (let off = 0; off < file.size; off += step) {
      hash.update(new Uint8Array(await file.slice(off, off + step).arrayBuffer()));
      progress(Math.min(1, (off + step) / file.size));
    }
    progress(1);
    return hash.hex();
  }
  window.genomicsSha256Hex = (bytes) => { const h = new Sha256(); h.update(bytes); return h.hex(); };

  // ------------------------------------------------------------------ deliver (steward)
  function deliveryLink(project, d) {
    return el('a', { href: '#/delivery/' + encodeURIComponent(project) + '/' + encodeURIComponent(d.delivery_id),
      text: d.delivery_id });
  }

  async function deliverPage(project) {
    const base = '/api/projects/' + encodeURIComponent(project) + '/deliveries';
    const data = await api('GET', base);
    const boxes = data.samples.map((s, i) => el('li', {},
      el('input', { type: 'checkbox', id: 'deliver-sample-' + i, name: 'sample', value: s.sample_id }),
      ' ', el('label', { for: 'deliver-sample-' + i, text: s.sample_id + ' (' + s.jobs.map((j) => j.file).join(', ') + ')' })));
    const partner = el('select', { id: 'deliver-partner', name: 'partner', required: true },
      data.partners.map((p) => el('option', { value: p, text: p })));
    const form = el('form', { id: 'deliver-form', class: 'stack', onsubmit: async (ev) => {
      ev.preventDefault();
      const samples = [...form.querySelectorAll('input[name=sample]:checked')].map((c) => c.value);
      if (!samples.length) { say('Choose at least one sample to deliver'); return; }
      const button = form.querySelector('button[type=submit]');
      button.disabled = true;
      try {
        const started = await api('POST', base, { partner: partner.value, samples });
        say('Delivery ' + started.delivery_id + ' to ' + started.partner + ' queued');
        location.hash = '#/delivery/' + encodeURIComponent(project) + '/' + encodeURIComponent(started.delivery_id);
      } catch (e) { say(e.message); button.disabled = false; }
    } },
    el('fieldset', {}, el('legend', { text: 'QC-passed samples' }),
      boxes.length ? el('ul', { id: 'deliver-samples', class: 'plain' }, boxes)
        : el('p', { text: 'No sample of ' + project + ' has passed QC yet.' })),
    el('label', { for: 'deliver-partner', text: 'Partner' }), partner,
    el('button', { type: 'submit', id: 'deliver-start', disabled: !boxes.length || !data.partners.length }, 'Start delivery'));
    page('Deliver ' + project,
      data.partners.length ? form : el('p', { text: 'No partner is registered: an operator registers one ' +
        '(genomics partner add NAME --pubkey FILE).' }),
      table('Not deliverable', ['Sample', 'File', 'State', 'Why'],
        data.withheld.map((w) => [w.sample_id, w.file, badge(w.status), el('span', { class: 'reason', text: w.reason })])),
      table('Deliveries of ' + project, ['Delivery', 'Partner', 'Status', 'Samples'],
        data.deliveries.map((d) => [deliveryLink(project, d), d.partner, badge(d.status),
          (d.samples || d.samples_requested || []).join(', ')])));
  }

  async function deliveryPage(project, id) {
    const d = await api('GET', '/api/projects/' + encodeURIComponent(project) + '/deliveries/' + encodeURIComponent(id));
    const m = d.manifest || {};
    const objects = (m.delivered || []).flatMap((e) => (e.objects || []).map((o) => [e.sample_id, o.role,
      (o.key || '').split('/').pop(), el('code', { class: 'sha', text: o.encrypted_sha256 || o.etag || '' }),
      o.action || '']));
    const links = Object.entries(d.links || {}).map(([name, l]) => el('li', {},
      el('a', { href: l.url, download: l.key.split('/').pop(), 'data-kind': name, text: name + ': ' + l.key.split('/').pop() })));
    page('Delivery ' + id,
      el('p', {}, 'To ', el('strong', { text: d.partner }), ' · state ', el('span', { id: 'delivery-status' }, badge(d.status)),
        d.requested_by ? ' · requested by ' + d.requested_by : ''),
      d.error ? el('p', { class: 'reason', role: 'alert', text: d.error.code + ': ' + d.error.message }) : null,
      m.error ? el('p', { class: 'reason', role: 'alert', text: m.error }) : null,
      links.length ? el('ul', { id: 'manifest-links' }, links) : el('p', { text: 'The manifest appears once the delivery starts.' }),
      table('Delivered objects', ['Sample', 'Role', 'Name', 'SHA-256 (as delivered)', 'Action'], objects),
      table('Withheld', ['Sample', 'Reason'], (m.withheld || []).map((w) => [w.sample_id, w.reason])));
    if (!['complete', 'failed', 'interrupted'].includes(d.status)) schedule(() => deliveryPage(project, id), 2000);
  }

  // ------------------------------------------------------------------ partner
  async function partnerPage() {
    const data = await api('GET', '/api/partner/deliveries');
    const items = data.deliveries.map((d) => el('li', { class: 'delivery', 'data-delivery': d.delivery_id },
      el('strong', { text: d.project + ' → ' + d.partner + ' (' + d.delivery_id + ', ' + (d.status || '') + ')' }),
      d.manifest ? [' ', el('a', { href: d.manifest.url, download: d.manifest.key.split('/').pop(), class: 'manifest',
        text: 'manifest' })] : null,
      el('ul', {}, (d.files || []).map((f) => el('li', {}, el('a', { href: f.url, download: f.name, text: f.name }))))));
    page('Deliveries to ' + data.partners.join(', '),
      items.length ? el('ul', { id: 'deliveries' }, items) : el('p', { text: 'No deliveries yet.' }));
  }

  // ------------------------------------------------------------------ router
  function schedule(fn, ms) {
    clearTimeout(refreshTimer);
    const hash = location.hash;
    refreshTimer = setTimeout(() => { if (location.hash === hash) fn().catch((e) => say(e.message)); }, ms);
  }

  async function route() {
    clearTimeout(refreshTimer);
    const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
    try {
      if (!me) me = await api('GET', '/api/me');
      document.getElementById('whoami').textContent = me.username + ' (' + me.groups.join(', ') + ')';
      const can = { projects: me.projects.length > 0, upload: me.groups.some((g) => UPLOADERS.includes(g)) && me.projects.length > 0,
        partner: me.groups.includes('partner') };
      for (const a of document.querySelectorAll('#nav a')) {
        const target = a.getAttribute('href').replace('#/', '');
        a.hidden = !can[target === 'projects' ? 'projects' : target === 'upload' ? 'upload' : 'partner'];
      }
      const partnerOnly = me.groups.includes('partner') && me.projects.length === 0;
      if (parts[0] === 'project' && parts[1]) await projectPage(parts[1]);
      else if (parts[0] === 'sample' && parts[2]) await samplePage(parts[1], parts[2]);
      else if (parts[0] === 'upload') uploadPage(parts[1]);
      else if (parts[0] === 'deliver' && parts[1]) await deliverPage(parts[1]);
      else if (parts[0] === 'delivery' && parts[2]) await deliveryPage(parts[1], parts[2]);
      else if (parts[0] === 'partner' || partnerOnly) await partnerPage();
      else await projectsPage();
    } catch (e) {
      page('Problem', el('p', { class: 'reason', role: 'alert', text: e.message }));
    }
  }

  function show() {
    const signedIn = Boolean(sessionStorage.getItem('access'));
    document.getElementById('signin-page').hidden = signedIn;
    document.getElementById('nav').hidden = !signedIn;
    document.getElementById('page').hidden = !signedIn;
    if (signedIn) route();
  }

  document.getElementById('signin').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await signIn(document.getElementById('username').value.trim(), document.getElementById('password').value);
      document.getElementById('password').value = '';
      say('Signed in');
      show();
    } catch (e) { say(e.message); }
  });
  document.getElementById('signout').addEventListener('click', signOut);
  window.addEventListener('hashchange', () => { if (sessionStorage.getItem('access')) route(); });
  show();
}());
