require("http").createServer((q, s) => s.end("unreachable\n")).listen(process.env.PORT);
