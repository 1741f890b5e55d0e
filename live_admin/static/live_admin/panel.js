/* The admin panel's one piece of glue: "Edit" in the user table opens the edit form.
 *
 * The table and the form are separate live components, so the button cannot send the event
 * itself: it names the user in `data-edit-user`, and this sends `open` to the edit form with
 * `window.live.send` (over the socket, or the HTTP fallback without one).
 */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-edit-user]") : null;
    var editor = document.querySelector('[data-live-name="user_edit"]');
    if (!button || !editor || !window.live) return;
    event.preventDefault();
    var userId = Number(button.getAttribute("data-edit-user"));
    window.live.send(editor.getAttribute("data-live-id"), "open", { user_id: userId }).then(function (frame) {
      if (!frame || frame.type === "error") return;
      var field = editor.querySelector('input[name="username"]');
      editor.scrollIntoView({ block: "nearest", behavior: "smooth" });
      if (field) field.focus({ preventScroll: true });
    });
  });
})();
