// Sightline debug view: add and remove filter rows. The form works without this script too
// (pick "— remove —" as a filter's column to drop it); the server turns the rows into
// filter=... parameters and redirects to that URL.
"use strict";

(function () {
  const form = document.getElementById("debug-form");
  if (!form) return;
  const box = document.getElementById("filters");
  const add = document.getElementById("add-filter");
  form.classList.add("js");

  function rows() {
    return Array.from(box.querySelectorAll(".filter-row"));
  }

  function renumber() {
    rows().forEach((row, i) => {
      const n = i + 1;
      row.querySelectorAll("select, input").forEach((control) => {
        const id = control.name + "-" + n;
        const label = row.querySelector('label[for="' + control.id + '"]');
        if (label) {
          label.htmlFor = id;
          label.textContent = label.textContent.replace(/\d+$/, String(n));
        }
        control.id = id;
      });
      const remove = row.querySelector(".remove-filter");
      if (remove) remove.setAttribute("aria-label", "Remove filter " + n);
    });
  }

  function clear(row) {
    row.querySelector("select[name=fc]").value = "";
    row.querySelector("select[name=fo]").selectedIndex = 0;
    row.querySelector("input[name=fv]").value = "";
  }

  function wire(row) {
    row.querySelector(".remove-filter").addEventListener("click", () => {
      if (rows().length > 1) {
        const next = row.nextElementSibling;
        row.remove();
        renumber();
        (next && next.querySelector("select") || add).focus();
      } else {
        clear(row);
      }
    });
    // "is missing" / "is present" take no value (read-only, not disabled: a disabled input is
    // not submitted, and the server pairs columns, operators and values by position).
    const op = row.querySelector("select[name=fo]");
    const value = row.querySelector("input[name=fv]");
    const sync = () => {
      const none = op.value === "missing" || op.value === "present";
      value.readOnly = none;
      if (none) value.value = "";
    };
    op.addEventListener("change", sync);
    sync();
  }

  rows().forEach(wire);

  add.addEventListener("click", () => {
    const last = rows()[rows().length - 1];
    const row = last.cloneNode(true);
    clear(row);
    row.querySelector("select[name=fc] option").textContent = "— column —";
    last.after(row);
    wire(row);
    renumber();
    row.querySelector("select[name=fc]").focus();
  });
})();
