// 离线使用：注册 sw.js（站点根目录的 service worker），让门户在断网后仍可打开、评分。
//
//   import { registerServiceWorker } from "./offline.js";
//   const status = await registerServiceWorker({
//     onUpdateReady: (apply) => showBanner("有新版本", { onClick: apply }),  // apply() reloads once
//     onReplaced: (reload) => showBanner("另一个标签页已更新", { onClick: reload }),
//     after: engine.ready,   // optional: register only once the engine is up (saves bandwidth)
//   });
//   // status: "offline-ready" (every file is cached), "insecure" (plain-HTTP intranet: no
//   // service worker possible), "unsupported" (old browser, or opened from a folder),
//   // "failed" (the cache could not be filled, e.g. the connection dropped; retried next visit)
//
// The site root is two levels above this file; sw.js there controls the whole site.

const SITE_ROOT = new URL("../../", import.meta.url);

export const STATUS_TEXT = {
  "offline-ready": "已可离线使用：断网后仍可打开本站并评分。",
  insecure: "当前连接不是 HTTPS，浏览器不允许离线缓存；断网后无法打开本站。请通过 HTTPS 访问，或使用便携版。",
  unsupported: "此浏览器（或以文件方式打开时）不支持离线缓存；断网后无法打开本站。",
  failed: "离线缓存未能完成（网络中断？），下次打开时将自动重试。",
};

function waitForInstall(worker) {
  // Resolves "ok" once `worker` is installed (or active), "failed" when it is discarded.
  return new Promise((resolve) => {
    const check = () => {
      if (worker.state === "installed" || worker.state === "activating" || worker.state === "activated") {
        resolve("ok");
      } else if (worker.state === "redundant") {
        resolve("failed");
      }
    };
    worker.addEventListener("statechange", check);
    check();
  });
}

export async function registerServiceWorker({ onUpdateReady = null, onReplaced = null, after = null } = {}) {
  if (location.protocol === "file:") return "unsupported";
  if (!window.isSecureContext) return "insecure";
  if (!("serviceWorker" in navigator)) return "unsupported";

  // A new version takes over every open page of the site at once, whichever tab asked for it,
  // and the old version's cache goes. This page then still runs the old version's scripts, but
  // anything it loads from now on is the new version's: it must reload before it goes on.
  // The tab that asked reloads by itself; any other is told (`onReplaced`), so the unit can
  // save first. A first visit's take-over (no controller before it: this version's own worker
  // claiming the page) changes no files; every change after it does.
  let controlled = Boolean(navigator.serviceWorker.controller);
  let asked = false;
  let reloading = false;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (asked) {
      if (!reloading) location.reload();
      reloading = true;
    } else if (controlled && onReplaced) {
      onReplaced(() => location.reload());
    }
    controlled = true;
  });

  if (after) {
    try {
      await after;
    } catch {
      // The engine failed; pages and help are still worth caching.
    }
  }

  let registration;
  try {
    registration = await navigator.serviceWorker.register(new URL("sw.js", SITE_ROOT), {
      scope: SITE_ROOT.pathname,
    });
  } catch (error) {
    console.error("jixiao offline: registering sw.js failed", error);
    return "failed";
  }

  const apply = (worker) => () => {
    asked = true;
    worker.postMessage({ type: "skipWaiting" });
  };
  const offer = (worker) => {
    // Only an *update* waits for permission; a first install takes over by itself.
    if (navigator.serviceWorker.controller && onUpdateReady) onUpdateReady(apply(worker));
  };
  if (registration.waiting) offer(registration.waiting);
  registration.addEventListener("updatefound", () => {
    const worker = registration.installing;
    if (!worker) return;
    worker.addEventListener("statechange", () => {
      if (worker.state === "installed") offer(worker);
    });
  });

  if (registration.active) return "offline-ready";
  const installing = registration.installing || registration.waiting;
  if (!installing) return "failed";
  return (await waitForInstall(installing)) === "ok" ? "offline-ready" : "failed";
}
