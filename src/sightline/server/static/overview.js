// Sightline overview: the server renders the table; this keeps it current (every 30 s by
// default) by fetching the page again and replacing the table when it changed.
"use strict";

(function () {
  const S = window.Sightline;
  const root = document.getElementById("overview");
  if (!root) return;
  root.dataset.loaded = "true";
  S.every(S.pollMs(), async () => {
    await S.refreshBlocks(window.location.href, false);
    document.getElementById("overview").dataset.loaded = "true";
  });
})();
