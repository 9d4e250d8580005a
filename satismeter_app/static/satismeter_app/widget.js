/* django-satismeter widget (docs/widget.md). Untrusted data reaches the page as text or as
 * checked values (colours, http(s) links), never as HTML. */
(function (window, document) {
  "use strict";

  var stub = window.satismeter;
  if (stub && stub.loaded) return; // included twice: the first copy serves
  if (!window.fetch || !window.URL || !Element.prototype.attachShadow) return; // too old: no survey

  var PREFIX = "satismeter:";
  var FIRST_DELAY = 1000; // the first retry of a failed save; doubles up to MAX_DELAY
  var MAX_DELAY = 60000;
  var CATEGORIES = ["detractor", "passive", "promoter"];
  // The design's choices; the server's are the same (satismeter_app/design.py).
  var SKINS = /^(dialog|panel|bar)$/;
  var DEFAULT_SKIN = "dialog";
  var POSITIONS = /^[tbc][lrc]$/;
  var DEFAULT_POSITIONS = { dialog: "cr", panel: "br", bar: "bc" };
  var PASSED = ["traits", "event", "properties", "groupId", "name", "category", "forceSurvey",
    "previewCampaign"];
  var OPTIONS = /^(writeKey|token|user|userId|anonymousId|userHash|traits|events|forceSurvey|previewCampaign|preview|trackAnonymous|type|design|source|method|referrer)$/;

  var base = scriptBase();
  var config = { writeKey: null, source: null, events: {}, design: null };
  // `translation`: the user's own overrides; the server applies them only to the call that
  // carries them, so every call resends them.
  var who = { userId: null, userHash: null, anonymousId: store("localStorage", "anonymousId"),
    translation: null };
  var calls = 0; // numbers the calls to /api/widget: only the latest one's answer counts
  var line = Promise.resolve(); // /api/widget and /api/displays calls go one at a time
  var current = null; // the survey on screen
  var savers = [];
  var sheet = null;

  // --- The API is on the script's host, under its prefix.

  function scriptBase() {
    var pattern = /\/(js|satismeter\.js)([?#].*)?$/;
    var script = document.currentScript;
    if (!script || !pattern.test(script.src)) {
      var scripts = document.getElementsByTagName("script");
      for (var i = scripts.length - 1; i >= 0 && !script; i--) {
        if (pattern.test(scripts[i].src)) script = scripts[i];
      }
    }
    return script ? script.src.replace(pattern, "") : "";
  }

  // --- Small helpers.

  function warn() {
    if (window.console) console.warn.apply(console, ["satismeter:"].concat([].slice.call(arguments)));
  }

  // Reads (two arguments) or writes (three; null removes) JSON in web storage, which may
  // refuse: the widget then remembers less.
  function store(kind, key, value) {
    try {
      var storage = window[kind];
      if (arguments.length < 3) return JSON.parse(storage.getItem(PREFIX + key));
      if (value == null) storage.removeItem(PREFIX + key);
      else storage.setItem(PREFIX + key, JSON.stringify(value));
    } catch (e) {
      return null;
    }
  }

  function randomId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function fire(name, payload) {
    var callback = (config.events || {})[name];
    if (typeof callback !== "function") return;
    try {
      callback(payload);
    } catch (e) {
      warn("the " + name + " callback failed:", e);
    }
  }

  // A design colour or null: parsed by the browser, and made of colour characters only, so
  // that it cannot carry another declaration.
  function safeColor(value) {
    var ok = typeof value === "string" && /^[#\w\s(),.%/+-]{1,64}$/.test(value);
    return ok && window.CSS && CSS.supports("color", value) ? value : null;
  }

  function safeUrl(value) {
    try {
      var url = new URL(String(value), location.href);
      return /^https?:$/.test(url.protocol) ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function category(rating) {
    return CATEGORIES[rating >= 9 ? 2 : rating >= 7 ? 1 : 0];
  }

  // --- HTTP. Every answer resolves, to {status, body, headers}; status 0 is a network error.

  // `keepalive`: a save started as the user leaves the page still gets through.
  function send(method, url, body, token, keepalive) {
    var headers = { "Content-Type": "application/json" };
    if (token) headers["auth-token"] = token;
    var request = { method: method, headers: headers, body: JSON.stringify(body), keepalive: !!keepalive };
    return fetch(url, request).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (json) {
        return { status: res.status, body: json || {}, headers: res.headers };
      });
    }, function () {
      return { status: 0, body: {}, headers: new Headers() };
    });
  }

  // One at a time, in the page's order (traits before the event they target).
  function inLine(method, path, body, then) {
    line = line.then(function () {
      return send(method, base + path, body).then(then);
    }).catch(warn);
  }

  function retryable(status) {
    return status === 0 || status === 408 || status === 429 || status >= 500;
  }

  // --- The calls: object style, command style, and the stub's queue.

  function handle(args) {
    try {
      var name = args[0];
      var options = typeof name === "string" ? args[1] || {} : name;
      if (!options || typeof options !== "object") return warn("expected an options object");
      if ("token" in options || "user" in options) options = modernize(options);
      var type = typeof name !== "string"
        ? (/^(page|track|group)$/.test(options.type) ? options.type : "identify")
        : (/^(identify|page|track|group)$/.test(name) ? name : null);
      configure(options, type);
      if (type) decide(type, options);
      else if (name !== "load") warn("unknown command", name);
    } catch (e) {
      warn(e);
    }
  }

  // SatisMeter's 2015 call: {token, user: {id, signUpDate, ...traits}, trackAnonymous,
  // preview, ...traits}. Today's names win.
  function modernize(o) {
    var user = o.user || {};
    var traits = {};
    for (var key in o) if (!OPTIONS.test(key)) traits[key] = o[key];
    for (key in user) if (key != "id") traits[key == "signUpDate" ? "createdAt" : key] = user[key];
    return Object.assign({}, o, {
      writeKey: o.writeKey || o.token, userId: "userId" in o ? o.userId : user.id, trackAnonymous: !!o.trackAnonymous,
      traits: Object.assign(traits, o.traits), forceSurvey: o.forceSurvey || o.preview,
    });
  }

  function configure(options, type) {
    if (options.writeKey) config.writeKey = String(options.writeKey);
    if (options.source) config.source = String(options.source);
    if (options.events) config.events = options.events;
    if (options.design) config.design = options.design;
    if (options.anonymousId) {
      who.anonymousId = String(options.anonymousId);
      store("localStorage", "anonymousId", who.anonymousId);
    }
    if ("userId" in options) {
      var userId = options.userId == null || options.userId === "" ? null : String(options.userId);
      if (userId !== who.userId) {
        // Another user: what was on screen was not for them, nor are answers still on the way.
        if (who.userId !== null) forgetUser();
        who.userId = userId;
        who.userHash = null;
        who.translation = null;
      }
    }
    if (options.userHash) who.userHash = String(options.userHash);
    var traits = options.traits;
    if (type !== "group" && traits && traits.translation && typeof traits.translation === "object") {
      who.translation = traits.translation;
    }
  }

  function forgetUser() {
    calls++;
    if (current) current.remove();
  }

  function identity() {
    var body = { writeKey: config.writeKey };
    if (who.userId) body.userId = who.userId;
    if (who.userHash) body.userHash = who.userHash;
    if (!who.userId && !who.anonymousId) {
      who.anonymousId = randomId();
      store("localStorage", "anonymousId", who.anonymousId);
    }
    if (who.anonymousId) body.anonymousId = who.anonymousId;
    return body;
  }

  // Ask the server whether a survey is due (and tell it about the page or event).
  function decide(type, options) {
    if (!config.writeKey) return warn("no writeKey yet: pass it in the options or call 'load' first");
    // Off in the 2015 call by default: a visitor without a userId is left alone.
    if (options.trackAnonymous === false && !who.userId) return warn("no userId, and trackAnonymous is off");
    var body = identity();
    body.type = type;
    PASSED.forEach(function (key) {
      if (options[key] != null) body[key] = options[key];
    });
    if (who.translation && type !== "group") {
      body.traits = Object.assign({}, body.traits, { translation: who.translation });
    }
    if (config.source) body.source = config.source;
    body.url = String(location.href).slice(0, 4096);
    body.languages = [].concat(navigator.languages || navigator.language || []).filter(function (tag) {
      return typeof tag === "string" && tag.length <= 35;
    }).slice(0, 20);
    var call = ++calls;
    var userId = who.userId;
    inLine("POST", "/api/widget", body, function (res) {
      if (call !== calls || userId !== who.userId) return; // superseded, or another user now
      var widget = res.body.widget;
      if (res.status !== 200) warn("/api/widget answered", res.status, res.body);
      else if (widget && widget.visible && widget.survey && !current) {
        var survey = widget.survey;
        var open = function () {
          if (call === calls && !current) current = openSurvey(survey, !!options.previewCampaign, !!widget.preview);
        };
        // More than a rating and a comment: the code that asks them comes first.
        if (!survey.script || satismeter.ask) return open();
        document.head.append(Object.assign(el("script"), { src: new URL(survey.script, base || location.href), onload: open }));
      }
    });
  }

  // --- Saving: the rating at once, the comment on submit. Changes not yet accepted are
  // merged, retried with backoff, and kept in sessionStorage for the tab's next page.

  function Saver(state) {
    // {url: API base, identity, campaign, language, page, location, token, pending}: plain
    // data, for sessionStorage.
    this.state = state;
    this.sending = null;
    this.delay = FIRST_DELAY;
    this.refused = function () {};
    savers.push(this);
  }

  Saver.prototype.save = function (fields) {
    Object.assign(this.state.pending, fields);
    this.flush();
  };

  Saver.prototype.flush = function () {
    var self = this;
    var state = self.state;
    var sent = state.pending;
    if (self.sending || !Object.keys(sent).length) return persist();
    self.sending = sent;
    state.pending = {};
    persist();
    var request = state.location
      ? send("PUT", state.location, sent, state.token, true)
      : send("POST", state.url + "/api/responses", Object.assign({
        campaign: state.campaign, method: "In-app", language: state.language, url: state.page,
      }, state.identity, sent), null, true);
    request.then(function (res) {
      self.sending = null;
      var created = res.headers.get("Location");
      if (res.status >= 200 && res.status < 300 && (state.location || created)) {
        self.delay = FIRST_DELAY;
        if (!state.location) {
          state.location = new URL(created, state.url || location.href).href;
          state.token = res.headers.get("auth-token");
        }
      } else if (retryable(res.status)) {
        state.pending = Object.assign(sent, state.pending); // the newer values win
        var wait = (+res.headers.get("Retry-After") || 0) * 1000 || self.delay * (1 + Math.random() / 2);
        self.delay = Math.min(self.delay * 2, MAX_DELAY);
        clearTimeout(self.timer);
        self.timer = setTimeout(function () { self.flush(); }, wait);
        return persist();
      } else {
        warn("a save was refused (or its Location header is not exposed):", res.status, res.body);
        if (!state.location) state.pending = {}; // without a response, nothing can follow
        self.refused(res);
      }
      self.flush();
    });
  };

  function persist() {
    var unsent = [];
    savers.forEach(function (saver) {
      var pending = Object.assign({}, saver.sending, saver.state.pending);
      if (Object.keys(pending).length) unsent.push(Object.assign({}, saver.state, { pending: pending }));
    });
    store("sessionStorage", "outbox", unsent.length ? unsent : null);
  }

  function flushAll() {
    savers.forEach(function (saver) { saver.flush(); });
  }

  // --- The survey on screen. `v` holds the survey, its elements and the answer so far.

  // forced: a staff preview (forceSurvey); the server takes its answer even from a user its
  // targeting refuses.
  function openSurvey(survey, previewOnly, forced) {
    var v = {
      t: survey.translation || {}, design: Object.assign({}, survey.design, config.design),
      campaign: String(survey.id), rtl: survey.direction === "rtl", rating: null, comment: null,
      done: false,
    };
    v.saver = previewOnly ? null : surveySaver(v.campaign, survey.language, forced);
    v.host = widgetHost();
    v.shadow = v.host.attachShadow({ mode: "open" });
    adoptStyles(v.shadow);
    v.box = surveyBox(v, survey.language);
    var closer = closeButton(v);
    v.main = el("div", "sm-main");
    var question = el("p", "sm-q", v.t.HOW_LIKELY);
    question.id = "sm-q";
    v.main.append(question, ratingScale(v), commentForm(v));
    v.status = el("div", "sm-status");
    v.status.setAttribute("role", "status");
    v.status.append(v.note = el("p", "sm-sr"));
    v.box.append(closer, v.main, v.status);
    if (previewOnly) v.box.append(el("p", "sm-by", "Preview: answers are not saved"));
    if (v.design.poweredBy !== false) v.box.append(el("p", "sm-by", (v.t.POWERED_BY || "Powered by") + " django-satismeter"));
    v.box.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        closeSurvey(v);
      }
    });
    // Focus goes back where it came from (Tab, a click, the shortcut).
    v.host.addEventListener("focusin", function (event) {
      var from = event.relatedTarget;
      if (from && !v.host.contains(from)) v.back = from;
      v.note.textContent = "";
    });
    v.shadow.append(v.box);
    (document.body || document.documentElement).append(v.host);
    if (survey.script) satismeter.ask(v, survey, fire, finishSurvey, answersOf);
    startSurvey(v);
    return { host: v.host, remove: removeSurvey.bind(null, v), jump: jump.bind(null, v) };
  }

  function surveySaver(campaign, language, forced) {
    return new Saver({
      url: base, identity: Object.assign({}, identity(), forced ? { forceSurvey: true } : {}),
      campaign: campaign, language: language, page: String(location.href).slice(0, 4096), pending: {},
    });
  }

  function widgetHost() {
    var host = el("satismeter-widget");
    // Inline, !important: the page's rules cannot hide or move it. Set through the CSSOM,
    // which a CSP without 'unsafe-inline' allows (it refuses a style attribute).
    ("all:initial;display:block;position:fixed;top:0;left:0;width:0;height:0;overflow:visible;" +
      "z-index:2147483647;visibility:visible;opacity:1").split(";").forEach(function (rule) {
      rule = rule.split(":");
      host.style.setProperty(rule[0], rule[1], "important");
    });
    return host;
  }

  function surveyBox(v, language) {
    var design = v.design;
    var skin = SKINS.test(design.skin) ? design.skin : DEFAULT_SKIN;
    var position = POSITIONS.test(design.position) ? design.position : DEFAULT_POSITIONS[skin];
    var vertical = skin !== "dialog" && position[0] === "c" ? "b" : position[0];
    var box = el("div", "sm sm-" + skin + " sm-v" + vertical + (skin === "bar" ? "" : " sm-h" + position[1]));
    box.dir = v.rtl ? "rtl" : "ltr";
    box.lang = language || "";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-labelledby", "sm-q");
    box.setAttribute("data-campaign", v.campaign);
    var colors = design.colors || {};
    [["--p", colors.primary], ["--fg", colors.foreground], ["--bg", colors.background]].forEach(function (pair) {
      var value = safeColor(pair[1]);
      if (value) box.style.setProperty(pair[0], value);
    });
    return box;
  }

  function closeButton(v) {
    var closer = el("button", "sm-close", "\u00d7");
    closer.type = "button";
    closer.setAttribute("aria-label", v.t.DISMISS || "Close");
    closer.onclick = closeSurvey.bind(null, v);
    return closer;
  }

  function ratingScale(v) {
    var rate = el("div", "sm-rate");
    var scale = el("div", "sm-scale");
    scale.setAttribute("role", "radiogroup");
    scale.setAttribute("aria-label", v.t.RATING_LABEL || "0-10");
    var legend = el("div", "sm-legend");
    var low = el("span", null, v.t.UNLIKELY);
    var high = el("span", null, v.t.LIKELY);
    low.id = "sm-low";
    high.id = "sm-high";
    legend.append(low, high);
    v.buttons = [];
    for (var score = 0; score <= 10; score++) {
      var button = scoreButton(v, score);
      v.buttons.push(button);
      scale.append(button);
    }
    scale.onkeydown = moveFocus.bind(null, v);
    rate.append(scale, legend);
    return rate;
  }

  function scoreButton(v, score) {
    var button = el("button", null, v.design.showNumbers === false ? null : String(score));
    button.type = "button";
    button.setAttribute("role", "radio");
    button.setAttribute("aria-checked", "false");
    button.setAttribute("aria-label", String(v.t.SCORE_BUTTON_LABEL || "{{score}}").replace(/\{\{\s*score\s*\}\}/g, score));
    if (score === 0 || score === 10) button.setAttribute("aria-describedby", score ? "sm-high" : "sm-low");
    button.tabIndex = score ? -1 : 0;
    button.onclick = chooseScore.bind(null, v, score);
    return button;
  }

  // The follow-up, hidden until a rating is chosen; its draft survives a reload.
  function commentForm(v) {
    var form = v.form = el("form", "sm-form");
    form.hidden = true;
    var label = v.label = el("label", null, v.t.FOLLOWUP);
    label.htmlFor = "sm-c";
    var textarea = v.textarea = el("textarea");
    textarea.id = "sm-c";
    textarea.rows = 3;
    textarea.maxLength = 5000;
    textarea.placeholder = v.t.FEEDBACK_PLACEHOLDER || "";
    textarea.value = store("sessionStorage", "draft:" + v.campaign) || "";
    var submit = v.submit = el("button", "sm-send", v.t.SUBMIT || "Send");
    submit.type = "submit";
    var actions = el("div", "sm-actions");
    actions.append(submit);
    form.append(label, textarea, actions);
    form.onsubmit = submitComment.bind(null, v);
    textarea.oninput = function () {
      store("sessionStorage", "draft:" + v.campaign, textarea.value || null);
      updateSubmit(v);
    };
    return form;
  }

  // On the page: focus, the display counted, and a duplicate answer shown as such.
  function startSurvey(v) {
    contrast(v.box, v.submit);
    updateSubmit(v);
    // Never while the focus is in another frame (the survey form's preview) or tab.
    var idle = !document.activeElement || document.activeElement === document.body;
    if (document.hasFocus() && idle) v.buttons[0].focus({ preventScroll: true });
    else if (document.hasFocus()) announce(v);
    var saver = v.saver;
    if (saver) {
      saver.refused = function (res) {
        if (res.body && res.body.error === "Duplicate response" && !v.done) finishSurvey(v, v.t.FILLED);
      };
      inLine("POST", "/api/displays", Object.assign({ campaign: v.campaign, url: saver.state.page }, saver.state.identity));
    }
    fire("display", { campaign: v.campaign });
  }

  function answersOf(v) {
    var list = [{ id: "SM_rating", label: v.t.HOW_LIKELY, value: v.rating }];
    if (v.comment !== null) list.push({ id: "SM_comment", label: v.label.textContent, value: v.comment });
    return { campaign: v.campaign, answers: list.concat(v.more || []) };
  }

  function saveAnswer(v, fields) {
    if (v.saver) v.saver.save(fields);
  }

  function chooseScore(v, score) {
    var first = v.rating === null;
    v.rating = score;
    v.buttons.forEach(function (button, i) {
      button.setAttribute("aria-checked", String(i === score));
      button.tabIndex = i === score ? 0 : -1;
    });
    saveAnswer(v, { rating: score });
    if (v.next) return v.next(first);
    v.label.textContent = v.t["FOLLOWUP_" + category(score).toUpperCase()] || v.t.FOLLOWUP;
    v.form.hidden = false;
    fire("progress", answersOf(v));
    if (first) v.textarea.focus({ preventScroll: true });
  }

  // Arrow keys, Home and End move within the scale; Space or Enter chooses.
  function moveFocus(v, event) {
    var buttons = v.buttons;
    var index = buttons.indexOf(v.shadow.activeElement);
    var step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    if (v.rtl && /Left|Right/.test(event.key)) step = -step;
    var next = event.key === "Home" ? 0 : event.key === "End" ? 10 : step ? index + step : -1;
    if (index < 0 || next < 0 || next > 10) return;
    event.preventDefault();
    buttons.forEach(function (button, i) { button.tabIndex = i === next ? 0 : -1; });
    buttons[next].focus();
  }

  function needsComment(v) {
    return v.design.requireFeedback && !v.textarea.value.trim();
  }

  function updateSubmit(v) {
    v.submit.setAttribute("aria-disabled", String(!!needsComment(v)));
  }

  function submitComment(v, event) {
    event.preventDefault();
    if (needsComment(v)) return v.textarea.focus();
    var comment = v.comment = v.textarea.value;
    saveAnswer(v, comment.trim() ? { feedback: comment, completed: true } : { completed: true });
    store("sessionStorage", "draft:" + v.campaign, null);
    finishSurvey(v, v.t.THANKS);
    fire("progress", answersOf(v));
    fire("complete", answersOf(v));
  }

  function finishSurvey(v, text) {
    var focused = !!v.shadow.activeElement;
    var design = v.design;
    v.done = true;
    v.main.hidden = true;
    var thanks = v.thanks = el("p", "sm-thanks", text);
    thanks.tabIndex = -1;
    v.status.append(thanks);
    var cta = design.ctaText && safeUrl(design.ctaUrl);
    var audience = [].concat(design.ctaFor || CATEGORIES);
    if (cta && v.rating !== null && text === v.t.THANKS && audience.indexOf(category(v.rating)) >= 0) {
      var link = el("a", "sm-cta", design.ctaText);
      link.href = cta;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      v.status.append(link);
    }
    if (focused) thanks.focus();
  }

  function closeSurvey(v) {
    // Closing after a rating completes the response; before one, it is a dismissal.
    if (!v.done) {
      saveAnswer(v, { dismissed: true });
      if (v.rating === null) fire("dismiss", { campaign: v.campaign });
      else fire("complete", answersOf(v));
    }
    removeSurvey(v);
  }

  function removeSurvey(v) {
    var focused = v.shadow.activeElement;
    store("sessionStorage", "draft:" + v.campaign, null); // closed: the draft was discarded
    v.host.remove();
    if (current && current.host === v.host) current = null;
    if (focused) goBack(v);
  }

  function goBack(v) {
    if (v.back && v.back.isConnected) v.back.focus({ preventScroll: true });
  }

  // A busy user hears the question and its keys a moment later (a live region is read out
  // when it changes, not when it appears).
  function announce(v) {
    var hint = String(v.t.SHORTCUT || "").replace(/\{\{\s*keys\s*\}\}/g, "Alt+Shift+R");
    setTimeout(function () {
      if (!v.done && !v.shadow.activeElement) v.note.textContent = v.t.HOW_LIKELY + " " + hint;
    }, 500);
  }

  // The shortcut: into the survey, or from inside it back out.
  function jump(v) {
    if (v.shadow.activeElement) return goBack(v);
    (v.done ? v.thanks : v.rating === null ? v.box.querySelector("[tabindex='0']") : v.textarea).focus();
  }

  // Text on the primary colour: #1a1a1a when the luminance L > .2017 (WCAG contrast beats white's).
  function contrast(box, sample) {
    var rgb = (getComputedStyle(sample).backgroundColor.match(/[\d.]+/g) || []).map(Number);
    var L = rgb.length > 2 && [.2126, .7152, .0722].reduce(function (sum, weight, i) {
      var c = rgb[i] / 255;
      return sum + weight * (c <= .04045 ? c / 12.92 : Math.pow((c + .055) / 1.055, 2.4));
    }, 0);
    if (L > .2017) box.style.setProperty("--on-p", "#1a1a1a");
  }

  function adoptStyles(shadow) {
    if (shadow.adoptedStyleSheets && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      if (!sheet) {
        sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS_TEXT);
      }
      shadow.adoptedStyleSheets = [sheet];
    } else {
      shadow.append(el("style", null, CSS_TEXT));
    }
  }

  // `all: initial`: nothing inherited from the page; px, as rem follows the page's root font.
  var CSS_TEXT = [
    ".sm{all:initial;display:block;position:fixed;box-sizing:border-box;--p:#ff4981;--fg:#333;--bg:#fdfdfd;" +
      "--on-p:#fff;--line:rgba(128,128,128,.45);--tx:0;--ty:0;transform:translate(var(--tx),var(--ty));" +
      "color:var(--fg);background:var(--bg);font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto," +
      "'Helvetica Neue',Arial,sans-serif;text-align:start;padding:20px;box-shadow:0 6px 32px rgba(0,0,0,.22);" +
      "max-height:100vh;overflow:auto}",
    ".sm *{box-sizing:border-box;margin:0;font:inherit;color:inherit;letter-spacing:normal;text-transform:none}",
    ".sm [hidden]{display:none!important}",
    ".sm-dialog{width:440px;max-width:calc(100vw - 32px);border-radius:12px}",
    ".sm-dialog.sm-vt{top:16px}.sm-dialog.sm-vb{bottom:16px}.sm-vc{top:50%;--ty:-50%}",
    ".sm-dialog.sm-hl{left:16px}.sm-dialog.sm-hr{right:16px}.sm-hc{left:50%;--tx:-50%}",
    ".sm-panel{width:420px;max-width:100vw}",
    ".sm-panel.sm-vt{top:0;border-radius:0 0 12px 12px}.sm-panel.sm-vb{bottom:0;border-radius:12px 12px 0 0}",
    ".sm-panel.sm-hl{left:24px}.sm-panel.sm-hr{right:24px}",
    ".sm-bar{left:0;right:0;padding:14px 56px}.sm-bar.sm-vt{top:0}.sm-bar.sm-vb{bottom:0}",
    ".sm-bar .sm-main,.sm-bar .sm-status{display:flex;flex-wrap:wrap;align-items:center;gap:10px 28px;" +
      "max-width:1040px;margin:0 auto}",
    ".sm-bar .sm-q{flex:1 1 260px;margin:0}.sm-bar .sm-rate{flex:1 1 440px;max-width:520px}" +
      ".sm-bar .sm-form{flex:1 1 100%;margin:0}",
    ".sm-q{font-weight:600;font-size:16px;padding-inline-end:28px;margin-bottom:14px}",
    ".sm-scale{display:flex;gap:4px}",
    ".sm button{all:unset;box-sizing:border-box;cursor:pointer;text-align:center;border-radius:6px}",
    ".sm-scale button{flex:1 1 0;min-width:0;height:40px;border:1px solid var(--line);font-weight:600;" +
      "background:var(--bg);display:flex;align-items:center;justify-content:center}",
    ".sm-scale button:hover{border-color:var(--p)}",
    ".sm-scale button[aria-checked=true]{background:var(--p);border-color:var(--p);color:var(--on-p)}",
    // A ring for keyboard focus; browsers without :focus-visible drop the second rule.
    ".sm :focus{outline:2px solid var(--p);outline-offset:2px}.sm :focus:not(:focus-visible){outline:none}",
    ".sm-legend{display:flex;justify-content:space-between;gap:12px;font-size:12px;opacity:.75;margin-top:6px}",
    ".sm-form{margin-top:16px}.sm label{display:block;font-weight:600;margin-bottom:8px}",
    ".sm textarea{display:block;width:100%;min-height:72px;resize:vertical;padding:8px 10px;" +
      "border:1px solid var(--line);border-radius:6px;background:var(--bg);outline-color:var(--p)}",
    ".sm-actions{display:flex;justify-content:flex-end;margin-top:10px}",
    ".sm .sm-send,.sm-cta{background:var(--p);color:var(--on-p);padding:9px 20px;font-weight:600;border-radius:6px}",
    ".sm-send[aria-disabled=true]{opacity:.45;cursor:not-allowed}",
    ".sm .sm-close{position:absolute;top:8px;inset-inline-end:8px;width:32px;height:32px;font-size:24px;" +
      "line-height:32px;opacity:.6}.sm-close:hover{opacity:1}",
    ".sm .sm-thanks{font-size:16px;font-weight:600;padding-inline-end:24px;outline:none}",
    ".sm-cta{display:inline-block;margin-top:12px;text-decoration:none}",
    ".sm-by{margin-top:12px;font-size:11px;opacity:.75;text-align:center}",
    ".sm-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}",
    // Phones: the dialog and the panel become a sheet across the bottom (or top) edge.
    "@media (max-width:480px){.sm{padding:16px}.sm.sm-dialog,.sm.sm-panel{left:0;right:0;width:auto;" +
      "max-width:none;--tx:0;--ty:0;top:auto;bottom:0;border-radius:12px 12px 0 0}" +
      ".sm.sm-dialog.sm-vt,.sm.sm-panel.sm-vt{top:0;bottom:auto;border-radius:0 0 12px 12px}" +
      ".sm.sm-bar{padding:14px 16px}.sm-scale{gap:3px}.sm textarea{font-size:16px}}",
  ].join("\n");

  // --- Take the stub's place.

  function satismeter() {
    handle(arguments);
  }
  satismeter.loaded = true;
  satismeter.version = "1";
  // Code that kept the stub's `satismeter.q` still works.
  satismeter.q = { push: handle };
  window.satismeter = satismeter;
  window.addEventListener("online", flushAll);
  // Alt+Shift+R (Option on a Mac) by the key's place, which every keyboard layout has.
  window.addEventListener("keydown", function (e) {
    if (current && e.altKey && e.shiftKey && !e.ctrlKey && !e.metaKey && e.code === "KeyR") {
      e.preventDefault();
      current.jump();
    }
  }, true);

  (store("sessionStorage", "outbox") || []).forEach(function (state) {
    new Saver(state).flush();
  });
  [].slice.call((stub && stub.q) || []).forEach(handle);
})(window, document);
