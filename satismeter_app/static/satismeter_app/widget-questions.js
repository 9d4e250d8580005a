/*
 * django-satismeter widget, questions: asks a survey's questions after the rating (scale,
 * smiley, single choice, multiple choice, long text), one at a time, each when its condition
 * holds, in the survey's order: the rating where it stands, or not at all when it is not asked. widget.js loads this file only for a survey that asks more than a rating and a
 * comment (the widget call's `survey.script`), then calls `satismeter.ask` before showing it.
 *
 * Untrusted data (question texts, choices) only ever reaches the page as text (textContent).
 */
(function (window, document) {
  "use strict";

  var satismeter = window.satismeter;
  if (!satismeter || satismeter.ask) return;

  var RATING = "SM_rating";
  var COMMENT = "SM_comment";
  var SVG = "http://www.w3.org/2000/svg";
  var serial = 0; // ids inside the survey's shadow root
  var sheet = null;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function category(rating) {
    return rating >= 9 ? "promoter" : rating >= 7 ? "passive" : "detractor";
  }

  function empty(value) {
    return value == null || value === "" || (Array.isArray(value) && !value.length);
  }

  // satismeter_app/questions.py `is_shown`: categories for an NPS scale, numbers for another
  // scale or a smiley, choice ids for a choice question (any chosen one matches).
  function isShown(question, answers, byId) {
    var condition = question.condition;
    if (!condition) return true;
    var value = answers[condition.question];
    var target = byId[condition.question];
    if (value == null || !target) return false;
    if (target.type === "scale" && target.metric === "nps") value = category(value);
    return [].concat(value).some(function (each) { return condition.values.indexOf(each) >= 0; });
  }

  // Called by widget.js on a survey with questions beyond the rating and the comment, before
  // it is shown. `v` is the survey on screen (widget.js openSurvey); the rating stays
  // widget.js's, and each other question is asked here, in `v.ask`, in the form's place.
  // `ratingAt`: how many questions come before the rating (-1: the survey does not ask it).
  satismeter.ask = function (v, survey, fire, finish, answersOf) {
    var all = survey.questions || [];
    var a = v.ask = {
      byId: {}, answers: {}, at: -1, step: null, fire: fire, finish: finish, answersOf: answersOf,
      asked: all.filter(function (q) { return q.id !== RATING; }), // in order
      form: el("form", "sm-form sm-ask"), body: el("div"), next: el("button", "sm-send"),
      all: all, ratingAt: all.map(function (q) { return q.id; }).indexOf(RATING),
    };
    all.forEach(function (q) { a.byId[q.id] = q; });
    if (a.byId[COMMENT] && v.design.requireFeedback) a.byId[COMMENT].required = true;
    var actions = el("div", "sm-actions");
    a.next.type = "submit";
    actions.append(a.next);
    a.form.append(a.body, actions);
    a.form.hidden = true;
    a.form.onsubmit = submit.bind(null, v);
    v.main.append(a.form);
    v.next = rated.bind(null, v);
    adoptStyles(v.shadow);
    if (a.ratingAt) startWithout(v);
  };

  // A survey whose first question is not the rating: that question instead of the rating
  // (hidden until it stands next), the focus on it as widget.js would put it on the rating,
  // and the host page's events listing the answers in the survey's order.
  function startWithout(v) {
    var a = v.ask;
    rating(v, false);
    v.buttons[0].tabIndex = -1; // widget.js's shortcut takes the focus to the question's control
    a.answersOf = function () { return { campaign: v.campaign, answers: listed(v, true) }; };
    show(v, following(a, -1));
    Promise.resolve().then(function () { // after widget.js's startSurvey
      var idle = !document.activeElement || document.activeElement === document.body;
      if (document.hasFocus() && idle) a.step.first.focus({ preventScroll: true });
    });
  }

  function rating(v, shown) {
    v.main.querySelector(".sm-q").hidden = v.main.querySelector(".sm-rate").hidden = !shown;
  }

  // Whether the rating comes after the question `index` of `asked`: it stands before the next
  // question the answers lead to (or at the end), is not chosen yet, and its condition holds.
  function ratingNext(a, index) {
    var next = following(a, index);
    return a.ratingAt > index && (next < 0 || next >= a.ratingAt) &&
      a.answers[RATING] == null && isShown(a.byId[RATING], a.answers, a.byId);
  }

  // The rating asked after other questions: widget.js's scale, alone, the focus on it.
  function showRating(v) {
    v.ask.form.hidden = true;
    rating(v, true);
    v.box.setAttribute("aria-labelledby", "sm-q");
    v.buttons[0].tabIndex = 0;
    v.buttons[0].focus({ preventScroll: true });
  }

  // The next question the answers so far lead to after `index` in `asked` (-1: none).
  function following(a, index) {
    for (var i = index + 1; i < a.asked.length; i++) {
      if (isShown(a.asked[i], a.answers, a.byId)) return i;
    }
    return -1;
  }

  function show(v, index) {
    var a = v.ask;
    a.at = index;
    a.step = render(v, a.asked[index]);
    a.body.replaceChildren(a.step.node);
    a.form.hidden = false;
    v.textarea = a.step.first; // where widget.js's keyboard shortcut takes the focus
    if (v.rating === null) a.step.first.tabIndex = 0; // the same before a rating: [tabindex='0']
    // Without the rating's question on screen, the survey is named by the question shown.
    if (a.ratingAt && v.main.querySelector(".sm-q").hidden) {
      a.step.node.firstChild.id = "sm-n";
      v.box.setAttribute("aria-labelledby", "sm-n");
    }
    update(v);
  }

  // The button says Send on the last question the answers so far lead to, else Continue;
  // it is aria-disabled while a required question has no answer.
  function update(v) {
    var a = v.ask;
    var last = following(a, a.at) < 0 && !ratingNext(a, a.at);
    a.next.textContent = last ? v.t.SUBMIT || "Send" : v.t.CONTINUE || "Continue";
    a.next.setAttribute("aria-disabled", String(!!(a.step.question.required && empty(a.step.value()))));
  }

  // A rating chosen (widget.js chooseScore; the rating is on screen with the question after it
  // only): the first question after it that it leads to, or the end when it leads to none.
  function rated(v, first) {
    var a = v.ask;
    a.answers[RATING] = v.rating;
    progress(v);
    var index = following(a, a.ratingAt - 1);
    if (index < 0) return complete(v);
    // Again for the comment: its question depends on the rating's category.
    if (index !== a.at || a.asked[index].id === COMMENT) show(v, index);
    else update(v); // a later question may depend on the rating too
    if (first) a.step.first.focus({ preventScroll: true });
  }

  function submit(v, event) {
    var a = v.ask;
    event.preventDefault();
    if (a.next.getAttribute("aria-disabled") === "true") return a.step.first.focus();
    var index = following(a, a.at);
    var rate = ratingNext(a, a.at);
    if (index < 0 && !rate) return complete(v);
    if (a.step.question.type === "long-text") given(v, a.step.question);
    rating(v, false); // past the rating's page: one question a page
    if (rate) return showRating(v);
    show(v, index);
    a.step.first.focus({ preventScroll: true });
  }

  // An answer given: kept, saved, announced to the host page. A text is given when the user
  // moves on.
  function answer(v, value, typing) {
    var question = v.ask.step.question;
    v.ask.answers[question.id] = empty(value) ? null : value;
    update(v);
    if (!typing) given(v, question);
  }

  function given(v, question) {
    if (question.id !== COMMENT) save(v, { answers: saved(v.ask) });
    progress(v);
  }

  function progress(v) {
    v.more = listed(v);
    v.ask.fire("progress", v.ask.answersOf(v));
  }

  // Every answer so far (a later save replaces one not yet sent); one whose question is no
  // longer shown (the rating changed) is cleared.
  function saved(a) {
    return a.asked.filter(function (q) {
      return q.id !== COMMENT && a.answers[q.id] !== undefined;
    }).map(function (q) {
      return { id: q.id, value: isShown(q, a.answers, a.byId) ? a.answers[q.id] : null };
    });
  }

  // The answers for the host page's events (widget.js answersOf puts the rating first; a
  // survey that asks it later lists it `withRating`, where it stands).
  function listed(v, withRating) {
    var a = v.ask;
    return (withRating ? a.all : a.asked).filter(function (q) {
      return a.answers[q.id] != null && isShown(q, a.answers, a.byId);
    }).map(function (q) {
      return { id: q.id, label: labelOf(v, q), value: a.answers[q.id] };
    });
  }

  function save(v, fields) {
    if (v.saver) v.saver.save(fields);
  }

  function labelOf(v, question) {
    if (question.id === RATING) return v.t.HOW_LIKELY;
    if (question.id !== COMMENT) return question.label;
    return (v.rating != null && v.t["FOLLOWUP_" + category(v.rating).toUpperCase()]) || v.t.FOLLOWUP;
  }

  // The comment goes with the last save: the server takes a response with a comment as
  // complete, and refuses later saves to it.
  function complete(v) {
    var a = v.ask;
    var fields = { answers: saved(a), completed: true };
    var comment = a.answers[COMMENT];
    if (comment != null && isShown(a.byId[COMMENT], a.answers, a.byId)) fields.feedback = comment;
    if (!fields.answers.length) delete fields.answers;
    save(v, fields);
    v.more = listed(v);
    a.finish(v, v.t.THANKS);
    a.fire("progress", a.answersOf(v));
    a.fire("complete", a.answersOf(v));
  }

  // One question's controls: {question, node, first (the control to focus), value()}.
  function render(v, question) {
    var id = "sm-x" + ++serial;
    var kind = question.id === COMMENT || question.type === "long-text" ? text
      : question.type === "single-choice" || question.type === "multiple-choice" ? choices : scale;
    return kind(v, question, id, v.ask.answers[question.id]);
  }

  function text(v, question, id, value) {
    var node = el("div", "sm-long");
    var label = el("label", null, labelOf(v, question));
    var area = el("textarea");
    label.htmlFor = area.id = id;
    area.rows = 3;
    area.maxLength = 5000;
    area.required = !!question.required;
    area.placeholder = v.t.FEEDBACK_PLACEHOLDER || "";
    area.value = value || "";
    area.oninput = function () { answer(v, area.value.trim() ? area.value : null, true); };
    node.append(label, area);
    return { question: question, node: node, first: area, value: function () { return area.value.trim(); } };
  }

  // A single choice (radios) or a multiple choice (checkboxes), in a fieldset named by the
  // question.
  function choices(v, question, id, value) {
    var single = question.type === "single-choice";
    var group = el("fieldset", "sm-choices");
    group.append(el("legend", null, question.label));
    var inputs = question.choices.map(function (choice) {
      var option = el("label", "sm-opt");
      var input = radio(single ? "radio" : "checkbox", id, choice.id, single && question.required);
      input.checked = [].concat(value || []).indexOf(choice.id) >= 0;
      input.onchange = function () { answer(v, chosen()); };
      option.append(input, el("span", null, choice.label));
      group.append(option);
      return input;
    });
    function chosen() {
      var ids = checked(inputs).map(function (input) { return input.value; });
      return single ? ids[0] || null : ids;
    }
    return { question: question, node: group, first: checked(inputs)[0] || inputs[0], value: chosen };
  }

  // A scale (numbers min..max) or a smiley (five faces): radios in a fieldset named by the
  // question, the legends of the ends in the names of the end values.
  function scale(v, question, id, value) {
    var group = el("fieldset", "sm-choices " + (question.type === "smiley" ? "sm-faces" : "sm-steps"));
    var row = el("div", "sm-row");
    var inputs = [];
    group.append(el("legend", null, question.label), row);
    for (var n = question.min; n <= question.max; n++) {
      var option = scaleOption(question, id, n);
      option.firstChild.checked = value === n;
      option.firstChild.onchange = function () { answer(v, +this.value); };
      row.append(option);
      inputs.push(option.firstChild);
    }
    if (question.low || question.high) {
      var legends = el("div", "sm-legend");
      legends.setAttribute("aria-hidden", "true");
      legends.append(el("span", null, question.low), el("span", null, question.high));
      group.append(legends);
    }
    return {
      question: question, node: group, first: checked(inputs)[0] || inputs[0],
      value: function () { return checked(inputs).length ? +checked(inputs)[0].value : null; },
    };
  }

  // One value of a scale: an unseen radio over its face (a number or a drawn face), named by
  // its number, and at the ends by the legend too ("1, Very unsatisfied").
  function scaleOption(question, id, n) {
    var option = el("label");
    var end = n === question.min ? question.low : n === question.max ? question.high : "";
    var look = el("span", "sm-look", question.type === "smiley" ? null : String(n));
    if (question.type === "smiley") look.append(face(n));
    look.setAttribute("aria-hidden", "true");
    option.append(radio("radio", id, n, question.required), look, el("span", "sm-sr", end ? n + ", " + end : String(n)));
    return option;
  }

  function radio(type, name, value, required) {
    var input = el("input");
    input.type = type;
    input.name = name;
    input.value = value;
    input.required = !!required;
    return input;
  }

  function checked(inputs) {
    return inputs.filter(function (input) { return input.checked; });
  }

  // A face drawn, not an emoji (whose look depends on the fonts installed): eyes and a mouth
  // from a frown (1) to a smile (5).
  function face(n) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    [["circle", { cx: 12, cy: 12, r: 10.5 }], ["circle", { cx: 8.5, cy: 9.5, r: 1.3, class: "sm-eye" }],
      ["circle", { cx: 15.5, cy: 9.5, r: 1.3, class: "sm-eye" }],
      ["path", { d: "M7.5 " + (15.5 - (n - 3) * .5) + "Q12 " + (15.5 + (n - 3) * 2.2) + " 16.5 " + (15.5 - (n - 3) * .5) }]]
      .forEach(function (part) {
        var node = document.createElementNS(SVG, part[0]);
        for (var key in part[1]) node.setAttribute(key, part[1][key]);
        svg.append(node);
      });
    return svg;
  }

  function adoptStyles(shadow) {
    if (shadow.adoptedStyleSheets && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      if (!sheet) {
        sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS_TEXT);
      }
      shadow.adoptedStyleSheets = [].slice.call(shadow.adoptedStyleSheets).concat(sheet);
    } else {
      shadow.append(el("style", null, CSS_TEXT));
    }
  }

  // Inside the survey's shadow root, after widget.js's rules (its variables: --p, --fg, --bg,
  // --on-p, --line).
  var CSS_TEXT = [
    ".sm fieldset{border:0;padding:0;min-width:0}",
    // Clear of the close button once the rating's question, which was, is gone.
    ".sm legend{display:block;padding:0;font-weight:600;margin-bottom:10px;padding-inline-end:28px}",
    ".sm-long label{padding-inline-end:28px}",
    ".sm .sm-opt{display:flex;align-items:center;gap:10px;padding:8px 10px;margin-bottom:6px;" +
      "border:1px solid var(--line);border-radius:6px;cursor:pointer;font-weight:400}",
    ".sm .sm-opt:has(:checked){border-color:var(--p)}",
    ".sm-bar .sm-opt{display:inline-flex;margin-inline-end:6px}",
    ".sm-opt input{margin:0;width:16px;height:16px;flex:none;accent-color:var(--p)}",
    ".sm-row{display:flex;gap:4px}",
    ".sm .sm-row label{flex:1 1 0;min-width:0;margin:0;position:relative;cursor:pointer}",
    // The radio covers its face, unseen: a click or a tap lands on it.
    ".sm-row input{position:absolute;inset:0;width:100%;height:100%;margin:0;opacity:0;cursor:pointer}",
    ".sm-look{height:40px;display:flex;align-items:center;justify-content:center;font-weight:600;" +
      "border:1px solid var(--line);border-radius:6px;background:var(--bg)}",
    ".sm-row label:hover .sm-look{border-color:var(--p)}",
    ".sm-row :checked+.sm-look{background:var(--p);border-color:var(--p);color:var(--on-p)}",
    ".sm-row :focus-visible+.sm-look{outline:2px solid var(--p);outline-offset:2px}",
    ".sm-faces .sm-look{height:48px}",
    ".sm-faces svg{width:30px;height:30px;fill:none;stroke:currentColor;stroke-width:1.5;stroke-linecap:round}",
    ".sm-faces .sm-eye{fill:currentColor;stroke:none}",
  ].join("\n");
})(window, document);
