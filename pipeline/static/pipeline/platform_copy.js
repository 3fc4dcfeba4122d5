// Live limits and preview on the per-platform page: the same rules as publishing/platform_limits.py
// (compose, measure) and pipeline/services/platform_copy.py (parse_hashtags), counted as the editor types.
(function () {
  "use strict";

  function parseHashtags(text) {
    var tags = [];
    (text || "").split(/[\s,]+/).forEach(function (word) {
      var tag = "#" + word.replace(/^#+/, "").replace(/[^\p{L}\p{N}_]/gu, "");
      if (tag.length > 1 && tags.indexOf(tag) === -1) { tags.push(tag); }
    });
    return tags;
  }

  function compose(platform, caption, tags) {
    var joined = tags.join(" ");
    var text;
    if (platform === "youtube" || platform === "instagram") {
      text = (caption + "\n\n" + joined).trim();
      if (platform === "youtube" && text.toLowerCase().indexOf("#shorts") === -1) { text = (text + " #Shorts").trim(); }
      return text;
    }
    return (caption + " " + joined).trim();
  }

  function measure(text, unit) {
    return unit === "bytes" ? new TextEncoder().encode(text).length : text.length;  // UTF-16 code units
  }

  function show(counter, used, limit, unit) {
    if (!counter) { return; }
    counter.textContent = limit ? used + " / " + limit + " " + unit : used + " " + unit + " (no limit)";
    counter.classList.toggle("ph-over", Boolean(limit) && used > limit);
  }

  function update(card) {
    var platform = card.dataset.platform;
    var field = function (name) { return card.querySelector("[name$='-" + name + "']"); };
    var title = field("title") ? field("title").value : "";
    var caption = field("caption").value.trim();
    var tags = parseHashtags(field("hashtags").value);
    var text = compose(platform, caption, tags);
    var unit = card.dataset.textUnit;
    show(card.querySelector("[data-counter=title]"), title.length, Number(card.dataset.titleLimit), "characters");
    show(card.querySelector("[data-counter=text]"), measure(text, unit), Number(card.dataset.textLimit),
         unit + " with hashtags");
    show(card.querySelector("[data-counter=tags]"), tags.length, Number(card.dataset.tagLimit), "hashtags");
    card.querySelectorAll("[data-overlay=text]").forEach(function (el) { el.textContent = text; });
    card.querySelectorAll("[data-overlay=title]").forEach(function (el) { el.textContent = title; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".ph-platform").forEach(function (card) {
      card.addEventListener("input", function () { update(card); });
      update(card);
      var video = card.querySelector("video");
      if (video) {
        card.querySelector(".ph-phone").addEventListener("click", function () {
          if (video.paused) { video.play(); } else { video.pause(); }
        });
      }
    });
  });
}());
