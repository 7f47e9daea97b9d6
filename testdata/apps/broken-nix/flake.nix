# A flake that does not evaluate: nua must show Nix's error and fail the push.
{
  outputs = { self }: {
    packages.x86_64-linux.default = ;
  };
}
