"""The sample Python app that nua's tests push. Standard library only.

    GET /         hello from pyapp <$GREETING, else world>
    GET /env/KEY  the value of the environment variable KEY (404 if unset)
    GET /prefix   sys.prefix: the virtualenv the app runs in

It listens on :$PORT and exits cleanly on SIGTERM or SIGINT.
"""

import http.server
import os
import re
import signal
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/":
            greeting = os.environ.get("GREETING") or "world"
            return self.reply(200, "hello from pyapp %s\n" % greeting)
        m = re.fullmatch(r"/env/([A-Za-z0-9_]+)", self.path)
        if m:
            value = os.environ.get(m.group(1))
            return self.reply(404, "not set\n") if value is None else self.reply(200, value)
        if self.path == "/prefix":
            return self.reply(200, sys.prefix)
        return self.reply(404, "not found\n")

    def reply(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        print("%s %s" % (self.address_string(), format % args), flush=True)


def main():
    port = os.environ.get("PORT")
    if not port:
        sys.exit("PORT is not set")
    server = http.server.ThreadingHTTPServer(("", int(port)), Handler)

    def stop(signum, frame):
        print("pyapp shutting down", flush=True)
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("pyapp listening on :%s" % port, flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
