/* The survey form's editors (satismeter_app/admin/survey_form.py renders them): rows added and
   removed, operators that follow a condition's type, texts per language, the questions (moved
   with arrow buttons, their choices, their texts per language), colour pickers; the
   live preview following unsaved edits; the audience estimate following the targeting.
   The form works without this script except for adding, moving and removing rows and
   switching languages. */
(function () {
  "use strict";

  var form = document.getElementById("survey_form");
  // Once per page, even if the script is loaded twice (a second copy would swap texts twice).
  if (!form || form.dataset.smEditors) return;
  form.dataset.smEditors = "1";

  function debounce(fn, wait) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, wait);
    };
  }

  function jsonOf(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  // --- Rows: trait conditions and page rules ----------------------------------------------

  function setupRows(box) {
    var list = box.querySelector(".sm-row-list");
    var template = box.querySelector("template");
    box.querySelector(".sm-add-row").addEventListener("click", function () {
      var next = 0;
      list.querySelectorAll(".sm-row").forEach(function (row) {
        next = Math.max(next, Number(row.dataset.index) + 1);
      });
      var html = template.innerHTML.replace(/__n__/g, String(next));
      list.insertAdjacentHTML("beforeend", html);
      var row = list.lastElementChild;
      row.dataset.fresh = "1";
      renumber(box);
      // No count yet: an empty row changes nothing until it is filled in.
      row.querySelector("input, select").focus();
    });
    box.addEventListener("click", function (event) {
      var button = event.target.closest(".sm-remove-row");
      if (!button) return;
      var row = button.closest(".sm-row");
      var focusAfter = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      renumber(box);
      (focusAfter ? focusAfter.querySelector(".sm-remove-row") : box.querySelector(".sm-add-row")).focus();
      changed(box);
    });
  }

  // Rows are named by their index; what a person reads is their place in the list.
  function renumber(box) {
    var label = box.dataset.rowLabel;
    box.querySelectorAll(".sm-row").forEach(function (row, place) {
      var number = String(place + 1);
      row.setAttribute("aria-label", label + " " + number);
      row.querySelector(".sm-row-number").textContent = number;
      row.querySelector(".sm-remove-row").setAttribute("aria-label", box.dataset.removeLabel + " " + number);
    });
  }

  function changed(node) {
    node.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // --- Trait conditions: operators by type, value inputs by operator, suggested types -------

  var operators = jsonOf("sm-operators") || {};
  var traitTypes = {};

  function shownInputs(kind, op) {
    var presence = op === "exists" || op === "missing";
    return { value: !presence && kind !== "boolean", value2: op === "between", flag: !presence && kind === "boolean" };
  }

  function fillOperators(row) {
    var kind = row.querySelector(".sm-type").value;
    var select = row.querySelector(".sm-op");
    var chosen = select.value;
    select.textContent = "";
    (operators[kind] || []).forEach(function (pair) {
      select.append(new Option(pair[1], pair[0], false, pair[0] === chosen));
    });
  }

  function showValueInputs(row) {
    var shown = shownInputs(row.querySelector(".sm-type").value, row.querySelector(".sm-op").value);
    [["value", ".sm-value"], ["value2", ".sm-value2"], ["flag", ".sm-flag"]].forEach(function (pair) {
      var input = row.querySelector(pair[1]);
      input.hidden = !shown[pair[0]];
      input.disabled = !shown[pair[0]];
    });
    var op = row.querySelector(".sm-op").value;
    var hints = { within_days: "days, e.g. 30", before: "2025-01-31", after: "2025-01-31", "in": "pro, business" };
    row.querySelector(".sm-value").placeholder = hints[op] || "";
  }

  function setupConditions(box) {
    box.addEventListener("change", function (event) {
      var row = event.target.closest(".sm-condition");
      if (!row) return;
      if (event.target.matches(".sm-type")) fillOperators(row);
      if (event.target.matches("[name$='-trait']") && row.dataset.fresh && traitTypes[event.target.value]) {
        row.querySelector(".sm-type").value = traitTypes[event.target.value];
        fillOperators(row);
      }
      showValueInputs(row);
    });
  }

  function suggestTraits(traits) {
    var list = document.getElementById("id_trait_conditions-traits");
    if (!list || !traits) return;
    list.textContent = "";
    traits.forEach(function (trait) {
      traitTypes[trait.name] = trait.type;
      list.append(new Option(trait.name, trait.name));
    });
  }

  // --- Texts: one language at a time; the others wait in a hidden input --------------------

  function setupTexts(box) {
    var name = box.dataset.smTexts;
    var catalog = jsonOf(box.dataset.catalog) || {};
    var select = box.querySelector(".sm-language");
    var others = box.querySelector(".sm-others");
    var shown = select.value;
    select.addEventListener("change", function () {
      var store = JSON.parse(others.value || "{}");
      var own = {};
      box.querySelectorAll("input[data-key]").forEach(function (input) {
        if (input.value.trim()) own[input.dataset.key] = input.value.trim();
      });
      if (Object.keys(own).length) store[shown] = own;
      else delete store[shown];
      markChanged(select, shown, Object.keys(own).length);
      shown = select.value;
      var strings = catalog[shown] || {};
      var next = store[shown] || {};
      delete store[shown];
      others.value = JSON.stringify(store);
      box.querySelectorAll("input[data-key]").forEach(function (input) {
        var key = input.dataset.key;
        input.name = name + "-" + shown + "-" + key;
        input.value = next[key] || "";
        input.placeholder = strings[key] || "";
        input.lang = shown;
        input.dir = strings.DIRECTION || "ltr";
      });
      followLanguage(shown);
    });
  }

  function markChanged(select, tag, count) {
    var option = select.querySelector("option[value='" + tag + "']");
    if (!option) return;
    option.dataset.changed = String(count);
    option.textContent = option.dataset.label + (count ? " \u00b7 " + count + " " + select.dataset.changedWord : "");
  }

  // --- Questions: rows added, removed and moved; choices; texts per language -------------

  function nextIndex(nodes) {
    var next = 0;
    Array.prototype.forEach.call(nodes, function (node) {
      var index = Number(node.dataset.index);
      if (!isNaN(index)) next = Math.max(next, index + 1);
    });
    return String(next);
  }

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (all, key) { return values[key]; });
  }

  function setupQuestions(box) {
    var list = box.querySelector(".sm-question-list");
    var language = box.querySelector(".sm-q-language");
    var directions = jsonOf(box.dataset.directions) || {};
    var status = box.querySelector(".sm-q-status");
    var shown = language.value;

    function rows() { return Array.prototype.slice.call(list.children); }
    function idOf(row) { return row.querySelector(".sm-q-id").value.trim(); }

    function freeId() {
      var taken = rows().map(idOf);
      // Called once the new row is in the list: its number is the count.
      for (var n = rows().length; ; n++) if (taken.indexOf("question" + n) < 0) return "question" + n;
    }

    function showParts(row) {
      var kind = row.querySelector(".sm-q-type").value;
      var parts = { ".sm-q-metric": kind === "scale", ".sm-q-legend": kind === "scale" || kind === "smiley",
        ".sm-q-choices": kind === "single-choice" || kind === "multiple-choice" };
      Object.keys(parts).forEach(function (selector) {
        row.querySelectorAll(selector).forEach(function (part) { part.hidden = !parts[selector]; });
      });
    }

    // Numbers, labels, arrows at the ends, and each condition's choice of earlier questions.
    function refresh() {
      var all = rows();
      var ids = [];
      all.forEach(function (row, place) {
        var label = box.dataset.rowLabel + " " + (place + 1);
        row.setAttribute("aria-label", label);
        row.querySelector(".sm-row-number").textContent = String(place + 1);
        [[".sm-move-up", box.dataset.upLabel], [".sm-move-down", box.dataset.downLabel],
          [".sm-remove-question", box.dataset.removeLabel]].forEach(function (pair) {
          var button = row.querySelector(pair[0]);
          if (button) button.setAttribute("aria-label", pair[1] + ": " + label);
        });
        row.querySelector(".sm-move-up").disabled = place === 0;
        row.querySelector(".sm-move-down").disabled = place === all.length - 1;
        row.querySelectorAll(".sm-choice").forEach(function (choice, n) {
          choice.setAttribute("aria-label", box.dataset.choiceLabel + " " + (n + 1));
          choice.querySelector(".sm-remove-choice").setAttribute("aria-label", box.dataset.removeLabel + ": " + box.dataset.choiceLabel + " " + (n + 1));
        });
        fillTargets(row.querySelector(".sm-q-target"), ids);
        showAnswers(row, all);
        ids.push(idOf(row));
      });
    }

    // The answers a condition may name, as the placeholder of its input: categories for an
    // NPS rating, numbers for another scale or a smiley, the ids of a choice question's choices.
    function showAnswers(row, all) {
      var wanted = row.querySelector(".sm-q-target").value;
      var target = all.filter(function (other) { return wanted && idOf(other) === wanted; })[0];
      var values = "";
      if (target) {
        var kind = target.querySelector(".sm-q-type").value;
        var metric = target.querySelector("[name$='-metric']").value;
        var surveyType = document.getElementById("id_type");
        if (target.dataset.builtIn && kind === "scale" && surveyType) metric = surveyType.value;
        if (kind === "single-choice" || kind === "multiple-choice") {
          values = Array.prototype.map.call(target.querySelectorAll(".sm-choice-id"), function (input) {
            return input.value.trim();
          }).filter(Boolean).join(", ");
        } else if (kind === "scale" && metric === "nps") values = "detractor, passive";
        else if (kind === "scale" || kind === "smiley") values = "1, 2";
      }
      row.querySelector(".sm-q-values").placeholder = values ? fill(box.dataset.example, { values: values }) : "";
    }

    function fillTargets(select, earlier) {
      var chosen = select.value;
      var always = select.options[0];
      select.textContent = "";
      select.append(always);
      earlier.concat(chosen && earlier.indexOf(chosen) < 0 ? [chosen] : []).forEach(function (id) {
        if (id) select.append(new Option(fill(box.dataset.targetWording, { id: id }), id, false, id === chosen));
      });
    }

    function announce(text) {
      status.textContent = "";
      setTimeout(function () { status.textContent = text; }, 50);
    }

    function move(row, step, button) {
      var other = step < 0 ? row.previousElementSibling : row.nextElementSibling;
      if (!other) return;
      if (step < 0) list.insertBefore(row, other);
      else list.insertBefore(other, row);
      refresh();
      (button.disabled ? row.querySelector(step < 0 ? ".sm-move-down" : ".sm-move-up") : button).focus();
      announce(fill(box.dataset.moved, { id: idOf(row), number: rows().indexOf(row) + 1 }));
      changed(row);
    }

    function remove(row) {
      var after = row.nextElementSibling || row.previousElementSibling;
      var id = idOf(row);
      row.remove();
      refresh();
      (after ? after.querySelector(".sm-move-up") : box.querySelector(".sm-add-question")).focus();
      announce(fill(box.dataset.removed, { id: id }));
      changed(list);
    }

    function addChoice(row) {
      var choices = row.querySelector(".sm-choice-list");
      var html = box.querySelector("template.sm-choice-template").innerHTML
        .replace(/__n__/g, row.dataset.index).replace(/__m__/g, nextIndex(choices.children));
      choices.insertAdjacentHTML("beforeend", html);
      var choice = choices.lastElementChild;
      speak(choice, shown);
      refresh();
      choice.querySelector("input").focus();
    }

    function removeChoice(choice) {
      var row = choice.closest(".sm-question");
      var after = choice.nextElementSibling || choice.previousElementSibling;
      choice.remove();
      refresh();
      (after ? after.querySelector(".sm-remove-choice") : row.querySelector(".sm-add-choice")).focus();
      changed(row);
    }

    function speak(node, tag) {
      node.querySelectorAll("[data-text-key]").forEach(function (input) {
        input.lang = tag;
        input.dir = directions[tag] || "ltr";
      });
    }

    // One language on screen; the others wait in each row's hidden input.
    function swap(node, othersSelector, tag, single) {
      var store = node.querySelector(othersSelector);
      if (!store) return;
      var others = JSON.parse(store.value || "{}");
      var own = {};
      var inputs = Array.prototype.filter.call(node.querySelectorAll("[data-text-key]"), function (input) {
        return input.closest(".sm-choice, .sm-question") === node;
      });
      inputs.forEach(function (input) {
        if (input.value.trim()) own[input.dataset.textKey] = input.value.trim();
      });
      var kept = single ? own.text : (Object.keys(own).length ? own : null);
      if (kept) others[shown] = kept;
      else delete others[shown];
      var next = others[tag] || (single ? "" : {});
      delete others[tag];
      store.value = JSON.stringify(others);
      inputs.forEach(function (input) {
        input.value = (single ? next : next[input.dataset.textKey]) || "";
      });
      speak(node, tag);
    }

    language.addEventListener("change", function () {
      var tag = language.value;
      rows().forEach(function (row) {
        if (!row.dataset.builtIn) swap(row, ".sm-q-others", tag, false);
        row.querySelectorAll(".sm-choice").forEach(function (choice) { swap(choice, ".sm-choice-others", tag, true); });
      });
      shown = tag;
      followLanguage(tag);
    });

    box.querySelector(".sm-add-question").addEventListener("click", function () {
      var html = box.querySelector("template.sm-question-template").innerHTML.replace(/__n__/g, nextIndex(rows()));
      list.insertAdjacentHTML("beforeend", html);
      var row = list.lastElementChild;
      row.querySelector(".sm-q-id").value = freeId();
      speak(row, shown);
      refresh();
      row.querySelector(".sm-q-id").focus();
      changed(row);
    });

    box.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button || !box.contains(button)) return;
      var row = button.closest(".sm-question");
      if (button.matches(".sm-move-up")) move(row, -1, button);
      else if (button.matches(".sm-move-down")) move(row, 1, button);
      else if (button.matches(".sm-remove-question")) remove(row);
      else if (button.matches(".sm-add-choice")) addChoice(row);
      else if (button.matches(".sm-remove-choice")) removeChoice(button.closest(".sm-choice"));
    });

    box.addEventListener("change", function (event) {
      if (event.target.matches(".sm-q-type")) showParts(event.target.closest(".sm-question"));
      if (event.target.matches(".sm-q-id, .sm-q-type, .sm-q-target, .sm-choice-id, [name$='-metric']")) refresh();
    });
    var surveyType = document.getElementById("id_type");
    if (surveyType) surveyType.addEventListener("change", refresh);

    refresh();
  }

  // --- Design: colour pickers fill the text input beside them -----------------------------

  function setupColours(box) {
    box.querySelectorAll(".sm-colour-inputs").forEach(function (pair) {
      var picker = pair.querySelector(".sm-colour-picker");
      var text = pair.querySelector("input[type=text]");
      picker.tabIndex = 0;
      picker.addEventListener("input", function () {
        text.value = picker.value;
        changed(text);
      });
      text.addEventListener("input", function () {
        if (/^#[0-9a-f]{6}$/i.test(text.value.trim())) picker.value = text.value.trim().toLowerCase();
      });
    });
  }

  // --- The live preview: the unsaved form, posted to the preview page in the iframe --------

  var preview = document.querySelector(".sm-preview");

  function refreshPreview() {
    if (!preview) return;
    var post = document.createElement("form");
    post.method = "post";
    post.action = preview.dataset.url;
    post.target = "sm-preview-frame";
    post.hidden = true;
    var data = new FormData(form);
    data.set("skin", document.getElementById("sm-preview-skin").value);
    data.set("language", document.getElementById("sm-preview-language").value);
    data.forEach(function (value, key) {
      if (typeof value !== "string") return;
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = key;
      input.value = value;
      post.append(input);
    });
    document.body.append(post);
    post.submit();
    post.remove();
  }

  var refreshPreviewSoon = debounce(refreshPreview, 400);

  function followLanguage(tag) {
    var select = document.getElementById("sm-preview-language");
    if (select && select.querySelector("option[value='" + tag + "']")) select.value = tag;
    refreshPreviewSoon();
  }

  function setupPreview() {
    if (!preview) return;
    preview.querySelector(".sm-preview-show").hidden = true;
    ["sm-preview-skin", "sm-preview-language"].forEach(function (id) {
      document.getElementById(id).addEventListener("change", refreshPreview);
    });
    var texts = form.querySelector(".field-texts");
    var design = form.querySelector(".field-design");
    var questions = form.querySelector(".field-questions");
    [texts, design, questions].forEach(function (part) {
      if (!part) return;
      part.addEventListener("input", refreshPreviewSoon);
      part.addEventListener("change", refreshPreviewSoon);
    });
  }

  // --- The audience estimate: the unsaved targeting, counted by the server ---------------

  var estimate = document.querySelector(".sm-estimate");
  var counting = null;

  function countAudience() {
    if (!estimate) return;
    if (counting) counting.abort();
    counting = new AbortController();
    estimate.classList.add("sm-busy");
    fetch(estimate.dataset.url, { method: "POST", body: new FormData(form), credentials: "same-origin", signal: counting.signal })
      .then(function (res) { return res.json(); })
      .then(showEstimate)
      .catch(function (error) {
        if (error.name !== "AbortError") estimate.querySelector(".sm-estimate-text").textContent = String(error);
      });
  }

  function showEstimate(answer) {
    estimate.classList.remove("sm-busy");
    estimate.classList.toggle("sm-refused", !!answer.errors);
    estimate.querySelector(".sm-estimate-text").textContent = answer.text;
    var note = answer.note || Object.keys(answer.errors || {}).map(function (name) {
      return answer.errors[name].join(" ");
    }).join(" ");
    estimate.querySelector(".sm-estimate-note").textContent = note;
    // Only the targeting rows it counts: a question refused on saving stays marked.
    form.querySelectorAll("[data-sm-rows] .sm-row-error").forEach(function (row) { row.classList.remove("sm-row-error"); });
    Object.keys(answer.rows || {}).forEach(function (name) {
      var rows = form.querySelectorAll("[data-sm-rows='" + name + "'] .sm-row");
      var row = rows[answer.rows[name] - 1];
      if (row) row.classList.add("sm-row-error");
    });
    suggestTraits(answer.traits);
  }

  function setupEstimate() {
    if (!estimate) return;
    var countSoon = debounce(countAudience, 500);
    var targeting = estimate.closest("fieldset");
    targeting.addEventListener("input", countSoon);
    targeting.addEventListener("change", countSoon);
    ["id_project", "id_state", "id_starts_at_0", "id_starts_at_1", "id_ends_at_0", "id_ends_at_1"].forEach(function (id) {
      var input = document.getElementById(id);
      if (input) input.addEventListener("change", countSoon);
    });
    countAudience();
  }

  // ------------------------------------------------------------------------------------------

  document.querySelectorAll("[data-sm-rows]").forEach(setupRows);
  document.querySelectorAll(".sm-conditions").forEach(setupConditions);
  document.querySelectorAll("[data-sm-texts]").forEach(setupTexts);
  document.querySelectorAll("[data-sm-questions]").forEach(setupQuestions);
  document.querySelectorAll("[data-sm-design]").forEach(setupColours);
  setupPreview();
  setupEstimate();
})();
