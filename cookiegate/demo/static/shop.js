// The shop's own script (necessary: it runs without consent and sets no cookie). The server renders the
// page in the visitor's language; the cart line's two forms come from the page.
(function () {
  var count = 0, cart = document.querySelector(".cart");
  document.querySelectorAll(".products button").forEach(function (button) {
    button.addEventListener("click", function () {
      count += 1;
      cart.textContent = cart.getAttribute("data-items").replace("{n}", String(count));
    });
  });
})();
