/*! cookiegate consent banner | Apache-2.0 | texts come from the gate's GET /policy, see README.md */
(function (w, d) {
  'use strict';
  // The gate injects this script and a site may add it by hand too: the first copy wins.
  if (w.cookiegate) return;
  const nav = w.navigator;
  const me = d.currentScript || d.querySelector('script[data-cookiegate-api]');
  const api = (me && me.getAttribute('data-cookiegate-api')) || '/_cookiegate';
  const CATS = ['necessary', 'functional', 'analytics', 'targeting'];
  const GATED = 'script[type="text/plain"][data-category],iframe[data-src][data-category],img[data-src][data-category]';
  const pick = v => ((v = (v || '').slice(0, 2).toLowerCase()) == 'ko' || v == 'en') && v;
  const locale = pick(d.documentElement.lang) || pick(nav.language) || 'ko';
  const listeners = {};
  let state, policy, policyLoad, ui = {}, under14 = null, gpc = false;
  let root, box, reopen, status, opener, queue = Promise.resolve();

  const cg = w.cookiegate = {
    version: '1.0.0',
    /** Open the banner ("banner"), the settings ("settings"), or whichever fits the visitor. */
    show: layer => ready.then(() => show(layer == 'banner' ? 0 : layer == 'settings' ? 1 : null, d.activeElement)),
    /** A copy of the consent in force: {granted, version, under14, gpc, minor, chosen, ...}, or null before load. */
    consent: () => state ? JSON.parse(JSON.stringify(state)) : null,
    /** on("change", fn): fn(consent) after every saved choice. */
    on: (type, fn) => { (listeners[type] = listeners[type] || []).push(fn); return cg; },
  };

  const call = (path, body) => fetch(api + path, body ? {
    method: 'POST', credentials: 'same-origin', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body),
  } : {credentials: 'same-origin'}).then(r => {
    if (!r.ok) throw Error('cookiegate: ' + path + ' answered ' + r.status);
    return r.json();
  });

  function h(tag, attrs, kids) {
    const e = d.createElement(tag);
    for (const k in attrs) {
      const v = attrs[k];
      if (v == null || v === false) continue;
      if (k == 'text') e.textContent = v;
      else if (k.slice(0, 2) == 'on') e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of kids || []) if (c) e.append(c);
    return e;
  }

  // The consent cookie is HttpOnly, so the page learns the state from the gate: in the injected
  // attribute (no request, no flicker) or, when a site includes the script itself, from the API.
  function initialState() {
    const raw = me && me.getAttribute('data-cookiegate-state');
    if (raw) try { return Promise.resolve(JSON.parse(raw)); } catch (e) { /* ask the API instead */ }
    return call('/consent').then(j => j.consent);
  }
  const domReady = new Promise(ok => d.readyState == 'loading' ? d.addEventListener('DOMContentLoaded', ok) : ok());
  const ready = cg.ready = Promise.all([initialState(), domReady]).then(r => { start(r[0]); return cg.consent(); });
  ready.catch(e => console.warn(e));

  function start(s) {
    state = s;
    under14 = s.under14 ? true : s.chosen ? false : null;
    gpc = !!s.gpc || nav.globalPrivacyControl === true;
    gcm('default');
    if (s.chosen) gcm('update');
    activate();
    const tagged = n => n.nodeType == 1 && (n.matches('[data-category]') || n.querySelector('[data-category]'));
    new MutationObserver(ms => { if (ms.some(m => [].some.call(m.addedNodes, tagged))) activate(); })
      .observe(d.documentElement, {childList: true, subtree: true});
    d.addEventListener('click', e => {
      const t = e.target.closest && e.target.closest('[data-cookiegate-open]');
      if (t) { e.preventDefault(); show(1, t); }
    });
    const asking = !s.chosen && s.banner !== false;
    reopen = h('button', {type: 'button', class: 'cg-btn cg-re', 'data-cookiegate-open': true, hidden: asking,
      text: locale == 'en' ? 'Cookie settings' : '쿠키 설정'});
    status = h('p', {role: 'status', class: 'cg-sr'});
    root = h('div', {id: 'cookiegate', class: 'cg'}, [reopen, status]);
    d.body.append(root);
    if (asking) show(0, d.activeElement);
  }

  // Targeting is off for GPC (an opt-out of sale/sharing) and for a child under 14 (개인정보 보호법
  // 제22조의2, 맞춤형 광고 가이드라인), whatever was clicked.
  const kid = () => under14 === true || state.minor || !!(policy && policy.child_directed);
  const allowed = c => c == 'necessary' || (state.chosen && state.granted.indexOf(c) >= 0 &&
    !(c == 'targeting' && (gpc || state.under14 || state.minor)));

  // Google Consent Mode v2: "default" before any tag runs, "update" after each choice.
  function gcm(kind) {
    let g = w.gtag;
    if (typeof g != 'function') {
      if (!w.dataLayer) return;
      g = function () { w.dataLayer.push(arguments); };
    }
    const v = c => kind == 'update' && allowed(c) ? 'granted' : 'denied';
    const ads = v('targeting');
    g('consent', kind, {
      ad_storage: ads, ad_user_data: ads, ad_personalization: ads, analytics_storage: v('analytics'),
      functionality_storage: v('functional'), personalization_storage: v('functional'), security_storage: 'granted',
    });
  }

  // Gated elements run in document order; a src script must load before the next one runs, as the
  // parser would have done, so activation is a promise chain.
  function activate() {
    for (const el of d.querySelectorAll(GATED)) {
      if (el.cgDone || !el.getAttribute('data-category').split(/\s+/).every(allowed)) continue;
      el.cgDone = 1;
      queue = queue.then(() => run(el));
    }
  }
  function run(el) {
    const src = el.getAttribute('data-src');
    if (el.tagName != 'SCRIPT') {
      el.removeAttribute('data-src');
      el.src = src;
      return;
    }
    return new Promise(done => {
      const s = d.createElement('script');
      for (const a of el.attributes) if (a.name != 'type' && a.name != 'data-src') s.setAttribute(a.name, a.value);
      const type = el.getAttribute('data-type');
      if (type) s.type = type;
      if (src) s.src = src;
      if (s.src) { s.async = false; s.onload = s.onerror = done; }
      s.text = el.text;
      el.replaceWith(s);
      if (!s.src) done();
    });
  }

  function show(layer, from) {
    if (!box || !box.contains(from)) opener = from;
    policyLoad = policyLoad || call('/policy?locale=' + locale).then(p => {
      policy = p;
      ui = p.ui || {};
      if (ui.reopen) reopen.textContent = ui.reopen;
    }, e => { policyLoad = null; throw e; });
    return policyLoad.then(() => render(layer == null ? +!!state.chosen : layer), e => {
      console.warn(e);
      if (!box) reopen.hidden = false;
    });
  }

  function render(layer) {
    const el = layer ? settings() : banner();
    if (box) box.replaceWith(el); else root.prepend(el);
    box = el;
    reopen.hidden = true;
    sync();
    (layer ? el.firstChild : el).focus();
  }

  function hide() {
    if (box) box.remove();
    box = null;
    reopen.hidden = false;
    (opener && opener != d.body && opener.isConnected ? opener : reopen).focus();
  }

  // Leaving the settings: back to the first layer while no choice exists, else close.
  function back() {
    if (state.chosen || state.banner === false) return hide();
    render(0);
    box.querySelector('[data-a=set]').focus();
  }

  const dialog = (cls, modal, label, kids) => h('div', {class: 'cg-d ' + cls, role: 'dialog', 'aria-modal': modal,
    'aria-labelledby': label, tabindex: -1, lang: policy.locale, onkeydown: key, onclick: act, onchange: change}, kids);
  const buttons = list => h('div', {class: 'cg-a'}, list.map(b => h('button', {type: 'button', class: 'cg-btn',
    'data-a': b[0], text: ui[b[1]]})));
  const errorLine = () => h('p', {class: 'cg-err', role: 'alert'});

  function banner() {
    const el = dialog('cg-b', 'false', 'cg-t', [
      h('h2', {id: 'cg-t', text: ui.title}),
      h('p', {id: 'cg-i'}, [ui.intro + ' ', h('a', {href: policy.privacy_policy_url, text: ui.privacy})]),
      state.renewal && h('p', {class: 'cg-note', text: ui.renewal}),
      gpc && h('p', {class: 'cg-note', text: ui.gpc_notice}),
      age(),
      h('p', {class: 'cg-note cg-kid', 'aria-live': 'polite'}),
      buttons([['all', 'accept_all'], ['none', 'reject_all'], ['set', 'settings']]),
      errorLine(),
    ]);
    el.setAttribute('aria-describedby', 'cg-i');
    return el;
  }

  function settings() {
    return h('div', {class: 'cg-o'}, [dialog('cg-s', 'true', 'cg-st', [
      h('div', {class: 'cg-h'}, [
        h('h2', {id: 'cg-st', text: ui.settings_title}),
        h('button', {type: 'button', class: 'cg-x', 'data-a': 'x', 'aria-label': ui.close, text: '×'}),
      ]),
      h('p', {}, [ui.settings_intro + ' ', h('a', {href: policy.privacy_policy_url, text: ui.privacy}),
        ' · ' + ui.effective + ' ' + policy.effective_date]),
      age(),
      h('ul', {class: 'cg-l'}, policy.categories.map(row)),
      // Sticky at the dialog's foot: on a phone the choices stay in reach however long the list is.
      h('div', {class: 'cg-f'}, [buttons([['save', 'save'], ['all', 'accept_all'], ['none', 'reject_all']]), errorLine()]),
    ])]);
  }

  function row(c) {
    const id = 'cg-c-' + c.key;
    const on = c.required || (state.chosen && state.granted.indexOf(c.key) >= 0);
    const pair = (k, v) => [h('dt', {text: ui[k]}), h('dd', {text: v})];
    return h('li', {class: 'cg-c'}, [
      h('div', {class: 'cg-r'}, [
        h('label', {for: id, class: 'cg-n', text: c.name}),
        c.required && h('span', {class: 'cg-m', text: ui.always_on}),
        h('input', {type: 'checkbox', role: 'switch', id, checked: on, disabled: c.required, 'aria-describedby': id + '-d'}),
      ]),
      h('div', {id: id + '-d'}, [
        h('p', {text: c.description}),
        h('dl', {}, pair('purpose', c.purpose).concat(pair('items', c.items), pair('retention', c.retention))),
        h('p', {class: 'cg-m', text: c.refusal_notice}),
        c.key == 'targeting' && h('p', {class: 'cg-note cg-why', 'aria-live': 'polite'}),
      ]),
    ]);
  }

  function age() {
    if (!policy.age_question || policy.child_directed || state.minor) return null;
    const radio = (v, label) => h('label', {}, [h('input', {type: 'radio', name: 'cg-age', value: v,
      checked: under14 === (v == '1')}), ' ' + label]);
    return h('fieldset', {class: 'cg-age'}, [h('legend', {text: ui.age_question}), radio('1', ui.yes), radio('0', ui.no)]);
  }

  // Keeps the notes and the targeting switch in step with the age answer without re-rendering,
  // so keyboard focus stays where it is.
  function sync() {
    const child = kid() ? ui.child_notice : '';
    for (const p of box.querySelectorAll('.cg-kid')) p.textContent = child;
    const t = d.getElementById('cg-c-targeting');
    if (t) {
      const why = child || (gpc ? ui.gpc_notice : '');
      t.disabled = !!why;
      if (why) t.checked = false;
      box.querySelector('.cg-why').textContent = why;
    }
  }

  function key(e) {
    if (!box || box.className != 'cg-o') return;
    if (e.key == 'Escape') { e.preventDefault(); back(); }
    if (e.key != 'Tab') return;
    // A modal dialog keeps focus inside: Tab wraps from the last control to the first and back.
    const all = box.querySelectorAll('button');
    const first = all[0], last = all[all.length - 1], at = d.activeElement;
    if (e.shiftKey && (at == first || at == box.firstChild)) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && at == last) { e.preventDefault(); first.focus(); }
  }

  function act(e) {
    const b = e.target.closest('[data-a]');
    const a = b && b.getAttribute('data-a');
    if (a == 'all') choose(CATS);
    else if (a == 'none') choose([]);
    else if (a == 'set') render(1);
    else if (a == 'x') back();
    else if (a == 'save') choose(CATS.filter(c => { const i = d.getElementById('cg-c-' + c); return i && i.checked; }));
  }

  function change(e) {
    if (e.target.name != 'cg-age') return;
    under14 = e.target.value == '1';
    sync();
  }

  function choose(list) {
    const prev = state;
    const granted = CATS.filter(c => c != 'necessary' && list.indexOf(c) >= 0 && !(c == 'targeting' && (kid() || gpc)));
    const names = d.cookie.split(';').map(c => c.split('=')[0].trim()).filter(Boolean);
    return call('/consent', {granted, under14: under14 === true, locale, method: 'banner', cookies: names}).then(j => {
      state = j.consent;
      under14 = !!state.under14;
      hide();
      status.textContent = ui.saved || '';
      gcm('update');
      emit();
      // Code that already ran cannot be unloaded: after narrowing, clear what we can and reload so the
      // page starts again with only what is still granted (the gate expires the rest on that request).
      if (prev.chosen && prev.granted.some(c => state.granted.indexOf(c) < 0)) {
        wipe(j.expired || []);
        setTimeout(() => location.reload(), 0);
      } else activate();
    }, e => {
      console.warn(e);
      if (box) box.querySelector('.cg-err').textContent = ui.error;
    });
  }

  // A cookie is only removed by a Set-Cookie with its own Domain and Path, which the browser never
  // tells us: try the host and each parent domain with every path prefix of this page.
  function wipe(names) {
    const host = location.hostname, parts = host.split('.'), doms = [''];
    if (!/^[\d.]+$|:/.test(host)) for (let i = 0; i < parts.length - 1; i++) doms.push(';domain=.' + parts.slice(i).join('.'));
    const paths = location.pathname.split('/').map((_, i, a) => a.slice(0, i + 1).join('/') || '/');
    const secure = location.protocol == 'https:' ? ';secure' : '';
    for (const n of names) for (const dm of doms) for (const p of paths) d.cookie = n + '=;max-age=0;path=' + p + dm + secure;
  }

  function emit() {
    const c = cg.consent();
    for (const f of listeners.change || []) try { f(c); } catch (e) { setTimeout(() => { throw e; }); }
    d.dispatchEvent(new CustomEvent('cookiegate:change', {detail: c}));
  }
})(window, document);
