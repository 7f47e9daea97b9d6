package golang

// ParseGoMod is parseGoMod, for the tests.
var ParseGoMod = parseGoMod

// WantToolchain is m.wantToolchain, for the tests.
func WantToolchain(m goMod, host string) string { return m.wantToolchain(host) }
