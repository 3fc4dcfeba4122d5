/* Drag a scheduled post to another day on the posts calendar; the server keeps its time of day.
 * The move goes to the reschedule endpoint (publishing/calendar_admin.py), which checks who may. */
(function () {
  "use strict";
  function setup() {
    var calendar = document.getElementById("calendar");
    if (!calendar) { return; }
    var status = document.getElementById("cal-status");
    var csrf = calendar.getAttribute("data-csrf");
    var dragged = null;

    function say(text, isError) {
      status.textContent = text;
      status.classList.toggle("ph-error", Boolean(isError));
    }

    calendar.addEventListener("dragstart", function (event) {
      var post = event.target.closest && event.target.closest(".ph-post[draggable='true']");
      if (!post) { return; }
      dragged = post;
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", post.getAttribute("data-id"));
    });
    calendar.addEventListener("dragover", function (event) {
      var day = event.target.closest && event.target.closest(".ph-cal-day");
      if (!dragged || !day) { return; }
      event.preventDefault();
      day.classList.add("ph-drop");
    });
    calendar.addEventListener("dragleave", function (event) {
      var day = event.target.closest && event.target.closest(".ph-cal-day");
      if (day) { day.classList.remove("ph-drop"); }
    });
    calendar.addEventListener("drop", function (event) {
      var day = event.target.closest && event.target.closest(".ph-cal-day");
      if (!dragged || !day) { return; }
      event.preventDefault();
      day.classList.remove("ph-drop");
      move(dragged, day);
      dragged = null;
    });

    function move(post, day) {
      var body = new URLSearchParams();
      body.set("date", day.getAttribute("data-date"));
      fetch(post.getAttribute("data-move-url"), {
        method: "POST", body: body, credentials: "same-origin",
        headers: {"X-CSRFToken": csrf, "Accept": "application/json"}
      }).then(function (response) {
        return response.json().then(function (data) { return {ok: response.ok, data: data}; });
      }).then(function (answer) {
        if (!answer.ok) { say("Not moved: " + answer.data.error, true); return; }
        var target = calendar.querySelector(".ph-cal-day[data-date='" + answer.data.date + "']") || day;
        target.appendChild(post);
        post.querySelector(".ph-post-time").textContent = answer.data.time;
        var input = post.querySelector("input[name='scheduled_at']");
        if (input) { input.value = answer.data.local; }
        say(answer.data.message, false);
      }).catch(function (error) { say("Not moved: " + error, true); });
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", setup); } else { setup(); }
})();
