// The shop's own script (necessary: it runs without consent and sets no cookie).
(function () {
  if (document.documentElement.lang === "en") {
    document.querySelectorAll("[data-en]").forEach(function (el) { el.textContent = el.getAttribute("data-en"); });
    document.querySelectorAll("[data-en-title]").forEach(function (el) { el.title = el.getAttribute("data-en-title"); });
    document.querySelectorAll("[data-en-aria-label]").forEach(function (el) {
      el.setAttribute("aria-label", el.getAttribute("data-en-aria-label"));
    });
  }
  var count = 0, cart = document.querySelector(".cart");
  document.querySelectorAll(".products button").forEach(function (button) {
    button.addEventListener("click", function () {
      count += 1;
      cart.textContent = document.documentElement.lang === "en" ? "Cart: " + count + " items" : "장바구니: " + count + "개";
    });
  });
})();
