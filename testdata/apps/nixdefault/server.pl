#!/usr/bin/perl
# The web process of the Nix sample app without a flake. It uses only modules from
# perl-base (an Essential package on Debian), so it runs on a stock host.
#
#   GET /         hello from nixapp <$GREETING or "world">
#   GET /env/KEY  the value of the environment variable KEY (404 if unset)
#
# It listens on :$PORT and exits cleanly on SIGTERM or SIGINT.
use strict;
use warnings;
use IO::Socket::INET;

$| = 1;
my $port = $ENV{PORT} or die "PORT is not set\n";
my $server = IO::Socket::INET->new(
	LocalAddr => '0.0.0.0',
	LocalPort => $port,
	Proto     => 'tcp',
	Listen    => 16,
	ReuseAddr => 1,
) or die "listen on :$port: $@\n";
$SIG{TERM} = $SIG{INT} = sub { print "nixapp web shutting down\n"; exit 0 };
print "nixapp web listening on :$port\n";

while (1) {
	my $client = $server->accept or next;
	eval {
		local $SIG{ALRM} = sub { die "timeout\n" };
		alarm 5;
		serve($client);
		alarm 0;
	};
	alarm 0;
	close $client;
}

sub serve {
	my ($client) = @_;
	my $line = <$client>;
	return unless defined $line;
	while (my $h = <$client>) {
		last if $h =~ /^\r?\n$/;
	}
	my ($method, $path) = $line =~ m{^(\S+) (\S+) HTTP/};
	return reply($client, 400, "bad request\n") unless defined $path;
	return reply($client, 405, "method not allowed\n") unless $method eq 'GET';
	if ($path eq '/') {
		my $greeting = $ENV{GREETING} || 'world';
		return reply($client, 200, "hello from nixapp $greeting\n");
	}
	if ($path =~ m{^/env/([A-Za-z0-9_]+)$}) {
		return reply($client, 404, "not set\n") unless exists $ENV{$1};
		return reply($client, 200, $ENV{$1});
	}
	return reply($client, 404, "not found\n");
}

sub reply {
	my ($client, $status, $body) = @_;
	my %reason = (200 => 'OK', 400 => 'Bad Request', 404 => 'Not Found', 405 => 'Method Not Allowed');
	printf $client "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
		. "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
		$status, $reason{$status}, length($body), $body;
}
