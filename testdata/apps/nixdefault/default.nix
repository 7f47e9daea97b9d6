# The Nix sample app without a flake: a plain derivation (no nixpkgs, so it
# builds offline) that installs the web server and a worker script.
derivation {
  name = "nixdefault";
  system = "x86_64-linux";
  builder = "/bin/sh";
  server = ./server.pl;
  args = [ "-c" "/usr/bin/mkdir -p $out/bin && /usr/bin/cp $server $out/bin/server && /usr/bin/chmod 555 $out/bin/server && /usr/bin/printf '#!/bin/sh\\necho nixdefault worker\\n' > $out/bin/worker && /usr/bin/chmod 555 $out/bin/worker" ];
}
