# The web process of the Ruby sample app. It uses only Ruby's standard
# library (socket), so it runs with no gems installed.
#
#   GET /         hello from rubyapp <$GREETING or "world">
#   GET /env/KEY  the value of the environment variable KEY (404 if unset)
#
# It listens on :$PORT and exits cleanly on SIGTERM or SIGINT.
require "socket"

default_greeting = "world"
REASONS = { 200 => "OK", 400 => "Bad Request", 404 => "Not Found", 405 => "Method Not Allowed" }.freeze

def reply(client, status, body)
  client.write("HTTP/1.1 #{status} #{REASONS[status]}\r\nContent-Type: text/plain; charset=utf-8\r\n" \
               "Content-Length: #{body.bytesize}\r\nConnection: close\r\n\r\n#{body}")
end

$stdout.sync = true
port = ENV["PORT"] or abort("PORT is not set")
server = TCPServer.new("0.0.0.0", Integer(port))
%w[TERM INT].each { |sig| trap(sig) { puts "rubyapp shutting down"; exit } }
puts "rubyapp listening on :#{port}"

loop do
  client = server.accept
  begin
    line = client.gets
    next unless line
    while (h = client.gets) && h != "\r\n" && h != "\n"; end
    method, path = line.split(" ", 3)
    if path.nil?
      reply(client, 400, "bad request\n")
    elsif method != "GET"
      reply(client, 405, "method not allowed\n")
    elsif path == "/"
      greeting = ENV["GREETING"].to_s.empty? ? default_greeting : ENV["GREETING"]
      reply(client, 200, "hello from rubyapp #{greeting}\n")
    elsif (m = %r{\A/env/([A-Za-z0-9_]+)\z}.match(path))
      ENV.key?(m[1]) ? reply(client, 200, ENV[m[1]]) : reply(client, 404, "not set\n")
    else
      reply(client, 404, "not found\n")
    end
  rescue StandardError => e
    warn "rubyapp: #{e.message}"
  ensure
    client.close
  end
end
