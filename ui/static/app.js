// printgate dashboard: live updates and in-place operator actions. The pages work without this
// file (forms post and come back, the page shows the state when it was made); with it, the
// regions marked data-live are refreshed whenever the gateway pushes a change over the event
// stream, and action forms are sent without leaving the page.
(function () {
  'use strict';
  var live = document.getElementById('live');
  var announce = document.getElementById('announce');
  var token = document.querySelector('meta[name="csrf-token"]');

  function setLive(state, text) {
    if (!live) return;
    live.setAttribute('data-state', state);
    live.textContent = text;
  }

  var sayTimer = null;
  function say(text) {
    if (!announce) return;
    announce.hidden = false;
    announce.textContent = text;
    // The answer to an action is news for a while, not for the rest of the shift.
    clearTimeout(sayTimer);
    sayTimer = setTimeout(function () { announce.hidden = true; }, 15000);
  }

  // Refresh: fetch this page again and swap each live region by id. One fetch at a time; a
  // change during a fetch asks for one more afterwards.
  var fetching = false, again = false;
  function refresh() {
    if (fetching) { again = true; return; }
    fetching = true;
    fetch(location.href, { headers: { 'Accept': 'text/html' }, credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        if (r.redirected || !r.ok) throw new Error('page answered ' + r.status);
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var regions = document.querySelectorAll('[data-live]');
        for (var i = 0; i < regions.length; i++) {
          swap(regions[i], doc.getElementById(regions[i].id));
        }
        document.body.setAttribute('data-refreshed', String(Date.now()));
      })
      .catch(function () { setLive('off', 'Not live: reload for news'); })
      .then(function () {
        fetching = false;
        if (again) { again = false; refresh(); }
      });
  }

  function swap(old, fresh) {
    if (!fresh) return;
    var focused = document.activeElement;
    var key = null;
    if (focused && old.contains(focused)) {
      // Never pull a list or a text box from under the person using it.
      if (focused.tagName === 'SELECT' || focused.tagName === 'INPUT') return;
      key = focused.getAttribute('data-key');
    }
    old.replaceWith(fresh);
    if (key) {
      var back = fresh.querySelector('[data-key="' + key.replace(/"/g, '') + '"]');
      if (back) back.focus();
    }
  }

  // Action forms (class "act") are posted in place; the stream then brings the new state.
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (!form.classList || !form.classList.contains('act')) return;
    var ask = form.getAttribute('data-confirm');
    if (ask && !window.confirm(ask)) { e.preventDefault(); return; }
    e.preventDefault();
    var headers = { 'Accept': 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' };
    if (token) headers['X-CSRF-Token'] = token.getAttribute('content');
    var buttons = form.querySelectorAll('button');
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
    fetch(form.action, {
      method: 'POST', headers: headers, credentials: 'same-origin',
      body: new URLSearchParams(new FormData(form))
    })
      .then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      })
      .then(function (res) {
        say(res.ok ? res.body.message : 'Not done: ' + res.body.error);
        // The stream brings the new state too; refreshing here also covers changes the
        // scheduler does not signal and a stream that is reconnecting.
        refresh();
      })
      .catch(function () { say('Not done: the gateway did not answer.'); })
      .then(function () {
        for (var i = 0; i < buttons.length; i++) buttons[i].disabled = false;
      });
  });

  var stream = null;
  if (window.EventSource && document.querySelector('main [data-live]')) {
    stream = new EventSource('/api/v1/events/stream');
    stream.addEventListener('open', function () { setLive('on', 'Live'); });
    stream.addEventListener('change', function () { setLive('on', 'Live'); refresh(); });
    stream.addEventListener('error', function () { setLive('off', 'Reconnecting…'); });
  }
})();
