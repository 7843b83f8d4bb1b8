// Stands for an analytics tag: runs only once "analytics" is granted.
document.cookie = "_gid=GA1.1." + Date.now() + "; path=/; max-age=86400";
(window.__demoRan = window.__demoRan || []).push("analytics");
