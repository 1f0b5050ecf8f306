// Score sheets: show each row's total and flag a part over its maximum before submitting.
document.querySelectorAll("tr.sheet").forEach(function (row) {
  var inputs = row.querySelectorAll("input[type=number]");
  var cell = row.querySelector("td.total");
  function update() {
    var total = 0, filled = false;
    inputs.forEach(function (input) {
      var max = parseFloat(input.dataset.max), value = parseFloat(input.value);
      input.setCustomValidity(value > max ? "≤ " + max : "");
      if (!isNaN(value)) { total += value; filled = true; }
    });
    cell.textContent = filled ? total.toFixed(2) : "—";
  }
  inputs.forEach(function (input) { input.addEventListener("input", update); });
  update();
});

// The producer's status link: copy it with one click.
document.querySelectorAll("button.copy").forEach(function (button) {
  button.addEventListener("click", function () {
    if (!navigator.clipboard) { return; }
    navigator.clipboard.writeText(button.dataset.copy).then(function () {
      button.textContent = button.dataset.done;
    });
  });
});
