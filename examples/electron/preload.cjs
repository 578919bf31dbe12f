// Exposes exactly two calls to the page: send a request to the model host, and listen to its messages.
const { contextBridge, ipcRenderer } = require("electron");

contextBridge.exposeInMainWorld("model", {
  request: (message) => ipcRenderer.send("model:request", message),
  onMessage: (listener) => ipcRenderer.on("model:message", (_event, message) => listener(message)),
});
