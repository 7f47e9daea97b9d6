# The Nix sample app: an input-less flake (no nixpkgs, so it builds offline)
# that installs a small web server into $out/bin with the host's tools,
# which nua makes visible in the build sandbox.
{
  description = "nua Nix sample app";
  outputs = { self }: {
    packages.x86_64-linux.default = derivation {
      name = "nixapp";
      system = "x86_64-linux";
      builder = "/bin/sh";
      src = ./server.pl;
      args = [ "-c" "/usr/bin/mkdir -p $out/bin && /usr/bin/cp $src $out/bin/nixapp && /usr/bin/chmod 555 $out/bin/nixapp" ];
    };
  };
}
