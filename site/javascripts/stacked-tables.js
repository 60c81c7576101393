/* On a narrow screen a table of many columns cannot show them side by side: stylesheets/extra.css then shows
   each row as a block, each cell under its column's name. Here each cell of such a table is given that name
   (data-column), and the table is marked (data-stacks). Tables of three columns or fewer fit as they are. */
(function () {
  var MIN_COLUMNS = 4;

  function mark(table) {
    var names = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    if (names.length < MIN_COLUMNS) return;
    table.setAttribute("data-stacks", "");
    Array.prototype.forEach.call(table.querySelectorAll("tbody tr"), function (row) {
      Array.prototype.forEach.call(row.children, function (cell, i) {
        if (names[i]) cell.setAttribute("data-column", names[i]);
      });
    });
  }

  function markAll() {
    Array.prototype.forEach.call(document.querySelectorAll(".md-typeset table:not([class])"), mark);
  }

  // The theme announces each page it shows on `document$` (also after an instant page change); without it,
  // this script runs once, at the end of the page.
  if (typeof document$ !== "undefined") document$.subscribe(markAll);
  else markAll();
})();
