/* townhall maps: a hover box for server-drawn SVG maps and charts.
   Each shape is an <a> (or <g>) with an aria-label naming the place, its value and rank;
   this script shows that label beside the pointer (or the focused shape) and nothing else.
   Links work without it. No network, no inline handlers (CSP script-src 'self'). */
(function () {
  "use strict";
  var tip = null;

  function box() {
    if (!tip) {
      tip = document.createElement("div");
      tip.className = "maptip";
      tip.setAttribute("role", "status");
      tip.setAttribute("aria-live", "polite");
      tip.hidden = true;
      document.body.appendChild(tip);
    }
    return tip;
  }

  function shapeOf(el) {
    while (el && el.nodeType === 1) {
      if (el.hasAttribute && el.hasAttribute("data-code") && el.getAttribute("aria-label")) { return el; }
      if (el.tagName && el.tagName.toLowerCase() === "svg") { return null; }
      el = el.parentNode;
    }
    return null;
  }

  function show(shape, x, y) {
    var t = box();
    t.textContent = shape.getAttribute("aria-label");
    t.hidden = false;
    var w = t.offsetWidth, h = t.offsetHeight;
    var left = Math.min(x + 14, window.scrollX + document.documentElement.clientWidth - w - 8);
    var top = y - h - 12 < window.scrollY ? y + 18 : y - h - 12;
    t.style.left = Math.max(window.scrollX + 4, left) + "px";
    t.style.top = top + "px";
    var prev = document.querySelector(".map .hover");
    if (prev && prev !== shape) { prev.classList.remove("hover"); }
    shape.classList.add("hover");
  }

  function hide() {
    if (tip) { tip.hidden = true; }
    var prev = document.querySelector(".map .hover");
    if (prev) { prev.classList.remove("hover"); }
  }

  document.addEventListener("mouseover", function (ev) {
    var s = shapeOf(ev.target);
    if (s) { show(s, ev.pageX, ev.pageY); } else { hide(); }
  });
  document.addEventListener("mousemove", function (ev) {
    var s = shapeOf(ev.target);
    if (s && tip && !tip.hidden) { show(s, ev.pageX, ev.pageY); }
  });
  document.addEventListener("focusin", function (ev) {
    var s = shapeOf(ev.target);
    if (s) {
      var r = s.getBoundingClientRect();
      show(s, r.left + window.scrollX + r.width / 2, r.top + window.scrollY);
    }
  });
  document.addEventListener("focusout", hide);
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape") { hide(); } });

})();
