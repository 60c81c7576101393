// Search on a site opened from disk (file://). A browser refuses to start a Web Worker from a file://
// page, and the theme runs its search in one, so there the worker's script runs in a hidden frame of
// the same page instead and exchanges the same messages. Over http(s) this file does nothing.
//
// The site's configuration names this file among the theme's polyfills. Its name contains
// "iframe-worker" on purpose: the theme's offline plugin then does not add its own shim, which it
// would load from the internet.
(function () {
  "use strict";
  if (location.protocol !== "file:") return;

  class FrameWorker extends EventTarget {
    constructor(url) {
      super();
      this.onmessage = this.onerror = this.onmessageerror = null;
      this.pending = []; // messages posted before the worker's script has run
      this.scope = null; // the frame's window once the script has run: the worker's global scope
      this.frame = document.createElement("iframe");
      this.frame.hidden = true;
      (document.body || document.documentElement).appendChild(this.frame);
      const scope = this.frame.contentWindow;
      // What the worker posts reaches this object's listeners, as from a worker: later, not now.
      scope.postMessage = (data) => setTimeout(() => this.deliver(new MessageEvent("message", { data })));
      scope.importScripts = () => {
        throw new Error("a search worker opened from disk cannot import scripts");
      };
      const script = scope.document.createElement("script");
      script.src = new URL(url, location.href).href;
      script.onload = () => {
        this.scope = scope;
        this.pending.splice(0).forEach((data) => this.postMessage(data));
      };
      script.onerror = () => this.deliver(new Event("error"));
      scope.document.head.appendChild(script);
    }

    deliver(event) {
      const handler = this["on" + event.type];
      if (typeof handler === "function") handler.call(this, event);
      this.dispatchEvent(event);
    }

    postMessage(data) {
      const scope = this.scope;
      if (scope === null) {
        if (this.frame.isConnected) this.pending.push(data);
        return;
      }
      setTimeout(() => scope.dispatchEvent(new scope.MessageEvent("message", { data })));
    }

    terminate() {
      this.frame.remove();
      this.scope = null;
      this.pending = [];
    }
  }

  window.Worker = FrameWorker;
})();
