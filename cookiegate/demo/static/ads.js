// Stands for an advertising pixel: runs only once "targeting" is granted.
document.cookie = "_gcl_au=1.1." + Date.now() + "; path=/; max-age=7776000";
(window.__demoRan = window.__demoRan || []).push("targeting");
