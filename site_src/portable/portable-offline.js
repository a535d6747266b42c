// 便携版的 offline.js：从文件夹（U 盘）打开时不需要、也不能注册 service worker。
// build/portable.py puts this in place of assets/js/offline.js in the portable bundle; the
// page (app.js) imports it under the same name and shows STATUS_TEXT.portable.

export const STATUS_TEXT = {
  portable: "便携版：全部文件都在本文件夹中，断网也能打开和评分，无需离线缓存。草稿只存在这台电脑的这个浏览器里，请记得“导出草稿”。",
};

export async function registerServiceWorker() {
  return "portable";
}
