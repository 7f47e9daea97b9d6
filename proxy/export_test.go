package proxy

// StaticYAML exposes the static configuration to the golden tests.
var StaticYAML = staticYAML
